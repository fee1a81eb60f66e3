"""A job's config from its command line: the recipe, --set, then the switches every job takes."""

from __future__ import annotations

import argparse

from rsd_ray.config import Config, load_config, with_value


def job_config(args: argparse.Namespace) -> Config:
    """--config and --set, then --backend and --schedule (validated with them: what is checked per
    backend is checked for this one), and torch's threads as run.threads asks."""
    cfg = load_config(args.config, args.overrides)
    if getattr(args, "backend", None):
        cfg = with_value(cfg, "run.backend", args.backend)
    if getattr(args, "schedule", None):
        cfg = with_value(cfg, "run.schedule", args.schedule)
    if cfg.run.threads:
        import torch

        torch.set_num_threads(cfg.run.threads)
    return cfg
