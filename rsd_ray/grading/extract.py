"""Pull the final answer out of a response: the last \\boxed{}, GSM8K's ####, a choice letter."""

from __future__ import annotations

import re

_LETTER = re.compile(r"\b([A-D])\b")


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} (or \\fbox{...}), braces balanced; None if there is none."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j]
    return None


def gsm8k_answer(text: str) -> str | None:
    """The number after GSM8K's "####" marker, commas removed."""
    _, sep, tail = text.rpartition("####")
    return tail.strip().replace(",", "") if sep else None


def choice_letter(text: str) -> str | None:
    """The chosen letter: from the last \\boxed{} if any, else the last standalone A-D."""
    boxed = last_boxed(text)
    for candidate in (boxed, text):
        if candidate:
            found = _LETTER.findall(candidate)
            if found:
                return found[-1]
    return None


def final_answer(text: str) -> str | None:
    """The last \\boxed{} of a response, else a GSM8K-style "#### answer"."""
    boxed = last_boxed(text)
    return boxed if boxed is not None else gsm8k_answer(text)


def index_to_letter(index: int) -> str:
    return "ABCDEFGHIJ"[index]
