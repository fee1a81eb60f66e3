"""The run metrics on hand-made counters: every figure worked out by hand here, not by the code."""

import pytest

from rsd_ray.core.stats import Counters, ModelSizes, summarize


def test_every_metric_on_hand_made_counters():
    c = Counters(steps_draft_accepted=6, steps_draft_rejected=2, steps_target=2, tokens_draft=100,
                 tokens_draft_discarded=10, tokens_target=40, tokens_prm=70)
    m = summarize(c, rows=4, errors=1, correct=2, referenced=4, sizes=ModelSizes(draft=5, target=50, prm=7),
                  wall_s=2.0)
    assert m["flops_draft"] == 1_000 and m["flops_target"] == 4_000 and m["flops_prm"] == 980
    assert m["flops_total"] == 5_980
    assert m["acceptance_rate"] == 0.75 and m["target_step_share"] == 0.25
    assert m["accuracy"] == 0.5 and m["rows_per_s"] == 2.0 and m["errors"] == 1
    assert (m["tokens_draft"], m["tokens_draft_discarded"], m["tokens_target"], m["tokens_prm"]) == (100, 10, 40, 70)


def test_no_steps_no_references_no_time():
    m = summarize(Counters(), rows=0, errors=0, correct=0, referenced=0, sizes=ModelSizes(), wall_s=0.0)
    assert m["accuracy"] is None and m["acceptance_rate"] is None and m["target_step_share"] is None
    assert m["rows_per_s"] is None and m["flops_total"] == 0


def test_an_errored_row_counts_as_wrong():
    from rsd_ray.runner.summary import metrics

    base = {k: 0 for k in Counters().as_dict()}
    rows = [{**base, "id": "a", "reference": "1", "correct": True, "error": None},
            {**base, "id": "b", "reference": "2", "correct": None, "error": "target: context full"},
            {**base, "id": "c", "reference": "3", "correct": True, "error": "grader timed out"},
            {**base, "id": "d", "reference": None, "correct": None, "error": None}]
    m = metrics(rows, ModelSizes(), 1.0)
    assert m["accuracy"] == pytest.approx(1 / 3) and m["errors"] == 2 and m["rows"] == 4
