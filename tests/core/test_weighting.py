import math
import random

import pytest

from rsd_ray.core.weighting import Weighting


def test_binary_is_a_threshold_and_draws_nothing():
    w = Weighting("binary", delta=0.7)
    rng = random.Random(0)
    state = rng.getstate()
    assert [w.accept(r, rng) for r in (0.0, 0.69, 0.7, 0.71, 1.0)] == [False, False, True, True, True]
    assert rng.getstate() == state  # deterministic: consumes no randomness


@pytest.mark.parametrize("kind,r,expected", [
    ("constant", 0.1, 0.5), ("constant", 0.9, 0.5),
    ("clip", -0.5, 0.0), ("clip", 0.3, 0.3), ("clip", 1.7, 1.0),
    ("sigmoid", 1.0, 0.5), ("sigmoid", 0.25, 0.2),
    ("logistic", 0.7, 0.5), ("logistic", 0.8, 1 / (1 + math.exp(-1.0))),
])
def test_weighting_values(kind, r, expected):
    assert Weighting(kind, delta=0.7, p=0.5, alpha=10.0)(r) == pytest.approx(expected)


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(ValueError, match="weighting kind must be one of"):
        Weighting("nope")  # type: ignore[arg-type]


@pytest.mark.parametrize("w", [Weighting("constant", p=0.3), Weighting("clip"), Weighting("sigmoid"),
                               Weighting("logistic", delta=0.5, alpha=6.0)])
def test_accepted_fraction_matches_expected_weight(w):
    """Over many draws, accepted fraction = E[w(r)] within 4 standard errors."""
    rng_r, rng_a = random.Random(1), random.Random(2)
    rewards = [rng_r.random() for _ in range(20000)]
    accepted = sum(w.accept(r, rng_a) for r in rewards)
    expect = sum(w(r) for r in rewards)
    var = sum(w(r) * (1 - w(r)) for r in rewards)
    assert abs(accepted - expect) < 4 * math.sqrt(var) + 1


def test_stochastic_acceptance_is_reproducible_from_the_seed():
    w = Weighting("clip")
    a = [w.accept(0.5, r) for r in [random.Random(7)] for _ in range(50)]
    b = [w.accept(0.5, r) for r in [random.Random(7)] for _ in range(50)]
    assert a == b and 0 < sum(a) < 50
