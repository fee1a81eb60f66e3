"""Accuracy against FLOPs and against wall time, the Pareto front marked (matplotlib, Agg: no display)."""

from __future__ import annotations

from pathlib import Path


def plot_accuracy_vs_cost(report: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [c for c in report["cells"] if c["accuracy"] is not None]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2))
    for ax, cost, flag, label in ((axes[0], "flops_total", "pareto_flops", "FLOPs (2 x params x tokens, all models)"),
                                  (axes[1], "wall_s", "pareto_wall", "wall time (s)")):
        pts = [c for c in cells if c[cost]]
        for c in pts:
            on = c[flag]
            ax.scatter(c[cost], c["accuracy"], s=60 if on else 35, zorder=3,
                       color="tab:red" if on else "tab:blue", edgecolor="black" if on else "none")
            ax.annotate(c["cell"], (c[cost], c["accuracy"]), textcoords="offset points", xytext=(5, 4), fontsize=8)
        front = sorted((c[cost], c["accuracy"]) for c in pts if c[flag])
        if front:
            xs, ys = zip(*front)
            ax.step(xs, ys, where="post", color="tab:red", lw=1.2, ls="--", zorder=2, label="Pareto front")
            ax.legend(loc="lower right")
        if pts and max(c[cost] for c in pts) / max(min(c[cost] for c in pts), 1e-12) > 20:
            ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("accuracy")
        ax.grid(alpha=0.3)
    axes[0].set_title("accuracy vs FLOPs")
    axes[1].set_title("accuracy vs wall time")
    fig.suptitle(f"{report.get('source', '')}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
