"""Step engine on Hugging Face transformers: "generate the next step for these requests".

Batched with padding, greedy or sampled (temperature, top_p, per-request
seed); each request's KV cache is kept across its steps and cut back and
extended when a step is replaced by the other model's step (kv.py), so a
step costs work for its own tokens, not the whole prefix again. A step ends
at the delimiter, at EOS (the solution is finished) or at its token budget.
Step boundaries are found in decoded text, so a tokenizer that merges the
delimiter into a larger token ("\\n\\n\\n") still splits steps right.
"""

from __future__ import annotations

import unicodedata
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from rsd_ray.core.records import StepCall, StepResult
from rsd_ray.core.text import DEFAULT_DELIMITER
from rsd_ray.models.cached import CachedModel
from rsd_ray.models.kv import SeqState, context_order
from rsd_ray.models.kv_sizes import DECODE_ROOM


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.0  # 0: greedy
    top_p: float = 1.0

    def __post_init__(self) -> None:
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ValueError(f"sampling needs temperature >= 0 and 0 < top_p <= 1, got {self}")


class StepGenerator(CachedModel):
    def __init__(self, model, tokenizer, role: str, delimiter: str = DEFAULT_DELIMITER,
                 sampling: Sampling = Sampling(), render: Callable[[str], str] = "{}\n\n".format,
                 max_prompt_tokens: int = 2048):
        super().__init__(model.eval(), _pad_id(tokenizer), model.config.get_text_config().num_hidden_layers)
        self.tok = tokenizer
        self.role = role
        self.delimiter = delimiter
        self.sampling = sampling
        self.render = render
        # A prompt must leave room for at least a step inside the model's context.
        ctx = getattr(model.config.get_text_config(), "max_position_embeddings", None) or 1 << 30
        self.max_prompt_tokens = min(max_prompt_tokens, ctx - 1)
        self.max_positions = ctx
        self.eos_ids = _eos_ids(model, tokenizer)
        # Only tokens whose text holds the delimiter's last character can end a
        # step: decoding the step so far is needed for those alone.
        last = delimiter[-1]
        vocab = model.config.get_text_config().vocab_size
        texts = tokenizer.batch_decode([[i] for i in range(min(vocab, len(tokenizer)))])
        # a plain list: indexed per request and token in the decode loop, where tensor indexing costs µs
        self._may_end = [last in t for t in texts] + [False] * (vocab - len(texts))

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False)

    def prompt_ids(self, problem: str) -> list[int]:
        return self.encode(self.render(problem))

    def _check(self, call: StepCall) -> str | None:
        if call.speculative:  # sd mode needs the assisted engine (models/assisted.py), not this one
            return f"the {self.role} engine cannot serve a speculative (sd) call: it has no assistant model"
        if call.request_id in self.states:
            return None
        return self.prompt_error(call.problem)

    def prompt_error(self, problem: str) -> str | None:
        """Why this problem cannot be a prompt here (too long, or not encodable), or None."""
        text = self.render(problem)
        ids = self.encode(text)
        if len(ids) > self.max_prompt_tokens:
            return f"prompt of {len(ids)} tokens is longer than the {self.role}'s limit of {self.max_prompt_tokens}"
        # a tokenizer without byte fallback (the zoo's) drops what it cannot encode: the model would
        # silently answer another problem; a byte-level BPE (Qwen's) always round-trips
        lost = set(unicodedata.normalize("NFC", text)) - set(self.tok.decode(ids))
        if lost:
            return f"the problem holds characters the {self.role}'s tokenizer cannot encode: {''.join(sorted(lost))!r}"
        return None

    @torch.no_grad()
    def generate_steps(self, calls: list[StepCall]) -> list[StepResult]:
        errors = {c.request_id: e for c in calls if (e := self._check(c))}
        if errors:
            return self._answer_errors(calls, errors)
        if not calls:
            return []
        states = [self.sync(c.request_id, lambda c=c: self.prompt_ids(c.problem), c.steps,
                            lambda _k, s: self.encode(s + self.delimiter)) for c in calls]
        full = {c.request_id: f"the {self.role}'s context of {self.max_positions} tokens is full"
                for c, s in zip(calls, states) if len(s.tokens) >= self.max_positions - 1}
        if full:  # a request whose context is used up ends with an error; the others go on
            return self._answer_errors(calls, full)
        # Never generate past the model's context.
        calls = [c if len(s.tokens) + c.max_tokens <= self.max_positions else
                 replace(c, max_tokens=self.max_positions - len(s.tokens)) for c, s in zip(calls, states)]
        def forward(b):
            return self.model(input_ids=b.input_ids, attention_mask=b.attention_mask, position_ids=b.position_ids,
                              cache=b.cache, use_cache=True, logits_to_keep=1, **b.forward_kwargs)

        early = self.catch_up(states, forward)  # long prompts / contexts first: less padding below
        # longest context first where rows of very different lengths attend apart (kv.row_groups)
        order = context_order(states)
        out = self._step([calls[i] for i in order], [states[i] for i in order], [early[i] for i in order], forward)
        results: list[StepResult] = [None] * len(calls)  # type: ignore[list-item]
        for i, r in zip(order, out):
            results[i] = r
        return results

    def _step(self, calls: list[StepCall], states: list[SeqState], early: list[int], forward) -> list[StepResult]:
        """One step for each request: a prefill of what is uncached, then the decode loop."""
        # room for a typical step; a longer one grows the cache by a quarter (models/kv_sizes.py)
        out, batch, fed = self.prefill(states, forward, room=min(DECODE_ROOM, max(c.max_tokens for c in calls)))
        mask, pos = batch.attention_mask, batch.position_ids[:, -1]
        gens = [self._generator(c) for c in calls]
        B = len(calls)
        gen: list[list[int]] = [[] for _ in range(B)]
        stop: list[str | None] = [None] * B
        cut: list[int] = [0] * B  # where the delimiter starts in the step text
        logits = out.logits[:, -1]
        while True:
            nxt = self._pick(logits, gens)
            picked = nxt.tolist()  # one conversion, not B tensor indexings
            for i in range(B):
                if stop[i] is not None:
                    continue
                t = picked[i]
                gen[i].append(t)
                if t in self.eos_ids:
                    stop[i] = "eos"
                elif self._may_end[t] and (k := self.tok.decode(gen[i]).find(self.delimiter)) >= 0:
                    stop[i], cut[i] = "delim", k
                elif len(gen[i]) >= calls[i].max_tokens:
                    stop[i] = "budget"
            active = torch.tensor([s is None for s in stop])
            if not active.any():
                break
            mask = torch.cat([mask, active.long()[:, None].to(mask.device)], dim=1)
            pos = pos + 1
            o = self.model(input_ids=nxt[:, None], attention_mask=mask, position_ids=pos[:, None],
                           cache=batch.cache, use_cache=True, **batch.forward_kwargs)
            logits = o.logits[:, -1]
        batch.attention_mask = mask
        # Every generated token but the last was fed to the model.
        self.store(states, batch, [f + len(g) - 1 for f, g in zip(fed, gen)])
        return [self._commit(c, s, g, why, k, f + e)
                for c, s, g, why, k, f, e in zip(calls, states, gen, stop, cut, fed, early)]

    def _answer_errors(self, calls: list[StepCall], errors: dict[str, str]) -> list[StepResult]:
        """Generate for the calls without an error; the others get their error as a finished result."""
        ok = {r.request_id: r for r in self.generate_steps([c for c in calls if c.request_id not in errors])}
        return [StepResult(c.request_id, "", True, 0, 0, error=errors[c.request_id])
                if c.request_id in errors else ok[c.request_id] for c in calls]

    def _commit(self, call: StepCall, state: SeqState, gen: list[int], why: str | None, cut: int,
                fed: int) -> StepResult:
        """Record the step in the request's state and describe it."""
        if why == "eos":
            text, ids = self.tok.decode(gen[:-1]), gen[:-1] + self.encode(self.delimiter)
        elif why == "delim":
            full = self.tok.decode(gen)
            text = full[:cut]
            ids = gen
            if len(full) > cut + len(self.delimiter):
                # The last token runs past the delimiter (a merged "\n\n\n"):
                # keep the tokens before it, re-encode the rest of the delimiter.
                head = self.tok.decode(gen[:-1])
                ids = gen[:-1] + self.encode((text + self.delimiter)[len(head):])
        else:
            text, ids = self.tok.decode(gen), gen + self.encode(self.delimiter)
        state.append_step(text, ids)
        # The cache may hold tokens past what was committed only if the merged
        # token was fed; it never is (it was the last sampled), but be exact:
        state.cached = min(state.cached, len(state.tokens))
        return StepResult(call.request_id, text, finished=why == "eos",
                          new_tokens=len(gen), prefill_tokens=fed, fed_tokens=fed + len(gen) - 1)

    def _temperature(self, call: StepCall) -> float:
        return self.sampling.temperature if call.temperature is None else call.temperature

    def _generator(self, call: StepCall) -> tuple[torch.Generator, float] | None:
        """A sampled call's own random stream and temperature; None for a greedy one."""
        temperature = self._temperature(call)
        if temperature == 0:
            return None
        # The same seed on every tensor-parallel rank and on any replica; the stream lives on the
        # model's device, so sampling never copies the logits (B x vocab, every token) to the host.
        key = f"{call.seed}:{call.request_id}:{call.step_index}:{self.role}".encode()
        return torch.Generator(device=self.device).manual_seed(zlib.crc32(key)), temperature

    def _pick(self, logits: torch.Tensor, gens: list[tuple[torch.Generator, float] | None]) -> torch.Tensor:
        greedy = logits.argmax(-1)
        if all(g is None for g in gens):
            return greedy
        # on the logits' device, each request from its own seeded stream: the same draws on every
        # tensor-parallel rank (their logits are equal after the all-reduce); each call may carry its
        # own temperature (the sampling baselines), greedy rows take the argmax
        t = torch.tensor([g[1] if g else 1.0 for g in gens], device=logits.device)[:, None]
        probs = torch.softmax(logits.float() / t, -1)
        if self.sampling.top_p < 1:
            sp, idx = probs.sort(-1, descending=True)
            drop = sp.cumsum(-1) - sp > self.sampling.top_p
            sp[drop] = 0
            probs = torch.zeros_like(probs).scatter(-1, idx, sp)
        return torch.stack([torch.multinomial(probs[i], 1, generator=g[0])[0] if g else greedy[i]
                            for i, g in enumerate(gens)])


def _pad_id(tok) -> int:
    return tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id


def _eos_ids(model, tok) -> set[int]:
    ids = model.generation_config.eos_token_id if model.generation_config else None
    ids = ids if isinstance(ids, list) else [ids]
    return {i for i in [*ids, tok.eos_token_id] if i is not None}
