"""The bench's bound on hand-made timings: every expected value is worked out by hand here."""

import pytest

from rsd_ray.jobs.bench_bound import Timings, bound

# target-only: 100 steps, 10.0 s in the target's calls, 10.5 s wall  -> c_target = 0.1 s
# draft-only: 120 steps, 1.2 s in the draft's calls                  -> c_draft  = 0.01 s
# PRM alone over those 120 steps: 0.6 s                              -> c_prm    = 0.005 s
# rsd: D = 100 draft steps, T = 15 target steps, 5.0 s wall
T0 = Timings(target_wall_s=10.5, rsd_wall_s=5.0, target_engine_s=10.0, target_steps=100,
             draft_engine_s=1.2, draft_steps=120, prm_engine_s=0.6, prm_steps=120,
             rsd_draft_steps=100, rsd_target_steps=15)


def test_formula_on_hand_made_timings():
    b = bound(T0)
    assert (b.c_target_s, b.c_draft_s, b.c_prm_s) == pytest.approx((0.1, 0.01, 0.005))
    assert b.ideal_rsd_s == pytest.approx(3.0)  # 100 x (0.01 + 0.005) + 15 x 0.1 = 1.5 + 1.5
    assert b.ideal_speedup == pytest.approx(3.5)  # 10.5 / 3.0
    assert b.speedup == pytest.approx(2.1)  # 10.5 / 5.0
    assert b.efficiency == pytest.approx(0.6)  # 2.1 / 3.5 = 3.0 / 5.0


@pytest.mark.parametrize("extra_s", [0.0, 0.4, 2.5])
def test_efficiency_at_most_one_when_rsd_pays_at_least_the_costs_measured_apart(extra_s):
    # rsd's wall: its 100 draft and PRM steps and 15 target steps at the costs measured apart (3.0 s),
    # plus what the ideal leaves out (catch-up prefill, partly full target calls, scheduling)
    t = Timings(**{**T0.__dict__, "rsd_wall_s": 3.0 + extra_s})
    b = bound(t)
    assert b.efficiency == pytest.approx(3.0 / (3.0 + extra_s))
    assert b.efficiency <= 1 + 1e-12
    assert b.speedup <= b.ideal_speedup + 1e-12


def test_bound_does_not_read_rsd_role_times():
    # the flaw it replaces priced the PRM at rsd's own PRM time: a slower PRM inside rsd raised
    # the ideal with the wall and pushed efficiency toward 1. Here only runs apart price it:
    # more PRM time measured apart lowers the ideal speedup; rsd's wall alone moves efficiency.
    slower_prm = bound(Timings(**{**T0.__dict__, "prm_engine_s": 1.2}))  # c_prm 0.01: ideal 100 x 0.02 + 1.5 = 3.5
    assert slower_prm.ideal_rsd_s == pytest.approx(3.5)
    assert slower_prm.efficiency == pytest.approx(0.7)  # 3.5 / 5.0
