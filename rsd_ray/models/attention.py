"""The engines' attention call: transformers' SDPA with the grouped-query kernel path chosen by shape.

transformers' `sdpa` picks SDPA's path from the mask alone: no mask (every
row of a decode batch the same length) -> `enable_gqa`; a mask in decode ->
the query packed onto the KV heads ([B, KV, groups, D], one key read serves
a group); a mask in prefill -> `repeat_kv`, which copies every cached key and
value `groups` times per layer and call. On one CPU thread, 28/4 heads of
width 16, batch 16 (benchmarks in docs/PERFORMANCE.md, "Context scaling"):

    context 4,130   decode (1 token)   prefill (32 tokens)
    enable_gqa            9.6 ms             94 ms (masked)
    packed                6.6 ms              -
    repeat_kv               -               271 ms

So: decode always takes the packed path (with or without a mask), and a
masked prefill on the CPU takes `enable_gqa`, whose result equals
`repeat_kv`'s bit for bit there (the same kernel, without the copies). On
CUDA the masked prefill stays transformers' (its `enable_gqa` kernels need
no mask). Everything else (no grouping, no mask in prefill, position bias,
dropout) is transformers' own call.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface, sdpa_mask

NAME = "rsd_sdpa"


def engine_attention(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                     attention_mask: torch.Tensor | None, dropout: float = 0.0, scaling: float | None = None,
                     is_causal: bool | None = None, row_groups: list[tuple[int, int, int]] | None = None,
                     **kwargs) -> tuple[torch.Tensor, None]:
    """`row_groups` (models/kv.py, from the engine's call): rows [a, b) attend over columns [c, end)
    only, every column before c being masked for them; one call per group, views, no copy."""
    if not row_groups:
        return _attend(module, query, key, value, attention_mask, dropout, scaling, is_causal, **kwargs)
    outs = [_attend(module, query[a:b], key[a:b, :, c:], value[a:b, :, c:],
                    None if attention_mask is None else _rows(attention_mask, a, b)[..., c:],
                    dropout, scaling, is_causal, **kwargs)[0] for a, b, c in row_groups]
    return torch.cat(outs), None


def _rows(mask: torch.Tensor, a: int, b: int) -> torch.Tensor:
    return mask if mask.shape[0] == 1 else mask[a:b]


def _attend(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
            attention_mask: torch.Tensor | None, dropout: float, scaling: float | None, is_causal: bool | None,
            **kwargs) -> tuple[torch.Tensor, None]:
    groups = getattr(module, "num_key_value_groups", 1)
    B, H, q, D = query.shape
    plain = (groups == 1 or dropout or kwargs.get("position_bias") is not None or kwargs.get("softcap") is not None
             or (attention_mask is not None and attention_mask.shape[1] != 1))
    if not plain and q == 1:
        out = F.scaled_dot_product_attention(query.reshape(B, H // groups, groups, D), key, value,
                                             attn_mask=attention_mask, scale=scaling)
    elif not plain and attention_mask is not None and query.device.type == "cpu":
        out = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask, scale=scaling,
                                             enable_gqa=True)
    else:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      is_causal=is_causal, **kwargs)
    return out.reshape(B, H, q, D).transpose(1, 2).contiguous(), None


def use_engine_attention(model: torch.nn.Module) -> None:
    """Serve `model`'s SDPA attention through engine_attention (a model on another implementation is left)."""
    if model.config._attn_implementation != "sdpa":
        return
    if NAME not in ALL_MASK_ATTENTION_FUNCTIONS._global_mapping:
        AttentionInterface.register(NAME, engine_attention)
        AttentionMaskInterface.register(NAME, sdpa_mask)  # the same masks as transformers' sdpa
    model.set_attn_implementation(NAME)
