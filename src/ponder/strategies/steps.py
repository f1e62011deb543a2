"""A chain of thought as steps: lines, and sentences within a long line.

A list marker on its own ("1.", "Step 2.") belongs to the sentence after it. A display equation
(`\\[ ... \\]` or `$$ ... $$`, as MATH solutions write them) is never split, whatever lines it spans.
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
# A display equation: no step ends inside one.
_DISPLAY = re.compile(r"\\\[.*?\\\]|\$\$.*?\$\$", re.DOTALL)


def split_steps(text: str) -> list[int]:
    """End offsets of the steps of `text` (the last one is len(text) stripped of trailing space)."""
    body_end = len(text.rstrip())
    ends: list[int] = []
    displays = [(d.start(), d.end()) for d in _DISPLAY.finditer(text)]
    for m in _BOUNDARY.finditer(text, 0, body_end):
        end = m.start()
        if any(a < end < b for a, b in displays):
            continue
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
