import random

from rsd_ray.zoo.task import DELIMITER, TaskSpec, expected_step, make_problem, make_problems, step_is_correct
from rsd_ray.zoo.prm_train import corrupt, prm_example
from rsd_ray.zoo.tokenizer import build_tokenizer


def test_solutions_verify_step_by_step():
    for p in make_problems(200, seed=3):
        steps = p.solution.split(DELIMITER)
        assert steps[-1] == f"\\boxed{{{p.answer}}}"
        assert all(step_is_correct(p.problem, steps[:k], steps[k]) for k in range(len(steps)))
        assert expected_step(p.problem, steps) is None  # nothing after the boxed answer


def test_values_stay_in_range_and_generation_is_seeded():
    spec = TaskSpec(max_operand=30, max_value=99)
    a, b = make_problems(50, seed=1, spec=spec), make_problems(50, seed=1, spec=spec)
    assert a == b
    assert all(0 <= int(p.answer) <= 99 for p in a)


def test_wrong_steps_are_caught():
    rng = random.Random(0)
    for p in make_problems(100, seed=5):
        steps = p.solution.split(DELIMITER)
        k = rng.randrange(len(steps))
        assert not step_is_correct(p.problem, steps[:k], corrupt(steps[k], rng))
    # a step after a wrong one is judged against the value its prefix carried
    assert step_is_correct("1+2+3=?", ["1+2=4"], "4+3=7")


def test_dense_prm_labels():
    tok = build_tokenizer()
    step_tok = tok.encode("\n")[0]
    ids, labels, flags = prm_example(tok, "1+2+3=?", ["1+2=4", "4+3=7"], step_tok)
    text = tok.decode(ids)
    assert text == "1+2+3=?\n1+2=4\n4+3=7\n"
    at_steps = [lab for lab, f in zip(labels, flags) if f]
    assert at_steps == [0.0, 1.0]
    first = labels[len(tok.encode("1+2+3=?\n")):][:5]
    assert first == [1.0, 1.0, 1.0, 1.0, 0.0]  # "1+2=" is right so far, "4" is where it goes wrong
    _ = make_problem(random.Random(1), TaskSpec(), "x")
