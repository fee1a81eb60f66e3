"""One output record per request: a row, its mode, the finished request state and its grade, as SCHEMA's columns."""

from __future__ import annotations

from rsd_ray.core.request import RequestState
from rsd_ray.core.stats import Counters
from rsd_ray.data.rows import Row
from rsd_ray.grading.grader import Grade


def record(row: Row, mode: str, state: RequestState | None, grade: Grade | None) -> dict:
    """One output row; a row that failed before any model ran has no state."""
    c = state.counters if state else Counters()
    error = (state.error if state else None) or row.error or (grade.error if grade else None)
    return {
        "id": row.id, "mode": mode, "problem": row.problem, "reference": row.reference,
        "response": state.response if state else None,
        "pred": grade.pred if grade else None,
        "correct": grade.correct if grade else None,
        "steps": [{"text": s.text, "source": s.source, "reward": s.reward} for s in state.steps] if state else [],
        "rejected": [{"index": r.index, "text": r.text, "reward": r.reward} for r in state.rejected] if state else [],
        "finish_reason": state.finish_reason if state else None,
        "delta": state.weighting.delta if state and mode == "rsd" else None,
        **c.as_dict(),
        "error": error,
    }
