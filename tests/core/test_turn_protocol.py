"""The batched protocol every state shares, the single-call methods only where a turn is one call."""

import pickle

import pytest

from rsd_ray.core.beam import BeamState
from rsd_ray.core.records import RequestInput, StepResult
from rsd_ray.core.request import RequestState, TurnState
from rsd_ray.core.stopping import StopRule
from rsd_ray.core.weighting import Weighting


def test_a_beam_state_is_a_turn_state_without_single_call_methods():
    s = BeamState(RequestInput("r", "q"), "draft", Weighting(), StopRule(), width=2, expansions=2)
    assert isinstance(s, TurnState) and not isinstance(s, RequestState)
    assert not any(hasattr(s, m) for m in ("step_call", "score_call", "on_draft", "on_score", "on_target"))
    assert len(s.step_calls()) == 4
    with pytest.raises(NotImplementedError, match="never needs the target"):
        s.on_targets([StepResult("r#b0", "x", True, 1, 1)])
    assert pickle.loads(pickle.dumps(s)).step_calls() == s.step_calls()  # states may cross processes


def test_a_turn_state_needs_a_need():
    with pytest.raises(TypeError):
        TurnState(RequestInput("r", "q"), "draft", Weighting(), StopRule())  # type: ignore[abstract]
