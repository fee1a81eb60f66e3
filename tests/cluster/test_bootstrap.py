"""Rank bootstrap: what DeepSpeed sees on a GPU rank under Ray, and where the weights are when it shards.

No GPU here: deepspeed's and torch.cuda's entry points are replaced by recorders, and
Ray's GPU assignment by what Ray would report; everything in between is the project's code.
"""

import os
import sys
import types

import pytest

from rsd_ray.cluster import bootstrap
from rsd_ray.cluster.bootstrap import RankEnv, visible_index


def test_visible_index_is_the_position_among_the_visible_devices():
    assert visible_index("3", "3") == 0  # Ray set CUDA_VISIBLE_DEVICES to this rank's GPU alone
    assert visible_index("5", "4,5") == 1
    assert visible_index("2", None) == 2  # RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES: ids are indices


@pytest.fixture
def fake_gpu_rank(monkeypatch):
    """Rank 1 of 2 on a node where Ray gave it GPU 3 and made only that GPU visible."""
    for k in ("MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_SIZE", "DS_ACCELERATOR"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    import ray
    import torch

    monkeypatch.setattr(ray, "get_gpu_ids", lambda: ["3"])
    seen: dict = {}
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: seen.setdefault("set_device", d))
    fake = types.SimpleNamespace(
        init_distributed=lambda **kw: seen.update(local_rank=os.environ["LOCAL_RANK"], backend=kw["dist_backend"]),
        init_inference=lambda model, **kw: seen.update(tp=kw["tensor_parallel"]["tp_size"],
                                                       devices={p.device.type for p in model.parameters()})
        or types.SimpleNamespace(module=model))
    monkeypatch.setitem(sys.modules, "deepspeed", fake)
    return seen


def test_a_gpu_rank_tells_deepspeed_its_visible_device_not_its_rank(fake_gpu_rank):
    import torch

    bootstrap.shard_tensor_parallel(torch.nn.Linear(2, 2), RankEnv("127.0.0.1", 29500, 1, 2, "cuda"), torch.float32)
    # DeepSpeed calls set_device(LOCAL_RANK) and init_process_group(device_id=cuda:LOCAL_RANK): with one
    # visible GPU, rank 1 must say 0 (it said 1: an invalid device ordinal)
    assert fake_gpu_rank["local_rank"] == "0" and fake_gpu_rank["set_device"] == 0
    assert fake_gpu_rank["backend"] == "nccl" and os.environ["RANK"] == "1" and os.environ["LOCAL_SIZE"] == "2"


def test_a_cpu_rank_keeps_its_rank_as_local_rank(monkeypatch):
    for k in ("LOCAL_RANK", "DS_ACCELERATOR"):
        monkeypatch.delenv(k, raising=False)
    RankEnv("127.0.0.1", 29500, 1, 2, "cpu").apply()
    assert os.environ["LOCAL_RANK"] == "1" and os.environ["DS_ACCELERATOR"] == "cpu"


def test_a_cuda_target_rank_hands_deepspeed_the_model_on_the_host(fake_gpu_rank):
    """Found 1's closest CPU evidence: with device cuda and tp 2, the rank loads the whole model on the
    host (loading it on the GPU first is 135 GiB per rank for the 72B) and AutoTP gets it there."""
    from rsd_ray.actors.model_actors import GeneratorRank
    from rsd_ray.config import load_config

    cfg = load_config(overrides=["target.device=cuda", "target.tp=2", "target.gpus_per_rank=1"])
    GeneratorRank(cfg, "target", RankEnv("127.0.0.1", 29500, 1, 2, "cuda"))
    assert fake_gpu_rank["tp"] == 2 and fake_gpu_rank["devices"] == {"cpu"}


def test_device_auto_runs_on_cpus_only_where_the_cluster_has_no_gpu_and_says_so():
    from rsd_ray.cluster.placement import resolve_auto_devices
    from rsd_ray.config import load_config

    cfg = load_config(overrides=[f"{r}.device=auto" for r in ("draft", "target")] + ["target.gpus_per_rank=1",
                                                                                     "prm.device=cuda"])
    said: list[str] = []
    cpu = resolve_auto_devices(cfg, 0, warn=said.append)
    assert (cpu.target.device, cpu.target.gpus_per_rank, cpu.draft.device) == ("cpu", 0.0, "cpu")
    assert cpu.prm.device == "cuda"  # asked for explicitly: fit refuses it on this cluster, not us
    assert len(said) == 1 and "target" in said[0] and "draft" not in said[0] and "no GPU" in said[0]
    # on a GPU cluster auto follows the role's GPU ask: Ray does not hide GPUs from a rank given none
    gpu = resolve_auto_devices(cfg, 8, warn=said.append)
    assert (gpu.target.device, gpu.target.gpus_per_rank, gpu.draft.device) == ("cuda", 1.0, "cpu") and len(said) == 1
