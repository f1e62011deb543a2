"""MATH answers: LaTeX, found in a box or statement and normalised (`normalise_math`)."""

from __future__ import annotations

import re

from ponder.tasks.answers.extracted import NONE, Extracted
from ponder.tasks.answers.numeric import last_number, normalise_number
from ponder.tasks.answers.reply import _Reply

MATH_LIMIT = 10_000


def extract_math(text: str, truncated: bool = False) -> Extracted:
    """A MATH answer: the last \\boxed{…}, else an answer statement, else (text not cut off) the
    last number. The value is normalised with `normalise_math`."""
    if not isinstance(text, str):
        return NONE
    reply = _Reply(text)
    boxed = False
    for j, k in reply.boxes():
        if reply.outermost(j):
            boxed = True
            value = normalise_math(text[j:k])
            if value:
                return Extracted(value, (j, k), True)
    if not boxed:
        for s, e, _ in reply.statements():
            value = normalise_math(text[s:e])
            if value:
                return Extracted(value, (s, e), True)
    return NONE if truncated else last_number(reply)


_MATH_DROP = (
    "\\left",
    "\\right",
    "\\!",
    "\\,",
    "\\;",
    "\\:",
    "\\displaystyle",
    "$",
    "^\\circ",
    "^{\\circ}",
    "\\%",
    "%",
    "\\ ",
)


def normalise_math(text: str) -> str:
    """A canonical string for a LaTeX answer: spacing and sizing commands, dollars, degrees,
    percent signs, \\text{} wrappers, a leading "x =" and a trailing period removed; \\dfrac and
    \\tfrac read as \\frac, \\frac12 as \\frac{1}{2}, \\sqrt2 as \\sqrt{2}; a plain number in
    canonical form (0.50 → 0.5, 1/2 → 1/2, \\frac{1}{2} → 1/2). A text longer than MATH_LIMIT
    characters is no LaTeX answer: it is only stripped."""
    s = text.strip()
    if len(s) > MATH_LIMIT:
        return s
    for token in _MATH_DROP:
        s = s.replace(token, "")
    s = re.sub(r"\\(?:text|textbf|mbox|mathrm)\{([^{}]*)\}", r"\1", s)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = re.sub(r"\\frac(\d)(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\sqrt(\d+)", r"\\sqrt{\1}", s)
    s = re.sub(r"^[a-zA-Z]\s*=\s*(?=\S)", "", s)
    s = re.sub(r"\s+", "", s).rstrip(".")
    s = re.sub(r"(?<![\d.])\.(\d)", r"0.\1", s)
    whole = re.fullmatch(r"-?\d+(?:\.\d+)?|-?\d+/\d+|-?\\frac\{-?\d+\}\{\d+\}|-?\d{1,3}(?:,\d{3})+", s)
    if whole:
        value = normalise_number(s)
        if value is not None:
            return value
    return s
