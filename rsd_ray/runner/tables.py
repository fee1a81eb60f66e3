"""The Markdown table of headline metrics a job prints and writes, and its cell format."""

from __future__ import annotations


def table(summary_by_mode: dict[str, dict]) -> str:
    """A Markdown table of the headline metrics, one line per mode."""
    cols = ["rows", "errors", "accuracy", "acceptance_rate", "target_step_share", "flops_total", "wall_s", "rows_per_s"]
    lines = ["| mode | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for mode, m in summary_by_mode.items():
        lines.append(f"| {mode} | " + " | ".join(fmt(m.get(c)) for c in cols) + " |")
    return "\n".join(lines)


def fmt(v) -> str:
    """A table cell: 3 significant digits, large numbers in e-notation, "-" for none."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.3e}"
    if isinstance(v, int) and v >= 10**6:
        return f"{v:.3e}"
    return str(v)
