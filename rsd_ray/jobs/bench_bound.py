"""The bench's bound: rsd's ideal time priced at per-step costs measured apart, and the ratios on it.

    c_target = target engine time in target-only / target-only steps
    c_draft  = draft engine time in draft-only / draft-only steps
    c_prm    = PRM engine time scoring draft-only's steps alone / those steps
    ideal rsd time = D (c_draft + c_prm) + T c_target
                     (D = draft steps rsd wrote, accepted + rejected; T = rsd's target steps)
    ideal speedup  = target-only wall / ideal rsd time
    speedup        = target-only wall / rsd wall
    efficiency     = speedup / ideal speedup = ideal rsd time / rsd wall

The ideal leaves out everything rsd pays beyond its roles' steps at full
batch: the catch-up prefill (the target reading accepted draft steps before
it writes, the draft reading the target's step), target calls gathered at
less than full batch, scheduling, and per-call overheads beyond a full-batch
call's. It is optimistic, so the ideal speedup is an upper bound and
efficiency <= 1 up to timing noise. No cost is taken from rsd's own run: a
cost measured inside rsd sits on both sides of the ratio and pulls
efficiency toward 1 whatever rsd does.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Timings:
    """One clock's (wall or CPU) measured figures: engine times and step counts of the runs apart, rsd's counts."""

    target_wall_s: float  # target-only run, whole
    rsd_wall_s: float  # rsd run, whole
    target_engine_s: float  # target's calls in target-only
    target_steps: int
    draft_engine_s: float  # draft's calls in draft-only
    draft_steps: int
    prm_engine_s: float  # PRM's calls scoring draft-only's steps alone
    prm_steps: int
    rsd_draft_steps: int  # D: drafted (accepted + rejected)
    rsd_target_steps: int  # T


@dataclass(frozen=True)
class Bound:
    c_target_s: float
    c_draft_s: float
    c_prm_s: float
    ideal_rsd_s: float
    ideal_speedup: float
    speedup: float
    efficiency: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def bound(t: Timings) -> Bound:
    c_target = t.target_engine_s / t.target_steps
    c_draft = t.draft_engine_s / t.draft_steps
    c_prm = t.prm_engine_s / t.prm_steps
    ideal = t.rsd_draft_steps * (c_draft + c_prm) + t.rsd_target_steps * c_target
    speedup, ideal_speedup = t.target_wall_s / t.rsd_wall_s, t.target_wall_s / ideal
    return Bound(c_target, c_draft, c_prm, ideal, ideal_speedup, speedup, speedup / ideal_speedup)


def timings(runs: dict[str, list[dict]], clock: str) -> Timings:
    """Medians over repetitions on one clock: "wall" or "cpu"."""
    def med(mode: str, role: str | None = None) -> float:
        return statistics.median(r[f"role_{clock}_s"].get(role, 0.0) if role else r[f"{clock}_s"] for r in runs[mode])
    rsd = runs["rsd"][0]  # counts are the same in every repetition (checked)
    return Timings(med("target"), med("rsd"),
                   med("target", "target"), runs["target"][0]["steps"],
                   med("draft", "draft"), runs["draft"][0]["steps"],
                   med("prm", "prm"), runs["prm"][0]["steps"],
                   rsd["steps_draft_accepted"] + rsd["steps_draft_rejected"], rsd["steps_target"])


def catch_up(runs: dict[str, list[dict]], ideal_rsd_s: float) -> dict:
    """What the bound leaves out that is measured: the target's context reading in rsd.

    The target's forwards are timed apart (bench_timing.ForwardSplit): prefill (a prompt, accepted
    draft steps caught up on, a step's first token) and one-token decode. In target-only a step
    reads little context (its prompt once per request, spread over its steps); in rsd a target
    step first reads the prompt and the draft steps accepted since the target last ran.
    `excess_s` is rsd's prefill time beyond target-only's prefill per step, and
    `efficiency_beyond_catch_up` is the efficiency with it taken off rsd's wall: what the rest of
    the system reaches against the bound (a diagnostic; `efficiency` is the figure).
    """
    def med(mode: str, kind: str) -> float:
        return statistics.median(r["target_forward_s"][kind] for r in runs[mode])
    t_steps, r_steps = runs["target"][0]["steps_target"], runs["rsd"][0]["steps_target"]
    per_step = med("target", "prefill") / t_steps
    excess = med("rsd", "prefill") - r_steps * per_step
    rsd_wall = statistics.median(r["wall_s"] for r in runs["rsd"])
    return {mode: {"prefill_s": med(mode, "prefill"), "decode_s": med(mode, "decode"),
                   "prefill_tokens": runs[mode][0]["target_forward_tokens"]["prefill"],
                   "decode_tokens": runs[mode][0]["target_forward_tokens"]["decode"]} for mode in ("target", "rsd")} | {
        "prefill_s_per_target_step": {"target": per_step, "rsd": med("rsd", "prefill") / r_steps},
        "excess_s": excess, "efficiency_beyond_catch_up": ideal_rsd_s / (rsd_wall - excess)}
