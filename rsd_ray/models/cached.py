"""The part every model role shares: per-request state synced to the call, one batched prefill."""

from __future__ import annotations

from collections.abc import Callable

import torch

from rsd_ray.models.kv import PackedBatch, SeqState, common_steps, pack, unpack


class CachedModel:
    """Keeps a SeqState per request id; a call's steps decide what is kept, cut or appended."""

    def __init__(self, model: torch.nn.Module, pad_id: int, num_layers: int):
        self.model = model
        self.pad_id = pad_id
        self.num_layers = num_layers
        self.states: dict[str, SeqState] = {}

    def sync(self, request_id: str, prompt_ids: Callable[[], list[int]], steps: tuple[str, ...] | list[str],
             render_step: Callable[[int, str], list[int]]) -> SeqState:
        """Make the request's state hold exactly the prompt and `steps`, reusing what it can."""
        state = self.states.get(request_id)
        if state is None:
            ids = prompt_ids()
            state = self.states[request_id] = SeqState(tokens=list(ids), prompt_len=len(ids))
        keep = common_steps(state.steps, steps)
        state.truncate_steps(keep)
        for k in range(keep, len(steps)):
            state.append_step(steps[k], render_step(k, steps[k]))
        return state

    @torch.no_grad()
    def prefill(self, states: list[SeqState], forward: Callable[[PackedBatch], object]) -> tuple[object, PackedBatch, list[int]]:
        """One forward over every request's uncached tokens; returns the model output and the layout."""
        news = [s.uncached() for s in states]
        batch = pack(states, news, self.pad_id, self.num_layers, self.device)
        return forward(batch), batch, batch.new_lens

    def store(self, states: list[SeqState], batch: PackedBatch, fed: list[int]) -> None:
        for i, s in enumerate(states):
            s.kv = unpack(batch.cache, batch.attention_mask, i)
            s.cached += fed[i]

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def release(self, request_ids: list[str]) -> None:
        for r in request_ids:
            self.states.pop(r, None)
