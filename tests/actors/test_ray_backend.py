"""--backend ray against --backend local, with a 2-rank DeepSpeed tensor-parallel target, and faults."""

import time

import ray

from rsd_ray.runner.local import LocalBackend
from rsd_ray.runner.modes import make_states
from rsd_ray.runner.ray_backend import RayBackend
from rsd_ray.zoo import zoo_problems

from .conftest import zoo_rows


def responses(states):
    return {s.request.id: (s.response, s.error) for s in states}


def counted(states):
    return {s.request.id: s.counters.as_dict() for s in states}


def test_ray_tp2_matches_local_then_survives_a_kill_of_each_role(ray_local, tp2_config):
    cfg = tp2_config
    rows = zoo_rows(40)
    local_states = LocalBackend.load(cfg, ["rsd"]).solve(make_states(rows, cfg, "rsd"))
    local = responses(local_states)
    backend = RayBackend.start(cfg, ["rsd"])
    try:
        # the target really is two ranks of one TP group, on one node
        infos = [ray.get(r.info.remote()) for r in backend.replicas["target"][0].ranks]
        assert [i["rank"] for i in infos] == [0, 1] and len({i["node_id"] for i in infos}) == 1
        ray_states = backend.solve(make_states(rows, cfg, "rsd"))
        undisturbed = responses(ray_states)
        # row for row, and every counter: tokens fed per request do not depend on how calls were batched
        assert undisturbed == local, [(k, undisturbed[k], local[k]) for k in local if undisturbed[k] != local[k]]
        assert counted(ray_states) == counted(local_states)

        # now kill a draft, a PRM and one target rank while a run is in flight
        coord = backend.coordinators[0]
        base = ray.get(coord.stats.remote())["finished"]  # counts over the coordinator's life
        ref = coord.solve.remote(make_states(rows, cfg, "rsd"))
        for role, rank, at in (("draft", 0, 5), ("prm", 0, 12), ("target", 1, 20)):
            deadline = time.monotonic() + 300
            while ray.get(coord.stats.remote())["finished"] < base + at and time.monotonic() < deadline:
                time.sleep(0.05)
            current = ray.get(backend.supervisor.view.remote())[role][0]
            ray.kill(current.ranks[rank], no_restart=True)
        disturbed = ray.get(ref, timeout=600)
        assert ray.get(backend.supervisor.restart_count.remote()) == 3
        ids = [s.request.id for s in disturbed]
        assert sorted(ids) == sorted(r.id for r in rows) and len(set(ids)) == len(ids)  # each exactly once
        assert responses(disturbed) == undisturbed
    finally:
        backend.close()


def test_ray_lockstep_matches_local_with_its_roles_taking_turns(ray_local, tp2_config):
    from rsd_ray.config import with_value

    cfg = with_value(tp2_config, "run.schedule", "lockstep")
    more = zoo_rows(120)  # the second pass: long enough that a poll and a kill land inside it, however loaded
    rows = more[:40]
    local_states = LocalBackend.load(tp2_config, ["rsd"]).solve(make_states(more, tp2_config, "rsd"))
    local = responses(local_states)
    backend = RayBackend.start(cfg, ["rsd"])
    try:
        t0 = time.perf_counter()
        ray_states = backend.solve(make_states(rows, cfg, "rsd"))
        wall = time.perf_counter() - t0
        # continuous local, lock-step on Ray: row for row, and every counter
        assert responses(ray_states) == {r.id: local[r.id] for r in rows}
        assert counted(ray_states) == {k: v for k, v in counted(local_states).items() if k in {r.id for r in rows}}
        stats = ray.get(backend.coordinators[0].stats.remote())
        # static batches of 16 (16, 16, 8): no call mixes them, so none is over 16 and the last ones are 8 or fewer
        assert max(stats["batches"]["draft"]) <= 16 and min(stats["batches"]["draft"]) <= 8
        # the target every round for that round's few rejected, never gathered (continuous gathers 8 here)
        assert sum(n for size, n in stats["batches"]["target"].items() if size < 8) >= 6, stats["batches"]
        # the roles take turns: their busy seconds add up to no more than the run
        assert set(stats["busy_s"]) == {"draft", "prm", "target"} and sum(stats["busy_s"].values()) <= wall

        # while a pass runs, the coordinator answers the journal's progress(); a killed target rank is
        # restarted through the same call path as the continuous coordinator's, and nothing changes
        coord = backend.coordinators[0]
        ref = coord.solve.remote(make_states(more, cfg, "rsd"))
        deadline, seen, done = time.monotonic() + 300, [], []
        while not seen and not done and time.monotonic() < deadline:
            seen = ray.get(coord.progress.remote(), timeout=30)
            done, _ = ray.wait([ref], timeout=0.05)
        assert seen, "the pass ended (or hung) before progress() showed a step"
        assert {j["id"] for j in seen} <= {r.id for r in more}
        ray.kill(ray.get(backend.supervisor.view.remote())["target"][0].ranks[1], no_restart=True)
        assert responses(ray.get(ref, timeout=600)) == local
        assert ray.get(backend.supervisor.restart_count.remote()) == 1
    finally:
        backend.close()


