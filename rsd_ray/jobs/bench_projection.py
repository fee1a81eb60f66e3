"""FLOPs arithmetic for the paper's set-ups from the zoo's acceptance rate and token counts: a projection."""

from __future__ import annotations

# Parameter counts of the paper's models (approximate, as in the Qwen2.5 model cards; embeddings included).
PAPER_PARAMS = {
    "Qwen2.5-Math-1.5B-Instruct": 1.54e9,
    "Qwen2.5-Math-7B-Instruct": 7.62e9,
    "Qwen2.5-Math-72B-Instruct": 72.7e9,
    "Skywork-o1-Open-PRM-Qwen-2.5-1.5B": 1.54e9,
    "Skywork-o1-Open-PRM-Qwen-2.5-7B": 7.62e9,
}
PAPER_SETUPS = [  # (draft, target, prm)
    ("Qwen2.5-Math-1.5B-Instruct", "Qwen2.5-Math-7B-Instruct", "Skywork-o1-Open-PRM-Qwen-2.5-1.5B"),
    ("Qwen2.5-Math-1.5B-Instruct", "Qwen2.5-Math-72B-Instruct", "Skywork-o1-Open-PRM-Qwen-2.5-1.5B"),
    ("Qwen2.5-Math-7B-Instruct", "Qwen2.5-Math-72B-Instruct", "Skywork-o1-Open-PRM-Qwen-2.5-7B"),
]


def projection(acceptance: float, tokens: dict) -> dict:
    """FLOPs of RSD vs target-only for the paper's models, from the zoo's acceptance rate and token counts.

    step model: per final step the draft writes one step and the PRM scores it
    (every step), the target writes the rejected share (1 - acceptance):
        speedup = P_t / (P_d + P_p + (1 - a) P_t)       (equal step lengths, prefill ignored)
    token model: the zoo run's tokens processed per model (prefill included,
    e.g. the target re-reading accepted draft steps) priced at the real sizes:
        speedup = P_t tok_t(target-only) / (P_d tok_d + P_p tok_p + P_t tok_t)(rsd)
    """
    out = []
    for d, t, p in PAPER_SETUPS:
        Pd, Pt, Pp = PAPER_PARAMS[d], PAPER_PARAMS[t], PAPER_PARAMS[p]
        step = Pt / (Pd + Pp + (1 - acceptance) * Pt)
        r = tokens["rsd"]
        tok = Pt * tokens["target"]["tokens_target"] / (Pd * r["tokens_draft"] + Pp * r["tokens_prm"] + Pt * r["tokens_target"])
        out.append({"draft": d, "target": t, "prm": p, "flops_speedup_step_model": step,
                    "flops_speedup_token_model": tok})
    return {"label": "PROJECTION (FLOPs arithmetic, not a measurement): the zoo's measured acceptance rate "
                     "and token counts priced at the paper models' parameter counts",
            "acceptance_rate": acceptance, "params": PAPER_PARAMS, "setups": out}
