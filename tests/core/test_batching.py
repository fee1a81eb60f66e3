"""Filling one round's engine call: the oldest single-call states up to its size; beams' turns all go."""

from rsd_ray.core.batching import fill


class Calls:
    """A state asking for `n` calls of the role this turn (a beam asks for several)."""

    def __init__(self, name, n=1):
        self.name, self.n = name, n

    def step_calls(self):
        return [f"{self.name}.{i}" for i in range(self.n)]

    score_calls = step_calls


def test_fill_takes_the_oldest_states_up_to_the_limit_and_the_rest_wait():
    states = [Calls(c) for c in "abcdef"]
    taken, calls = fill("draft", states, 4)
    assert [s.name for s in taken] == ["a", "b", "c", "d"] and calls == [["a.0"], ["b.0"], ["c.0"], ["d.0"]]
    taken, _ = fill("prm", states[4:], 4)
    assert [s.name for s in taken] == ["e", "f"]


def test_beams_several_calls_each_all_go():
    states = [Calls("a", 3), Calls("b", 2), Calls("c", 9), Calls("d", 2), Calls("e", 2)]
    taken, calls = fill("draft", states, 4)  # more states than the limit, and more calls: all go
    assert [s.name for s in taken] == ["a", "b", "c", "d", "e"] and list(map(len, calls)) == [3, 2, 9, 2, 2]
