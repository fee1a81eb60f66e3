"""PRM adapters: "score these steps", batched, KV-cached, every step's reward returned.

RSD reads the last reward of a call; search baselines use all of them. Each
adapter says how a problem and a step become tokens (the last token of a
rendered step is where its reward is read) and how a reward comes out of the
model there. The per-request cache means a call processes only the steps the
PRM has not seen, usually just the candidate step.

- "value_head": the Skywork-o1-Open-PRM layout (Qwen2 backbone, `v_head.summary`
  linear head, sigmoid). Input as in Skywork's io_utils: bos + problem + "\\n",
  then each step's tokens followed by one step token, the reward read there.
- "qwen_prm": Qwen2.5-Math-PRM (Qwen2 backbone, `score` = Linear, ReLU, Linear to
  two labels). Input as its model card builds it: the chat template (system
  prompt, the problem as the user turn, the steps joined by `<extra_0>` with one
  after the last as the assistant turn); reward = softmax over the two labels,
  the positive one, at each `<extra_0>`.
- "math_shepherd": a plain causal LM scoring P("+") against P("-") at a step tag
  ("ки"), input "question step1 ки\\nstep2 ки", the ids read as its own code
  reads them (`encode("+ -")[1:]` past the BOS, `encode("ки")[-1]`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import torch
from torch import nn

from rsd_ray.core.records import ScoreCall, ScoreResult
from rsd_ray.models.cached import CachedModel, plan_groups
from rsd_ray.models.kv import PackedBatch, context_order


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
            g = [g[j] for j in context_order([states[i] for i in g])]  # longest first: kv.row_groups
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


class HeadPRM(PRM):
    """A Qwen2 backbone (`AutoModel`) with a reward head on its last hidden states."""

    def __init__(self, backbone: nn.Module, head: nn.Module, tokenizer):
        super().__init__(backbone, tokenizer, backbone.config.num_hidden_layers)
        self.head = head.eval()

    def num_parameters(self) -> int:
        return super().num_parameters() + sum(p.numel() for p in self.head.parameters())

    def adopt(self, model: nn.Module) -> None:
        super().adopt(model)
        self.head.to(self.device)  # loaded beside the backbone on the host; it follows the shard

    @abstractmethod
    def reward(self, head_out: torch.Tensor) -> torch.Tensor:
        """[B, N, head outputs] -> [B, N] rewards in [0, 1]."""

    def forward(self, b: PackedBatch):
        out = self.model(input_ids=b.input_ids, attention_mask=b.attention_mask, position_ids=b.position_ids,
                         cache=b.cache, use_cache=True, **b.forward_kwargs)
        h = out.last_hidden_state.to(next(self.head.parameters()).dtype)
        return self.reward(self.head(h).float()), out


class ValueHeadPRM(HeadPRM):
    """Skywork-o1-Open-PRM layout: a Qwen2 backbone plus `v_head.summary`, sigmoid."""

    def __init__(self, backbone: nn.Module, head: nn.Linear, tokenizer, step_token: str = "\n"):
        super().__init__(backbone, head, tokenizer)
        self.bos = tokenizer.bos_token or ""
        self.step_token_id = self.encode(step_token)[-1]

    def render_prompt(self, problem: str) -> list[int]:
        return self.encode(self.bos + problem + "\n")

    def render_step(self, index: int, step: str) -> list[int]:
        return self.encode(step) + [self.step_token_id]

    def reward(self, head_out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(head_out.squeeze(-1))


class QwenPRM(HeadPRM):
    """Qwen2.5-Math-PRM layout: `score` head to two labels, P(positive) at each `<extra_0>`."""

    SEPARATOR = "<extra_0>"

    def __init__(self, backbone: nn.Module, head: nn.Module, tokenizer, system: str | None):
        super().__init__(backbone, head, tokenizer)
        sep = tokenizer.convert_tokens_to_ids(self.SEPARATOR)
        if sep is None or sep == tokenizer.unk_token_id or self.encode(self.SEPARATOR) != [sep]:
            raise ValueError(f"prm.kind qwen_prm: the tokenizer has no {self.SEPARATOR} token: "
                             "not a Qwen2.5-Math-PRM")
        self.sep_id = sep
        self.system = system

    def render_prompt(self, problem: str) -> list[int]:
        # The template renders [system, user, assistant = steps]; the assistant's content starts where a
        # marker put in its place starts. Special tokens split the text, and Qwen2's pre-tokenizer
        # splits at newlines, so the prefix tokenizes as it does inside the whole conversation.
        marker = "\x00rsd-steps\x00"
        turns = ([{"role": "system", "content": self.system}] if self.system else []) + [
            {"role": "user", "content": problem}, {"role": "assistant", "content": marker}]
        text = self.tok.apply_chat_template(turns, tokenize=False, add_generation_prompt=False)
        return self.encode(text[: text.index(marker)])

    def render_step(self, index: int, step: str) -> list[int]:
        return self.encode(step) + [self.sep_id]

    def reward(self, head_out: torch.Tensor) -> torch.Tensor:
        return torch.softmax(head_out, -1)[..., 1]


class MathShepherdPRM(PRM):
    """Math-Shepherd layout: reward = softmax over the "+"/"-" logits at the step tag."""

    def __init__(self, model: nn.Module, tokenizer, step_tag: str = "ки", good: str = "+", bad: str = "-"):
        super().__init__(model, tokenizer, model.config.num_hidden_layers)
        self.tag = step_tag
        # as Math-Shepherd's own code reads them: the tag's last id, and the two label ids of "+ -"
        # after the BOS its (Mistral) tokenizer puts first; a tokenizer that splits "+ -" otherwise
        # (a character-level one) gives each label's own last id
        self.tag_id = tokenizer.encode(step_tag)[-1]
        ids = tokenizer.encode(f"{good} {bad}")
        ids = ids[1:] if ids and ids[0] == tokenizer.bos_token_id else ids
        self.good_bad = ids if len(ids) == 2 else [self.encode(good)[-1], self.encode(bad)[-1]]

    def render_prompt(self, problem: str) -> list[int]:
        return self.tok.encode(f"{problem} ")  # with the BOS, as its code encodes the whole input

    def render_step(self, index: int, step: str) -> list[int]:
        ids = self.encode(("\n" if index else "") + f"{step} {self.tag}")
        ids[-1] = self.tag_id  # the reward is read at the tag itself
        return ids

    def forward(self, b: PackedBatch):
        out = self.model(input_ids=b.input_ids, attention_mask=b.attention_mask, position_ids=b.position_ids,
                         cache=b.cache, use_cache=True, **b.forward_kwargs)
        return torch.softmax(out.logits[..., self.good_bad].float(), -1)[..., 0], out


def load_score_head(path: Path, hidden: int, dtype: torch.dtype, use_safetensors: bool) -> nn.Sequential:
    """Read Qwen2.5-Math-PRM's `score.{0,2}.{weight,bias}` (Linear, ReLU, Linear to two labels)."""
    from rsd_ray.models.loading import read_tensors

    t = read_tensors(path, prefix="score.", use_safetensors=use_safetensors)
    if "2.weight" not in t:
        raise ValueError(f"{path}: no score.2.weight: not a Qwen2.5-Math-PRM checkpoint")
    head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, t["2.weight"].shape[0]))
    head.load_state_dict({k: v.to(torch.float32) for k, v in t.items()})
    return head.to(dtype)


def load_value_head(path: Path, hidden: int, dtype: torch.dtype, use_safetensors: bool) -> nn.Linear:
    """Read `v_head.summary.{weight,bias}` from the checkpoint files (safetensors, or .bin when allowed)."""
    from rsd_ray.models.loading import read_tensors

    t = read_tensors(path, prefix="v_head.summary.", use_safetensors=use_safetensors)
    if "weight" not in t:
        raise ValueError(f"{path}: no v_head.summary.weight: not a value-head (Skywork-layout) PRM")
    head = nn.Linear(hidden, 1, bias="bias" in t)
    head.load_state_dict({k: v.to(torch.float32) for k, v in t.items()})
    return head.to(dtype)
