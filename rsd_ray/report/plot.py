"""Accuracy against FLOPs and against wall time, the Pareto front marked (matplotlib, Agg: no display).

Top row: every cell. Bottom row: the most accurate band (within `zoom` of
the best accuracy), where RSD settings and the target usually crowd together.
"""

from __future__ import annotations

from pathlib import Path

AXES = (("flops_total", "pareto_flops", "FLOPs (2 x params x tokens, all models)", "accuracy vs FLOPs"),
        ("wall_s", "pareto_wall", "wall time (s)", "accuracy vs wall time"))


def plot_accuracy_vs_cost(report: dict, path: Path, zoom: float = 0.03) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [c for c in report["cells"] if c["accuracy"] is not None]
    best = max((c["accuracy"] for c in cells), default=0.0)
    top = [c for c in cells if c["accuracy"] >= best - zoom]
    rows = [cells, top] if 1 < len(top) < len(cells) else [cells]
    fig, axes = plt.subplots(len(rows), 2, figsize=(13, 5.2 * len(rows)), squeeze=False)
    for r, pts_all in enumerate(rows):
        for col, (cost, flag, xlabel, title) in enumerate(AXES):
            ax = axes[r][col]
            pts = sorted((c for c in pts_all if c[cost]), key=lambda c: c[cost])
            for i, c in enumerate(pts):
                on = c[flag]
                ax.scatter(c[cost], c["accuracy"], s=60 if on else 35, zorder=3,
                           color="tab:red" if on else "tab:blue", edgecolor="black" if on else "none")
                # alternate above/below so that neighbours' labels do not overprint
                ax.annotate(c["cell"], (c[cost], c["accuracy"]), textcoords="offset points",
                            xytext=(5, 5 if i % 2 == 0 else -12), fontsize=8)
            front = sorted((c[cost], c["accuracy"]) for c in pts if c[flag])
            if front:
                xs, ys = zip(*front)
                ax.step(xs, ys, where="post", color="tab:red", lw=1.2, ls="--", zorder=2,
                        label="Pareto front (of all cells)")
                ax.legend(loc="lower right")
            if pts and max(c[cost] for c in pts) / max(min(c[cost] for c in pts), 1e-12) > 20:
                ax.set_xscale("log")
            ax.set_xlabel(xlabel)
            ax.set_ylabel("accuracy")
            ax.set_title(title if r == 0 else f"{title}: accuracy >= {best - zoom:.3f}")
            ax.grid(alpha=0.3)
            ax.margins(x=0.15, y=0.12)
    fig.suptitle(f"{report.get('source', '')}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
