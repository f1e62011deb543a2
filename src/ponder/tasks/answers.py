"""Answer extraction: the one layer every strategy, verifier and benchmark uses.

`extract(text, kind)` finds the answer a model gave and normalises it:

- Reasoning inside `<think>…</think>` is never the answer (an unclosed `<think>` means the
  model never left its reasoning).
- An explicit statement wins over anything else: `\\boxed{…}` first, then the last of
  "#### …", "The answer is …", "Answer: …", "Final answer: …" (markdown bold allowed).
- Without one, the last number in the text is taken, unless the text was cut off
  (`truncated=True`): a number in the middle of unfinished reasoning is a guess, so the
  result is "no answer" (`value=None`).
- Numbers: currency signs, thousands separators, percent signs, units after the number,
  trailing zeros (`18.00` → `18`), negatives and simple fractions (`3/4`, `\\frac{3}{4}`) are
  handled; the canonical form is an integer, a terminating decimal, or a reduced `p/q`.

Kinds: "number", "choice" (a letter A-F by default), "yesno" ("yes"/"no"), "math" (a LaTeX
answer, normalised), "text" (one word, e.g. concatenated letters), "grid" (ARC grids) and
"open" (an open-ended reply such as MT-Bench's: the whole reply is the answer).
Nothing here raises on any input text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

Kind = str  # "number" | "choice" | "yesno"


@dataclass(frozen=True)
class Extracted:
    """The answer found in a text. `span` is its (start, end) in the original text."""

    value: str | None
    span: tuple[int, int] | None = None
    explicit: bool = False


NONE = Extracted(None)

_NUMBER = re.compile(
    r"(?<![\w.])(?P<neg>[-−])?(?:\\?\$\s?)?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?:\s?/\s?(?P<den>\d+)(?![\d/]))?")
_FRAC = re.compile(r"(?P<neg>-)?\\d?frac\{\s*(?P<num>-?\d+)\s*\}\{\s*(?P<den>\d+)\s*\}")
_STATEMENTS = [
    re.compile(r"####[*_\s]*"),
    re.compile(r"(?:final\s+)?answer(?:\s*\([^)\n]{0,40}\))?[*_\s]*(?:is|was|will\s+be|would\s+be|:|=)"
               r"[*_\s:]*", re.I),
]
_LINE_END = re.compile(r"\n|\.(?=\s)|$")


def _body(text: str) -> tuple[int, int]:
    """The part of `text` that is not hidden reasoning, as (start, end) offsets."""
    close = text.rfind("</think>")
    if close >= 0:
        return close + len("</think>"), len(text)
    opened = text.find("<think>")
    return 0, (opened if opened >= 0 else len(text))


def canonical(value: Fraction) -> str:
    """Integer, terminating decimal, or reduced p/q."""
    if value.denominator == 1:
        return str(value.numerator)
    d = value.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d == 1:
        text = f"{float(value):.12f}".rstrip("0").rstrip(".")
        if Fraction(text) == value:
            return text
    return f"{value.numerator}/{value.denominator}"


def _number_value(m: re.Match) -> Fraction | None:
    try:
        value = Fraction(m.group("num").replace(",", ""))
        den = m.group("den")
        if den is not None:
            if int(den) == 0:
                return None
            value = value / int(den)
    except (ValueError, ZeroDivisionError):
        return None
    return -value if m.group("neg") else value


def _numbers(text: str, start: int, end: int) -> list[tuple[Fraction, tuple[int, int]]]:
    found = []
    for pattern in (_FRAC, _NUMBER):
        for m in pattern.finditer(text, start, end):
            value = _number_value(m)
            if value is not None:
                found.append((value, m.span()))
    found.sort(key=lambda x: x[1])
    out: list[tuple[Fraction, tuple[int, int]]] = []
    for value, span in found:  # drop numbers inside an already-taken \frac{}{}
        if out and span[0] < out[-1][1][1]:
            continue
        out.append((value, span))
    return out


def normalise_number(text: str) -> str | None:
    """The first number in `text`, in canonical form, or None."""
    nums = _numbers(text, 0, len(text))
    return canonical(nums[0][0]) if nums else None


def _boxed(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Contents of every \\boxed{…} (nested braces allowed), as spans."""
    spans = []
    i = text.find("\\boxed{", start, end)
    while i >= 0:
        j = i + len("\\boxed{")
        depth = 1
        k = j
        while k < end and depth:
            depth += {"{": 1, "}": -1}.get(text[k], 0)
            k += 1
        if depth == 0:
            spans.append((j, k - 1))
        i = text.find("\\boxed{", k, end)
    return spans


