"""The Skywork-o1-Open-PRM architecture: a Qwen2 backbone plus a linear value head.

State-dict keys match the published checkpoints (`model.*` for the backbone,
`v_head.summary.weight` / `v_head.summary.bias` for the head), so the zoo PRM
and a downloaded Skywork PRM load through the same code.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoModel, PretrainedConfig


class ValueHead(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.summary = nn.Linear(hidden, 1)


class ValueHeadPRM(nn.Module):
    """Backbone + value head; forward returns one logit per token (sigmoid gives the reward)."""

    def __init__(self, model: nn.Module, hidden: int):
        super().__init__()
        self.model = model
        self.v_head = ValueHead(hidden)

    @property
    def config(self) -> PretrainedConfig:
        return self.model.config

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **kw) -> torch.Tensor:
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, **kw)
        return self.v_head.summary(out.last_hidden_state).squeeze(-1)

    @classmethod
    def from_backbone_config(cls, config: PretrainedConfig) -> "ValueHeadPRM":
        return cls(AutoModel.from_config(config, dtype=torch.float32), config.hidden_size)
