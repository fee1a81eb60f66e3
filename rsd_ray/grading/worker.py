"""The grading helper process: JSON lines in, JSON lines out, math-verify on its main thread.

Started by Grader as `python -m rsd_ray.grading.worker`, so it works whatever
the parent is (a Ray actor, a thread, an interactive session).
"""

from __future__ import annotations

import json
import sys


def _parse(text: str, timeout: int):
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

    return parse(text, extraction_config=[LatexExtractionConfig(), ExprExtractionConfig()], parsing_timeout=timeout)


def handle(req: dict) -> dict:
    from math_verify import verify

    t = req["timeout"]
    if req["op"] == "parse":
        return {"ok": len(_parse(req["text"], t)) > 0}
    gold, pred = _parse(req["gold"], t), _parse(req["pred"], t)
    return {"ok": bool(gold) and bool(pred) and bool(verify(gold, pred, timeout_seconds=t))}


def main() -> None:
    import math_verify  # noqa: F401  (import before the first request: it is the slow part)

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        try:
            out = handle(json.loads(line))
        except Exception as e:  # one bad input must not end the helper
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
