"""A chain of thought as steps: lines, and sentences within a long line.

A list marker on its own ("1.", "Step 2.") belongs to the sentence after it.
`split_steps(text)` returns the end offset of each step, so a prefix of the first i steps is
exactly `text[:ends[i-1]]`, with the chain's own spacing.
"""

from __future__ import annotations

import re

# A sentence ends at ".", "!" or "?" followed by space and a capital, a digit or a bullet; a step
# also ends at a line break. Decimal points ("3.5") and abbreviations before lower case do not end one.
_BOUNDARY = re.compile(r"(?<=[.!?])[ \t]+(?=[A-Z0-9(*\-])|\n+")
# A list marker ("1.", "b)", "Step 2.", "**3.**") is the start of the step that follows, not a step.
_MARKER = re.compile(r"(?:[-*]\s*)?(?:\*\*)?(?:\d+|[A-Za-z]|Step \d+)[.)](?:\*\*)?")


def split_steps(text: str) -> list[int]:
    """End offsets of the steps of `text` (the last one is len(text) stripped of trailing space)."""
    body_end = len(text.rstrip())
    ends: list[int] = []
    for m in _BOUNDARY.finditer(text, 0, body_end):
        end = m.start()
        step = text[(ends[-1] if ends else 0) : end].strip()
        if step and not _MARKER.fullmatch(step):
            ends.append(end)
    if text[(ends[-1] if ends else 0) : body_end].strip():
        ends.append(body_end)
    return ends


def steps(text: str) -> list[str]:
    """The steps themselves, stripped."""
    ends = split_steps(text)
    starts = [0] + ends[:-1]
    return [text[a:b].strip() for a, b in zip(starts, ends)]


def prefix(text: str, count: int) -> str:
    """The chain up to the end of its first `count` steps ("" for 0)."""
    ends = split_steps(text)
    return "" if count <= 0 else text[: ends[min(count, len(ends)) - 1]]
