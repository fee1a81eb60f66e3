"""How steps and a response relate: the delimiter (a blank line by default) joins them."""

from __future__ import annotations

DEFAULT_DELIMITER = "\n\n"


def join_steps(steps: list[str], delimiter: str = DEFAULT_DELIMITER) -> str:
    return delimiter.join(steps)


def context_text(prompt: str, steps: list[str] | tuple[str, ...], delimiter: str = DEFAULT_DELIMITER) -> str:
    """The text a generator continues: the prompt, then each accepted step closed by the delimiter."""
    return prompt + "".join(s + delimiter for s in steps)
