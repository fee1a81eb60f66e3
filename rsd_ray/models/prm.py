"""PRM adapters: "score these steps", batched, KV-cached, every step's reward returned.

RSD reads the last reward of a call; search baselines use all of them. Each
adapter says how a problem and a step become tokens (the last token of a
rendered step is where its reward is read) and how a reward comes out of the
model there. The per-request cache means a call processes only the steps the
PRM has not seen, usually just the candidate step.

- "value_head": the Skywork-o1-Open-PRM layout (Qwen2 backbone, `v_head.summary`
  linear head, sigmoid). Input as in Skywork's io_utils: bos + problem + "\\n",
  then each step's tokens followed by one step token, the reward read there.
- "math_shepherd": a plain causal LM scoring P("+") against P("-") at a step tag
  ("ки"), input "question step1 ки\\nstep2 ки".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import torch
from torch import nn

from rsd_ray.core.records import ScoreCall, ScoreResult
from rsd_ray.models.cached import CachedModel, plan_groups
from rsd_ray.models.kv import PackedBatch


class PRM(CachedModel, ABC):
    def __init__(self, model: nn.Module, tokenizer, num_layers: int):
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        super().__init__(model.eval(), pad, num_layers)
        self.tok = tokenizer

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False)

    @abstractmethod
    def render_prompt(self, problem: str) -> list[int]: ...

    @abstractmethod
    def render_step(self, index: int, step: str) -> list[int]: ...

    @abstractmethod
    def forward(self, batch: PackedBatch) -> tuple[torch.Tensor, object]:
        """Per-token rewards [B, N] for the new tokens, and the model output (holding the cache)."""

    @torch.no_grad()
    def score(self, calls: list[ScoreCall]) -> list[ScoreResult]:
        if not calls:
            return []
        states = []
        for c in calls:
            s = self.sync(c.request_id, lambda c=c: self.render_prompt(c.problem), c.steps, self.render_step)
            states.append(s)
        # Requests of very different new lengths (a prompt and its first step, or one step)
        # go in separate forwards: less padding (plan_groups); each reads its own rewards.
        groups = plan_groups([len(s.uncached()) for s in states], self.overhead_tokens)
        out: dict[int, ScoreResult] = {}
        for g in groups:
            for i, r in zip(g, self._score([calls[i] for i in g], [states[i] for i in g])):
                out[i] = r
        return [out[i] for i in range(len(calls))]

    def _score(self, calls: list[ScoreCall], states: list) -> list[ScoreResult]:
        (rewards, _), batch, fed = self.prefill(states, self.forward)
        self.store(states, batch, fed)
        N = batch.input_ids.shape[1]
        results = []
        for i, (c, s) in enumerate(zip(calls, states)):
            start = len(s.tokens) - fed[i]  # token index of the first token fed now
            # Read a reward for every step whose end was fed in this call.
            for k in range(len(s.rewards), len(s.steps)):
                end = s.step_ends[k] - 1
                s.rewards.append(float(rewards[i, N - fed[i] + end - start]))
            results.append(ScoreResult(c.request_id, tuple(s.rewards), tokens=fed[i]))
        return results


class ValueHeadPRM(PRM):
    """Skywork-o1-Open-PRM layout: a Qwen2 backbone plus `v_head.summary`."""

    def __init__(self, backbone: nn.Module, head: nn.Linear, tokenizer, step_token: str = "\n"):
        super().__init__(backbone, tokenizer, backbone.config.num_hidden_layers)
        self.head = head.eval()
        self.bos = tokenizer.bos_token or ""
        self.step_token_id = self.encode(step_token)[-1]

    def num_parameters(self) -> int:
        return super().num_parameters() + sum(p.numel() for p in self.head.parameters())

    def adopt(self, model: nn.Module) -> None:
        super().adopt(model)
        self.head.to(self.device)  # loaded beside the backbone on the host; it follows the shard

    def render_prompt(self, problem: str) -> list[int]:
        return self.encode(self.bos + problem + "\n")

    def render_step(self, index: int, step: str) -> list[int]:
        return self.encode(step) + [self.step_token_id]

    def forward(self, b: PackedBatch):
        out = self.model(input_ids=b.input_ids, attention_mask=b.attention_mask, position_ids=b.position_ids,
                         cache=b.cache, use_cache=True)
        h = out.last_hidden_state.to(self.head.weight.dtype)
        return torch.sigmoid(self.head(h).squeeze(-1).float()), out


class MathShepherdPRM(PRM):
    """Math-Shepherd layout: reward = softmax over the "+"/"-" logits at the step tag."""

    def __init__(self, model: nn.Module, tokenizer, step_tag: str = "ки", good: str = "+", bad: str = "-"):
        super().__init__(model, tokenizer, model.config.num_hidden_layers)
        self.tag = step_tag
        self.tag_id = self.encode(f" {step_tag}")[-1]
        self.good_bad = [self.encode(f" {good}")[-1], self.encode(f" {bad}")[-1]]

    def render_prompt(self, problem: str) -> list[int]:
        return self.encode(f"{problem} ")

    def render_step(self, index: int, step: str) -> list[int]:
        ids = self.encode(("\n" if index else "") + f"{step} {self.tag}")
        ids[-1] = self.tag_id  # the reward is read at the tag itself
        return ids

    def forward(self, b: PackedBatch):
        out = self.model(input_ids=b.input_ids, attention_mask=b.attention_mask, position_ids=b.position_ids,
                         cache=b.cache, use_cache=True)
        return torch.softmax(out.logits[..., self.good_bad].float(), -1)[..., 0], out


def load_value_head(path: Path, hidden: int, dtype: torch.dtype, use_safetensors: bool) -> nn.Linear:
    """Read `v_head.summary.{weight,bias}` from the checkpoint files (safetensors, or .bin when allowed)."""
    from rsd_ray.models.loading import read_tensors

    t = read_tensors(path, prefix="v_head.summary.", use_safetensors=use_safetensors)
    if "weight" not in t:
        raise ValueError(f"{path}: no v_head.summary.weight: not a value-head (Skywork-layout) PRM")
    head = nn.Linear(hidden, 1, bias="bias" in t)
    head.load_state_dict({k: v.to(torch.float32) for k, v in t.items()})
    return head.to(dtype)
