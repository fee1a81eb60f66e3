"""Qwen2.5-Math-PRM's input and rewards as its model card computes them, against the cached adapter.

The model card's recipe, re-implemented here from reading it: the whole conversation
(system prompt, the problem as the user turn, the steps joined by <extra_0> with
one after the last as the assistant turn) rendered by the chat template and
tokenized at once; one forward of the whole model; softmax over the score head's
two labels; the positive one at every <extra_0> (id 151651).
"""

import torch

from rsd_ray.config import load_config
from rsd_ray.core.records import ScoreCall
from rsd_ray.models.prm import QwenPRM
from rsd_ray.models.roles import build_prm

SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."
PROBLEM = "Sue has 3 boxes of 12 pens. She gives away 7 pens. How many are left?"
STEPS = ("First: 3 boxes of 12 pens make 3 * 12 = 36 pens.", "Then 36 - 7 = 29:",
         "So she has \\boxed{29} pens left.")


def test_inputs_and_step_rewards_equal_the_model_cards(standins):
    prm = build_prm(load_config(overrides=[f"prm.path={standins['qwen-prm-7b']}", "prm.kind=qwen_prm",
                                           f"prompt.system={SYSTEM}"]))
    assert isinstance(prm, QwenPRM) and prm.sep_id == 151651
    tok = prm.tok
    turns = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROBLEM},
             {"role": "assistant", "content": "<extra_0>".join(STEPS) + "<extra_0>"}]
    whole = tok.encode(tok.apply_chat_template(turns, tokenize=False, add_generation_prompt=False))
    ours = prm.render_prompt(PROBLEM)
    for k, s in enumerate(STEPS):
        ours = ours + prm.render_step(k, s)
    assert whole[: len(ours)] == ours  # the rest is the template's closing <|im_end|>\n
    with torch.no_grad():
        h = prm.model(input_ids=torch.tensor([whole])).last_hidden_state
        probs = torch.softmax(prm.head(h.to(next(prm.head.parameters()).dtype)).float(), -1)[0]
    expect = probs[torch.tensor(whole) == 151651][:, 1]
    cached = [prm.score([ScoreCall("q", PROBLEM, STEPS[: k + 1])])[0].last for k in range(len(STEPS))]
    assert torch.allclose(torch.tensor(cached), expect, atol=2e-2)  # bf16 stand-in, cached vs whole
    assert len(set(round(c, 4) for c in cached)) > 1  # the rewards differ per step: positions matter
