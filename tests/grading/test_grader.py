"""Grading from worker threads, time-outs, choices, missing answers."""

import threading
import time

from rsd_ray.grading.grader import Grader


def test_grading_works_off_the_main_thread(grader):
    out = []
    t = threading.Thread(target=lambda: out.append(grader.grade(r"thus \boxed{0.5}", r"\frac{1}{2}")))
    t.start()
    t.join()
    assert out[0].correct is True and out[0].pred == "0.5"


def test_a_check_that_overruns_times_out_and_the_grader_recovers():
    g = Grader(timeout_s=1)
    try:
        assert g.grade(r"\boxed{2}", "2").correct  # warm the helper
        proc = g._proc
        proc.stdin.write('{"op": "sleep"}\n')  # not an op: the helper answers with an error, quickly
        proc.stdin.flush()
        g._read(proc, 5)
        # Stall the helper with SIGSTOP: the next call must time out, not hang.
        import os
        import signal

        os.kill(proc.pid, signal.SIGSTOP)
        t0 = time.monotonic()
        res = g.grade(r"\boxed{3}", "3")
        assert res.correct is None and "timed out" in res.error and time.monotonic() - t0 < 5
        assert g.grade(r"\boxed{4}", "4").correct  # a fresh helper
    finally:
        g.close()


def test_choices_and_missing_answers(grader):
    assert grader.grade(r"The answer is \boxed{C}", "C", "choice").correct
    assert grader.grade("I pick B.", "C", "choice").correct is False
    assert grader.grade("no final answer", "3").correct is False
    assert grader.grade(r"\boxed{3}", None).correct is None


def test_equivalent_answers_for_the_majority_vote(grader):
    assert grader.equivalent("\\frac{1}{2}", "0.5")
    assert grader.equivalent("x+1", "1+x")
    assert not grader.equivalent("3", "4")
