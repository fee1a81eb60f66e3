"""Progress of a streamed pass: a bar on a terminal, a line every few seconds in job logs.

The line (what `ray job logs` shows of a submitted job) carries rows done,
rows/s, errors and the acceptance rate of the draft steps so far.
"""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, initial: int, label: str, log=print, every_s: float = 10.0):
        self.total, self.done, self.errors, self.label, self.log = total, initial, 0, label, log
        self.initial = initial
        self.accepted = self.proposed = 0
        self.logged = initial  # rows done at the last line
        self.every_s = every_s
        self.t0 = self.last = time.monotonic()
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, desc=label, unit="row", dynamic_ncols=True)

    def update(self, rows: int, errors: int = 0, accepted: int = 0, proposed: int = 0) -> None:
        self.done += rows
        self.errors += errors
        self.accepted += accepted
        self.proposed += proposed
        acceptance = f"{self.accepted / self.proposed:.3f}" if self.proposed else "-"
        if self.bar is not None:
            self.bar.update(rows)
            self.bar.set_postfix(errors=self.errors, acceptance=acceptance, refresh=False)
        elif time.monotonic() - self.last >= self.every_s:
            self._line(acceptance)

    def _line(self, acceptance: str) -> None:
        self.last, self.logged = time.monotonic(), self.done
        rate = (self.done - self.initial) / max(self.last - self.t0, 1e-9)
        self.log(f"{self.label}: {self.done}/{self.total} rows, {self.errors} errors, {rate:.1f} rows/s, "
                 f"acceptance {acceptance}")

    def update_table(self, t) -> None:
        """A block of output rows (the output schema) has been solved."""
        import pyarrow.compute as pc

        accepted = int(pc.sum(t["steps_draft_accepted"]).as_py() or 0)
        self.update(t.num_rows, t.num_rows - t["error"].null_count, accepted,
                    accepted + int(pc.sum(t["steps_draft_rejected"]).as_py() or 0))

    def close(self) -> None:
        """The bar closed; in a log (a job's), the last line always, however short the run."""
        if self.bar is not None:
            self.bar.close()
        elif self.done > self.logged:  # not already the last line
            self._line(f"{self.accepted / self.proposed:.3f}" if self.proposed else "-")
