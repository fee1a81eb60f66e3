"""ValueHeadPRM feeds and reads the Skywork PRM as Skywork's own inference code does.

`skywork_input` re-implements, from reading it, prepare_input of
SkyworkAI/skywork-o1-prm-inference (model_utils/io_utils.py): bos + problem +
"\\n", then the response split on the step token, each piece encoded on its
own and followed by the step token's last id, where the reward is read
(derive_step_rewards takes the value head's sigmoid at the flagged positions).
"""

import pytest
import torch

from rsd_ray.config import load_config
from rsd_ray.core.records import ScoreCall
from rsd_ray.models.roles import build_prm

STEP_TOKEN = "\n\n"
CASES = [
    ("What is 2 + 3?", ["We add the numbers.", "2 + 3 = 5.", "The answer is \\boxed{5}."]),
    ("Solve x + 1 = 4.", ["Subtract 1 from both sides:", "x = 3:", "So x is 3."]),
    ("Compute 6 / 2.", ["Division:\n6 / 2 = 3.", "Answer: \\boxed{3}"]),
]


def skywork_input(tok, problem: str, response: str) -> tuple[list[int], list[int]]:
    ids = tok.encode(tok.bos_token + problem + "\n")
    flags = [0] * len(ids)
    step_id = tok.encode(STEP_TOKEN)[-1]
    for piece in response.split(STEP_TOKEN):
        piece_ids = (tok.encode(piece) if piece else []) + [step_id]
        ids += piece_ids
        flags += [0] * (len(piece_ids) - 1) + [1]
    return ids, flags


@pytest.mark.parametrize("problem,steps", CASES)
def test_tokens_and_reward_positions_match_skywork(standins, problem, steps):
    prm = build_prm(load_config(overrides=[f"prm.path={standins['skywork-prm-1.5b']}", "prm.use_safetensors=false",
                                           "prm.dtype=float32"]))
    rewards = prm.score([ScoreCall("r", problem, tuple(steps))])[0].rewards
    ids, flags = skywork_input(prm.tok, problem, STEP_TOKEN.join(steps))
    state = prm.states["r"]
    assert state.tokens == ids
    assert [e - 1 for e in state.step_ends] == [i for i, f in enumerate(flags) if f]
    # Skywork's way: one uncached forward of the whole input, sigmoid of the head at the flags.
    with torch.no_grad():
        h = prm.model(input_ids=torch.tensor([ids])).last_hidden_state
        value = torch.sigmoid(prm.head(h).squeeze(-1))[0]
    expected = [float(value[i]) for i, f in enumerate(flags) if f]
    assert rewards == pytest.approx(expected, abs=1e-4)


def test_a_step_ending_in_a_period_is_encoded_apart_from_its_delimiter(standins):
    """The merge ".\\n\\n" (382) never appears: each step is encoded alone, then the step token 271."""
    prm = build_prm(load_config(overrides=[f"prm.path={standins['skywork-prm-1.5b']}", "prm.use_safetensors=false"]))
    prm.score([ScoreCall("r", "Q", ("x = 2.", "y = 3:"))])
    tokens = prm.states["r"].tokens
    assert 382 not in tokens and 1447 not in tokens and tokens.count(271) == 2
    assert tokens[0] == 151643  # Skywork's bos, prepended to the problem
