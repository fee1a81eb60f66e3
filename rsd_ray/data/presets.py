"""Column maps for the paper's seven test sets (../shared/benchmarks) and the zoo.

A preset says where a row's id, question and reference answer are, and how
the answer is graded ("math" with math-verify, or "choice" by letter).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rsd_ray.grading.extract import gsm8k_answer, index_to_letter, last_boxed


@dataclass(frozen=True)
class Preset:
    problem_field: str
    reference: Callable[[dict], str | None]
    id_field: str | None = None
    choices_field: str | None = None
    kind: str = "math"


def _field(name: str) -> Callable[[dict], str | None]:
    """A reference column; blank means "no reference" (two GaoKao rows have none)."""
    return lambda row: None if row.get(name) is None or not str(row[name]).strip() else str(row[name])


def _olympiad(row: dict) -> str | None:
    ans = row.get("final_answer")
    if not ans:
        return None
    # Several answers are graded as one tuple-like string.
    return ", ".join(a.strip().strip("$") for a in ans)


def _choice(row: dict) -> str | None:
    a = row.get("answer")
    return index_to_letter(a) if isinstance(a, int) and not isinstance(a, bool) else None


PRESETS: dict[str, Preset] = {
    "zoo": Preset("problem", _field("answer"), id_field="id"),
    "math500": Preset("problem", _field("answer"), id_field="unique_id"),
    "gsm8k": Preset("question", lambda r: gsm8k_answer(r["answer"]) if isinstance(r.get("answer"), str) else None,
                    id_field="idx"),
    "minerva_math": Preset("problem", lambda r: last_boxed(r["solution"]) if isinstance(r.get("solution"), str)
                           else None, id_field="idx"),
    "olympiadbench": Preset("question", _olympiad, id_field="id"),
    "gaokao2023en": Preset("question", _field("answer")),
    "gpqa": Preset("question", _choice, choices_field="choices", kind="choice"),
    "mmlu_stem": Preset("question", _choice, choices_field="choices", kind="choice"),
}
