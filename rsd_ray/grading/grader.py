"""Grading with math-verify, with a per-call time bound that also works in worker threads.

math-verify's own timeouts use signal.alarm, which only works on a process's
main thread (DESIGN.md section 4). Here every check runs in a helper process
(worker.py, on its main thread, so math-verify's timeouts work there too) and
the caller waits at most `timeout_s`; a check that overruns is answered with
a time-out and the helper is killed and replaced. The caller may be any thread of any process: a
Ray actor, a Ray Data worker, the local runner.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Literal

from rsd_ray.grading.extract import choice_letter, final_answer

Kind = Literal["math", "choice"]
_START_TIMEOUT_S = 120.0  # the helper's first import of math-verify and sympy


@dataclass(frozen=True)
class Grade:
    pred: str | None  # the extracted final answer
    correct: bool | None  # None when there is no reference
    error: str | None = None


def as_latex(answer: str) -> str:
    """Wrap a bare reference answer so math-verify reads it as LaTeX."""
    a = answer.strip()
    return a if a.startswith("$") or "\\boxed" in a else f"${a}$"


class Grader:
    def __init__(self, timeout_s: float = 5.0):
        self.timeout_s = timeout_s
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()  # one request at a time on the helper's pipe

    def _helper(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen([sys.executable, "-m", "rsd_ray.grading.worker"], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, text=True, bufsize=1)
            self._read(self._proc, _START_TIMEOUT_S)
        return self._proc

    def _read(self, proc: subprocess.Popen, timeout: float) -> dict:
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        line = proc.stdout.readline() if ready else ""
        if not line:
            proc.kill()
            proc.wait()
            self._proc = None
            raise TimeoutError(f"grader timed out after {timeout:g}s")
        return json.loads(line)

    def _call(self, **req) -> bool:
        with self._lock:
            proc = self._helper()
            proc.stdin.write(json.dumps({**req, "timeout": max(1, int(self.timeout_s))}) + "\n")
            out = self._read(proc, self.timeout_s)
        if "error" in out:
            raise ValueError(out["error"])
        return out["ok"]

    def close(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None

    def grade(self, response: str, reference: str | None, kind: Kind = "math") -> Grade:
        if kind == "choice":
            pred = choice_letter(response)
            return Grade(pred, None if reference is None else pred == reference.strip())
        pred = final_answer(response)
        if reference is None:
            return Grade(pred, None)
        if pred is None:
            return Grade(None, False)
        try:
            return Grade(pred, self._call(op="verify", gold=as_latex(reference), pred=f"\\boxed{{{pred}}}"))
        except (TimeoutError, ValueError) as e:
            return Grade(pred, None, str(e))

    def equivalent(self, a: str, b: str) -> bool:
        """Two final answers with the same value (the majority vote's classes); False if unsure."""
        if a == b:
            return True
        try:
            return self._call(op="verify", gold=f"\\boxed{{{a}}}", pred=f"\\boxed{{{b}}}")
        except (TimeoutError, ValueError, OSError):
            return False

    def parses(self, text: str) -> bool:
        return self._call(op="parse", text=text)
