"""Progress of a streamed pass: a bar on a terminal, a line every few seconds in job logs."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, initial: int, label: str, log=print, every_s: float = 10.0):
        self.total, self.done, self.errors, self.label, self.log = total, initial, 0, label, log
        self.initial = initial
        self.every_s = every_s
        self.t0 = self.last = time.monotonic()
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, desc=label, unit="row", dynamic_ncols=True)

    def update(self, rows: int, errors: int = 0) -> None:
        self.done += rows
        self.errors += errors
        if self.bar is not None:
            self.bar.update(rows)
            self.bar.set_postfix(errors=self.errors, refresh=False)
        elif time.monotonic() - self.last >= self.every_s:
            self.last = time.monotonic()
            rate = (self.done - self.initial) / max(self.last - self.t0, 1e-9)
            self.log(f"{self.label}: {self.done}/{self.total} rows, {self.errors} errors, {rate:.1f} rows/s")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
