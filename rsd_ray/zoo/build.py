"""`rsd-ray zoo build`: the deterministic recipe that makes the tiny model zoo.

Outputs, in the standard Hugging Face layout (config.json, model.safetensors,
tokenizer files): draft/, target/, prm/ (Skywork value-head layout), each with
a build.json (the recipe fields it read, library versions, the sha256 of the
files written, the training curve; see provenance.py), plus problems.jsonl
(the bundled held-out set).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM
from safetensors.torch import save_file

from rsd_ray.models.loading import parameter_count
from rsd_ray.zoo.prm_model import ValueHeadPRM
from rsd_ray.zoo.provenance import BUILD_JSON, file_sha256, library_versions, part_recipe
from rsd_ray.zoo.quality import auroc, prm_step_scores, draft_step_labels
from rsd_ray.zoo.task import DELIMITER, Problem, TaskSpec, make_problems
from rsd_ray.zoo.tokenizer import build_tokenizer
from rsd_ray.zoo.prm_train import CORRUPTIONS, corrupt, prm_example, train_prm
from rsd_ray.zoo.train import Arch, Curve, Schedule, greedy_solutions, problem_stream, train_generator

PRM_ARCHITECTURE = "Qwen2ForPrmModel"  # what Skywork's config.json names


@dataclass(frozen=True)
class PRMPhase:
    problems: int  # training problems whose draft samples (and corruptions) make the data
    sched: Schedule
    corruptions: tuple[str, ...]


@dataclass(frozen=True)
class ZooRecipe:
    seed: int = 0
    task: TaskSpec = TaskSpec()
    heldout: int = 500
    val: int = 200
    draft: Arch = Arch(2, 48, 4, 128)
    draft_sched: Schedule = Schedule(max_steps=2000, lr=3e-3, stop_at=0.55)
    target: Arch = Arch(8, 256, 8, 768)
    target_sched: Schedule = Schedule(max_steps=1500, lr=1.5e-3, stop_at=0.99)
    prm: Arch = Arch(4, 128, 4, 512)
    prm_base_sched: Schedule = Schedule(max_steps=1500, lr=2e-3, stop_at=0.97)
    # The PRM is trained in phases, each on fresh data (draft samples labelled by
    # exact checking, plus corrupted correct steps). Verification is the slow
    # part to learn (DESIGN.md section 4): held-out AUROC on draft steps went
    # 0.94 after phase 1, 0.986 after phase 2; phase 3 adds the draft's own
    # favourite mistakes (miscopied operands) that phase 2 still let through.
    prm_phases: tuple[PRMPhase, ...] = (
        PRMPhase(3000, Schedule(max_steps=1000, lr=5e-4, warmup=30, stop_at=0.98), ("result",)),
        PRMPhase(6000, Schedule(max_steps=2000, lr=3e-4, warmup=30, eval_every=250, stop_at=0.995), ("result",)),
        PRMPhase(6000, Schedule(max_steps=1500, lr=2e-4, warmup=30, eval_every=250, stop_at=0.9995),
                 CORRUPTIONS),
    )
    prm_samples: int = 2  # sampled draft solutions per problem (plus the greedy one)

    @classmethod
    def shrunken(cls) -> "ZooRecipe":
        """A seconds-long version that proves the recipe runs end to end and learns (tests).

        Enough steps, at a high rate, for every loss to fall (two curve points
        each; the PRM's on a fixed set of its training sequences); not enough
        to learn the task: its models solve nothing, and its PRM neither beats
        a constant guess nor tells right steps from wrong ones (65% of 40
        corrupted/correct pairs even at 15x the steps), so tests assert neither.
        """
        gen = Schedule(max_steps=20, lr=1e-2, batch=8, warmup=2, eval_every=10)
        prm = Schedule(max_steps=20, lr=1e-2, batch=8, warmup=2, eval_every=10)
        return cls(heldout=16, val=8, draft=Arch(1, 16, 2, 32), draft_sched=gen, target=Arch(1, 32, 2, 64),
                   target_sched=gen, prm=Arch(1, 16, 2, 32), prm_base_sched=gen,
                   prm_phases=(PRMPhase(8, prm, ("result",)), PRMPhase(8, prm, CORRUPTIONS)),
                   prm_samples=1)


PARTS = ("draft", "target", "prm")


def build_zoo(out: Path, recipe: ZooRecipe = ZooRecipe(), parts: tuple[str, ...] = PARTS, log=print) -> dict:
    """Train and save the given parts; "prm" without "draft" reuses out/draft.

    Parts are independent processes' worth of work (the target dominates), so
    they can be built side by side into the same folder.
    """
    out.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer()
    heldout = make_problems(recipe.heldout, seed=recipe.seed + 1000, spec=recipe.task, prefix="zoo")
    val = make_problems(recipe.val, seed=recipe.seed + 2000, spec=recipe.task, prefix="val")
    exclude = {p.problem for p in heldout + val}
    with open(out / "problems.jsonl", "w") as f:
        for p in heldout:
            f.write(json.dumps({"id": p.id, "problem": p.problem, "answer": p.answer, "solution": p.solution}) + "\n")
    built = {}
    draft = None
    for part in [p for p in PARTS if p in parts]:
        t0 = time.time()
        log(f"{part}:")
        facts = {}
        if part == "draft":
            model, curve = train_generator(tok, recipe.draft, recipe.draft_sched, recipe.task, recipe.seed + 1,
                                           val, exclude, log)
            draft, curves = model, {"generator": curve}
        elif part == "target":
            model, curve = train_generator(tok, recipe.target, recipe.target_sched, recipe.task, recipe.seed + 2,
                                           val, exclude, log)
            curves = {"generator": curve}
        else:
            if draft is None:
                draft = AutoModelForCausalLM.from_pretrained(out / "draft", dtype=torch.float32)
            # The PRM's data are the draft's samples: which draft is part of what made it.
            facts["draft_sha256"] = file_sha256(out / "draft")["model.safetensors"]
            model, curves = _build_prm(tok, draft, recipe, val, exclude, log)
        if part == "prm":
            _save_prm(model, out / part)
        else:
            # Back to float32 from the stored float16, so a PRM built next learns from the draft as stored.
            model.to(torch.float16).save_pretrained(out / part)
            model.to(torch.float32)
        _save_tokenizer(out / part)
        built[part] = {"params": parameter_count(model), "build_seconds": round(time.time() - t0, 1)}
        record = {"part": part, "recipe": part_recipe(recipe, part), "versions": library_versions(),
                  "sha256": file_sha256(out / part), **built[part], **facts, "curve": curves}
        (out / part / BUILD_JSON).write_text(json.dumps(record, indent=2, allow_nan=False) + "\n")
    return built


def _build_prm(tok, draft, recipe: ZooRecipe, val: list[Problem], exclude: set[str],
               log) -> tuple[ValueHeadPRM, dict[str, Curve]]:
    log("  backbone: a generator of the PRM's size, so the PRM starts from weights that can already add")
    base, curve = train_generator(tok, recipe.prm, recipe.prm_base_sched, recipe.task, recipe.seed + 3, val,
                                  exclude, log)
    curves = {"backbone": curve}
    val_steps = draft_step_labels(val, greedy_solutions(draft, tok, val))
    prm = ValueHeadPRM(base.model, recipe.prm.hidden)
    for k in range(len(recipe.prm_phases)):
        prm, curves[f"phase {k + 1}"] = prm_phase(prm, k, tok, draft, recipe, val_steps, exclude, log)
    return prm, curves


def prm_phase(prm: ValueHeadPRM, k: int, tok, draft, recipe: ZooRecipe, val_steps, exclude: set[str],
              log) -> tuple[ValueHeadPRM, Curve]:
    """Phase k of PRM training, from the weights the previous phases left."""
    phase = recipe.prm_phases[k]
    examples = _prm_examples(tok, draft, recipe, exclude, phase, seed=recipe.seed + 5 + 10 * k)
    log(f"  phase {k + 1}: {len(examples)} sequences, corruptions {', '.join(phase.corruptions)}")
    return train_prm(prm, tok, examples, phase.sched, recipe.seed + 4 + 10 * k, _auroc_fn(prm, tok, val_steps), log)


def _auroc_fn(prm: ValueHeadPRM, tok, val_steps):
    step_token_id = tok.encode(DELIMITER)[-1]

    def val_auroc() -> float:
        scores = prm_step_scores(prm, tok, val_steps, step_token_id)
        return auroc(scores, [lab for *_, lab in val_steps])

    return val_auroc


def _prm_examples(tok, draft, recipe: ZooRecipe, exclude: set[str], phase: PRMPhase, seed: int):
    """Draft solutions (greedy and sampled) plus correct ones with one step corrupted."""
    step_token_id = tok.encode(DELIMITER)[-1]
    stream = problem_stream(seed, recipe.task, exclude)
    problems = [next(stream) for _ in range(phase.problems)]
    rng = random.Random(seed + 1)
    rows = []
    sols = greedy_solutions(draft, tok, problems)
    for k in range(recipe.prm_samples):
        sols += greedy_solutions(draft, tok, problems, sample=True, seed=seed + 2 + k)
    for p, sol in zip(problems * (1 + recipe.prm_samples), sols):
        rows.append(prm_example(tok, p.problem, sol.strip().split(DELIMITER), step_token_id))
    for p in problems:
        steps = p.solution.split(DELIMITER)
        k = rng.randrange(len(steps))
        rows.append(prm_example(tok, p.problem, steps[:k] + [corrupt(steps[k], rng, phase.corruptions)],
                                step_token_id))
        rows.append(prm_example(tok, p.problem, steps, step_token_id))
    return rows


def _save_tokenizer(path: Path) -> None:
    # A fresh tokenizer, not the one training used: a padded call leaves its padding
    # setting in tokenizer.json, so the saved bytes would depend on the last call made.
    build_tokenizer().save_pretrained(path)


def _save_prm(prm: ValueHeadPRM, path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    cfg = prm.model.config
    cfg.architectures = [PRM_ARCHITECTURE]
    cfg.dtype = "float16"
    cfg.to_json_file(path / "config.json")
    state = {f"model.{k}": v.to(torch.float16).contiguous() for k, v in prm.model.state_dict().items()}
    state |= {f"v_head.{k}": v.to(torch.float16).contiguous() for k, v in prm.v_head.state_dict().items()}
    save_file(state, path / "model.safetensors", metadata={"format": "pt"})
