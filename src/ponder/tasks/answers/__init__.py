"""Answer extraction: the one layer every strategy, verifier and benchmark uses.

`extract(text, kind)` finds the answer a model gave and normalises it:

- Reasoning inside `<think>…</think>` is never the answer (an unclosed `<think>` means the
  model never left its reasoning).
- A few-shot completion that runs on into a new exemplar ends there: once the reply has made an
  explicit statement (below), a line starting with one of `EXEMPLAR_STARTS` ("Question:", "Q:",
  "Problem:", "Input:": the exemplar formats of this project's prompts) ends it.
- An explicit statement wins over anything else: `\\boxed{…}` first, then the last of
  "#### …", "The answer is …", "Answer: …", "Final answer: …" (markdown bold allowed).
- Without one, the last number in the text is taken, unless the text was cut off
  (`truncated=True`): a number in the middle of unfinished reasoning is a guess, so the
  result is "no answer" (`value=None`).
- Numbers: currency signs, thousands separators, percent signs, units after the number,
  trailing zeros (`18.00` → `18`), negatives, simple fractions (`3/4`, `\\frac{3}{4}`) and
  scientific notation (`2.5e-3`, `1.2E+5`; not inside words or identifiers: `0x1e3`, `1e3x`)
  are handled; the canonical form is an integer, a terminating decimal, or a reduced `p/q`.
  A number with an exponent beyond ±`MAX_EXPONENT` is no number.

Kinds: "number", "choice" (a letter A-F by default), "yesno" ("yes"/"no"), "math" (a LaTeX
answer, normalised), "text" (one word, e.g. concatenated letters), "grid" (ARC grids) and
"open" (an open-ended reply such as MT-Bench's: the whole reply is the answer).

Every extractor and helper takes time linear in the length of the text; the extractors search
backward from the end and stop at the answer, so that a 1 MB reply takes milliseconds
(benchmarks/extraction_speed.py). Where a text holds more candidates than any reply does, a bounded
number of them is read, from the end; no real reply comes near these bounds:
- `READ_LIMIT` of each sort: answer statements, boxes, words that may start a cue, lines with
  digits that are no grid lines, runs that may hold a JSON grid, numbers that are none (`5/0`);
- `BRACE_LIMIT` braces to match boxes;
- a run of more than `SAFE_RUN` characters that could all belong to numbers (`1,1,1,…`) is read
  from a point inside it;
- a grid of more than `GRID_LIMIT` rows or cells in a row is not read, and a text longer than
  `MATH_LIMIT` characters is no LaTeX answer (`normalise_math` only strips it).
Nothing here raises on any input text. `extract_async` reads long texts in a worker thread.

Modules: `scan` (budgets, caches, backward searches), `reply` (a reply's visible part, its
statements and boxes; `answer_first`), `numeric` (numbers), `words` (choice, yes/no, text),
`latex` (MATH answers), `grids` (ARC grids), `extracted` (the result type).
"""

from __future__ import annotations

import asyncio

from ponder.tasks.answers.extracted import NONE, Extracted
from ponder.tasks.answers.grids import GRID_LIMIT, extract_grid, grid_text, parse_grid
from ponder.tasks.answers.latex import MATH_LIMIT, extract_math, normalise_math
from ponder.tasks.answers.numeric import MAX_EXPONENT, SAFE_RUN, canonical, extract_number, normalise_number
from ponder.tasks.answers.reply import BRACE_LIMIT, EXEMPLAR_STARTS, answer_first
from ponder.tasks.answers.scan import READ_LIMIT
from ponder.tasks.answers.words import extract_choice, extract_text, extract_yes_no

__all__ = [
    "ASYNC_THRESHOLD",
    "BRACE_LIMIT",
    "EXEMPLAR_STARTS",
    "GRID_LIMIT",
    "KINDS",
    "MATH_LIMIT",
    "MAX_EXPONENT",
    "NONE",
    "READ_LIMIT",
    "SAFE_RUN",
    "Extracted",
    "Kind",
    "answer_first",
    "canonical",
    "extract",
    "extract_async",
    "extract_choice",
    "extract_grid",
    "extract_math",
    "extract_number",
    "extract_text",
    "extract_yes_no",
    "grid_text",
    "normalise_math",
    "normalise_number",
    "parse_grid",
    "same_answer",
]

Kind = str  # "number" | "choice" | "yesno" | "math" | "text" | "grid" | "open"
KINDS = ("number", "choice", "yesno", "math", "text", "grid", "open")
ASYNC_THRESHOLD = 20_000
EXTRACTION_VERSION = 1  # raise it with every change that can change an extracted answer or a score


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


async def extract_async(text: str, kind: Kind = "number", truncated: bool = False) -> Extracted:
    """`extract`, in a worker thread when `text` is longer than ASYNC_THRESHOLD characters, so that
    scoring a long reply never blocks the event loop."""
    if isinstance(text, str) and len(text) > ASYNC_THRESHOLD:
        return await asyncio.to_thread(extract, text, kind, truncated)
    return extract(text, kind, truncated)


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
        grid = parse_grid(a)
        return grid is not None and grid == parse_grid(b)
    return a.strip().lower() == b.strip().lower()
