"""What produced a zoo part's files: their sha256, the library versions, the recipe fields it read.

Every part folder holds a build.json with the same fields whether `rsd-ray zoo
build` wrote it or a person reconstructed it for the committed weights. The
sha256 make the weights a checkable artifact: a float cannot be rebuilt
bit-for-bit on another machine, but the committed bytes can be checked
against what their build.json says they are.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch

BUILD_JSON = "build.json"
LIBRARIES = ("torch", "transformers", "tokenizers", "safetensors")

# The recipe fields each part's training reads. All parts read the held-out
# and validation sets (their problems are excluded from the training stream).
_SHARED = ("seed", "task", "heldout", "val")
PART_FIELDS = {
    "draft": (*_SHARED, "draft", "draft_sched"),
    "target": (*_SHARED, "target", "target_sched"),
    "prm": (*_SHARED, "prm", "prm_base_sched", "prm_phases", "prm_samples"),
}


def part_recipe(recipe: Any, part: str) -> dict[str, Any]:
    """The recipe as one part reads it, JSON-ready (tuples become lists, as json would make them)."""
    full = json.loads(json.dumps(asdict(recipe)))
    return {k: full[k] for k in PART_FIELDS[part]}


def file_sha256(part_dir: Path) -> dict[str, str]:
    """sha256 of every file the part folder holds except build.json itself."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(part_dir.iterdir()) if p.is_file() and p.name != BUILD_JSON}


def library_versions() -> dict[str, Any]:
    # Thread count is here because CPU reductions split by thread: it changes the floats.
    return {"python": platform.python_version(), **{lib: version(lib) for lib in LIBRARIES},
            "torch_threads": torch.get_num_threads()}


def sha256_mismatches(part_dir: Path) -> list[str]:
    """How the folder's files differ from its build.json's sha256 (empty: they match)."""
    recorded: dict[str, str] = json.loads((part_dir / BUILD_JSON).read_text())["sha256"]
    actual = file_sha256(part_dir)
    return ([f"{name}: missing" for name in recorded if name not in actual]
            + [f"{name}: not in build.json" for name in actual if name not in recorded]
            + [f"{name}: sha256 {actual[name][:12]}... != recorded {recorded[name][:12]}..."
               for name in recorded if name in actual and actual[name] != recorded[name]])
