"""Build each role's engine from the typed config: the one place models are loaded.

The zoo and real checkpoints take exactly this path; `zoo:<name>` is only a
shorthand for the bundled zoo's directory.
"""

from __future__ import annotations

from rsd_ray.config import Config, ModelConfig
from rsd_ray.models.generator import Sampling, StepGenerator
from rsd_ray.models.loading import (LoadOptions, load_backbone, load_causal_lm, load_tokenizer, local_dir,
                                    resolve_device)
from rsd_ray.models.prm import PRM, MathShepherdPRM, QwenPRM, ValueHeadPRM, load_score_head, load_value_head
from rsd_ray.models.prompt import make_renderer


def resolve_path(path: str) -> str:
    if path.startswith("zoo:"):
        from rsd_ray.zoo import zoo_dir

        return str(zoo_dir() / path.removeprefix("zoo:"))
    return path


def load_options(m: ModelConfig, sharded: bool = False) -> LoadOptions:
    """`sharded`: tensor parallelism will shard this model: load it on the host (models/loading.py)."""
    return LoadOptions(m.dtype, m.trust_remote_code, m.use_safetensors, "cpu" if sharded else resolve_device(m.device))


def build_generator(cfg: Config, role: str, sharded: bool = False) -> StepGenerator:
    m: ModelConfig = getattr(cfg, role)
    path, opts = resolve_path(m.path), load_options(m, sharded)
    tok = load_tokenizer(path, opts)
    model = load_causal_lm(path, opts)
    g = cfg.generation
    return _tuned(StepGenerator(model, tok, role, g.delimiter, Sampling(g.temperature, g.top_p),
                                make_renderer(tok, cfg.prompt), g.max_prompt_tokens), m)


def _tuned(engine, m: ModelConfig):
    if m.overhead_tokens:  # measured for this device (config/roles.py); else the engine's CPU estimate
        engine.overhead_tokens = m.overhead_tokens
    return engine


def build_prm(cfg: Config, sharded: bool = False) -> PRM:
    p = cfg.prm
    path, opts = resolve_path(p.path), load_options(p, sharded)
    tok = load_tokenizer(path, opts)
    if p.kind == "math_shepherd":
        return _tuned(MathShepherdPRM(load_causal_lm(path, opts), tok, p.step_tag, p.good_token, p.bad_token), p)
    backbone = load_backbone(path, opts)
    hidden = backbone.config.hidden_size
    if p.kind == "qwen_prm":
        head = load_score_head(local_dir(path), hidden, opts.torch_dtype, p.use_safetensors)
        return _tuned(QwenPRM(backbone, head.to(opts.device), tok, cfg.prompt.system), p)
    head = load_value_head(local_dir(path), hidden, opts.torch_dtype, p.use_safetensors)
    return _tuned(ValueHeadPRM(backbone, head.to(opts.device), tok, p.step_token), p)


def build_assisted(cfg: Config, sharded: bool = False):
    """The sd engine: the target and the draft in one process (assisted generation needs both).

    It also serves ordinary target calls, so a target actor hosting it serves
    every mode; the draft weights are a second copy next to the target's.
    """
    from rsd_ray.models.assisted import AssistedEngine

    return AssistedEngine(build_generator(cfg, "target", sharded), build_generator(cfg, "draft").model)
