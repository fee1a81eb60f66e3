"""All distributed bootstrap in one place: rank environment, torch.distributed, DeepSpeed AutoTP.

A tensor-parallel replica is N rank processes on one node (a STRICT_PACK
placement group). Each gets the same master address and port, its rank, and
LOCAL_SIZE = N: without LOCAL_SIZE DeepSpeed's shared-memory all-reduce
segfaults when every rank is on one node (DESIGN.md section 4). On CPU,
DS_ACCELERATOR=cpu and the gloo backend; on GPUs, NCCL.
"""

from __future__ import annotations

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

    def apply(self) -> None:
        os.environ.update({
            "MASTER_ADDR": self.master_addr,
            "MASTER_PORT": str(self.master_port),
            "RANK": str(self.rank),
            "WORLD_SIZE": str(self.world_size),
            "LOCAL_RANK": str(self.rank),  # all ranks of a replica share one node
            "LOCAL_SIZE": str(self.world_size),
            "LOCAL_WORLD_SIZE": str(self.world_size),
        })
        if self.accelerator == "cpu":
            os.environ["DS_ACCELERATOR"] = "cpu"


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
    """Join the replica's process group and shard `model` with DeepSpeed AutoTP; returns the module."""
    env.apply()
    import deepspeed
    import torch

    if env.accelerator == "cuda":
        torch.cuda.set_device(0)  # Ray gives each rank actor its own visible GPU
    deepspeed.init_distributed(dist_backend="nccl" if env.accelerator == "cuda" else "gloo",
                               auto_mpi_discovery=False)
    engine = deepspeed.init_inference(model, tensor_parallel={"tp_size": env.world_size}, dtype=dtype,
                                      replace_with_kernel_inject=False)
    return engine.module
