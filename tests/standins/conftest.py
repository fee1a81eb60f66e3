import pytest
import torch

from rsd_ray.standins import build_standins


@pytest.fixture(scope="session")
def standins(tmp_path_factory):
    """Every stand-in, built once: one layer and bfloat16 keep the real vocabulary cheap on disk."""
    return build_standins(tmp_path_factory.mktemp("standins"), layers=1, dtype=torch.bfloat16)
