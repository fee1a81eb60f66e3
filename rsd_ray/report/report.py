"""The report of an eval output DIR, built from its summary.json alone.

One line per mode and setting (an eval cell: `rsd[delta=0.7]` is mode rsd,
setting delta=0.7) with accuracy, target step share, tokens and FLOPs per
model, wall time and rows/s, and whether the cell is on the Pareto front of
accuracy against FLOPs and against wall time. Written as Markdown and JSON;
plot.py draws the two fronts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from rsd_ray.report.pareto import pareto_front
from rsd_ray.runner.atomic import write_json
from rsd_ray.runner.tables import fmt

COLUMNS = ["accuracy", "target_step_share", "acceptance_rate", "tokens_draft", "tokens_target", "tokens_prm",
           "flops_draft", "flops_target", "flops_prm", "flops_total", "wall_s", "rows_per_s", "rows", "errors"]
_CELL = re.compile(r"^(?:(?P<dataset>[^/]+)/)?(?P<mode>[a-z_]+)(?:\[(?P<setting>[^\]]*)\])?$")


def split_cell(cell: str) -> tuple[str | None, str, str]:
    """(dataset, mode, setting) of an eval cell name such as `math500/rsd[delta=0.7]`."""
    m = _CELL.match(cell)
    if not m:
        return None, cell, ""
    return m["dataset"], m["mode"], m["setting"] or ""


def build(summary: dict, default_setting: dict[str, str] | None = None) -> dict:
    """The report as a dict: {"cells": [...], "pareto": {"flops": [...], "wall": [...]}}."""
    cells = []
    for name, m in summary.get("modes", {}).items():
        dataset, mode, setting = split_cell(name)
        cells.append({"cell": name, "dataset": dataset, "mode": mode,
                      "setting": setting or (default_setting or {}).get(mode, ""),
                      **{c: m.get(c) for c in COLUMNS}})
    for dataset in {c["dataset"] for c in cells}:  # a front per dataset: accuracies of two sets do not compare
        mine = [c for c in cells if c["dataset"] == dataset and c["accuracy"] is not None]
        for key, cost in (("pareto_flops", "flops_total"), ("pareto_wall", "wall_s")):
            ok = [c for c in mine if c[cost] is not None]
            for c, flag in zip(ok, pareto_front([(c[cost], c["accuracy"]) for c in ok])):
                c[key] = flag
    for c in cells:
        c.setdefault("pareto_flops", False)
        c.setdefault("pareto_wall", False)
    return {"cells": cells,
            "pareto": {"flops": [c["cell"] for c in cells if c["pareto_flops"]],
                       "wall": [c["cell"] for c in cells if c["pareto_wall"]]}}


def load(run_dir: Path) -> dict:
    """The report of an eval output directory (its summary.json; job.json, when present, names rsd's delta)."""
    summary = json.loads((run_dir / "summary.json").read_text())
    default = {}
    job = run_dir / "job.json"
    if job.is_file():
        rsd = json.loads(job.read_text()).get("config", {}).get("rsd", {})
        if rsd:
            default["rsd"] = f"{rsd.get('weighting', 'binary')}, delta={rsd.get('delta')}"
    out = build(summary, default)
    out["source"] = str(run_dir)
    out["backend"] = summary.get("backend")
    return out


def markdown(report: dict, plot_name: str | None = None, note: str | None = None) -> str:
    heads = ["cell", "accuracy", "target share", "tokens draft", "tokens target", "tokens PRM", "FLOPs draft",
             "FLOPs target", "FLOPs PRM", "FLOPs total", "wall s", "rows/s", "Pareto (FLOPs)", "Pareto (wall)"]
    keys = ["accuracy", "target_step_share", "tokens_draft", "tokens_target", "tokens_prm", "flops_draft",
            "flops_target", "flops_prm", "flops_total", "wall_s", "rows_per_s"]
    lines = [f"# Accuracy and cost per mode and setting", "",
             f"From `{report.get('source', '?')}` (backend {report.get('backend') or '?'}). "
             "FLOPs are 2 x parameters x tokens processed, per model; target share is "
             "steps_target / (accepted draft steps + target steps). A cell on the Pareto front has no other "
             "cell at least as accurate for at most the cost (FLOPs, or wall time).", "",
             *([note, ""] if note else []),
             "| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for c in report["cells"]:
        name = c["cell"] + (f" ({c['setting']})" if c["setting"] and "[" not in c["cell"] else "")
        lines.append("| " + " | ".join([name, *(fmt(c[k]) for k in keys),
                                        "**yes**" if c["pareto_flops"] else "", "**yes**" if c["pareto_wall"] else ""]) + " |")
    lines += ["", f"Pareto front, accuracy vs FLOPs: {', '.join(report['pareto']['flops']) or '-'}",
              "", f"Pareto front, accuracy vs wall time: {', '.join(report['pareto']['wall']) or '-'}"]
    if plot_name:
        lines += ["", f"![accuracy vs FLOPs and wall time]({plot_name})"]
    return "\n".join(lines) + "\n"


def write(report: dict, output: Path, stem: str = "report", plot: bool = True, note: str | None = None) -> dict[str, Path]:
    """DIR/<stem>.md, DIR/<stem>.json and (unless plot=False) DIR/accuracy_vs_cost.png."""

    output.mkdir(parents=True, exist_ok=True)
    paths = {"json": output / f"{stem}.json", "md": output / f"{stem}.md"}
    if plot:
        from rsd_ray.report.plot import plot_accuracy_vs_cost

        paths["png"] = output / "accuracy_vs_cost.png"
        plot_accuracy_vs_cost(report, paths["png"])
    write_json(report, paths["json"])
    paths["md"].write_text(markdown(report, paths["png"].name if plot else None, note))
    return paths
