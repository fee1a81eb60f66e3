"""The online target budget of one pass: built from the config, seeded from the rows already done."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from rsd_ray.config import Config
from rsd_ray.core.budget import BudgetGate, TargetBudget
from rsd_ray.core.calibration import row_draft_rewards

SEED_COLUMNS = ["steps", "rejected", "steps_target", "steps_draft_accepted"]


def make_gate(cfg: Config, mode: str, done: pa.Table, per_row: int = 1) -> BudgetGate | None:
    """The gate for an rsd pass with rsd.target_budget set (None otherwise). `done`: the committed
    rows (SEED_COLUMNS), whose rewards and step counts every window of a resumed run starts from."""
    r = cfg.rsd
    if mode != "rsd" or r.target_budget is None:
        return None
    lag = r.budget_lag or -(-(cfg.run.clients + 1) * cfg.run.batch_size // r.budget_window)
    budget = TargetBudget(r.target_budget, r.delta, r.budget_window, lag, per_row)
    if done.num_rows:
        rewards = [r for steps, rej in zip(done["steps"].to_pylist(), done["rejected"].to_pylist())
                   for group in row_draft_rewards(steps, rej) for r in group]
        target = int(pc.sum(done["steps_target"]).as_py() or 0)
        budget.seed(rewards, target, target + int(pc.sum(done["steps_draft_accepted"]).as_py() or 0),
                    done.num_rows // per_row)
    return BudgetGate(budget)
