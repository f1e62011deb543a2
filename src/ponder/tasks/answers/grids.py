"""ARC grids: the last grid of digits in a text (a JSON list of lists or lines of digits), at
most `GRID_LIMIT` rows or cells in a row, and its canonical text."""

from __future__ import annotations

import json
import re

from ponder.tasks.answers.extracted import NONE, Extracted
from ponder.tasks.answers.reply import _Reply
from ponder.tasks.answers.scan import _DIGIT, READ_LIMIT

GRID_LIMIT = 100

_LINE_BREAK = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # where str.splitlines splits
_BREAK = re.compile(f"[{_LINE_BREAK}]")
_NOT_BREAK_R = re.compile(f"[^{_LINE_BREAK}]*")
# A line of at most GRID_LIMIT digits, apart from spaces, commas, bars and (around them) brackets.
_GRID_LINE = re.compile(rf"[\s\[\],|]*+\d(?:[\s,|]*+\d){{0,{GRID_LIMIT - 1}}}+[\s\[\],|]*+")
_JSON_CHARS = re.compile(r"[\d\s,\[\]]*+")
_JSON_GRID_CHARS = 8 * GRID_LIMIT**2  # room for GRID_LIMIT rows of GRID_LIMIT cells, "1, " each
_JSON_OPEN = re.compile(r"\[\s*\[")
_JSON_CLOSE_R = re.compile(r"\]\s*\]")


def _grid_lines(reply: _Reply) -> list[str] | None:
    """The last block of consecutive grid lines, found from the line of the last digit that is on
    one (at most READ_LIMIT lines with digits read); None past GRID_LIMIT lines."""
    text, lo = reply.text, reply.lo
    x = reply.hi
    for _ in range(READ_LIMIT):
        d = reply.rsearch(_DIGIT, x)
        if d is None:
            return None
        found = _BREAK.search(text, d[0], x)
        end = found.start() if found else x
        start = reply.back(_NOT_BREAK_R, end)
        if _GRID_LINE.fullmatch(text, start, end):
            break
        x = start
    else:
        return None
    block = [text[start:end]]
    while start > lo:
        end = start - 1 - (start - 2 >= lo and text[start - 2 : start] == "\r\n")
        start = reply.back(_NOT_BREAK_R, end)
        if not _GRID_LINE.fullmatch(text, start, end):
            break
        if len(block) == GRID_LIMIT:
            return None
        block.append(text[start:end])
    return block[::-1]


def _json_grid(reply: _Reply) -> tuple[int, int] | None:
    """The last "[[…]]" of digits, commas and brackets: in a run of such characters, from its first
    "[[" to its last "]]"."""
    text, x = reply.text, reply.hi
    for _ in range(READ_LIMIT):
        close = reply.rsearch(_JSON_CLOSE_R, x)
        if close is None:
            return None
        run_start = reply.back(_JSON_CHARS, close[0])
        opened = _JSON_OPEN.search(text, run_start, close[0])
        if opened:
            return opened.start(), close[1]
        x = run_start
    return None


def parse_grid(text: str | None) -> list[list[int]] | None:
    """The last grid of digits in `text`: a JSON list of lists, or consecutive lines of digits
    (separated by spaces, commas or nothing). None when there is none."""
    if not isinstance(text, str):
        return None
    reply = _Reply(text)
    best = _grid_lines(reply)
    last_lines_end = text.rfind(best[-1], reply.lo, reply.hi) + len(best[-1]) if best else -1
    found = _json_grid(reply)
    if found and found[1] >= last_lines_end and found[1] - found[0] <= _JSON_GRID_CHARS:
        try:
            grid = json.loads(text[found[0] : found[1]])
            if (
                grid
                and all(isinstance(r, list) and all(isinstance(v, int) for v in r) for r in grid)
                and len(grid) <= GRID_LIMIT
                and max(map(len, grid)) <= GRID_LIMIT
            ):
                return grid
        except (ValueError, RecursionError):
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
