"""The backend a job's config names (local or Ray), opened for the job and closed however it ends."""

from __future__ import annotations

from contextlib import contextmanager

from rsd_ray.config import Config


def make_backend(cfg: Config, modes: list[str]):
    # imported here: each backend pulls in torch (local) or Ray, and a job needs only one
    if cfg.run.backend == "ray":
        from rsd_ray.runner.ray_backend import RayBackend

        return RayBackend.start(cfg, modes)
    from rsd_ray.runner.local import LocalBackend

    return LocalBackend.load(cfg, modes)


@contextmanager
def open_backend(cfg: Config, modes: list[str]):
    backend = make_backend(cfg, modes)
    try:
        yield backend
    finally:
        backend.close()
