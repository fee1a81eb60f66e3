"""Filling one engine call: whole states, oldest first, at most the call's size (a wide beam alone may pass it)."""

from rsd_ray.core.batching import fill


class Calls:
    """A state asking for `n` calls of the role this turn (a beam asks for several)."""

    def __init__(self, name, n):
        self.name, self.n = name, n

    def step_calls(self):
        return [f"{self.name}.{i}" for i in range(self.n)]

    score_calls = step_calls


def test_fill_takes_whole_states_in_order_up_to_the_limit():
    states = [Calls("a", 3), Calls("b", 2), Calls("c", 1), Calls("d", 1)]
    taken, calls = fill("draft", states, 4)
    assert [s.name for s in taken] == ["a"]  # b's two calls would make 5: b waits, and so does everyone after
    assert calls == [["a.0", "a.1", "a.2"]]
    taken, calls = fill("prm", states[1:], 4)
    assert [s.name for s in taken] == ["b", "c", "d"] and sum(map(len, calls)) == 4


def test_a_state_wider_than_the_call_still_goes_alone():
    taken, calls = fill("draft", [Calls("wide", 9), Calls("b", 1)], 4)
    assert [s.name for s in taken] == ["wide"] and len(calls[0]) == 9
