"""`rsd-ray report DIR`: Markdown, JSON and a plot of accuracy vs cost from an eval's summary.json.

    rsd-ray report runs/all7 --output docs
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("report", help="accuracy, target share, tokens, FLOPs and time per mode, with Pareto plots")
    add_arguments(p)
    p.set_defaults(handler=main)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, help="an eval output directory (holding summary.json)")
    p.add_argument("--output", type=Path, help="where report.md, report.json, accuracy_vs_cost.png go (default: DIR)")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--note", help="a line of Markdown under the title (e.g. the command that made DIR)")


def main(args: argparse.Namespace) -> int:
    from rsd_ray.report.report import load, write

    if not (args.dir / "summary.json").is_file():
        print(f"rsd-ray: error: {args.dir} holds no summary.json (not an eval output)", file=sys.stderr)
        return 2
    paths = write(load(args.dir), args.output or args.dir, plot=not args.no_plot, note=args.note)
    for p in paths.values():
        print(p)
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(prog="rsd-ray report")
    add_arguments(ap)
    sys.exit(main(ap.parse_args()))
