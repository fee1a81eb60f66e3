"""Step splitting on the real tokenizer, where the delimiter arrives merged into ".\\n\\n", ":\\n\\n", "\\n\\n\\n"."""

import torch

from rsd_ray.config import load_config
from rsd_ray.core.records import StepCall
from rsd_ray.models.roles import build_generator
from tests.helpers import generate_solution

# What the model "writes", piece by piece; the last piece ends the solution.
PIECES = ["Let x = 2.\n\n", "Then:\n\n", "x + 1 = 3\n\n\n", "The answer is \\boxed{3}."]
STEPS = ["Let x = 2.", "Then:", "x + 1 = 3", "The answer is \\boxed{3}."]


def test_merged_delimiters_split_into_clean_steps(standins, monkeypatch):
    g = build_generator(load_config(overrides=[f"draft.path={standins['draft-1.5b']}", "prompt.chat=true"]), "draft")
    tok = g.tok
    ends = [tok.encode(p)[-1] for p in PIECES[:3]]
    assert ends == [382, 1447, tok.encode("\n\n\n")[0]]  # the delimiter really is inside a merged token
    script = iter([t for p in PIECES for t in tok.encode(p)] + [tok.eos_token_id])
    monkeypatch.setattr(g, "_pick", lambda logits, gens: torch.tensor([next(script)]))
    out = generate_solution(g, StepCall("r", "What is x + 1 if x = 2?", (), 64, 0, 0), max_steps=10)
    assert [r.text for r in out] == STEPS and out[-1].finished
    state = g.states["r"]
    written = tok.decode(state.tokens[state.prompt_len:])
    # the context holds exactly the steps joined by the delimiter: the third "\n" is gone,
    # and every next step starts right after "\n\n"
    assert written == "\n\n".join(STEPS) + "\n\n"
    for k, end in enumerate(state.step_ends[:-1]):
        assert tok.decode(state.tokens[state.prompt_len:end]) == "\n\n".join(STEPS[:k + 1]) + "\n\n"
    assert tok.decode(state.tokens[:state.prompt_len]).startswith("<|im_start|>system\nPlease reason step by step")
