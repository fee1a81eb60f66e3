"""`rsd-ray calibrate` on the Ray backend: the same rewards, so the same delta and held-out share, as local."""

from rsd_ray.config import load_config
from rsd_ray.jobs.calibrate import calibrate
from rsd_ray.zoo import zoo_problems


def test_calibration_on_ray_equals_local(ray_local):
    runs = {}
    for backend in ("local", "ray"):
        cfg = load_config(overrides=[f"run.backend={backend}", "run.call_timeout_s=120", "data.preset=zoo",
                                     "run.batch_size=16"])
        runs[backend] = calibrate(cfg, 0.3, str(zoo_problems()), limit=40, calibration_rows=16, log=lambda _: None)
    local, ray_ = runs["local"], runs["ray"]
    assert ray_["draft_steps"] == local["draft_steps"] > 0
    assert ray_["delta"] == local["delta"] and ray_["estimated_share"] <= 0.3
    for key in ("rows", "target_step_share", "accuracy"):
        assert ray_["held_out"][key] == local["held_out"][key], key
    assert ray_["held_out"]["rows"] == 24
