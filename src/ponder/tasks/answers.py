"""Numeric answer extraction from model output.

Order of preference: an explicit answer statement ("The answer is …", "Answer: …", "####",
`\\boxed{…}`), then the last number in the text. Reasoning inside `<think>…</think>` is never
taken as the answer. Returns None when the text holds no number.
"""

from __future__ import annotations

import re

_NUM = r"-?\$?\s*\d[\d,]*(?:\.\d+)?"
_THINK = re.compile(r"<think>.*?(</think>|$)", re.S)
_EXPLICIT = [
    re.compile(r"\\boxed\{([^{}]*)\}"),
    re.compile(r"####\s*([^\n]+)"),
    re.compile(r"answer\s+is\s*:?\s*([^\n]+)", re.I),
    re.compile(r"answer\s*:\s*([^\n]+)", re.I),
]
_NUMBER = re.compile(_NUM)


def normalise_number(text: str) -> str | None:
    m = _NUMBER.search(text)
    if not m:
        return None
    raw = m.group(0).replace("$", "").replace(",", "").replace(" ", "")
    if "." in raw:
        raw = raw.rstrip("0").rstrip(".")
    if raw in ("-0", ""):
        raw = "0"
    return raw


def extract_number(text: str) -> str | None:
    body = _THINK.sub("", text)
    for pattern in _EXPLICIT:
        matches = pattern.findall(body)
        for candidate in reversed(matches):
            value = normalise_number(candidate.replace("**", ""))
            if value is not None:
                return value
    numbers = _NUMBER.findall(body)
    return normalise_number(numbers[-1]) if numbers else None
