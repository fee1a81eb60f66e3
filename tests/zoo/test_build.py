"""The shrunken recipe builds a zoo that learned, loads through the project's loaders, and says what it is.

One build serves the module (a few seconds); each test checks one property
that a broken build would lose.
"""

import json
import math
from pathlib import Path

import pytest
import torch

from rsd_ray.config import load_config
from rsd_ray.core.records import ScoreCall, StepCall
from rsd_ray.models.roles import build_generator, build_prm
from rsd_ray.zoo.build import PARTS, ZooRecipe, build_zoo
from rsd_ray.zoo.prm_model import ValueHeadPRM
from rsd_ray.zoo.provenance import LIBRARIES, file_sha256, part_recipe, sha256_mismatches
from rsd_ray.zoo.quality import prm_step_scores
from rsd_ray.zoo.task import DELIMITER
from rsd_ray.zoo.tokenizer import build_tokenizer

COMMITTED = Path(__file__).resolve().parents[2] / "rsd_ray" / "zoo" / "weights"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Matrices this small gain nothing from a second thread, and on a loaded
    # machine two threads waiting on each other made the build 8x slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def zoo(one_thread, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("zoo")
    build_zoo(out, ZooRecipe.shrunken(), log=lambda m: None)
    return out


def _record(zoo: Path, part: str) -> dict:
    return json.loads((zoo / part / "build.json").read_text())


def test_generator_losses_fall_below_a_uniform_guess(zoo):
    uniform = math.log(len(build_tokenizer()))  # the loss of a model that has learned nothing
    curves = [_record(zoo, p)["curve"]["generator"] for p in ("draft", "target")]
    curves.append(_record(zoo, "prm")["curve"]["backbone"])
    for curve in curves:
        assert len(curve) >= 2
        assert curve[-1]["loss"] < curve[0]["loss"]
        assert curve[-1]["loss"] < uniform - 0.3


def test_prm_loss_falls_in_every_phase(zoo):
    curves = {k: v for k, v in _record(zoo, "prm")["curve"].items() if k.startswith("phase")}
    assert len(curves) == len(ZooRecipe.shrunken().prm_phases)
    for curve in curves.values():
        assert len(curve) >= 2
        # fixed_loss, not the batch loss: on 32 sequences the batches' loss moves
        # as much with the sampling as with learning (it "fell" with no update).
        assert curve[-1]["fixed_loss"] < curve[0]["fixed_loss"]


def test_build_json_records_the_files_recipe_and_versions(zoo):
    for part in PARTS:
        record = _record(zoo, part)
        assert sha256_mismatches(zoo / part) == []
        assert {"model.safetensors", "config.json", "tokenizer.json"} <= set(record["sha256"])
        assert record["recipe"] == part_recipe(ZooRecipe.shrunken(), part)
        assert set(LIBRARIES) <= set(record["versions"]) and all(record["versions"].values())
        assert record["params"] > 0
    assert _record(zoo, "prm")["draft_sha256"] == file_sha256(zoo / "draft")["model.safetensors"]


def test_tokenizer_files_are_the_committed_bytes(zoo):
    # The tokenizer is not trained: a rebuild must write exactly the committed files.
    for part in PARTS:
        committed = json.loads((COMMITTED / part / "build.json").read_text())["sha256"]
        built = file_sha256(zoo / part)
        for name in ("tokenizer.json", "tokenizer_config.json"):
            assert built[name] == committed[name], (part, name)


def test_loads_through_the_project_loaders(zoo):
    cfg = load_config(overrides=[f"{r}.path={zoo / r}" for r in PARTS])
    for role in ("draft", "target"):
        out = build_generator(cfg, role).generate_steps([StepCall("a", "1+2=?", (), 5, 0, 0)])[0]
        assert out.error is None and out.new_tokens >= 1
    prm = build_prm(cfg)
    problem, steps = "1+2+3=?", ("1+2=3", "3+3=6")
    served = prm.score([ScoreCall("a", problem, steps)])[0].rewards
    # The serving adapter must feed the PRM the layout training fed it (prm_example):
    # the same loaded weights scored the training way give the same rewards.
    tok = build_tokenizer()
    trained_view = ValueHeadPRM(prm.model, prm.model.config.hidden_size)
    trained_view.v_head.summary = prm.head
    items = [(problem, list(steps[: k + 1]), 0) for k in range(len(steps))]
    trained = prm_step_scores(trained_view, tok, items, tok.encode(DELIMITER)[-1])
    assert list(served) == pytest.approx(trained, abs=1e-4)


def test_build_is_deterministic(tmp_path):
    a = build_zoo(tmp_path / "a", ZooRecipe.shrunken(), parts=("draft",), log=lambda m: None)
    b = build_zoo(tmp_path / "b", ZooRecipe.shrunken(), parts=("draft",), log=lambda m: None)
    assert a["draft"]["params"] == b["draft"]["params"]
    assert file_sha256(tmp_path / "a/draft") == file_sha256(tmp_path / "b/draft")
