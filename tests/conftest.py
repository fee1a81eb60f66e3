import os
from pathlib import Path

import pytest

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]


def _benchmarks() -> Path:
    for c in (os.environ.get("RSD_RAY_BENCHMARKS"), ROOT.parent / "shared" / "benchmarks"):
        if c and Path(c).is_dir():
            return Path(c)
    raise RuntimeError("../shared/benchmarks not found: set RSD_RAY_BENCHMARKS")


@pytest.fixture(scope="session")
def benchmarks() -> Path:
    return _benchmarks()


@pytest.fixture(scope="session")
def grader():
    from rsd_ray.grading.grader import Grader

    g = Grader(timeout_s=10)
    yield g
    g.close()
