"""The report of an eval from a hand-made summary.json: table, JSON, plot, Pareto fronts."""

import json

from rsd_ray.report.pareto import pareto_front
from rsd_ray.report.report import build, load, markdown, split_cell, write


def _m(acc, flops, wall, share=None):
    return {"rows": 10, "errors": 0, "accuracy": acc, "target_step_share": share, "acceptance_rate": None,
            "tokens_draft": 100, "tokens_target": 50, "tokens_prm": 20, "flops_draft": flops // 4,
            "flops_target": flops // 2, "flops_prm": flops // 4, "flops_total": flops, "wall_s": wall,
            "rows_per_s": 10 / wall}


SUMMARY = {"backend": "local", "modes": {
    "target": _m(0.99, 1000, 10.0, 1.0),
    "draft": _m(0.50, 100, 1.0),
    "beam": _m(0.60, 2000, 20.0),  # dominated in both: more cost, less accuracy than target
    "rsd[delta=0.7]": _m(0.99, 400, 5.0, 0.1),  # as accurate as target for less: target leaves the front
    "rsd[delta=0.5]": _m(0.90, 300, 6.0, 0.05),  # on the FLOPs front, not on the wall front
    "majority": _m(None, 50, 0.5),  # no accuracy: not on any front
}}


def test_pareto_front():
    assert pareto_front([(1, 0.5), (2, 0.9), (3, 0.8), (2, 0.9), (0.5, 0.1)]) == [True, True, False, True, True]
    assert pareto_front([]) == []
    assert pareto_front([(1, 1)]) == [True]


def test_split_cell():
    assert split_cell("rsd[delta=0.7]") == (None, "rsd", "delta=0.7")
    assert split_cell("math500/best_of_n") == ("math500", "best_of_n", "")


def test_build_marks_fronts():
    r = build(SUMMARY, {"rsd": "binary, delta=0.7"})
    assert r["pareto"]["flops"] == ["draft", "rsd[delta=0.7]", "rsd[delta=0.5]"]
    assert r["pareto"]["wall"] == ["draft", "rsd[delta=0.7]"]
    by = {c["cell"]: c for c in r["cells"]}
    assert by["rsd[delta=0.5]"]["mode"] == "rsd" and by["rsd[delta=0.5]"]["setting"] == "delta=0.5"
    assert by["target"]["flops_target"] == 500 and by["target"]["target_step_share"] == 1.0
    assert not by["majority"]["pareto_flops"]


def test_write_from_dir(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps(SUMMARY))
    paths = write(load(run), tmp_path / "out")
    assert paths["png"].stat().st_size > 1000
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(paths["json"].read_text())
    assert len(data["cells"]) == 6 and data["source"] == str(run)
    md = paths["md"].read_text()
    assert "| rsd[delta=0.7] | 0.99 | 0.1 |" in md and "accuracy_vs_cost.png" in md
    assert md.count("**yes**") == 5


def test_markdown_without_plot():
    assert "![" not in markdown(build(SUMMARY))
