import pytest

from rsd_ray.config import ConfigError, load_config


def test_embedded_default_is_the_zoo():
    cfg = load_config()
    assert (cfg.draft.path, cfg.target.path, cfg.prm.path) == ("zoo:draft", "zoo:target", "zoo:prm")
    assert cfg.rsd.build().kind == "binary" and cfg.rsd.delta == 0.7
    assert not cfg.target.trust_remote_code and cfg.target.use_safetensors


def test_dotted_overrides_are_typed():
    cfg = load_config(overrides=["rsd.delta=0.8", "target.tp=2", "generation.temperature=1", "prompt.chat=true"])
    assert cfg.rsd.delta == 0.8 and cfg.target.tp == 2 and cfg.generation.temperature == 1.0 and cfg.prompt.chat


def test_recipe_file_then_overrides(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("target:\n  path: /models/big\n  dtype: bfloat16\nrsd:\n  delta: 0.6\n")
    cfg = load_config(p, ["rsd.delta=0.9"])
    assert cfg.target.path == "/models/big" and cfg.target.dtype == "bfloat16" and cfg.rsd.delta == 0.9
    assert cfg.draft.path == "zoo:draft"  # untouched sections keep their defaults


@pytest.mark.parametrize("overrides,match", [
    (["rsd.weighting=best"], "rsd.weighting must be one of"),
    (["rsd.delta=high"], "rsd.delta must be float"),
    (["target.tpp=2"], "unknown config key target.tpp"),
    (["target.dtype=int3"], "target.dtype must be one of"),
    (["run.batch_size=0"], "run.batch_size must be >= 1"),
    (["generation.max_steps=0"], "must be >= 1"),
    (["nonsense"], "--set wants key.sub=value"),
    (["draft.path="], "draft.path is empty"),
    (["run.schedule=roundrobin"], "run.schedule must be one of"),
    (["run.schedule=lockstep", "rsd.target_budget=0.3"], "needs run.schedule: continuous"),
])
def test_bad_config_is_one_clear_error(overrides, match):
    with pytest.raises(ConfigError, match=match):
        load_config(overrides=overrides)


def test_missing_or_broken_recipe(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_shipped_recipes_validate():
    from pathlib import Path

    recipes = sorted((Path(__file__).resolve().parents[2] / "rsd_ray" / "recipes").glob("*.yaml"))
    assert len(recipes) >= 2
    for r in recipes:
        cfg = load_config(r)
        assert cfg.prompt.chat and not cfg.target.trust_remote_code


def test_target_gather_defaults_to_half_the_batch_and_sets_the_in_flight_cap():
    from rsd_ray.config import load_config

    run = load_config(overrides=["run.batch_size=64"]).run
    assert (run.target_gather(), run.in_flight_cap()) == (32, 96)
    run = load_config(overrides=["run.batch_size=64", "run.min_target_batch=1"]).run
    assert (run.target_gather(), run.in_flight_cap()) == (1, 64)  # no gathering: nothing is parked
    run = load_config(overrides=["run.batch_size=64", "run.min_target_batch=48", "run.max_in_flight=80"]).run
    assert (run.target_gather(), run.in_flight_cap()) == (48, 80)
    run = load_config(overrides=["run.batch_size=8", "run.min_target_batch=20"]).run
    assert run.target_gather() == 8  # never more than one call holds
    run = load_config(overrides=["run.batch_size=64", "run.min_target_batch=48", "run.schedule=lockstep"]).run
    assert (run.target_gather(), run.in_flight_cap()) == (1, 64)  # static batches: nothing parks, `plan` sees 64
    with pytest.raises(ConfigError):
        load_config(overrides=["run.max_in_flight=-1"])


def test_a_runtime_switch_is_a_validated_copy_and_leaves_the_callers_config_alone():
    from rsd_ray.config import ConfigError, load_config, with_value
    from rsd_ray.jobs.inputs import resolve_input

    cfg = load_config()
    new = with_value(cfg, "rsd.delta", 0.9)
    assert new.rsd.delta == 0.9 and cfg.rsd.delta == 0.7 and new.run is cfg.run
    for key, value in (("rsd.delta", 1.5), ("rsd.nope", 1), ("run.batch_size", "x"), ("nope.x", 1)):
        with pytest.raises(ConfigError):
            with_value(cfg, key, value)
    _, zoo_cfg = resolve_input(cfg, None, None)
    assert zoo_cfg.data.preset == "zoo" and cfg.data.preset is None
