"""cluster/fit.py: what can never be placed is refused in one line, before any model loads.

Pure tests on hand-made node lists, then one on a real CPU-only local Ray through the CLI.
"""

import time
from pathlib import Path

import pytest

from rsd_ray.cluster.fit import PlacementError, asks, ensure_fit, find_problem
from rsd_ray.config import load_config

RECIPES = Path(__file__).resolve().parents[2] / "rsd_ray" / "recipes"
ROLES = ["draft", "prm", "target"]  # as RayBackend.start orders them


def node(cpu: float, gpu: float = 0, **custom: float) -> dict[str, float]:
    return {"CPU": cpu, **({"GPU": gpu} if gpu else {}), "memory": 8e9, **custom}


def refusal(overrides: list[str], nodes) -> str:
    with pytest.raises(PlacementError) as e:
        ensure_fit(load_config(overrides=overrides), ROLES, nodes, warn=pytest.fail)
    line = str(e.value)
    assert "\n" not in line
    return line


def test_asks_follow_the_placement_and_the_ray_data_stages():
    cfg = load_config(overrides=["target.tp=2", "target.replicas=3", "target.gpus_per_rank=1",
                                 "target.resource=target_group", "run.clients=3", "run.coordinators=2"])
    groups = asks(cfg, ["target"])
    assert [g.role for g in groups] == ["target"] * 3 + ["Ray Data"]
    assert groups[0].total == {"CPU": 2.0, "GPU": 2.0, "target_group": 2.0}
    assert groups[-1].count == 2 + 3 * 2 and not groups[-1].together  # read, RowFilter, SolveBatch x 6


def test_a_tp_group_that_fits_only_across_two_nodes_is_refused():
    # 4 GPUs in the cluster, but STRICT_PACK puts a replica's 4 ranks on one node
    line = refusal(["target.tp=4", "target.gpus_per_rank=1"], [node(8, 2), node(8, 2)])
    assert line.startswith("target: 4 ranks x {CPU: 1, GPU: 1} on one node, but it needs 4 GPU and the most GPU "
                           "on one node is 2 (cluster: 16 CPU, 4 GPU on 2 nodes)")


def test_gpus_asked_of_a_cluster_without_any():
    line = refusal(["target.tp=2", "target.gpus_per_rank=1"], [node(2)])
    assert line.startswith("target: 2 ranks x {CPU: 1, GPU: 1} on one node, but no node has GPU "
                           "(cluster: 2 CPU, 0 GPU)")


def test_a_custom_resource_no_node_has():
    line = refusal(["prm.resource=prm_group"], [node(16, 0, draft_group=1), node(16, 0, target_group=1)])
    assert line.startswith("prm: 1 rank x {CPU: 1, prm_group: 1} on a node, but no node has prm_group "
                           "(cluster: 32 CPU, 0 GPU, 0 prm_group on 2 nodes)")


def test_three_one_cpu_roles_do_not_fit_a_two_cpu_head():
    # issue 10: this waited 8 minutes on `1+ pending placement groups`
    line = refusal([], [node(2)])
    assert "does not fit beside the rest of the run: it asks 3.2 CPU in all (draft 1, prm 1, target 1, " \
           "Ray Data 0.2), the cluster has 2 CPU" in line


def test_fits_exactly_at_the_boundary():
    # 3 roles x 0.5 + Ray Data's 4 stages x 0.05 = 1.7 CPUs: fits 1.7, not 1.69
    zoo_job = ["draft.cpus_per_rank=0.5", "target.cpus_per_rank=0.5", "prm.cpus_per_rank=0.5"]
    ensure_fit(load_config(overrides=zoo_job), ROLES, [node(1.7)], warn=pytest.fail)
    assert "Ray Data" in refusal(zoo_job, [node(1.69)])  # the smallest asks are placed last
    # a TP group exactly as large as the node
    ensure_fit(load_config(overrides=["target.tp=8", "target.gpus_per_rank=1", "draft.gpus_per_rank=1",
                                      "prm.gpus_per_rank=1"]),
               ROLES, [node(8, 8), node(4, 2)], warn=pytest.fail)


def test_first_fit_decreasing_places_the_big_group_first():
    # The 4-GPU target must take the 4-GPU node; the two 1-GPU roles go to the 2-GPU one.
    # In the given order (draft first, first fit) the draft would take the 4-GPU node and strand the target.
    cfg = load_config(overrides=["target.tp=4", *(f"{r}.gpus_per_rank=1" for r in ROLES)])
    assert find_problem(asks(cfg, ROLES), [node(8, 4), node(8, 2)]) is None


def test_fragmented_nodes_are_refused_with_the_first_fit_reason():
    # 4 GPUs asked and 4 in the cluster, but a 2-GPU replica needs one node with 2 free
    cfg = load_config(overrides=["target.tp=2", "target.replicas=2", "target.gpus_per_rank=1"])
    assert find_problem(asks(cfg, ["target"]), [node(8, 2), node(8, 2)]) is None
    line = find_problem(asks(cfg, ["target"]), [node(8, 3), node(8, 1)])
    assert line == ("target: 2 ranks x {CPU: 1, GPU: 1} does not fit beside the rest of the run: no node has room "
                    "left for it, placed first-fit (cluster: 16 CPU, 4 GPU on 2 nodes)")


def test_autoscaling_warns_instead():
    warnings: list[str] = []
    cfg = load_config(overrides=["target.gpus_per_rank=1", "run.autoscaling=true"])
    ensure_fit(cfg, ROLES, [node(2)], warn=warnings.append)
    assert len(warnings) == 1 and warnings[0].startswith("target: 1 rank x {CPU: 1, GPU: 1} on a node, but no node "
                                                         "has GPU") and "autoscaler" in warnings[0]


def test_no_alive_node():
    assert refusal([], []).startswith("draft: 1 rank x {CPU: 1} on a node, but no node has CPU")


@pytest.fixture
def cpu_only_ray():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.parametrize("args", [
    ["--set", "target.device=cuda", "--set", "target.gpus_per_rank=1"],
    # the paper's recipe with its target's GPU asked outright (`device: auto` would run it on CPUs here)
    ["--config", str(RECIPES / "qwen-1.5b-7b-skywork-1.5b.yaml"), "--set", "target.device=cuda"],
], ids=["zoo", "paper-recipe"])
def test_gpus_on_a_cpu_only_ray_end_in_seconds_with_one_line(cpu_only_ray, tmp_path, capsys, args):
    from rsd_ray.cli import main

    t0 = time.monotonic()
    # start_timeout_s bounds the run should the check ever be gone (Ray would wait on the placement group)
    rc = main(["generate", "--backend", "ray", "--limit", "2", "--output", str(tmp_path / "out"), *args,
               "--set", "run.start_timeout_s=60"])
    wall = time.monotonic() - t0
    err = capsys.readouterr().err
    assert rc == 2 and wall < 60, (rc, wall, err)
    # one error line (the paper recipe's other roles, device auto, also get their one warning line)
    lines = [line for line in err.splitlines() if line.startswith("rsd-ray: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("rsd-ray: error: target: 1 rank x {CPU: 1, GPU: 1} on a node, but no node has GPU "
                               "(cluster: 2 CPU, 0 GPU)"), lines[0]
