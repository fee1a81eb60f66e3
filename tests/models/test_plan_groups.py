"""Grouping a call's requests by new-segment length: padding against one more forward."""

from rsd_ray.models.cached import plan_groups


def cost(lengths, groups, overhead):
    return sum(len(g) * max(lengths[i] for i in g) + overhead for g in groups)


def test_one_group_when_lengths_are_alike_or_forwards_are_dear():
    assert plan_groups([2, 2, 3, 2], 16) == [[0, 1, 2, 3]]
    assert plan_groups([2] * 60 + [30] * 4, 10_000) == [list(range(64))]


def test_new_prompts_split_from_single_steps():
    lengths = [2] * 60 + [30, 28, 31, 29]
    groups = plan_groups(lengths, 40)
    assert groups == [[60, 61, 62, 63], list(range(60))]  # longest first, the short ones last
    assert cost(lengths, groups, 40) < cost(lengths, [list(range(64))], 40)


def test_every_index_once_and_optimal_on_small_cases():
    import itertools

    lengths = [1, 9, 3, 3, 20, 8, 1, 2]
    groups = plan_groups(lengths, 5)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    order = sorted(set(lengths))
    best = min(  # brute force over contiguous cuts of the distinct lengths
        cost(lengths, [[i for i, n in enumerate(lengths) if lo <= n <= hi] for lo, hi in zip(
            [order[0]] + [order[c] for c in cuts], [order[c - 1] for c in cuts] + [order[-1]])], 5)
        for k in range(len(order)) for cuts in itertools.combinations(range(1, len(order)), k))
    assert cost(lengths, groups, 5) == best
    assert plan_groups([], 5) == []
