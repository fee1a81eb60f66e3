"""The online target budget (`rsd.target_budget: F`): delta adjusted while the run goes.

The offline rule (core/calibration.py) picks, from the rewards of draft
steps, the largest delta whose estimated share of target-written steps is at
most F. Online, the run applies the same rule to the rewards seen so far, with
two additions:

- Windows, in input order. Rows are numbered in the order this run reads them
  (`RequestState.seq`) and cut into windows of `window` rows. The delta of
  window k depends only on the rows of windows < g(k), where
  g(k) = max(k - lag, k // 2): a row of window k is admitted only once those
  are finished. So each row's delta is a function of the input order and the
  seed alone, whatever the batching, the backend or the order of completion
  (greedy: the same outputs on --backend local and ray). The k // 2 term
  bounds how much of a short run is spent before the first feedback (windows
  0 and 1 run at the start delta); `lag` bounds how far admission may run
  ahead of the oldest unfinished rows later on (a straggler holds back at most
  lag windows).
- An integral correction. The reward pool estimates the share a delta will
  cost, but changing delta changes the prefixes that later steps are drafted
  from, so the estimate is biased; and the first windows run at the start
  delta. Each window therefore aims at F + g (F - s), s the target share of the
  finished prefix: the gap is paid back over as many steps as the prefix has,
  so the cumulative share is pulled back toward F. The gain g = min(1, prefix
  rows / (lag x window)) is damped while the prefix is shorter than what is in
  flight ahead of it (those rows run at older deltas: a full correction on a
  short, noisy prefix swings delta from one end to the other).

Admission follows seq order (the schedulers admit in input order; the Ray
coordinator keeps its pending requests ordered by seq), so the lowest waiting
row's windows are always finished or in flight: the gate never deadlocks.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field, replace

from rsd_ray.core.calibration import delta_for_share, draft_rewards
from rsd_ray.core.request import RequestState


@dataclass
class TargetBudget:
    budget: float  # F: the share of steps the target may write
    start_delta: float  # the delta of the first windows (no feedback yet), rsd.delta
    window: int = 16  # rows per window
    lag: int = 12  # windows admission may run ahead of the oldest unfinished one, at most
    per_row: int = 1  # states per row (synth solves each row K times)
    _pool: list[float] = field(default_factory=list)  # sorted draft rewards of the absorbed prefix
    _target: int = 0  # target steps of the absorbed prefix
    _steps: int = 0  # all steps (accepted draft + target) of the absorbed prefix
    _rows: float = 0.0  # rows of the absorbed prefix (seeded ones included)
    _absorbed: int = 0  # windows [0, _absorbed) are in the pool
    _reports: dict[int, list[tuple[list[float], int, int]]] = field(default_factory=lambda: defaultdict(list))
    _seen: set[tuple[int, str]] = field(default_factory=set)
    _deltas: dict[int, float] = field(default_factory=dict)  # window -> its delta, fixed once computed

    def __post_init__(self) -> None:
        if not 0.0 <= self.budget <= 1.0:
            raise ValueError(f"rsd.target_budget must be in [0, 1], got {self.budget}")
        if self.window < 1 or self.lag < 1:
            raise ValueError("the budget window and lag must be >= 1")

    def seed(self, rewards: list[float], target_steps: int, all_steps: int, rows: int) -> None:
        """Rows finished before this run (a resumed job): the prefix every window starts from."""
        for r in rewards:
            bisect.insort(self._pool, r)
        self._target += target_steps
        self._steps += all_steps
        self._rows += rows

    def prefix(self, k: int) -> int:
        """g(k): the windows a row of window k waits for."""
        return max(k - self.lag, k // 2)

    def ready(self, seq: int) -> bool:
        need = self.prefix(seq // self.window)
        return all(self._complete(w) for w in range(self._absorbed, need))

    def delta(self, seq: int) -> float:
        """The delta of seq's window; call only once ready(seq)."""
        k = seq // self.window
        for w in range(max(self._deltas) + 1 if self._deltas else 0, k + 1):  # in order: prefixes only grow
            self._absorb_to(self.prefix(w))
            self._deltas[w] = self._rule()
        return self._deltas[k]

    def report(self, seq: int, key: str, rewards: list[float], target_steps: int, all_steps: int) -> None:
        """A finished state: its draft rewards and step counts (a re-sent state counts once)."""
        if (seq, key) in self._seen:
            return
        self._seen.add((seq, key))
        self._reports[seq // self.window].append((rewards, target_steps, all_steps))

    def _complete(self, w: int) -> bool:
        return len(self._reports.get(w, ())) >= self.window * self.per_row

    def _absorb_to(self, g: int) -> None:
        while self._absorbed < g:
            for rewards, t, s in self._reports.pop(self._absorbed, []):
                for r in rewards:
                    bisect.insort(self._pool, r)
                self._target += t
                self._steps += s
                self._rows += 1 / self.per_row
            self._absorbed += 1

    def _rule(self) -> float:
        if not self._pool:
            return self.start_delta
        share = self._target / self._steps if self._steps else self.budget
        gain = min(1.0, self._rows / (self.lag * self.window))
        aim = min(1.0, max(0.0, self.budget + gain * (self.budget - share)))
        return min(1.0, delta_for_share(self._pool, aim))


class BudgetGate:
    """What a scheduler asks before admitting an rsd state, and tells when one finishes."""

    def __init__(self, budget: TargetBudget):
        self.budget = budget

    def ready(self, s: RequestState) -> bool:
        return self.budget.ready(s.seq)

    def start(self, s: RequestState) -> None:
        s.weighting = replace(s.weighting, delta=self.budget.delta(s.seq))

    def finish(self, s: RequestState) -> None:
        c = s.counters
        self.budget.report(s.seq, s.request.id, draft_rewards(s), c.steps_target,
                           c.steps_draft_accepted + c.steps_target)
