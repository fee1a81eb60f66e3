"""Turning raw input rows into requests, one clear error per bad row.

A bad row (no problem, an empty one, a wrong type, an unreadable reference)
becomes an output row with `error` set: it never stops a job and no other row
is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rsd_ray.config import DataConfig
from rsd_ray.data.presets import PRESETS, Preset, _field
from rsd_ray.data.source import BadLine, Source, parse
from rsd_ray.grading.extract import index_to_letter


@dataclass(frozen=True)
class Row:
    id: str
    problem: str | None
    reference: str | None
    kind: str  # how to grade: "math" or "choice"
    error: str | None = None
    seq: int = 0  # its place among the rows this run solves (RowFilter): the online budget's order


def preset_for(cfg: DataConfig) -> Preset:
    if cfg.preset:
        if cfg.preset not in PRESETS:
            raise ValueError(f"unknown data preset {cfg.preset!r} (known: {', '.join(PRESETS)})")
        return PRESETS[cfg.preset]
    return Preset(cfg.problem_field, _field(cfg.answer_field) if cfg.answer_field else (lambda r: None),
                  id_field=cfg.id_field, choices_field=cfg.choices_field,
                  kind="choice" if cfg.choices_field else "math")


def normalize(raw: object, index: int, preset: Preset) -> Row:
    if isinstance(raw, BadLine):
        return Row(f"row-{index}", None, None, preset.kind, raw.error)
    if not isinstance(raw, dict):
        return Row(f"row-{index}", None, None, preset.kind, f"row is not an object: {type(raw).__name__}")
    rid = raw.get(preset.id_field) if preset.id_field else None
    rid = f"row-{index}" if rid is None or rid == "" else str(rid)
    problem = raw.get(preset.problem_field)
    if problem is None:
        return Row(rid, None, None, preset.kind, f"missing problem field {preset.problem_field!r}")
    if not isinstance(problem, str):
        return Row(rid, None, None, preset.kind,
                   f"problem field {preset.problem_field!r} is {type(problem).__name__}, not a string")
    if not problem.strip():
        return Row(rid, problem, None, preset.kind, "empty problem")
    try:
        reference = preset.reference(raw)
    except Exception as e:  # a malformed reference is this row's problem only
        return Row(rid, problem, None, preset.kind, f"unreadable reference: {type(e).__name__}: {e}")
    if preset.choices_field:
        choices = raw.get(preset.choices_field)
        if not isinstance(choices, list) or not choices:
            return Row(rid, problem, reference, preset.kind, f"missing choices field {preset.choices_field!r}")
        problem = problem + "\n" + "\n".join(f"{index_to_letter(i)}. {c}" for i, c in enumerate(choices))
    return Row(rid, problem, reference, preset.kind)


def read_rows(path: str | Path, limit: int | None = None) -> list[object]:
    """Every row of an input, parsed (bad lines kept as `BadLine`): for in-memory runs and tests."""
    return [parse(raw) for _, raw in Source(path, limit).iter_local()]
