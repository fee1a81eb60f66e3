"""Settings out of range are refused at config load, in one line (exit 2 from the CLI), not deep in a run."""

import pytest

from rsd_ray.cli import main
from rsd_ray.config import ConfigError, load_config

BAD = ["rsd.delta=5", "rsd.delta=-1", "rsd.p=1.5", "rsd.alpha=0", "generation.temperature=-1",
       "generation.top_p=0", "generation.top_p=1.5", "generation.max_new_tokens=0", "generation.max_steps=0",
       "generation.max_step_tokens=0", "generation.max_prompt_tokens=0", "target.tp=0", "draft.replicas=0",
       "prm.gpus_per_rank=-1", "run.batch_size=0", "grading.timeout_s=0", "baselines.n=0",
       "target.device=gpu", "prm.kind=qwen-prm"]


@pytest.mark.parametrize("setting", BAD)
def test_out_of_range_is_a_config_error(setting):
    with pytest.raises(ConfigError):
        load_config(overrides=[setting])


@pytest.mark.parametrize("setting", ["rsd.delta=5", "generation.top_p=0", "generation.temperature=-1"])
def test_the_cli_says_it_in_one_line(setting, tmp_path, capsys):
    assert main(["generate", "--backend", "local", "--limit", "2", "--output", str(tmp_path), "--set", setting]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rsd-ray: error:") and setting.split("=")[0] in err[0]


@pytest.mark.parametrize("setting", ["rsd.delta=0", "rsd.delta=1", "generation.top_p=1", "generation.temperature=0"])
def test_the_edges_are_allowed(setting):
    load_config(overrides=[setting])
