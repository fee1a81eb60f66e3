"""`rsd-ray plan`: where every actor goes and the memory per device, without loading a model.

Sizes come from each model's config.json (a local directory, the zoo, or the
`arch` fields a recipe carries for a hub model), so a plan for a 72B target
runs on a laptop. Memory per device = weights in the chosen dtype / TP size
+ the KV-cache budget per rank; a plan that does not fit is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rsd_ray.cluster.placement import rank_bundle
from rsd_ray.config import Config, ModelConfig

BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
GB = 1024**3


class PlanError(ValueError):
    pass


@dataclass(frozen=True)
class Arch:
    params: int
    layers: int
    kv_heads: int
    head_dim: int

    @classmethod
    def from_config(cls, c: dict) -> "Arch":
        h, L, inter, vocab = c["hidden_size"], c["num_hidden_layers"], c["intermediate_size"], c["vocab_size"]
        heads = c["num_attention_heads"]
        kv = c.get("num_key_value_heads", heads)
        hd = c.get("head_dim") or h // heads
        attn = h * heads * hd + 2 * h * kv * hd + heads * hd * h + (heads + 2 * kv) * hd  # q,k,v,o + qkv bias
        mlp = 3 * h * inter
        per_layer = attn + mlp + 2 * h
        emb = vocab * h * (1 if c.get("tie_word_embeddings", False) else 2)
        return cls(L * per_layer + emb + h, L, kv, hd)


def arch_of(m: ModelConfig) -> Arch:
    if m.arch:
        return Arch.from_config(m.arch)
    from rsd_ray.models.roles import resolve_path

    p = Path(resolve_path(m.path)).expanduser()
    if not (p / "config.json").is_file():
        raise PlanError(f"{m.path}: no local config.json to size it; give its config.json fields as `arch:`")
    return Arch.from_config(json.loads((p / "config.json").read_text()))


def kv_bytes_per_rank(cfg: Config, m: ModelConfig, a: Arch) -> float:
    if m.kv_cache_gb is not None:
        return m.kv_cache_gb * GB
    # every request in flight holds its cache, parked ones (waiting for a gathered target call) included
    live = cfg.run.in_flight_cap() * cfg.run.coordinators
    tokens = live * (cfg.generation.max_prompt_tokens + cfg.generation.max_new_tokens)
    return 2 * a.layers * a.kv_heads * a.head_dim * BYTES[m.dtype] * tokens / m.tp


def plan(cfg: Config, roles: tuple[str, ...] = ("draft", "prm", "target")) -> dict:
    out: dict = {"roles": {}, "fits": True}
    problems = []
    for role in roles:
        m: ModelConfig = getattr(cfg, role)
        a = arch_of(m)
        weights = a.params * BYTES[m.dtype] / m.tp
        kv = kv_bytes_per_rank(cfg, m, a)
        total = weights + kv
        device = "gpu" if m.gpus_per_rank else "cpu"
        fits = device == "cpu" or total <= m.device_memory_gb * GB * m.gpus_per_rank
        if not fits:
            problems.append(f"{role}: {total / GB:.1f} GiB per rank ({weights / GB:.1f} weights + {kv / GB:.1f} "
                            f"KV) > {m.device_memory_gb * m.gpus_per_rank:g} GiB; raise {role}.tp or lower the "
                            f"KV budget")
        out["roles"][role] = {
            "path": m.path, "params": a.params, "dtype": m.dtype, "tp": m.tp, "replicas": m.replicas,
            "placement": f"{m.replicas} placement group(s), STRICT_PACK: {m.tp} rank(s) on one node"
                         + (f" with resource {m.resource!r}" if m.resource else ""),
            "bundle_per_rank": rank_bundle(m), "device": device,
            "weights_gib_per_rank": round(weights / GB, 3), "kv_cache_gib_per_rank": round(kv / GB, 3),
            "total_gib_per_rank": round(total / GB, 3), "fits": fits,
        }
    if problems:
        out["fits"] = False
        out["problems"] = problems
    return out


def format_plan(p: dict) -> str:
    lines = ["| role | params | dtype | tp x replicas | per rank | weights GiB | KV GiB | total GiB | fits |",
             "|---|---|---|---|---|---|---|---|---|"]
    for role, r in p["roles"].items():
        lines.append(f"| {role} | {r['params'] / 1e9:.3g}B | {r['dtype']} | {r['tp']} x {r['replicas']} | "
                     f"{r['bundle_per_rank']} | {r['weights_gib_per_rank']} | {r['kv_cache_gib_per_rank']} | "
                     f"{r['total_gib_per_rank']} | {'yes' if r['fits'] else 'NO'} |")
    for role, r in p["roles"].items():
        lines.append(f"- {role}: {r['placement']}")
    return "\n".join(lines)
