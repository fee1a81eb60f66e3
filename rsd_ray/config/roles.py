"""A model role's config (draft, target, PRM): where its weights come from and how its ranks are placed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass
class ModelConfig:
    path: str = ""  # local directory, hub id, or zoo:<name>
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    trust_remote_code: bool = False
    use_safetensors: bool = True
    device: str = "cpu"
    # placement (Ray backend): tensor-parallel ranks per replica, replicas, devices per rank
    tp: int = 1
    replicas: int = 1
    gpus_per_rank: float = 0.0
    cpus_per_rank: float = 1.0
    resource: str | None = None  # a custom resource naming this role's node group
    # for `rsd-ray plan` (no model is loaded): memory per device and the KV-cache budget per rank
    device_memory_gb: float = 80.0
    kv_cache_gb: float | None = None  # None: what the engine's KV arena and batch cache can hold (plan.py)
    arch: dict | None = None  # config.json fields, for a plan of a hub model with no local copy
    # The fixed cost of one more forward, in tokens of padded prefill: the engines split a batch of
    # very different lengths when that saves more (models/cached.py plan_groups). 0: the estimate
    # measured on CPUs (max(16, 3e8 / parameters)); a GPU's is larger (kernel launches cost more than
    # a few extra tokens): `scripts/gpu_check.sh` measures it for the device it runs on.
    overhead_tokens: int = 0


@dataclass
class PRMConfig(ModelConfig):
    kind: Literal["value_head", "qwen_prm", "math_shepherd"] = "value_head"
    step_token: str = "\n\n"  # value_head: token appended after each step (its last id is read)
    step_tag: str = "ки"  # math_shepherd
    good_token: str = "+"
    bad_token: str = "-"
