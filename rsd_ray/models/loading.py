"""Loading models and tokenizers: one path for real checkpoints and the tiny zoo.

Everything goes through `from_pretrained` from a local directory or a hub id;
`trust_remote_code` only when the config asks, safetensors unless the config
allows pickled `.bin` files too (torch.load with weights_only=True even then;
safetensors are still preferred where a directory has both).

Where the weights land: a model that tensor parallelism will shard is loaded
on the host, never on the device. DeepSpeed 0.19's AutoTP (`init_inference`
with `replace_with_kernel_inject=False`) then copies each rank's slice of every
sharded linear layer to that rank's device and frees the host tensor
(`TensorParallel_Layer.move`), and moves only what stays replicated
(embeddings, norms) afterwards: a rank's device holds its shard and nothing
more. Its meta-device path needs a DeepSpeed checkpoint description, which
Hugging Face directories do not have, so we do not use it. On the host,
safetensors files are memory-mapped: ranks on one node loading the same files
share the page cache when the stored dtype is the one asked for (bf16 to bf16),
so a node holds about one copy of the weights, not one per rank.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class LoadOptions:
    dtype: str = "float32"
    trust_remote_code: bool = False
    use_safetensors: bool = True
    device: str = "cpu"  # where from_pretrained puts the weights ("cpu" for a model about to be sharded)

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    def kwargs(self) -> dict:
        # transformers reads use_safetensors=False as "never safetensors"; ours means "pickled .bin
        # allowed too", which is its None (safetensors first, .bin otherwise)
        return {"dtype": self.torch_dtype, "trust_remote_code": self.trust_remote_code,
                "use_safetensors": True if self.use_safetensors else None}


def resolve_device(device: str) -> str:
    """`auto`: the GPU when this process sees one, else the CPU (recipes say auto, so that the
    same recipe runs on a GPU node and, for its tests, on a laptop)."""
    if device != "auto":
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def local_dir(path: str, patterns: list[str] | None = None) -> Path:
    """A checkpoint's directory: the path itself, or the hub snapshot (cache first)."""
    p = Path(path).expanduser()
    if p.is_dir():
        return p
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(path, allow_patterns=patterns))


def load_tokenizer(path: str, opts: LoadOptions):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(local_dir(path)), trust_remote_code=opts.trust_remote_code)


def load_causal_lm(path: str, opts: LoadOptions):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(local_dir(path)), **opts.kwargs()).to(opts.device).eval()


def load_backbone(path: str, opts: LoadOptions):
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(local_dir(path)), **opts.kwargs()).to(opts.device).eval()


def parameter_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def held_bytes(model: torch.nn.Module) -> dict[str, int]:
    """Parameter bytes by part (attention, mlp, embed, lm_head, norm), as this process holds them:
    after tensor-parallel sharding, what one rank holds (the names survive AutoTP's layer swap)."""
    out = dict.fromkeys(("attention", "mlp", "embed", "lm_head", "norm"), 0)
    for name, p in model.named_parameters():
        part = ("attention" if ".self_attn." in name else "mlp" if ".mlp." in name else
                "embed" if "embed_tokens" in name else "lm_head" if "lm_head" in name else "norm")
        out[part] += p.numel() * p.element_size()
    return out


def read_tensors(path: str | Path, prefix: str, use_safetensors: bool = True) -> dict[str, torch.Tensor]:
    """Tensors whose names start with `prefix` (prefix stripped), from safetensors or, if allowed, .bin files."""
    d = local_dir(str(path))
    out: dict[str, torch.Tensor] = {}
    st = sorted(d.glob("*.safetensors"))
    if st:
        from safetensors import safe_open

        for f in st:
            with safe_open(str(f), "pt") as sf:
                for k in sf.keys():
                    if k.startswith(prefix):
                        out[k[len(prefix):]] = sf.get_tensor(k)
        return out
    bins = sorted(d.glob("pytorch_model*.bin"))
    if not bins:
        raise FileNotFoundError(f"{d}: no *.safetensors or pytorch_model*.bin weights")
    if use_safetensors:
        raise ValueError(f"{d} has only pickled .bin weights; set use_safetensors: false for this model to allow them")
    for f in bins:
        for k, v in torch.load(f, map_location="cpu", weights_only=True).items():
            if k.startswith(prefix):
                out[k[len(prefix):]] = v
    return out