def _statements(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of what follows each explicit answer statement, up to the end of its line or sentence
    (a full stop before white space, so "2.5" and "$1,200.50" stay whole)."""
    spans = []
    for pattern in _STATEMENTS:
        for m in pattern.finditer(text, start, end):
            stop = _LINE_END.search(text, m.end(), end)
            spans.append((m.end(), min(stop.start() if stop else end, end)))
    spans.sort()
    return spans


def answer_first(text: str) -> str:
    """`text` up to the end of its first explicit answer statement, its full stop or newline
    included (all of it if it has none): for replies whose answer comes before their reasoning."""
    spans = _statements(text, *_body(text))
    if not spans:
        return text
    return text[:spans[0][1] + 1]


def _number_in(text: str, span: tuple[int, int]) -> Extracted | None:
    nums = _numbers(text, *span)
    if not nums:
        return None
    value, where = nums[0]
    eq = max(text.rfind("=", span[0], span[1]), text.rfind("≈", span[0], span[1]))
    if eq > where[1]:  # "The answer is 5 x 3 = 15": the result, not the first factor
        after = [n for n in nums if n[1][0] > eq]
        if after:
            value, where = after[0]
    return Extracted(canonical(value), where, True)


def extract_number(text: str, truncated: bool = False) -> Extracted:
    if not isinstance(text, str):
        return NONE
    start, end = _body(text)
    for span in reversed(_boxed(text, start, end)):
        found = _number_in(text, span)
        if found:
            return found
    for span in reversed(_statements(text, start, end)):
        found = _number_in(text, span)
        if found:
            return found
    if truncated:
        return NONE
    nums = _numbers(text, start, end)
    if not nums:
        return NONE
    value, where = nums[-1]
    return Extracted(canonical(value), where, False)


_CHOICE_CUE = r"(?i:answer|option|choice)[^\n]{0,20}?(?:is|:)[*_\s:]*"


def extract_choice(text: str, letters: str = "ABCDEF", truncated: bool = False) -> Extracted:
    """A multiple-choice letter: "The answer is (C)", "Answer: C", else the last "(C)".

    A bare letter must be upper case ("the answer is a bit…" is not choice A); in parentheses
    either case counts.
    """
    if not isinstance(text, str) or not letters:
        return NONE
    start, end = _body(text)
    up = re.escape(letters.upper())
    low = re.escape(letters.lower())
    explicit = re.compile(_CHOICE_CUE + rf"(?:\(([{up}{low}])\)|([{up}])(?![A-Za-z]))")
    hits = list(explicit.finditer(text, start, end))
    if hits:
        m = hits[-1]
        group = 1 if m.group(1) else 2
        return Extracted(m.group(group).upper(), m.span(group), True)
    cls = up
    for span in reversed(_boxed(text, start, end)):
        inner = re.search(rf"\b([{cls}])\b", text[span[0]:span[1]])
        if inner:
            return Extracted(inner.group(1), (span[0] + inner.start(1), span[0] + inner.end(1)), True)
    if truncated:
        return NONE
    paren = list(re.finditer(rf"\(([{up}{low}])\)", text[start:end]))
    if paren:
        m = paren[-1]
        return Extracted(m.group(1).upper(), (start + m.start(1), start + m.end(1)), False)
    return NONE


_YESNO = re.compile(r"\b(yes|no)\b", re.I)


def extract_yes_no(text: str, truncated: bool = False) -> Extracted:
    """"yes" or "no": after an answer statement if there is one, else the last yes/no word."""
    if not isinstance(text, str):
        return NONE
    start, end = _body(text)
    for span in reversed(_boxed(text, start, end) + _statements(text, start, end)):
        m = _YESNO.search(text, span[0], span[1])
        if m:
            return Extracted(m.group(1).lower(), m.span(1), True)
    if truncated:
        return NONE
    hits = list(_YESNO.finditer(text, start, end))
    if not hits:
        return NONE
    m = hits[-1]
    return Extracted(m.group(1).lower(), m.span(1), False)


def extract_math(text: str, truncated: bool = False) -> Extracted:
    """A MATH answer: the last \\boxed{…}, else an answer statement, else (text not cut off) the
    last number. The value is normalised with `normalise_math`."""
    if not isinstance(text, str):
        return NONE
    start, end = _body(text)
    spans = _boxed(text, start, end) or [(a, b) for a, b in _statements(text, start, end)]
    for span in reversed(spans):
        value = normalise_math(text[span[0]:span[1]])
        if value:
            return Extracted(value, span, True)
    if truncated:
        return NONE
    nums = _numbers(text, start, end)
    return Extracted(canonical(nums[-1][0]), nums[-1][1], False) if nums else NONE


_MATH_DROP = ("\\left", "\\right", "\\!", "\\,", "\\;", "\\:", "\\displaystyle", "$",
              "^\\circ", "^{\\circ}", "\\%", "%", "\\ ")


def normalise_math(text: str) -> str:
    """A canonical string for a LaTeX answer: spacing and sizing commands, dollars, degrees,
    percent signs, \\text{} wrappers, a leading "x =" and a trailing period removed; \\dfrac and
    \\tfrac read as \\frac, \\frac12 as \\frac{1}{2}, \\sqrt2 as \\sqrt{2}; a plain number in
    canonical form (0.50 → 0.5, 1/2 → 1/2, \\frac{1}{2} → 1/2)."""
    s = text.strip()
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


_TEXT_TOKEN = re.compile(r"[\"'“”‘’*`\s]*([A-Za-z0-9]+)")


def extract_text(text: str, truncated: bool = False) -> Extracted:
    """A one-word answer (e.g. concatenated letters): the first word after an answer statement,
    else the last quoted word, else (text not cut off) the last word."""
    if not isinstance(text, str):
        return NONE
    start, end = _body(text)
    for span in reversed(_boxed(text, start, end) + _statements(text, start, end)):
        m = _TEXT_TOKEN.match(text, span[0], span[1])
        if m:
            return Extracted(m.group(1), m.span(1), True)
    quoted = list(re.finditer(r"[\"“]([A-Za-z0-9]+)[\"”]", text[start:end]))
    if quoted:
        m = quoted[-1]
        return Extracted(m.group(1), (start + m.start(1), start + m.end(1)), False)
    if truncated:
        return NONE
    words = list(re.finditer(r"[A-Za-z0-9]+", text[start:end]))
    if not words:
        return NONE
    m = words[-1]
    return Extracted(m.group(0), (start + m.start(), start + m.end()), False)


_GRID_LINE = re.compile(r"^[\s\[\],|]*\d(?:[\s,|]*\d)*[\s\[\],|]*$")


def parse_grid(text: str | None) -> list[list[int]] | None:
    """The last grid of digits in `text`: a JSON list of lists, or consecutive lines of digits
    (separated by spaces, commas or nothing). None when there is none."""
    if not isinstance(text, str):
        return None
    start, end = _body(text)
    body = text[start:end]
    json_grids = list(re.finditer(r"\[\s*\[[\d\s,\[\]]*\]\s*\]", body))
    lines = body.splitlines()
    block: list[str] = []
    best: list[str] = []
    for line in lines:
        if line.strip() and _GRID_LINE.match(line):
            block.append(line)
        else:
            if block:
                best = block
            block = []
    if block:
        best = block
    last_lines_end = body.rfind(best[-1]) + len(best[-1]) if best else -1
    if json_grids and json_grids[-1].end() >= last_lines_end:
        import json

        try:
            grid = json.loads(json_grids[-1].group(0))
            if all(isinstance(r, list) and all(isinstance(v, int) for v in r) for r in grid) and grid:
                return grid
        except json.JSONDecodeError:
            pass
    if not best:
        return None
    return [[int(ch) for ch in re.findall(r"\d", line)] for line in best]


def grid_text(grid: list[list[int]]) -> str:
    """Canonical text of a grid: one line per row, one digit per cell."""
    return "\n".join("".join(str(v) for v in row) for row in grid)


def extract_grid(text: str, truncated: bool = False) -> Extracted:
    grid = parse_grid(text)
    return Extracted(grid_text(grid), None, True) if grid else NONE


KINDS = ("number", "choice", "yesno", "math", "text", "grid", "open")


def extract(text: str, kind: Kind = "number", truncated: bool = False) -> Extracted:
    if kind == "number":
        return extract_number(text, truncated)
    if kind == "choice":
        return extract_choice(text, truncated=truncated)
    if kind == "yesno":
        return extract_yes_no(text, truncated)
    if kind == "math":
        return extract_math(text, truncated)
    if kind == "text":
        return extract_text(text, truncated)
    if kind == "grid":
        return extract_grid(text, truncated)
    if kind == "open":
        body = text.strip() if isinstance(text, str) else ""
        return Extracted(body or None, (0, len(text)) if body else None, False)
    raise ValueError(f"unknown answer kind {kind!r}: expected one of {', '.join(KINDS)}")


def same_answer(a: str | None, b: str | None, kind: Kind = "number") -> bool:
    """Equal answers of one kind: numbers by value (18 == 18.0 == 36/2), MATH answers after
    `normalise_math`, grids cell by cell, others case-insensitively."""
    if a is None or b is None:
        return False
    if kind == "number":
        x, y = normalise_number(a), normalise_number(b)
        return x is not None and x == y
    if kind == "math":
        return normalise_math(a) == normalise_math(b)
    if kind == "grid":
        x, y = parse_grid(a), parse_grid(b)
        return x is not None and x == y
    return a.strip().lower() == b.strip().lower()
