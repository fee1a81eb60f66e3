"""The tiny model zoo: a step-wise arithmetic task, a draft, a target and a PRM, built by the project.

The trained weights are committed under `weights/` in the standard Hugging
Face layout; `RSD_RAY_ZOO` points elsewhere (e.g. a freshly rebuilt zoo).
"""

from __future__ import annotations

import os
from pathlib import Path


def zoo_dir() -> Path:
    return Path(os.environ.get("RSD_RAY_ZOO") or Path(__file__).parent / "weights")


def zoo_problems() -> Path:
    return zoo_dir() / "problems.jsonl"
