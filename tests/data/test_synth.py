"""The keep rule, SFT rows, preference pairs and step pairs, on hand-made sample records."""

from rsd_ray.data.synth import KeepRule, derive, min_reward


def rec(sid, response, correct, steps, rejected=(), error=None, problem="1+2+3=?"):
    return {"id": sid, "problem": problem, "response": response, "correct": correct, "error": error,
            "steps": [{"text": t, "source": s, "reward": r} for t, s, r in steps],
            "rejected": [{"index": i, "text": t, "reward": r} for i, t, r in rejected]}


GOOD = rec("p#s0", "1+2=3\n\n3+3=6", True, [("1+2=3", "draft", 0.9), ("3+3=6", "target", 0.95)],
           rejected=[(1, "3+3=7", 0.1)])
GOOD_TWIN = rec("p#s1", "1+2=3\n\n3+3=6", True, [("1+2=3", "draft", 0.9), ("3+3=6", "draft", 0.8)])
LOW = rec("p#s2", "1+2=3\n\n3+3=6 ", True, [("1+2=3", "draft", 0.9), ("3+3=6 ", "draft", 0.4)])
WRONG = rec("p#s3", "1+2=4\n\n4+3=7", False, [("1+2=4", "draft", 0.75), ("4+3=7", "draft", 0.8)])
FAILED = rec("p#s4", "", None, [], error="draft: boom")


def test_keep_rule():
    assert KeepRule().keeps(GOOD) and not KeepRule().keeps(WRONG) and not KeepRule().keeps(FAILED)
    assert KeepRule(min_reward=0.5).keeps(GOOD) and not KeepRule(min_reward=0.5).keeps(LOW)
    assert KeepRule(verified=False, min_reward=0.7).keeps(WRONG)
    assert min_reward(LOW) == 0.4 and min_reward(FAILED) is None


def test_derive_dedupes_pairs_and_finds_the_step_pairs():
    seen: set[str] = set()
    out = derive([GOOD, GOOD_TWIN, LOW, WRONG, FAILED], KeepRule(min_reward=0.5), seen)
    # one SFT row: the twin's response is the same text, LOW is under the reward bound
    assert [r["sample_id"] for r in out["sft"]] == ["p#s0"]
    assert out["sft"][0]["messages"][1] == {"role": "assistant", "content": GOOD["response"]}
    # kept vs not kept: the failed sample is never a partner
    assert {(p["chosen_id"], p["rejected_id"]) for p in out["preference"]} == {("p#s0", "p#s2")}
    # the rejected draft step against the target's step at the same prefix, both rewards
    (pair,) = out["step_pairs"]
    assert pair["prefix"] == ["1+2=3"] and (pair["draft"], pair["target"]) == ("3+3=7", "3+3=6")
    assert (pair["draft_reward"], pair["target_reward"]) == (0.1, 0.95)
    # a second batch with the same content adds nothing
    again = derive([GOOD, WRONG], KeepRule(min_reward=0.5), seen)
    assert not again["sft"] and not again["step_pairs"]
