"""The grader scores the benchmark references themselves (DESIGN.md section 4: ~100%)."""

import json

from rsd_ray.data.presets import PRESETS
from rsd_ray.data.rows import normalize
from rsd_ray.grading.extract import gsm8k_answer, last_boxed
from rsd_ray.grading.grader import as_latex


def rows(benchmarks, name):
    return [json.loads(line) for line in open(benchmarks / name / "test.jsonl")]


def test_math500_solutions_match_their_answers(benchmarks, grader):
    data = rows(benchmarks, "math500")
    ok = sum(grader.grade(r["solution"], r["answer"]).correct for r in data)
    assert len(data) == 500 and ok / len(data) >= 0.98, ok


def test_gsm8k_worked_answers_match_their_numbers(benchmarks, grader):
    data = rows(benchmarks, "gsm8k")
    ok = sum(grader.grade(r["answer"], gsm8k_answer(r["answer"])).correct for r in data)
    assert len(data) == 1319 and ok / len(data) >= 0.98, ok


def test_olympiadbench_and_gaokao_references_all_parse(benchmarks, grader):
    olympiad = [normalize(r, i, PRESETS["olympiadbench"]) for i, r in enumerate(rows(benchmarks, "olympiadbench"))]
    gaokao = [normalize(r, i, PRESETS["gaokao2023en"]) for i, r in enumerate(rows(benchmarks, "gaokao2023en"))]
    refs = [a for r in rows(benchmarks, "olympiadbench") for a in r["final_answer"]]
    refs += [r.reference for r in gaokao if r.reference is not None]
    failed = [a for a in refs if not grader.parses(as_latex(a))]
    assert len(refs) > 1000 and failed == []
    # Two GaoKao rows ship a blank answer: they are rows without a reference, not grader failures.
    assert sum(r.reference is None for r in gaokao) == 2
    assert all(r.reference and r.error is None for r in olympiad)


def test_wrong_answers_are_wrong(benchmarks, grader):
    data = rows(benchmarks, "math500")[:50]
    # each solution against the next problem's answer: almost all must fail
    wrong = sum(bool(grader.grade(a["solution"], b["answer"]).correct) for a, b in zip(data, data[1:]))
    assert wrong <= 2


def test_extraction():
    assert last_boxed(r"so \boxed{\frac{1}{2}} and \boxed{x^{2}}") == "x^{2}"
    assert last_boxed("no box") is None
    assert gsm8k_answer("blah\n#### 1,234") == "1234"
