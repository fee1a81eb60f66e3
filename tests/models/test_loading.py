"""Loading options as transformers reads them: use_safetensors false allows either format."""

import shutil

import pytest
import torch

from rsd_ray.config import load_config
from rsd_ray.models.roles import build_generator, build_prm, resolve_path


def test_use_safetensors_false_still_loads_a_safetensors_checkpoint():
    # the Skywork recipes set use_safetensors: false for .bin-only PRMs; a PRM (or any model) that
    # ships model.safetensors must load with it too, not be refused for having the safer format
    cfg = load_config(overrides=["draft.use_safetensors=false", "prm.use_safetensors=false"])
    assert build_generator(cfg, "draft").num_parameters() > 0
    assert build_prm(cfg).num_parameters() > 0


def test_pickled_weights_need_the_opt_in(tmp_path):
    src = resolve_path("zoo:draft")
    d = tmp_path / "bin_only"
    shutil.copytree(src, d)
    from safetensors.torch import load_file

    torch.save(load_file(str(d / "model.safetensors")), d / "pytorch_model.bin")
    (d / "model.safetensors").unlink()
    with pytest.raises(OSError, match="safetensors"):
        build_generator(load_config(overrides=[f"draft.path={d}"]), "draft")
    assert build_generator(load_config(overrides=[f"draft.path={d}", "draft.use_safetensors=false"]),
                           "draft").num_parameters() > 0
