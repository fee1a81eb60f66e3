"""Rendering a problem into the text a generator continues."""

from __future__ import annotations

from collections.abc import Callable

from rsd_ray.config import PromptConfig


def make_renderer(tokenizer, cfg: PromptConfig) -> Callable[[str], str]:
    """The chat template with the paper's system prompt (real checkpoints), or a plain template (zoo)."""
    if not cfg.chat:
        return lambda problem: cfg.template.format(problem=problem)
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError("prompt.chat is true but the tokenizer has no chat template")

    def render(problem: str) -> str:
        messages = [{"role": "user", "content": problem}]
        if cfg.system:
            messages.insert(0, {"role": "system", "content": cfg.system})
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    return render
