"""The committed zoo is a fixed artifact: its files are the bytes its build.json names."""

import json
import shutil
from pathlib import Path

import pytest

from rsd_ray.zoo.build import PARTS, ZooRecipe
from rsd_ray.zoo.provenance import part_recipe, sha256_mismatches

WEIGHTS = Path(__file__).resolve().parents[2] / "rsd_ray" / "zoo" / "weights"


@pytest.mark.parametrize("part", PARTS)
def test_committed_files_match_their_build_json(part):
    assert sha256_mismatches(WEIGHTS / part) == []


def test_a_changed_byte_is_caught(tmp_path):
    copy = shutil.copytree(WEIGHTS / "draft", tmp_path / "draft")
    weights = bytearray((copy / "model.safetensors").read_bytes())
    weights[-1] ^= 1  # the last byte is a weight, not the header
    (copy / "model.safetensors").write_bytes(weights)
    assert [m.split(":")[0] for m in sha256_mismatches(copy)] == ["model.safetensors"]


@pytest.mark.parametrize("part", PARTS)
def test_todays_recipe_is_the_one_recorded_as_run(part):
    # README's "what a rebuild gives" rests on this: change ZooRecipe's defaults
    # and the committed weights no longer come from today's recipe.
    recorded = json.loads((WEIGHTS / part / "build.json").read_text())["recipe"]
    assert recorded == part_recipe(ZooRecipe(), part)


def test_the_prm_learned_from_the_committed_draft():
    prm = json.loads((WEIGHTS / "prm" / "build.json").read_text())
    draft = json.loads((WEIGHTS / "draft" / "build.json").read_text())
    assert prm["draft_sha256"] == draft["sha256"]["model.safetensors"]
