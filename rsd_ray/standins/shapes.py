"""The real architectures the stand-ins copy, and how they are shrunk to fit a CPU.

Values are the published config.json fields of each checkpoint (the recipes in
rsd_ray/recipes/ carry the sizes as `arch:`). A stand-in keeps everything that
decides how a model is sharded, cached and tokenized (vocabulary, attention and
KV head counts, rope, context) and shrinks only what costs time: depth, the
per-head width and with it the MLP.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Layout = Literal["causal_lm", "skywork_prm", "qwen_prm"]

REAL_HEAD_DIM = 128  # every Qwen2.5 size: hidden_size / num_attention_heads


@dataclass(frozen=True)
class Arch:
    """The Qwen2 config.json fields a stand-in reproduces."""

    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    vocab_size: int
    tie_word_embeddings: bool
    max_window_layers: int
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    max_position_embeddings: int = 4096
    sliding_window: int | None = 4096
    use_sliding_window: bool = False
    bos_token_id: int = 151643
    eos_token_id: int = 151645

    def shrunk(self, layers: int, head_dim: int | None, full_depth: bool) -> Arch:
        """Fewer layers and a narrower head; head_dim=None keeps the real width (a GPU run)."""
        a = self if full_depth else replace(self, num_hidden_layers=layers,
                                            max_window_layers=min(self.max_window_layers, layers))
        if head_dim is None:
            return a
        # The MLP keeps its ratio to the hidden size, rounded up to a multiple of 128
        # as real MLP widths are (tensor-parallel splits stay even).
        mlp = -(-self.intermediate_size * head_dim // REAL_HEAD_DIM // 128) * 128
        return replace(a, hidden_size=self.num_attention_heads * head_dim, intermediate_size=mlp)


# Qwen/Qwen2.5-Math-{1.5B,7B,72B}-Instruct config.json.
QWEN_MATH_1_5B = Arch(1536, 8960, 28, 12, 2, 151936, True, max_window_layers=21)
QWEN_MATH_7B = Arch(3584, 18944, 28, 28, 4, 152064, False, max_window_layers=28)
QWEN_MATH_72B = Arch(8192, 29568, 80, 64, 8, 152064, False, max_window_layers=80)
# Qwen/Qwen2.5-Math-PRM-7B config.json: the 7B backbone with its own norm eps and window.
QWEN_MATH_PRM_7B = replace(QWEN_MATH_7B, rms_norm_eps=1e-5, sliding_window=131072)


@dataclass(frozen=True)
class StandIn:
    source: str  # the hub id whose layout and shape this stands in for
    layout: Layout
    arch: Arch


# Skywork-o1-Open-PRM-Qwen-2.5-{1.5B,7B} are fine-tuned from the Math-Instruct models of the same size.
STANDINS: dict[str, StandIn] = {
    "draft-1.5b": StandIn("Qwen/Qwen2.5-Math-1.5B-Instruct", "causal_lm", QWEN_MATH_1_5B),
    "target-7b": StandIn("Qwen/Qwen2.5-Math-7B-Instruct", "causal_lm", QWEN_MATH_7B),
    "target-72b": StandIn("Qwen/Qwen2.5-Math-72B-Instruct", "causal_lm", QWEN_MATH_72B),
    "skywork-prm-1.5b": StandIn("Skywork/Skywork-o1-Open-PRM-Qwen-2.5-1.5B", "skywork_prm", QWEN_MATH_1_5B),
    "skywork-prm-7b": StandIn("Skywork/Skywork-o1-Open-PRM-Qwen-2.5-7B", "skywork_prm", QWEN_MATH_7B),
    "qwen-prm-7b": StandIn("Qwen/Qwen2.5-Math-PRM-7B", "qwen_prm", QWEN_MATH_PRM_7B),
}
