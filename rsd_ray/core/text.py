"""How steps and a response relate: the delimiter (a blank line by default) joins them."""

from __future__ import annotations

DEFAULT_DELIMITER = "\n\n"


def join_steps(steps: list[str], delimiter: str = DEFAULT_DELIMITER) -> str:
    return delimiter.join(steps)
