"""The step journal: solutions in flight keep their committed steps across a kill of the driver.

`results.parquet/_journal.jsonl` (a leading "_": Parquet readers skip it)
holds one JSON line per request and snapshot (core/journal.py), appended as
its steps land: every `every_s` seconds, the states in flight whose progress
grew since their last line. A resumed run reads the last line of each id not
yet in a committed part and continues that solution from its last committed
step; the journal is compacted to those ids whenever a part commits. Lines
are flushed, not fsynced: a killed process loses nothing, a machine crash at
most the last seconds (those steps are then recomputed, as before).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path


class Journal:
    def __init__(self, folder: Path, every_s: float = 2.0):
        self.path = folder / "_journal.jsonl"
        self.every_s = every_s
        self._last = 0.0
        self._written: dict[str, int] = {}  # id -> progress (steps + rejected) of its last line
        self._file = None
        self._lock = threading.Lock()  # the Ray backend writes from its poller thread

    def load(self, done: set[str]) -> dict[str, dict]:
        """The last snapshot of every journaled id not done; a line cut short by the kill is skipped."""
        out: dict[str, dict] = {}
        if self.path.is_file():
            for line in self.path.read_text().splitlines():
                try:
                    snap = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if snap["id"] not in done:
                    out[snap["id"]] = snap
        self._written = {i: _progress(s) for i, s in out.items()}
        return out

    def due(self) -> bool:
        return time.monotonic() - self._last >= self.every_s

    def write(self, snaps: list[dict]) -> None:
        """Append the snapshots whose progress grew since their last line."""
        self._last = time.monotonic()
        with self._lock:
            new = [s for s in snaps if _progress(s) > self._written.get(s["id"], 0)]
            if not new:
                return
            if self._file is None:
                self._file = open(self.path, "a")
            self._file.write("".join(json.dumps(s) + "\n" for s in new))
            self._file.flush()
            self._written.update((s["id"], _progress(s)) for s in new)

    def compact(self, done: set[str]) -> None:
        """Keep only the ids not done (a part just committed), atomically."""
        with self._lock:
            if self._file is None and not self.path.is_file():  # nothing journaled yet: nothing to keep
                return
            self.close()
            live = self.load(done)
            tmp = self.path.with_name("_journal.tmp")
            tmp.write_text("".join(json.dumps(s) + "\n" for s in live.values()))
            os.replace(tmp, self.path)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _progress(snap: dict) -> int:
    return len(snap["steps"]) + len(snap["rejected"])