def test_a_failure_that_cannot_be_recovered_ends_the_run_with_the_role_named(ray_local, tmp_path):
    from rsd_ray.config import load_config
    from rsd_ray.actors.failures import RoleFailed

    cfg = load_config(overrides=["run.backend=ray", "run.max_restarts=0", "run.call_timeout_s=120"])
    backend = RayBackend.start(cfg, ["target"])
    try:
        rows = zoo_rows(60)
        rank = backend.replicas["target"][0].ranks[0]
        ray.kill(rank, no_restart=True)  # dead before the run: no restart is allowed
        t0 = time.monotonic()
        try:
            backend.solve(make_states(rows, cfg, "target"))
        except RoleFailed as e:
            assert e.role == "target" and "the target role" in str(e) and len(str(e).splitlines()) == 1
        else:
            raise AssertionError("the run should have failed")
        assert time.monotonic() - t0 < 60  # an error, not a hang
        # the same through a streamed job (Ray Data's map stage calls the coordinator)
        from rsd_ray.data.source import Source
        from rsd_ray.runner.stream import stream_pass

        try:
            stream_pass(Source(zoo_problems(), 20), cfg, "target", backend, tmp_path, None, log=lambda m: None)
        except RoleFailed as e:
            assert e.role == "target" and "the target role" in str(e) and len(str(e).splitlines()) == 1
        else:
            raise AssertionError("the streamed run should have failed")
    finally:
        backend.close()


def test_replicas_and_coordinators_share_the_work_and_change_nothing(ray_local):
    from rsd_ray.config import load_config

    cfg = load_config(overrides=["run.backend=ray", "draft.replicas=2", "prm.replicas=2", "run.coordinators=2",
                                 "run.batch_size=4", "run.call_timeout_s=120"])
    rows = zoo_rows(24)
    local = responses(LocalBackend.load(cfg, ["rsd"]).solve(make_states(rows, cfg, "rsd")))
    backend = RayBackend.start(cfg, ["rsd"])
    try:
        out = backend.solve(make_states(rows, cfg, "rsd"))
        assert sorted(s.request.id for s in out) == sorted(r.id for r in rows)
        assert responses(out) == local
        for role in ("draft", "prm"):
            calls = [ray.get(rep.ranks[0].info.remote())["calls"] for rep in backend.replicas[role]]
            assert len(calls) == 2 and min(calls) > 0, (role, calls)
    finally:
        backend.close()


def test_min_target_batch_gathers_rejected_requests_and_changes_nothing(ray_local):
    from rsd_ray.config import load_config

    k = 3
    cfg = load_config(overrides=["run.backend=ray", "run.batch_size=8", f"run.min_target_batch={k}",
                                 "run.call_timeout_s=120"])
    rows = zoo_rows(32)
    local = responses(LocalBackend.load(cfg, ["rsd"]).solve(make_states(rows, cfg, "rsd")))
    backend = RayBackend.start(cfg, ["rsd"])
    try:
        out = backend.solve(make_states(rows, cfg, "rsd"))
        assert responses(out) == local
        stats = ray.get(backend.coordinators[0].stats.remote())
        sizes = stats["batches"]["target"]
        # a target call under k happens only when no request could move elsewhere
        short = sum(n for size, n in sizes.items() if size < k)
        assert short <= stats["forced_target_calls"], stats
        assert any(size >= k for size in sizes), stats
        # parked requests free their place: more than a batch in flight, at most batch_size + k
        assert 8 < stats["most_live"] <= 8 + k, stats
        assert max(max(c) for c in stats["batches"].values()) <= 8, stats
    finally:
        backend.close()
