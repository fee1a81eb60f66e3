"""Synthetic training data from sampled solutions: pure functions on output records.

Given the K samples of each problem (records "<id>#s<k>", all in one table):
  - a keep rule: the answer verified against the reference, and/or every
    scored step's reward at or above a bound;
  - SFT rows, chat-messages form, one per kept and distinct solution;
  - preference pairs: a kept solution against a not-kept one of the same problem;
  - step pairs, which only RSD produces: at the same prefix, the draft step the
    PRM turned down against the step the target wrote there, both rewards.
Everything is deduplicated by content hash; `seen` carries hashes across
batches (and across a resumed job's runs).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass

import pyarrow as pa

MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
SCHEMAS = {
    "sft": pa.schema([("hash", pa.string()), ("problem_id", pa.string()), ("sample_id", pa.string()),
                      ("messages", MESSAGES), ("correct", pa.bool_()), ("min_reward", pa.float64())]),
    "preference": pa.schema([("hash", pa.string()), ("problem_id", pa.string()), ("prompt", MESSAGES),
                             ("chosen", pa.string()), ("rejected", pa.string()), ("chosen_id", pa.string()),
                             ("rejected_id", pa.string()), ("chosen_correct", pa.bool_()),
                             ("rejected_correct", pa.bool_())]),
    "step_pairs": pa.schema([("hash", pa.string()), ("problem_id", pa.string()), ("sample_id", pa.string()),
                             ("problem", pa.string()), ("prefix", pa.list_(pa.string())), ("draft", pa.string()),
                             ("draft_reward", pa.float64()), ("target", pa.string()),
                             ("target_reward", pa.float64())]),
}


@dataclass(frozen=True)
class KeepRule:
    verified: bool = True  # the answer matches the reference
    min_reward: float | None = None  # every scored step at or above this

    def keeps(self, r: dict) -> bool:
        if r["error"] is not None:
            return False
        if self.verified and r["correct"] is not True:
            return False
        if self.min_reward is not None:
            low = min_reward(r)
            return low is not None and low >= self.min_reward
        return True


def min_reward(r: dict) -> float | None:
    rewards = [s["reward"] for s in r["steps"] if s["reward"] is not None]
    return min(rewards) if rewards else None


def problem_id(sample_id: str) -> str:
    return sample_id.rsplit("#s", 1)[0]


def digest(*parts) -> str:
    h = hashlib.sha1()
    for p in parts:
        h.update(repr(p).encode())
        h.update(b"\x00")
    return h.hexdigest()


def derive(records: list[dict], rule: KeepRule, seen: set[str]) -> dict[str, list[dict]]:
    """SFT rows, preference pairs and step pairs from a batch of sample records; updates `seen`."""
    out: dict[str, list[dict]] = {"sft": [], "preference": [], "step_pairs": []}
    by_problem: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_problem[problem_id(r["id"])].append(r)

    def fresh(h: str) -> bool:
        if h in seen:
            return False
        seen.add(h)
        return True

    for pid, samples in by_problem.items():
        ok = [r for r in samples if r["error"] is None]
        kept = _distinct([r for r in ok if rule.keeps(r)])
        rest = _distinct([r for r in ok if not rule.keeps(r)])
        for r in kept:
            h = digest("sft", r["problem"], r["response"].strip())
            if fresh(h):
                out["sft"].append({"hash": h, "problem_id": pid, "sample_id": r["id"], "messages": _chat(r),
                                   "correct": r["correct"], "min_reward": min_reward(r)})
        for good, bad in zip(kept, rest * max(1, len(kept))):  # each kept solution gets a partner while any are left
            h = digest("pref", good["problem"], good["response"].strip(), bad["response"].strip())
            if fresh(h):
                out["preference"].append({
                    "hash": h, "problem_id": pid, "prompt": _chat(good)[:1], "chosen": good["response"],
                    "rejected": bad["response"], "chosen_id": good["id"], "rejected_id": bad["id"],
                    "chosen_correct": good["correct"], "rejected_correct": bad["correct"]})
        for r in ok:
            for rej in r["rejected"]:
                target = r["steps"][rej["index"]] if rej["index"] < len(r["steps"]) else None
                if target is None or target["source"] != "target":
                    continue  # the run ended before the target's step landed
                prefix = [s["text"] for s in r["steps"][:rej["index"]]]
                h = digest("step", r["problem"], prefix, rej["text"], target["text"])
                if fresh(h):
                    out["step_pairs"].append({
                        "hash": h, "problem_id": pid, "sample_id": r["id"], "problem": r["problem"],
                        "prefix": prefix, "draft": rej["text"], "draft_reward": rej["reward"],
                        "target": target["text"], "target_reward": target["reward"]})
    return out


def _distinct(rs: list[dict]) -> list[dict]:
    seen, out = set(), []
    for r in rs:
        key = (r["response"] or "").strip()
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _chat(r: dict) -> list[dict]:
    return [{"role": "user", "content": r["problem"]}, {"role": "assistant", "content": r["response"]}]
