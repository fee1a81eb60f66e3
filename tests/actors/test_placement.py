"""On a simulated 3-node cluster, each role's actors sit on the nodes its group names."""

import ray
from ray.cluster_utils import Cluster

from rsd_ray.config import load_config
from rsd_ray.runner.modes import make_states
from rsd_ray.runner.ray_backend import RayBackend

from .conftest import zoo_rows


def test_roles_sit_on_their_group_nodes_and_tp_ranks_share_one():
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    groups = {"draft": "draft_group", "prm": "prm_group", "target": "target_group"}
    nodes = {role: cluster.add_node(num_cpus=4, resources={g: 4}) for role, g in groups.items()}
    ray.init(address=cluster.address, log_to_driver=False,
             runtime_env={"env_vars": {"OMP_NUM_THREADS": "1", "TRANSFORMERS_VERBOSITY": "error"}})
    try:
        cfg = load_config(overrides=[f"{role}.resource={g}" for role, g in groups.items()]
                          + ["target.tp=2", "run.backend=ray", "run.call_timeout_s=180"])
        backend = RayBackend.start(cfg, ["rsd"])
        try:
            for role, node in nodes.items():
                infos = [ray.get(r.info.remote()) for rep in backend.replicas[role] for r in rep.ranks]
                assert {i["node_id"] for i in infos} == {node.node_id}, role
            assert len(backend.replicas["target"][0].ranks) == 2
            solved = backend.solve(make_states(zoo_rows(4), cfg, "rsd"))
            assert len(solved) == 4 and all(s.error is None and s.response for s in solved)
        finally:
            backend.close()
    finally:
        ray.shutdown()
        cluster.shutdown()
