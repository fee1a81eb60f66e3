"""Weighting functions w(r) of the paper and the acceptance rule built on them.

The paper's default (and the optimal rule under a budget on target calls) is
the binary step w(r) = 1{r >= delta}; the others are studied as ablations.
Acceptance draws Bernoulli(w(r)) from the request's own seeded generator, so a
run is reproducible whatever the batching and whichever replica served it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Literal, get_args

Kind = Literal["binary", "constant", "clip", "sigmoid", "logistic"]
KINDS: tuple[str, ...] = get_args(Kind)  # the one list: the config's rsd.weighting is typed Kind too


@dataclass(frozen=True)
class Weighting:
    kind: Kind = "binary"
    delta: float = 0.7  # threshold (binary, logistic)
    p: float = 0.5  # constant acceptance probability
    alpha: float = 10.0  # logistic slope

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"weighting kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"constant weighting p must be in [0, 1], got {self.p}")
        # rewards are in [0, 1]: a threshold outside accepts every step or none, which is a typo
        if not 0.0 <= self.delta <= 1.0:
            raise ValueError(f"rsd.delta must be in [0, 1] (rewards are), got {self.delta}")
        if not self.alpha > 0:
            raise ValueError(f"logistic weighting alpha must be > 0, got {self.alpha}")

    def __call__(self, r: float) -> float:
        match self.kind:
            case "binary":
                return 1.0 if r >= self.delta else 0.0
            case "constant":
                return self.p
            case "clip":
                return min(1.0, max(0.0, r))
            case "sigmoid":
                # r / (1 + r): the paper's "sigmoidal" weighting for r >= 0
                return r / (1.0 + r) if r > -1.0 else 0.0
            case "logistic":
                return 1.0 / (1.0 + math.exp(-self.alpha * (r - self.delta)))
        raise AssertionError(self.kind)

    @property
    def deterministic(self) -> bool:
        return self.kind == "binary"

    def accept(self, r: float, rng: random.Random) -> bool:
        """Accept the draft step? Binary never draws, so it consumes no randomness."""
        if self.deterministic:
            return r >= self.delta
        return rng.random() < self(r)
