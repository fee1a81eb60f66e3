"""Which requests may start, and when the target may be called: the one policy both schedulers use.

The local scheduler (core/scheduler.py) and the Ray coordinator
(actors/coordinator.py) differ only in how calls are made (in rounds, or
asynchronously per replica); what they admit and when they call the target
is decided here.

- Admission: requests join in arrival order (with a budget gate, in input
  order, core/budget.py) while fewer than `batch_size` can move and fewer than
  `cap` are in flight. A request that failed before it started is handed back
  at once.
- Gathering (`min_target_batch` = k > 1, rsd): a target call costs nearly as
  much for a few requests as for a full batch, and in rsd only the rejected
  share needs the target. So the target is called once k requests wait for
  it, or when nothing else can move (no request is queued for or inside the
  draft or the PRM). Results never change: each request's steps depend only
  on its own context, only how target work is batched.
- Parked requests (waiting for a gathered target call) cost no compute, only
  memory. Counting them toward batch_size would shrink every draft and PRM
  call while they wait, so they do not count, up to `cap` in flight in all
  (RunConfig.in_flight_cap: by default one target call's worth beyond
  batch_size). Modes whose every request needs the same role (target-only
  among them) are unaffected.
- Lock-step (`lockstep`, run.schedule: lockstep): the reference's schedule,
  kept as a baseline. A batch of `batch_size` requests starts only when the
  last one has finished, and the target is called every round for whatever
  was rejected: one draft step for every unfinished request, score them all,
  the target for the rejected, repeat. The scheduler's round order (draft,
  PRM, target) makes those the rounds; no call gathers, nothing refills.
- A request sent again (its caller died and the call was retried: a Ray Data
  worker restart) supersedes the one in flight under the same id: the old one
  fails and is dropped at its next turn, and only the newest may release the
  id's caches in the engines.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

from rsd_ray.core.budget import BudgetGate
from rsd_ray.core.request import TurnState


@dataclass
class Admission:
    batch_size: int
    cap: int = 0  # requests in flight at most (RunConfig.in_flight_cap); at least batch_size
    min_target_batch: int = 1
    gate: BudgetGate | None = None
    lockstep: bool = False
    owned: Counter = field(default_factory=Counter)  # role -> requests queued for or inside its calls
    live: int = 0
    most_live: int = 0  # stats: the most requests in flight at once
    forced: int = 0  # stats: target calls under min_target_batch because nothing else could move
    _pending: deque = field(default_factory=deque)
    _by_id: dict[str, TurnState] = field(default_factory=dict)  # request id -> its newest state

    def __post_init__(self) -> None:
        self.cap = max(self.batch_size, self.cap)
        if self.lockstep:  # static batches, the target every round
            self.cap, self.min_target_batch = self.batch_size, 1

    @property
    def gathering(self) -> bool:
        return self.min_target_batch > 1

    @property
    def queued(self) -> int:
        return len(self._pending)

    def add(self, states) -> None:
        for s in states:
            old = self._by_id.get(s.request.id)
            if old is not None and not old.done:
                old.fail("superseded: the same request was sent again")
            self._by_id[s.request.id] = s
        self._pending.extend(states)
        if self.gate is not None:  # input order: the lowest waiting row's windows are always in flight
            self._pending = deque(sorted(self._pending, key=lambda s: s.seq))

    def admit(self) -> list[TurnState]:
        """The requests that start now, in order; a failed one is done already (hand it back)."""
        out = []
        if self.lockstep and self.live:
            return out
        while self._pending and self._load() < self.batch_size and self.live < self.cap:
            s = self._pending[0]
            if self.gate is not None and not s.done and not self.gate.ready(s):
                break
            self._pending.popleft()
            if s.done:  # failed before it started (a bad row)
                self._finished(s)
            else:
                if self.gate is not None:
                    self.gate.start(s)
                self.live += 1
                self.most_live = max(self.most_live, self.live)
            out.append(s)
        return out

    def newest(self) -> list[TurnState]:
        """Every request added and not finished (its newest state): the journal's subjects."""
        return list(self._by_id.values())

    def held(self) -> TurnState | None:
        """The request the gate holds back while nothing is in flight (a bug, never a wait)."""
        return self._pending[0] if self._pending and not self.live else None

    def enter(self, role: str) -> None:
        """A request is now queued for `role` (or inside its call)."""
        self.owned[role] += 1

    def leave(self, role: str) -> None:
        self.owned[role] -= 1

    def finish(self, s: TurnState) -> bool:
        """An admitted request is done; True if it is its id's newest state (it may release the id)."""
        self.live -= 1
        return self._finished(s)

    def call_target(self, waiting: int) -> bool:
        """May the target be called now for `waiting` requests? (min_target_batch, see above)"""
        if waiting >= self.min_target_batch:
            return True
        if any(n > 0 for role, n in self.owned.items() if role != "target"):
            return False
        self.forced += 1
        return True

    def _load(self) -> int:
        """What counts toward batch_size: requests parked for the target do not, while gathering."""
        moving = self.live - self.owned["target"]
        return moving if self.gathering and moving > 0 else self.live

    def _finished(self, s: TurnState) -> bool:
        """A superseded state neither reports to the gate nor releases: its newer one will."""
        if self._by_id.get(s.request.id) is not s:
            return False
        del self._by_id[s.request.id]
        if self.gate is not None:
            self.gate.finish(s)
        return True
