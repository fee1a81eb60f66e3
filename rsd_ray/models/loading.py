"""Loading models and tokenizers: one path for real checkpoints and the tiny zoo.

Everything goes through `from_pretrained` from a local directory or a hub id;
`trust_remote_code` only when the config asks, safetensors unless the config
allows pickled `.bin` files (torch.load with weights_only=True even then).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class LoadOptions:
    dtype: str = "float32"
    trust_remote_code: bool = False
    use_safetensors: bool = True
    device: str = "cpu"

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    def kwargs(self) -> dict:
        return {"dtype": self.torch_dtype, "trust_remote_code": self.trust_remote_code,
                "use_safetensors": self.use_safetensors}


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

    model = AutoModelForCausalLM.from_pretrained(str(local_dir(path)), **opts.kwargs())
    return model.to(opts.device).eval()


def load_backbone(path: str, opts: LoadOptions):
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(local_dir(path)), **opts.kwargs())
    return model.to(opts.device).eval()


def parameter_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


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


def read_config(path: str) -> dict:
    return json.loads((local_dir(path, ["config.json"]) / "config.json").read_text())
