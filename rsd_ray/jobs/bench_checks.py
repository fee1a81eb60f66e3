"""When the bench refuses to report a speedup: each check returns the one-line reason, or None.

A speedup means something only if rsd solved what target-only solved, as
well, with every run complete, and the step counts that price the bound are
the same in every repetition (greedy decoding is deterministic: a difference
is a bug, and the medians would mix different workloads).
"""

from __future__ import annotations

MAX_ACCURACY_GAP = 0.02  # rsd may be at most 2 points under target-only

# What a repetition must reproduce exactly: step and token counts (and the answers, for solved modes).
SAME_EVERY_REP = ("steps", "steps_draft_accepted", "steps_draft_rejected", "steps_target",
                  "tokens_draft", "tokens_target", "tokens_prm", "responses")


def errors(runs: dict[str, list[dict]]) -> str | None:
    bad = {m: max(r["errors"] for r in rs) for m, rs in runs.items() if any(r["errors"] for r in rs)}
    if bad:
        return "requests ended in errors (" + ", ".join(f"{m}: {n}" for m, n in bad.items()) + ")"
    return None


def inconsistent(runs: dict[str, list[dict]]) -> str | None:
    for mode, rs in runs.items():
        for key in SAME_EVERY_REP:
            values = [r.get(key) for r in rs]
            if any(v != values[0] for v in values[1:]):
                shown = "answers differ" if key == "responses" else ", ".join(map(str, values))
                return f"{mode}'s {key} differ between repetitions ({shown}): runs are not deterministic"
    return None


def schedules_differ(runs: dict[str, list[dict]]) -> str | None:
    """A schedule decides only how calls are batched: lock-step must answer exactly as continuous rsd."""
    if runs["lockstep"][0]["responses"] != runs["rsd"][0]["responses"]:
        return "rsd's answers under the lock-step schedule differ from continuous batching's: a scheduling bug"
    return None


def accuracy_gap(accuracy: dict[str, float | None]) -> str | None:
    rsd, target = accuracy["rsd"], accuracy["target"]
    if rsd is None or target is None:
        return "no graded rows: accuracy unknown"
    if target - rsd > MAX_ACCURACY_GAP + 1e-9:  # the tolerance: 0.99 - 0.97 is not exactly 0.02 in floats
        return (f"rsd's accuracy {rsd:.3f} is {100 * (target - rsd):.1f} points under target-only's {target:.3f} "
                f"(at most {100 * MAX_ACCURACY_GAP:.0f} allowed)")
    return None
