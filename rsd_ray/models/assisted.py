"""Token-level speculative decoding (mode `sd`) on transformers' assisted generation.

`model.generate(..., assistant_model=draft)` is lossless (greedy: exactly the
target's own output) but supports batch size 1 only, so speculative calls are
served one at a time, each for a whole solution (the state splits it into
steps). Calls that are not speculative go to the ordinary batched target
engine, so this engine can stand in for the target role in every mode.

What each model really processed is counted by forward pre-hooks: every
token fed to the target (prompt, then each verification block, rejected
proposals included) and to the draft (its prefill, re-fed accepted tokens
and each proposal), so FLOPs follow what assisted generation did.
"""

from __future__ import annotations

import copy
import zlib

import torch

from rsd_ray.core.records import StepCall, StepResult
from rsd_ray.models.generator import StepGenerator


class AssistedEngine:
    def __init__(self, target: StepGenerator, draft_model: torch.nn.Module):
        self.target = target  # renders prompts, knows EOS and limits, serves non-speculative calls
        self.draft = draft_model.eval()
        self.role = "target"
        self._fed = {"target": [0, 0], "draft": [0, 0]}  # tokens fed, forward calls
        self._counting = False
        target.model.register_forward_pre_hook(self._hook("target"), with_kwargs=True)
        self.draft.register_forward_pre_hook(self._hook("draft"), with_kwargs=True)
        # transformers' "heuristic" schedule carries the number of proposals per
        # block over from one generate call to the next (on the draft's config):
        # reset before each call, so a request's cost does not depend on which
        # requests ran before it (the same on any replica, in any order).
        self._proposals = self.draft.generation_config.num_assistant_tokens
        gc = copy.deepcopy(target.model.generation_config)
        gc.eos_token_id = sorted(target.eos_ids)
        gc.pad_token_id = target.pad_id
        self._gen_config = gc

    def _hook(self, which: str):
        def count(_module, args, kwargs):
            if not self._counting:
                return
            x = kwargs.get("input_ids")
            if x is None:
                x = args[0] if args else kwargs.get("inputs_embeds")
            self._fed[which][0] += int(x.shape[1])
            self._fed[which][1] += 1
        return count

    @property
    def model(self) -> torch.nn.Module:
        return self.target.model

    def adopt(self, model: torch.nn.Module) -> None:
        self.target.adopt(model)

    def num_parameters(self) -> int:
        return self.target.num_parameters()

    def release(self, request_ids: list[str]) -> None:
        self.target.release(request_ids)

    def generate_steps(self, calls: list[StepCall]) -> list[StepResult]:
        plain = [c for c in calls if not c.speculative]
        done = {r.request_id: r for r in self.target.generate_steps(plain)} if plain else {}
        for c in calls:
            if c.speculative:
                done[c.request_id] = self._solve(c)
        return [done[c.request_id] for c in calls]

    @torch.no_grad()
    def _solve(self, call: StepCall) -> StepResult:
        t = self.target
        if error := t.prompt_error(call.problem):
            return StepResult(call.request_id, "", True, 0, 0, error=error)
        ids = t.prompt_ids(call.problem)
        for s in call.steps:  # normally none: sd asks for the whole solution at once
            ids = ids + t.encode(s + t.delimiter)
        budget = min(call.max_tokens, t.max_positions - len(ids))
        if budget < 1:
            return StepResult(call.request_id, "", True, 0, 0,
                              error=f"the target's context of {t.max_positions} tokens is full")
        temperature = t._temperature(call)
        x = torch.tensor([ids], device=t.device)
        gc = copy.deepcopy(self._gen_config)
        gc.do_sample, gc.max_new_tokens = temperature > 0, budget
        if temperature > 0:
            gc.temperature, gc.top_p = temperature, t.sampling.top_p
        self.draft.generation_config.num_assistant_tokens = self._proposals
        self._fed = {"target": [0, 0], "draft": [0, 0]}
        self._counting = True
        try:
            with torch.random.fork_rng(devices=[]):
                key = f"{call.seed}:{call.request_id}:{call.step_index}:sd".encode()
                torch.manual_seed(zlib.crc32(key))
                out = t.model.generate(x, attention_mask=torch.ones_like(x), assistant_model=self.draft,
                                       generation_config=gc)
        finally:
            self._counting = False
        new = out[0, len(ids):].tolist()
        finished = bool(new) and new[-1] in t.eos_ids
        text = t.tok.decode(new[:-1] if finished else new)
        (t_fed, t_forwards), (d_fed, d_forwards) = self._fed["target"], self._fed["draft"]
        # Each verification forward of the target yields the draft tokens it
        # accepted plus one of its own, so accepted ~= new - target forwards; the
        # draft proposes one token per forward. An estimate (the final block may
        # be cut at EOS or the budget), clamped at 0.
        discarded = max(0, d_forwards - max(0, len(new) - t_forwards))
        return StepResult(call.request_id, text, finished=finished,
                          new_tokens=len(new), prefill_tokens=max(0, t_fed - len(new)), fed_tokens=t_fed,
                          draft_tokens=d_fed, draft_discarded=discarded)
