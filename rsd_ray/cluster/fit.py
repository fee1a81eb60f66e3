"""Can the run's actors ever be placed on this cluster? Checked from resources alone, before any model loads.

Ray waits for a placement group it cannot place, silently, until
run.start_timeout_s (20 minutes by default): three 1-CPU roles on a 2-CPU
head, a recipe asking GPUs of a CPU-only cluster, a `{role}.resource` no node
carries. This compares what the run asks with the alive nodes' resources and
says in one line what can never fit.

What is asked: per replica of each role, `tp` bundles of
cluster/placement.py's `rank_bundle` (CPU, GPU, 1 of the role's custom
resource), all on ONE node (STRICT_PACK); and Ray Data's stages
(runner/stream.py), which may go anywhere: one read task, the RowFilter actor
and run.clients SolveBatch actors per coordinator, 0.05 CPU each. The
coordinators and the supervisor ask 0 CPUs.

Packing is first-fit decreasing over the nodes' totals. It is optimistic in
that it counts totals, not what other jobs hold at the moment, and ignores
memory; it is conservative in that first-fit can miss a packing of
fragmented nodes that an exhaustive search would find (a group larger than
every node, or a total over the cluster's, is refused either way).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rsd_ray.cluster.placement import rank_bundle
from rsd_ray.config import Config
from rsd_ray.data.source import DATA_STAGE_CPUS

Resources = dict[str, float]

EPS = 1e-6  # Ray keeps resources in units of 1/10,000; sums of 0.05s drift in float


class PlacementError(ValueError):
    """The run's actors can never be placed on this cluster: one line naming role, resource, ask and supply."""


@dataclass(frozen=True)
class Group:
    """`count` equal asks of one role; `together`: all on one node (a STRICT_PACK replica)."""

    role: str
    count: int
    each: Resources
    together: bool = True

    @property
    def total(self) -> Resources:
        return {k: v * self.count for k, v in self.each.items()}

    @property
    def one_node(self) -> Resources:
        """What must fit on one node: the whole group when packed together, else one of it."""
        return self.total if self.together else self.each

    def describe(self) -> str:
        unit = "rank" if self.together else "actor"
        return f"{self.count} {unit}{'s' if self.count != 1 else ''} x {_fmt(self.each)}"


def asks(cfg: Config, roles: Iterable[str]) -> list[Group]:
    """Every placement the run makes: one group per replica of each role, then Ray Data's stages."""
    groups = [Group(role, m.tp, rank_bundle(m)) for role in roles for m in [getattr(cfg, role)]
              for _ in range(m.replicas)]
    stages = 2 + cfg.run.clients * cfg.run.coordinators  # the read, RowFilter, the SolveBatch pool
    return [*groups, Group("Ray Data", stages, {"CPU": DATA_STAGE_CPUS}, together=False)]


def find_problem(groups: list[Group], nodes: list[Resources]) -> str | None:
    """The first thing that can never be placed, as one line; None when everything fits."""
    cluster = _sum(nodes)
    for g in groups:
        if not any(_fits(g.one_node, n) for n in nodes):
            return _nowhere(g, nodes, cluster)
    # Largest share of the cluster first: the big groups choose nodes before the small ones fragment them.
    items = [(g, g.one_node) for g in groups for _ in range(1 if g.together else g.count)]
    items.sort(key=lambda it: max((v / cluster[k] for k, v in it[1].items() if v > 0), default=0.0), reverse=True)
    free = [dict(n) for n in nodes]
    for g, need in items:
        node = next((f for f in free if _fits(need, f)), None)
        if node is None:
            return _no_room(g, groups, cluster, len(nodes))
        for k, v in need.items():
            node[k] = node.get(k, 0.0) - v
    return None


def ensure_fit(cfg: Config, roles: Iterable[str], nodes: list[Resources], warn: Callable[[str], None]) -> None:
    """Raise PlacementError for what can never fit; on an autoscaling cluster only warn (nodes may come)."""
    problem = find_problem(asks(cfg, roles), nodes)
    if problem is None:
        return
    if cfg.run.autoscaling:
        warn(f"{problem}; waiting for the autoscaler to add nodes (run.autoscaling=true)")
        return
    raise PlacementError(f"{problem}; on an autoscaling cluster set run.autoscaling=true")


def _nowhere(g: Group, nodes: list[Resources], cluster: Resources) -> str:
    need = g.one_node
    where = "on one node" if g.together and g.count > 1 else "on a node"
    head = f"{g.role}: {g.describe()} {where}, but"
    tail = f"({_cluster(cluster, need, len(nodes))})"
    missing = [k for k, v in need.items() if v > 0 and cluster.get(k, 0.0) <= 0]
    if missing:
        return f"{head} no node has {missing[0]} {tail}"
    for k, v in need.items():
        most = max((n.get(k, 0.0) for n in nodes), default=0.0)
        if most + EPS < v:
            return f"{head} it needs {_num(v)} {k} and the most {k} on one node is {_num(most)} {tail}"
    return f"{head} no node has {_fmt(need)} together {tail}"


def _no_room(g: Group, groups: list[Group], cluster: Resources, n_nodes: int) -> str:
    head = f"{g.role}: {g.describe()} does not fit beside the rest of the run"
    for k in g.each:
        per_role: dict[str, float] = {}
        for other in groups:
            per_role[other.role] = per_role.get(other.role, 0.0) + other.total.get(k, 0.0)
        asked = sum(per_role.values())
        if asked > cluster.get(k, 0.0) + EPS:
            parts = ", ".join(f"{r} {_num(v)}" for r, v in per_role.items() if v > 0)
            return f"{head}: it asks {_num(asked)} {k} in all ({parts}), the cluster has {_num(cluster.get(k, 0.0))} {k}"
    return f"{head}: no node has room left for it, placed first-fit ({_cluster(cluster, g.each, n_nodes)})"


def _fits(need: Resources, have: Resources) -> bool:
    return all(v <= have.get(k, 0.0) + EPS for k, v in need.items())


def _sum(nodes: list[Resources]) -> Resources:
    out: Resources = {}
    for n in nodes:
        for k, v in n.items():
            out[k] = out.get(k, 0.0) + v
    return out


def _cluster(cluster: Resources, need: Resources, n_nodes: int) -> str:
    keys = ["CPU", "GPU", *(k for k in need if k not in ("CPU", "GPU"))]
    where = f" on {n_nodes} nodes" if n_nodes != 1 else ""
    return "cluster: " + ", ".join(f"{_num(cluster.get(k, 0.0))} {k}" for k in keys) + where


def _fmt(r: Resources) -> str:
    return "{" + ", ".join(f"{k}: {_num(v)}" for k, v in r.items()) + "}"


def _num(v: float) -> str:
    return f"{round(v, 4):g}"
