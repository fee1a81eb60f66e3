"""Build the stand-in checkpoints: random weights, real shapes, real file layouts.

Each directory is what the real checkpoint ships (weights file name and key
names, config.json as published, the Qwen2.5 tokenizer beside it), so the
project's loaders read a stand-in exactly as they would read the real thing.
Weights are seeded per checkpoint: a stand-in is the same whichever others are
built with it. Nothing is downloaded.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn
from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM, Qwen2Model

from rsd_ray.standins.shapes import STANDINS, Arch, StandIn

TOKENIZER_DIR = Path(__file__).parent / "tokenizer"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
EXTRA_0_ID = 151651  # Qwen2.5-Math-PRM's step separator takes the slot of <|quad_end|>

# What each layout's config.json names as its architecture (and remote code, never shipped here).
ARCHITECTURES = {
    "causal_lm": {"architectures": ["Qwen2ForCausalLM"]},
    "skywork_prm": {"architectures": ["Qwen2ForPrmModel"]},
    "qwen_prm": {"architectures": ["Qwen2ForProcessRewardModel"],
                 "auto_map": {"AutoConfig": "configuration_qwen2_rm.Qwen2RMConfig",
                              "AutoModel": "modeling_qwen2_rm.Qwen2ForProcessRewardModel"}},
}


def build_standins(out_dir: Path, *, layers: int = 2, head_dim: int | None = 16, full_depth: bool = False,
                   dtype: torch.dtype = torch.float32, seed: int = 0,
                   which: tuple[str, ...] = tuple(STANDINS)) -> dict[str, Path]:
    """Write each stand-in named in `which` under out_dir/<name>; return name -> directory."""
    unknown = set(which) - set(STANDINS)
    if unknown:
        raise ValueError(f"unknown stand-ins {sorted(unknown)}; known: {', '.join(STANDINS)}")
    out: dict[str, Path] = {}
    for name in which:
        s = STANDINS[name]
        d = Path(out_dir) / name
        d.mkdir(parents=True, exist_ok=True)
        arch = s.arch.shrunk(layers, head_dim, full_depth)
        torch.manual_seed(seed)
        _WRITERS[s.layout](d, arch, dtype)
        _write_config(d, s, arch, dtype)
        _write_tokenizer(d, s)
        out[name] = d
    return out


def _model_config(arch: Arch) -> Qwen2Config:
    return Qwen2Config(**asdict(arch))


def _write_causal_lm(d: Path, arch: Arch, dtype: torch.dtype) -> None:
    model = Qwen2ForCausalLM(_model_config(arch)).to(dtype)
    # As the Instruct models' generation_config.json: either end token stops a reply.
    model.generation_config = GenerationConfig(bos_token_id=arch.bos_token_id, pad_token_id=arch.bos_token_id,
                                               eos_token_id=[arch.eos_token_id, arch.bos_token_id])
    model.save_pretrained(d)


def _write_skywork_prm(d: Path, arch: Arch, dtype: torch.dtype) -> None:
    # Skywork saves its wrapper's state dict: the causal LM's (model.*, lm_head.*)
    # plus the value head, pickled, with no safetensors beside it.
    lm = Qwen2ForCausalLM(_model_config(arch)).to(dtype)
    head = nn.Linear(arch.hidden_size, 1).to(dtype)
    state = lm.state_dict() | {f"v_head.summary.{k}": v for k, v in head.state_dict().items()}
    torch.save(state, d / "pytorch_model.bin")


def _write_qwen_prm(d: Path, arch: Arch, dtype: torch.dtype) -> None:
    # Qwen2ForProcessRewardModel: a Qwen2Model under model.* and score = Linear, ReLU, Linear(hidden, 2).
    backbone = Qwen2Model(_model_config(arch)).to(dtype)
    score = nn.Sequential(nn.Linear(arch.hidden_size, arch.hidden_size), nn.ReLU(),
                          nn.Linear(arch.hidden_size, 2)).to(dtype)
    state = {f"model.{k}": v for k, v in backbone.state_dict().items()}
    state |= {f"score.{k}": v for k, v in score.state_dict().items()}
    save_file({k: v.contiguous() for k, v in state.items()}, str(d / "model.safetensors"), metadata={"format": "pt"})


_WRITERS = {"causal_lm": _write_causal_lm, "skywork_prm": _write_skywork_prm, "qwen_prm": _write_qwen_prm}


def _write_config(d: Path, s: StandIn, arch: Arch, dtype: torch.dtype) -> None:
    """config.json in the published form (rope_theta, sliding_window), not transformers 5's rewrite of it."""
    cfg = {**ARCHITECTURES[s.layout], **asdict(arch), "model_type": "qwen2", "hidden_act": "silu",
           "attention_dropout": 0.0, "initializer_range": 0.02, "use_cache": True,
           "torch_dtype": str(dtype).removeprefix("torch.")}
    (d / "config.json").write_text(json.dumps(dict(sorted(cfg.items())), indent=2) + "\n")


def _write_tokenizer(d: Path, s: StandIn) -> None:
    for f in TOKENIZER_FILES:
        shutil.copyfile(TOKENIZER_DIR / f, d / f)
    if s.layout == "skywork_prm":
        # Skywork's prepare_input prepends tokenizer.bos_token to the problem, so its
        # tokenizer must name one; Qwen's bos id (config.json bos_token_id) is assumed.
        _edit_json(d / "tokenizer_config.json", lambda c: c | {"bos_token": "<|endoftext|>"})
    elif s.layout == "qwen_prm":
        _edit_json(d / "tokenizer.json", _rename_extra_0_added)
        _edit_json(d / "tokenizer_config.json", _rename_extra_0_config)


def _rename_extra_0_added(t: dict) -> dict:
    for a in t["added_tokens"]:
        if a["id"] == EXTRA_0_ID:
            a["content"] = "<extra_0>"
    return t


def _rename_extra_0_config(c: dict) -> dict:
    c["added_tokens_decoder"][str(EXTRA_0_ID)]["content"] = "<extra_0>"
    c["additional_special_tokens"] = ["<extra_0>" if t == "<|quad_end|>" else t
                                      for t in c["additional_special_tokens"]]
    return c


def _edit_json(path: Path, edit) -> None:
    path.write_text(json.dumps(edit(json.loads(path.read_text())), ensure_ascii=False, indent=2) + "\n")
