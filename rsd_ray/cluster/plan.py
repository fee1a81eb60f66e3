"""`rsd-ray plan`: where every actor goes and the memory per device, without loading a model.

Sizes come from each model's config.json (a local directory, the zoo, or the
`arch` fields a recipe carries for a hub model), so a plan for a 72B target
runs on a laptop. Memory per device = the rank's weights in the chosen dtype
(its shard of attention, MLP and LM head, plus the replicated embeddings and
norms) + what the KV arena and a batch cache can hold at most, counted by the
engine's own growth rules (models/kv_sizes.py). A TP size that does not
divide the head counts, and a plan that does not fit, are refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rsd_ray.cluster.placement import rank_bundle
from rsd_ray.config import Config, ModelConfig
from rsd_ray.models.kv_sizes import BLOCK, most_batch_length, most_blocks

BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
GB = 1024**3


class PlanError(ValueError):
    pass


GRAIN = 64  # DeepSpeed inference's tensor_parallel.tp_grain_size: MLP and LM-head splits come in these


def largest_shard(total: int, tp: int, grain: int = GRAIN) -> int:
    """The widest slice any rank gets of a dimension AutoTP splits in grains (rank 0, or the last
    rank, which also takes the remainder)."""
    if total < grain:
        return -(-total // tp)
    grains, rest = divmod(total, grain)
    return max(-(-grains // tp) * grain, grains // tp * grain + rest)


@dataclass(frozen=True)
class Arch:
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    hidden: int
    intermediate: int
    vocab: int
    tied: bool
    context: int  # max_position_embeddings: the engines never hold more per request (kv_sizes)

    @classmethod
    def from_config(cls, c: dict) -> "Arch":
        h, L, inter, vocab = c["hidden_size"], c["num_hidden_layers"], c["intermediate_size"], c["vocab_size"]
        heads = c["num_attention_heads"]
        kv = c.get("num_key_value_heads", heads)
        hd = c.get("head_dim") or h // heads
        tied = c.get("tie_word_embeddings", False)
        return cls(L, heads, kv, hd, h, inter, vocab, tied, c.get("max_position_embeddings") or 1 << 30)

    @property
    def params(self) -> int:
        return self.weight_params_per_rank(1)

    def weight_params_per_rank(self, tp: int) -> int:
        """Parameters the largest rank holds: attention split by head (tp divides the KV heads,
        check_tp), the MLP's intermediate and the LM head's input in 64-wide grains, the input
        embedding and the norms whole on every rank (a tied LM head counted again as a shard)."""
        h, hd, kv = self.hidden, self.head_dim, self.kv_heads // tp
        q = self.heads // tp
        attn = h * q * hd + 2 * h * kv * hd + q * hd * h + (q + 2 * kv) * hd  # q,k,v,o + qkv bias
        mlp = 3 * h * largest_shard(self.intermediate, tp)
        norms = self.layers * 2 * h + h
        lm_head = 0 if self.tied and tp == 1 else self.vocab * largest_shard(h, tp)
        return self.layers * (attn + mlp) + norms + self.vocab * h + lm_head

    def check_tp(self, name: str, tp: int) -> None:
        """AutoTP splits attention by heads: a TP size that does not divide the head and KV-head counts
        leaves some ranks without heads (DeepSpeed issue 7259) or with unequal shards."""
        if self.heads % tp or self.kv_heads % tp:
            raise PlanError(f"{name}: tp {tp} must divide its {self.heads} attention heads and "
                            f"{self.kv_heads} KV heads (DeepSpeed AutoTP shards by head); try "
                            f"{', '.join(str(t) for t in range(1, self.kv_heads + 1) if self.kv_heads % t == 0 and self.heads % t == 0)}")


def arch_of(m: ModelConfig) -> Arch:
    """The model's own config.json where its directory is here (a recipe's `arch:` describes the hub
    model it names, not the local copy a user points `path` at), else the recipe's `arch:`."""
    from rsd_ray.models.roles import resolve_path

    p = Path(resolve_path(m.path)).expanduser()
    if (p / "config.json").is_file():
        return Arch.from_config(json.loads((p / "config.json").read_text()))
    if m.arch:
        return Arch.from_config(m.arch)
    raise PlanError(f"{m.path}: no local config.json to size it; give its config.json fields as `arch:`")


def tokens_per_request(cfg: Config, role: str, a: Arch) -> int:
    """The most token slots one request holds in `role`'s cache. A generator never goes past its
    context (models/generator.py); a delimiter re-encoded after each step may add tokens, and the
    PRM's rendering adds a step token per step and its own prompt text, uncapped."""
    g = cfg.generation
    solution = min(a.context, g.max_prompt_tokens + g.max_new_tokens + 2 * g.max_steps)
    return solution + (g.max_steps + 64 if role == "prm" else 0)


def kv_bytes_per_rank(cfg: Config, role: str, m: ModelConfig, a: Arch) -> float:
    """What the engine allocates at most (models/kv_sizes.py): the paged arena (every request in
    flight holding the blocks of the longest request, the pool grown by its rule), one batch cache
    gathered from it with its growth, and the transient copy of one layer while the batch cache grows
    (the pool grows by adding a chunk: nothing is copied)."""
    if m.kv_cache_gb is not None:
        return m.kv_cache_gb * GB
    slot = 2 * a.kv_heads // m.tp * a.head_dim * BYTES[m.dtype]  # keys + values of one token, one layer
    t = tokens_per_request(cfg, role, a)
    # every request in flight holds its row, parked ones (waiting for a gathered target call) included
    arena = most_blocks(cfg.run.in_flight_cap() * cfg.run.coordinators, t) * BLOCK * slot
    batch = cfg.run.batch_size * most_batch_length(t, a.context) * slot
    return a.layers * (arena + batch) + batch


def plan(cfg: Config, roles: tuple[str, ...] = ("draft", "prm", "target")) -> dict:
    out: dict = {"roles": {}, "fits": True}
    problems = []
    for role in roles:
        m: ModelConfig = getattr(cfg, role)
        a = arch_of(m)
        a.check_tp(f"{role} {m.path}", m.tp)
        weights = a.weight_params_per_rank(m.tp) * BYTES[m.dtype]
        kv = kv_bytes_per_rank(cfg, role, m, a)
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
