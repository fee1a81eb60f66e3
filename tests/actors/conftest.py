import pytest
import ray

from rsd_ray.config import load_config
from rsd_ray.data.rows import normalize
from rsd_ray.data.presets import PRESETS
from rsd_ray.data.rows import read_rows
from rsd_ray.zoo import zoo_problems


def zoo_rows(n: int):
    return [normalize(r, i, PRESETS["zoo"]) for i, r in enumerate(read_rows(zoo_problems(), n))]


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray for the module; the backend joins it rather than starting its own."""
    ray.init(num_cpus=8, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"OMP_NUM_THREADS": "1", "TRANSFORMERS_VERBOSITY": "error",
                                       "TOKENIZERS_PARALLELISM": "false"}})
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def tp2_config():
    return load_config(overrides=["target.tp=2", "run.backend=ray", "run.call_timeout_s=120", "run.batch_size=16"])
