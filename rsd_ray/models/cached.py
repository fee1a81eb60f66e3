"""The part every model role shares: per-request state synced to the call, one batched prefill."""

from __future__ import annotations

from collections.abc import Callable

import torch

from rsd_ray.models.attention import use_engine_attention
from rsd_ray.models.arena import KVArena
from rsd_ray.models.kv import PackedBatch, SeqState, common_steps, pack


def plan_groups(lengths: list[int], overhead: int) -> list[list[int]]:
    """Indices of `lengths` in groups of similar length, longest group first.

    One padded forward costs about (requests x longest new segment) tokens; a
    request joining with its whole prompt, or a target call after several
    accepted draft steps, pads every other request to its length. Splitting
    costs one more forward (`overhead`, in token-equivalents). The cut is
    chosen to minimize sum(size x longest) + overhead x groups: a 1-D dynamic
    programme over the distinct lengths (few), contiguous in sorted order.
    """
    if not lengths:
        return []
    distinct = sorted(set(lengths))
    count = [lengths.count(v) for v in distinct]
    m = len(distinct)
    best = [0.0] + [float("inf")] * m  # best[b]: cost of the first b distinct lengths
    cut = [0] * (m + 1)
    for b in range(1, m + 1):
        size = 0
        for a in range(b, 0, -1):  # group = distinct[a-1 .. b-1], padded to distinct[b-1]
            size += count[a - 1]
            c = best[a - 1] + size * distinct[b - 1] + overhead
            if c < best[b]:
                best[b], cut[b] = c, a - 1
    bounds, b = [], m
    while b > 0:
        bounds.append((cut[b], b))
        b = cut[b]
    return [[i for i, n in enumerate(lengths) if distinct[lo] <= n <= distinct[hi - 1]] for lo, hi in bounds]


class CachedModel:
    """Keeps a SeqState per request id; a call's steps decide what is kept, cut or appended."""

    def __init__(self, model: torch.nn.Module, pad_id: int, num_layers: int, overhead_tokens: int | None = None):
        self.model = model
        use_engine_attention(model)  # the grouped-query kernel path by shape, not by the mask (attention.py)
        self.pad_id = pad_id
        self.num_layers = num_layers
        self.states: dict[str, SeqState] = {}
        text = model.config.get_text_config()
        self.arena = KVArena(num_layers, getattr(text, "max_position_embeddings", None) or 1 << 30)
        self.peak_kv_bytes = 0  # the arena plus the batch cache, at most (checked against `rsd-ray plan`)
        # The fixed cost of one more forward, in tokens of padded prefill (plan_groups). Measured
        # on the zoo on one CPU thread: about 15 ms per target forward against 0.3 ms per prefill
        # token of its 6.8M parameters, i.e. ~3e8 / parameters; never under 16.
        params = sum(p.numel() for p in model.parameters())
        self.overhead_tokens = overhead_tokens if overhead_tokens is not None else max(16, int(3e8 / max(params, 1)))

    def sync(self, request_id: str, prompt_ids: Callable[[], list[int]], steps: tuple[str, ...] | list[str],
             render_step: Callable[[int, str], list[int]]) -> SeqState:
        """Make the request's state hold exactly the prompt and `steps`, reusing what it can."""
        state = self.states.get(request_id)
        if state is None:
            ids = prompt_ids()
            state = self.states[request_id] = SeqState(tokens=list(ids), prompt_len=len(ids), slot=self.arena.alloc())
        keep = common_steps(state.steps, steps)
        state.truncate_steps(keep)
        for k in range(keep, len(steps)):
            state.append_step(steps[k], render_step(k, steps[k]))
        return state

    @torch.no_grad()
    def prefill(self, states: list[SeqState], forward: Callable[[PackedBatch], object],
                room: int = 0) -> tuple[object, PackedBatch, list[int]]:
        """One forward over every request's uncached tokens; returns the model output and the layout.
        `room`: tokens a decode loop will append to this batch's cache (reserved, so nothing is copied)."""
        news = [s.uncached() for s in states]
        batch = pack(states, news, self.pad_id, self.arena, self.device, room)
        return forward(batch), batch, batch.new_lens

    @torch.no_grad()
    def catch_up(self, states: list[SeqState], forward: Callable[[PackedBatch], object]) -> list[int]:
        """Feed long uncached segments ahead, in forwards of similar lengths, so the call that follows
        is padded only to the short ones' length; returns the tokens fed per state (0 for most)."""
        lens = [len(s.uncached()) for s in states]
        groups = plan_groups(lens, self.overhead_tokens)
        fed = [0] * len(states)
        if len(groups) < 2:
            return fed
        keep = max(lens[i] for i in groups[-1])  # every state keeps this many for the main call
        for g in groups[:-1]:
            sub = [states[i] for i in g]
            new = [s.uncached()[: -keep] for s in sub]
            batch = pack(sub, new, self.pad_id, self.arena, self.device)
            forward(batch)
            self.store(sub, batch, batch.new_lens)
            for i, n in zip(g, batch.new_lens):
                fed[i] = n
        return fed

    def store(self, states: list[SeqState], batch: PackedBatch, fed: list[int]) -> None:
        """Keep the first `fed[i]` new columns of each row (its new tokens, then any decoded ones)."""
        N = batch.input_ids.shape[1]
        self.arena.store(batch.cache, list(range(len(states))), [batch.width + N - n for n in batch.new_lens], fed,
                         [s.slot for s in states], [s.cached for s in states])
        # after the store: the arena may have grown, and the batch cache holds its decoded columns
        held = self.arena.nbytes() + sum(t.numel() * t.element_size() for layer in batch.cache.layers
                                         if layer.is_initialized for t in (layer._k, layer._v))
        self.peak_kv_bytes = max(self.peak_kv_bytes, held)
        for s, n in zip(states, fed):
            s.cached += n

    def adopt(self, model: torch.nn.Module) -> None:
        """Serve with `model` from now on (a tensor-parallel rank's shard, on its device)."""
        self.model = model
        use_engine_attention(model)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def release(self, request_ids: list[str]) -> None:
        gone = [self.states.pop(r, None) for r in request_ids]
        self.arena.release([s.slot for s in gone if s is not None])
