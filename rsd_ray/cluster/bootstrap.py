"""All distributed bootstrap in one place: rank environment, torch.distributed, DeepSpeed AutoTP.

A tensor-parallel replica is N rank processes on one node (a STRICT_PACK
placement group). Each gets the same master address and port, its rank, and
LOCAL_SIZE = N: without LOCAL_SIZE DeepSpeed's shared-memory all-reduce
segfaults when every rank is on one node (DESIGN.md section 4). On CPU,
DS_ACCELERATOR=cpu and the gloo backend; on GPUs, NCCL.

LOCAL_RANK indexes the devices this process *sees*: DeepSpeed calls
`set_device(LOCAL_RANK)` and `init_process_group(device_id=cuda:LOCAL_RANK)`,
and Ray gives each rank actor only its own GPU (CUDA_VISIBLE_DEVICES), which
is then cuda:0 in that process whatever the rank.
"""

from __future__ import annotations

import fcntl
import os
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class RankEnv:
    master_addr: str
    master_port: int
    rank: int
    world_size: int
    accelerator: str = "cpu"  # "cpu" or "cuda"

    def apply(self, local_device: int | None = None) -> None:
        """Set this rank's variables; `local_device`: its GPU's index among the visible ones."""
        os.environ.update({
            "MASTER_ADDR": self.master_addr,
            "MASTER_PORT": str(self.master_port),
            "RANK": str(self.rank),
            "WORLD_SIZE": str(self.world_size),
            # on CPU the "devices" are the node's ranks (LOCAL_SIZE of them): all share one node
            "LOCAL_RANK": str(self.rank if local_device is None else local_device),
            "LOCAL_SIZE": str(self.world_size),
            "LOCAL_WORLD_SIZE": str(self.world_size),
        })
        if self.accelerator == "cpu":
            os.environ["DS_ACCELERATOR"] = "cpu"


def visible_index(gpu_id: str, visible: str | None) -> int:
    """Where Ray's GPU id sits among CUDA_VISIBLE_DEVICES (0 when Ray set it to this rank's GPU alone);
    with no CUDA_VISIBLE_DEVICES (RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES) the id is the index."""
    if not visible:
        return int(gpu_id)
    return visible.split(",").index(str(gpu_id))


def local_gpu() -> int:
    """This rank actor's GPU as a torch device index."""
    import ray

    ids = ray.get_gpu_ids()
    if not ids:
        raise RuntimeError("a CUDA tensor-parallel rank was given no GPU: set gpus_per_rank for its role")
    return visible_index(str(ids[0]), os.environ.get("CUDA_VISIBLE_DEVICES"))


def node_address() -> str:
    """This node's address as Ray sees it (127.0.0.1 on a single machine)."""
    import ray

    return ray.util.get_node_ip_address()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def rank_envs(tp: int, accelerator: str) -> list[RankEnv]:
    """Rank environments for one replica; called on the replica's node (rank 0's placement)."""
    addr, port = node_address(), free_port()
    return [RankEnv(addr, port, r, tp, accelerator) for r in range(tp)]


def shard_tensor_parallel(model, env: RankEnv, dtype):
    """Join the replica's process group and shard `model` (on the host) with DeepSpeed AutoTP.

    Returns the module, its shard on this rank's device (models/loading.py says why it starts on
    the host)."""
    device = local_gpu() if env.accelerator == "cuda" else None
    env.apply(device)  # before DeepSpeed's import: it picks its accelerator (DS_ACCELERATOR) then
    import deepspeed
    import torch

    if device is not None:
        torch.cuda.set_device(device)
    else:
        build_cpu_comm_op()
    deepspeed.init_distributed(dist_backend="nccl" if env.accelerator == "cuda" else "gloo",
                               auto_mpi_discovery=False)
    engine = deepspeed.init_inference(model, tensor_parallel={"tp_size": env.world_size}, dtype=dtype,
                                      replace_with_kernel_inject=False)
    return engine.module


def build_cpu_comm_op() -> None:
    """Build (or load) DeepSpeed's shared-memory all-reduce op, one process at a time.

    DeepSpeed JIT-builds it in a CPU group's first `init_distributed`, every rank at once, behind
    torch's lock file in the build folder. A builder killed mid-build (a call's time-out, a Ray
    shut down) leaves that file behind, and every later rank then waits on it for ever. Here the
    build runs under an flock, which the kernel drops when its holder dies, so a lock file found
    while holding it was left by a dead builder and is removed. (A build of the same op by a
    program outside rsd_ray at the same moment would race; nothing here starts one.)
    `scripts/install.sh` calls this once, so a fresh machine's first group does not build."""
    os.environ.setdefault("DS_ACCELERATOR", "cpu")
    import deepspeed
    from deepspeed.accelerator import get_accelerator
    from torch.utils.cpp_extension import _get_build_directory

    builder = get_accelerator().create_op_builder("ShareMemCommBuilder")
    if builder is None or not deepspeed.ops.__compatible_ops__.get(builder.NAME, False):
        return  # DeepSpeed then all-reduces through gloo alone
    folder = _get_build_directory(builder.name, verbose=False)
    with open(os.path.join(folder, "rsd_ray.flock"), "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        stale = os.path.join(folder, "lock")
        if os.path.exists(stale):
            os.remove(stale)
        builder.load(verbose=False)
