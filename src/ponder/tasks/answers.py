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
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

Kind = str  # "number" | "choice" | "yesno" | "math" | "text" | "grid" | "open"

EXEMPLAR_STARTS = ("Question", "Q", "Problem", "Input")
MAX_EXPONENT = 100
READ_LIMIT = 1_000
BRACE_LIMIT = 20_000
SAFE_RUN = 1_024
GRID_LIMIT = 100
MATH_LIMIT = 10_000
ASYNC_THRESHOLD = 20_000


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
    r"(?:[eE](?P<exp>[-+]?\d+)(?!\w|\.\d)|\s?/\s?(?P<den>\d+)(?![\d/]))?")
_FRAC = re.compile(r"(?P<neg>-)?\\d?frac\{\s*(?P<num>-?\d+)\s*\}\{\s*(?P<den>\d+)\s*\}")
# A number's first digit follows no letter, digit or full stop, or follows a full stop that follows none.
_FIRST_DIGIT = re.compile(r"\d(?:(?<![\w.]\d)|(?<=(?<![\w.])\.\d))")
_FIRST_DIGIT_R = re.compile(r"\d(?:(?![\w.])|(?=\.(?![\w.])))")
# The same found from the character before it (or before its full stop), for text mostly of digits.
_BEFORE_FIRST_DIGIT = re.compile(r"[^\w.](?:(?=\d)|\.(?=\d))")
_BEFORE_FIRST_DIGIT_R = re.compile(r"[^\w.](?:(?<=\d[^\w.])|(?<=\d\.[^\w.]))")
_DIGIT = re.compile(r"\d")
_SEPARATOR = re.compile(r"[^\w.]")
# Each ASCII character's class: digit "0", letter "a", "_" or "." as itself, anything else " ".
_CLASSES = bytes(ord("0") if chr(c).isdigit() else ord("a") if chr(c).isalpha() else
                 c if chr(c) in "_." else ord(" ") for c in range(128)) + bytes(128)
# Whatever no number or \frac can hold (or a space between two digits): a number never spans it.
_NUMBER_EDGE_R = re.compile(r"[^-−+\\$,./{}dfraceE\d](?:(?<=\S)|(?<=\d\s)(?=\d))")
_HASH_CUE = "####"
_HASH_TAIL = re.compile(r"[*_\s]*")
_HASHES = re.compile(r"#*")
_ANSWER_CUE = re.compile(r"[Aa](?i:nswer(?:\s*\([^)\n]{0,40}\))?[*_\s]*(?:is|was|will\s+be|would\s+be|:|=)[*_\s:]*)")
_ANSWER = re.compile("answer", re.I)
_ANSWER_R = re.compile("[Rr](?i:ewsna)")
_SPACES = re.compile(r"\s*")
_LINE_END = re.compile(r"\n|\.(?=\s)")
_LINE_END_R = re.compile(r"\n|\.(?<=\s\.)")
_BOXED = "\\boxed{"
_BRACES = re.compile(r"[{}]")
_EXEMPLAR = re.compile("|".join(rf"{w}:(?<=\n{w}:)" for w in map(re.escape, EXEMPLAR_STARTS)))


def _visible(text: str) -> tuple[int, int]:
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
        try:
            text = f"{float(value):.12f}".rstrip("0").rstrip(".")
        except OverflowError:
            text = ""
        if text and Fraction(text) == value:
            return text
    return f"{value.numerator}/{value.denominator}"


def _number_value(m: re.Match) -> Fraction | None:
    num = m.group("num").replace(",", "")
    limit = sys.get_int_max_str_digits()
    if limit and len(num) > limit and any(len(part) > limit for part in num.split(".")):
        return None  # more digits than Python converts: Fraction would read them all, then refuse
    try:
        value = Fraction(num)
        exp = m.groupdict().get("exp")
        if exp is not None:
            if len(exp.lstrip("+-").lstrip("0")) > 3 or abs(int(exp)) > MAX_EXPONENT:
                return None
            if limit and len(num) + int(exp) > limit:
                return None  # too many digits to print
            value *= Fraction(10) ** int(exp)
        den = m.group("den")
        if den is not None:
            if int(den) == 0:
                return None
            value = value / int(den)
    except (ValueError, ZeroDivisionError):
        return None
    return -value if m.group("neg") else value


class _Budget:
    """How many more candidates that turn out not to count may be read."""

    __slots__ = ("left",)

    def __init__(self, n: int = READ_LIMIT) -> None:
        self.left = n

    def spend(self) -> bool:
        self.left -= 1
        return self.left >= 0


class _Cached:
    """`find` and `rfind` in one string, each answered from the last one for the same substring
    when its range lies within the last range: a scan that moves one way reads the string once."""

    def __init__(self, s: str | bytes) -> None:
        self.s = s
        self._found: dict = {}
        self._rfound: dict = {}

    def find(self, sub, start: int, end: int) -> int:
        s, e, f = self._found.get(sub, (0, -1, -1))
        if s <= start and end <= e and (f < 0 or f >= start):
            return f if 0 <= f and f + len(sub) <= end else -1
        f = self.s.find(sub, start, end)
        self._found[sub] = (start, end, f)
        return f

    def rfind(self, sub, start: int, end: int) -> int:
        s, e, f = self._rfound.get(sub, (0, -1, -1))
        if s <= start and end <= e and (f < 0 or f + len(sub) <= end):
            return f if f >= start else -1
        f = self.s.rfind(sub, start, end)
        self._rfound[sub] = (start, end, f)
        return f


class _Starts:
    """Where the digits a number can start with are. In ASCII text (nearly every reply) they are
    found in a byte view of each character's class, which `find` reads without a regex."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._view: _Cached | None = None
        self._mode: str | None = None

    @property
    def view(self) -> _Cached | None:
        if self._view is None and self.text.isascii():
            self._view = _Cached(self.text.encode("ascii").translate(_CLASSES))
        return self._view

    @property
    def mode(self) -> str:
        """How to find them in text that is not ASCII: from its digits ("digits") or from the
        characters a number can follow ("separators"), whichever samples of the text hold fewer."""
        if self._mode is None:
            step = max(1, len(self.text) // 8)
            sample = "".join(self.text[i:i + 512] for i in range(0, len(self.text), step))
            digits, separators = len(_DIGIT.findall(sample)), len(_SEPARATOR.findall(sample))
            self._mode = "digits" if digits <= separators else "separators"
        return self._mode

    def next(self, pos: int, end: int) -> int | None:
        """The first such digit in [pos, end)."""
        v, text = self.view, self.text
        if v is None and self.mode == "digits":
            m = _FIRST_DIGIT.search(text, pos, end)
            return m.start() if m else None
        if v is None:
            for k in (0, 1):
                if pos <= k < end and _FIRST_DIGIT.match(text, k):
                    return k
            for m in _BEFORE_FIRST_DIGIT.finditer(text, max(pos - 2, 0), end):
                if m.end() >= pos:
                    return m.end()
            return None
        i, j = v.find(b" 0", max(pos - 1, 0), end), v.find(b" .0", max(pos - 2, 0), end)
        found = [k for k, ok in ((0, pos <= 0 < end and v.s[:1] == b"0"), (1, pos <= 1 < end and v.s[:2] == b".0"),
                                 (i + 1, i >= 0), (j + 2, j >= 0)) if ok]
        return min(found, default=None)

    def prev(self, lo: int, x: int) -> int | None:
        """The last such digit in [lo, x), in ASCII text."""
        v = self.view
        i, j = v.rfind(b" 0", max(lo - 1, 0), x), v.rfind(b" .0", max(lo - 2, 0), x)
        found = [k for k, ok in ((0, lo <= 0 < x and v.s[:1] == b"0"), (1, lo <= 1 < x and v.s[:2] == b".0"),
                                 (i + 1, i >= 0), (j + 2, j >= 0)) if ok]
        return max(found, default=None)

    def last_word(self, lo: int, x: int) -> tuple[int, int] | None:
        """The last run of ASCII letters and digits in [lo, x), in ASCII text."""
        s = self.view.s
        end = lo + len(s[lo:x].rstrip(b" ._"))
        if end == lo:
            return None
        return max(s.rfind(b" ", lo, end), s.rfind(b".", lo, end), s.rfind(b"_", lo, end), lo - 1) + 1, end


def _plain_numbers(text: str, a: int, b: int, endpos: int, budget: _Budget,
                   starts: _Starts) -> Iterator[tuple[re.Match, Fraction | None]]:
    """`_NUMBER` matches starting in [a, b), as `finditer(text, a, endpos)` finds them. Every
    number starts at most 5 characters before its first digit."""
    pos = a
    while pos < b:
        d = starts.next(pos, min(endpos, b + 5))
        if d is None:
            return
        for p in range(max(pos, d - 5), min(d + 1, b)):
            m = _NUMBER.match(text, p, endpos)
            if m:
                value = _number_value(m)
                if value is None and not budget.spend():
                    return
                yield m, value
                pos = m.end()
                break
        else:
            pos = d + 1


def _fractions(text: str, a: int, b: int, endpos: int, budget: _Budget) -> Iterator[tuple[re.Match, Fraction | None]]:
    """`_FRAC` matches starting in [a, b), as `finditer(text, a, endpos)` finds them: each starts
    1 to 3 characters before its "frac"."""
    pos = a
    while True:
        f = text.find("frac", pos + 1, min(endpos, b + 7))
        if f < 0 or max(pos, f - 3) >= b:
            return
        for p in range(max(pos, f - 3), min(f, b)):
            m = _FRAC.match(text, p, endpos)
            if m:
                value = _number_value(m)
                if value is None and not budget.spend():
                    return
                yield m, value
                pos = m.end()
                break
        else:
            if not budget.spend():
                return
            pos = f


def _numbers(text: str, a: int, b: int, endpos: int, budget: _Budget | None = None,
             starts: _Starts | None = None) -> Iterator[tuple[Fraction, tuple[int, int]]]:
    """The numbers starting in [a, b) of the text up to `endpos`, in order: plain numbers and
    \\frac{p}{q}, without the numbers inside an already-taken \\frac."""
    budget = budget or _Budget()
    streams = [_fractions(text, a, b, endpos, budget),
               _plain_numbers(text, a, b, endpos, budget, starts or _Starts(text))]
    heads = [next(s, None) for s in streams]
    taken_end = -1
    while True:
        live = [(h[0].span(), i) for i, h in enumerate(heads) if h is not None]
        if not live:
            return
        span, i = min(live)
        value = heads[i][1]
        heads[i] = next(streams[i], None)
        if value is None or span[0] < taken_end:
            continue
        taken_end = span[1]
        yield value, span


def normalise_number(text: str) -> str | None:
    """The first number in `text`, in canonical form, or None."""
    first = next(_numbers(text, 0, len(text), len(text)), None)
    return canonical(first[0]) if first else None


class _Reply:
    """A reply's visible part [lo, hi) and the searches over it, most of them backward from the end
    over the reversed text (`rev`), so that the last answer is found without reading the rest."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lo, self.hi = _visible(text)
        self._rev: str | None = None
        self.skips = _Budget()
        self.starts = _Starts(text)
        self.braces = BRACE_LIMIT
        self.answer_cues = True  # False once a search has found none
        self._low: _Cached | None = None
        if any(f"\n{w[0]}" in text for w in EXEMPLAR_STARTS) and _EXEMPLAR.search(text, self.lo, self.hi):
            first = self._first_statement()
            cut = _EXEMPLAR.search(text, first, self.hi) if first is not None else None
            if cut:
                self.hi = cut.start()
        self._unclosed_from = self.hi  # no "}" from here on

    @property
    def rev(self) -> str:
        if self._rev is None:
            self._rev = self.text[self.lo:self.hi][::-1]
        return self._rev

    @property
    def low(self) -> _Cached | None:
        """The text in lower case, where it is ASCII (so that `rfind` can look for words in any case)."""
        if self._low is None and self.text.isascii():
            self._low = _Cached(self.text.lower())
        return self._low

    def last_anchor(self, words: tuple[str, ...], pattern_r: re.Pattern, x: int) -> int | None:
        """Where the last of `words` (in any case) that ends at or before `x` starts; `pattern_r`
        finds them reversed where the text is not ASCII."""
        if self.low is None:
            hit = self.rsearch(pattern_r, x)
            return hit[0] if hit else None
        found = max(self.low.rfind(w, self.lo, x) for w in words) if x > self.lo else -1
        return found if found >= 0 else None

    def rsearch(self, pattern: re.Pattern, x: int, floor: int | None = None) -> tuple[int, int] | None:
        """(start, end) of the match of `pattern` (written reversed) that ends last at or before `x`
        and starts at or after `floor`."""
        floor = self.lo if floor is None else max(floor, self.lo)
        if x <= floor:
            return None
        m = pattern.search(self.rev, self.hi - x, self.hi - floor)
        return (self.hi - m.end(), self.hi - m.start()) if m else None

    def back(self, pattern: re.Pattern, x: int) -> int:
        """Where a run of `pattern` (reversed) that ends at `x` starts."""
        return x - len(pattern.match(self.rev, self.hi - x).group()) if x > self.lo else x

    # Explicit answer statements.
    def _first_statement(self) -> int | None:
        text, lo, hi = self.text, self.lo, self.hi
        found = [p for p in (text.find(_HASH_CUE, lo, hi), text.find(_BOXED, lo, hi)) if p >= 0]
        m = _ANSWER_CUE.search(text, lo, hi)
        self.answer_cues = m is not None
        if m:
            found.append(m.start())
        return min(found, default=None)

    def first_cue(self) -> int | None:
        """Where the span of the first explicit answer statement starts."""
        text, lo, hi = self.text, self.lo, self.hi
        ends = []
        h = text.find(_HASH_CUE, lo, hi)
        if h >= 0:
            run = _HASHES.match(text, h, hi).end() - h
            ends.append(_HASH_TAIL.match(text, h + 4, hi).end() if run == 4 else h + 4)
        m = _ANSWER_CUE.search(text, lo, hi)
        if m:
            ends.append(m.end())
        return min(ends, default=None)

    def _hash_cues(self, x: int) -> Iterator[int]:
        """Ends of the "####" statements, last first. Within a run of "#" they fall every four
        signs from its start; the last one of a run takes what follows only where the run is a
        multiple of four long."""
        text, lo, hi = self.text, self.lo, self.hi
        pos = x
        while True:
            h = text.rfind(_HASH_CUE, lo, pos)
            if h < 0:
                return
            end = _HASHES.match(text, h, hi).end()
            start = self.back(_HASHES, h)
            n, extra = divmod(end - start, 4)
            i = n - 1
            if extra == 0:
                last = _HASH_TAIL.match(text, end, hi).end()
                if last <= x:
                    yield last
                i -= 1
            for k in range(min(i, (x - start) // 4 - 1), -1, -1):
                yield start + 4 * (k + 1)
            pos = start

    def _answer_cues(self, x: int) -> Iterator[int]:
        """Ends of the "answer is / answer:" statements, last first (of the last READ_LIMIT words "answer")."""
        pos = x
        for _ in range(READ_LIMIT if self.answer_cues else 0):
            a = self.last_anchor(("answer",), _ANSWER_R, pos)
            if a is None:
                return
            m = _ANSWER_CUE.match(self.text, a, self.hi)
            if m and m.end() <= x and not self._inside_cue(a):
                yield m.end()
            pos = a

    def _inside_cue(self, a: int, depth: int = 0) -> bool:
        """Whether the "answer" at `a` lies inside an earlier statement's parenthesis
        ("the answer (our answer: 3) is 5"), which a forward search reads as one statement."""
        if depth > 8:  # statements nest at most a few deep in 40 characters
            return False
        text, lo = self.text, self.lo
        floor, p = max(lo, a - 41), a
        while True:
            p = text.rfind("(", floor, p)
            if p < 0 or text.find(")", p, a) >= 0 or text.find("\n", p, a) >= 0:
                return False
            b = self.back(_SPACES, p) - 6
            if b >= lo and _ANSWER.match(text, b, b + 6):
                m = _ANSWER_CUE.match(text, b, self.hi)
                if m and m.end() > a and not self._inside_cue(b, depth + 1):
                    return True

    def cues(self, x: int) -> Iterator[int]:
        """Ends of the explicit answer statements ending at or before `x`, last first."""
        streams = [self._hash_cues(x), self._answer_cues(x)]
        heads = [next(s, None) for s in streams]
        while heads[0] is not None or heads[1] is not None:
            i = 0 if heads[1] is None or (heads[0] is not None and heads[0] > heads[1]) else 1
            yield heads[i]
            heads[i] = next(streams[i], None)

    def stop(self, s: int) -> int:
        """The end of the line or sentence at `s`: a newline, or a full stop before white space
        (so "2.5" and "$1,200.50" stay whole)."""
        m = _LINE_END.search(self.text, s, self.hi)
        return m.start() if m else self.hi

    def statements(self) -> Iterator[tuple[int, int, int]]:
        """(start, stop, next) of each statement's span, last first, at most READ_LIMIT: the span
        runs from the statement to the end of its line or sentence; `next` is where the following
        statement's span on that line starts (or the stop): a number, a word or a "yes" never
        runs from one span into the next, so [start, next) is what this span adds."""
        line_start = stop = nxt = self.hi
        for n, s in enumerate(self.cues(self.hi)):
            if n >= READ_LIMIT:
                return
            if n == 0 or s <= line_start:
                stop = nxt = self.stop(s)
                line_start = (self.rsearch(_LINE_END_R, stop) or (self.lo - 1,))[0]
            yield s, stop, nxt
            nxt = s

    # Boxes.
    def boxes(self) -> Iterator[tuple[int, int]]:
        """Contents of the closed \\boxed{…}, last first, at most READ_LIMIT; call `outermost` on
        one before taking its answer: a box inside another, or after an unclosed one, is text."""
        pos = self.hi
        for _ in range(READ_LIMIT):
            i = self.text.rfind(_BOXED, self.lo, pos)
            if i < 0:
                return
            close = self._close(i + len(_BOXED))
            if close is not None:
                yield i + len(_BOXED), close
            pos = i

    def _close(self, j: int) -> int | None:
        if self.text.find("}", j, self._unclosed_from) < 0:
            self._unclosed_from = min(self._unclosed_from, j)
            return None
        depth = 1
        for m in _BRACES.finditer(self.text, j, self.hi):
            self.braces -= 1
            if self.braces < 0:
                return None
            depth += 1 if m.group() == "{" else -1
            if depth == 0:
                return m.start()
        return None

    def outermost(self, j: int) -> bool:
        """Whether the box whose content starts at `j` is read: no box before it is still open."""
        need = 0
        for m in _BRACES.finditer(self.rev, self.hi - (j - len(_BOXED))):
            self.braces -= 1
            if self.braces < 0:
                return True
            if m.group() == "}":
                need += 1
            elif need:
                need -= 1
            else:
                b = self.hi - 1 - m.start()
                if b - 6 >= self.lo and self.text.startswith(_BOXED, b - 6):
                    return False
        return True

    # Numbers.
    def numbers(self, a: int, b: int, endpos: int) -> Iterator[tuple[Fraction, tuple[int, int]]]:
        return _numbers(self.text, a, b, endpos, self.skips, self.starts)

    def number_in(self, a: int, b: int, nxt: int | None = None) -> Extracted | None:
        """The first number of the span [a, b) (starting before `nxt`), or after its last "=" or
        "≈" when the first one comes before it ("5 x 3 = 15": the result, not the first factor)."""
        end = b if nxt is None else nxt
        first = next(self.numbers(a, end, b), None) if _DIGIT.search(self.text, a, end) else None
        if first is None:
            return None
        value, where = first
        eq = max(self.text.rfind("=", a, b), self.text.rfind("≈", a, b))
        if eq > where[1]:
            after = next(self.numbers(eq + 1, b, b), None)
            if after:
                value, where = after
        return Extracted(canonical(value), where, True)

    def _number_edge(self, t: int) -> int:
        """A point at or before `t` that no number spans (within SAFE_RUN of it, else `t`)."""
        floor = max(self.lo, t - SAFE_RUN)
        hit = self.rsearch(_NUMBER_EDGE_R, t, floor)
        if hit is not None:
            return hit[1]
        return self.lo if floor == self.lo else t

    def last_start(self, x: int) -> int | None:
        """The last digit before `x` that a number can start with."""
        if self.starts.view is not None:
            return self.starts.prev(self.lo, x)
        mode = self.starts.mode
        if mode == "digits":
            hit = self.rsearch(_FIRST_DIGIT_R, x)
            return hit[0] if hit else None
        end = x
        while True:
            hit = self.rsearch(_BEFORE_FIRST_DIGIT_R, end)
            if hit is None:
                break
            digit = hit[1] + (self.text[hit[1]] == ".")
            if digit < x:
                return digit
            end = hit[0]
        for k in (self.lo + 1, self.lo):  # at the start, where the character before is outside the reply
            if k < x and _FIRST_DIGIT.match(self.text, k):
                return k
        return None

    def last_number(self) -> Extracted:
        """The last number of the reply: found near the last digit a number can start with, read
        forward from a point before it that no number spans."""
        end = self.hi
        for _ in range(READ_LIMIT):
            d = self.last_start(end)
            if d is None or self.skips.left <= 0:
                return NONE
            start = self._number_edge(max(self.lo, d - 5))
            last = None
            for last in self.numbers(start, end, self.hi):
                pass
            if last is not None:
                return Extracted(canonical(last[0]), last[1], False)
            end = start
        return NONE


def answer_first(text: str) -> str:
    """`text` up to the end of its first explicit answer statement, its full stop or newline
    included (all of it if it has none): for replies whose answer comes before their reasoning."""
    reply = _Reply(text)
    s = reply.first_cue()
    return text if s is None else text[:reply.stop(s) + 1]


def extract_number(text: str, truncated: bool = False) -> Extracted:
    if not isinstance(text, str):
        return NONE
    reply = _Reply(text)
    for j, k in reply.boxes():
        found = reply.number_in(j, k)
        if found and reply.outermost(j):
            return found
    for s, e, nxt in reply.statements():
        found = reply.number_in(s, e, nxt)
        if found:
            return found
    return NONE if truncated else reply.last_number()


_CHOICE_WORDS = ("answer", "option", "choice")
_CHOICE_CUE = r"(?i:answer|option|choice)[^\n]{0,20}?(?:is|:)[*_\s:]*"
_CHOICE_CUE_R = re.compile(r"[RrNnEe](?:(?<=[Rr])(?i:ewsna)|(?<=[Nn])(?i:oitpo)|(?<=[Ee])(?i:ciohc))")


@lru_cache(maxsize=16)
def _choice_patterns(letters: str) -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    up, low = re.escape(letters.upper()), re.escape(letters.lower())
    return (re.compile(_CHOICE_CUE + rf"(?:\(([{up}{low}])\)|([{up}])(?![A-Za-z]))"),
            re.compile(rf"\b([{up}])\b"), re.compile(rf"\)([{up}{low}])\("))


def extract_choice(text: str, letters: str = "ABCDEF", truncated: bool = False) -> Extracted:
    """A multiple-choice letter: "The answer is (C)", "Answer: C", else the last "(C)".

    A bare letter must be upper case ("the answer is a bit…" is not choice A); in parentheses
    either case counts.
    """
    if not isinstance(text, str) or not letters:
        return NONE
    reply = _Reply(text)
    explicit, boxed, paren_r = _choice_patterns(letters)
    pos = reply.hi
    for _ in range(READ_LIMIT):  # the last cue that names a letter; an earlier cue never names a later one
        a = reply.last_anchor(_CHOICE_WORDS, _CHOICE_CUE_R, pos)
        if a is None:
            break
        m = explicit.match(text, a, reply.hi)
        if m:
            group = 1 if m.group(1) else 2
            return Extracted(m.group(group).upper(), m.span(group), True)
        pos = a
    for j, k in reply.boxes():
        inner = boxed.search(text[j:k])
        if inner and reply.outermost(j):
            return Extracted(inner.group(1), (j + inner.start(1), j + inner.end(1)), True)
    if truncated:
        return NONE
    paren = reply.rsearch(paren_r, reply.hi)
    if paren is None:
        return NONE
    return Extracted(text[paren[0] + 1].upper(), (paren[0] + 1, paren[0] + 2), False)


_YESNO = re.compile(r"(?P<w>[YyNn](?<=\b.)(?i:es|o))\b")  # \b(yes|no)\b, case-insensitive
_YESNO_R = re.compile(r"(?P<w>[SsſOo](?<=\b.)(?i:ey|n))\b")


def extract_yes_no(text: str, truncated: bool = False) -> Extracted:
    """"yes" or "no": after an answer statement if there is one, else the last yes/no word."""
    if not isinstance(text, str):
        return NONE
    reply = _Reply(text)
    for s, _, nxt in reply.statements():
        m = _YESNO.search(text, s, nxt)
        if m:
            return Extracted(m.group("w").lower(), m.span("w"), True)
    for j, k in reply.boxes():
        m = _YESNO.search(text, j, k)
        if m and reply.outermost(j):
            return Extracted(m.group("w").lower(), m.span("w"), True)
    if truncated:
        return NONE
    hit = reply.rsearch(_YESNO_R, reply.hi)
    return Extracted(text[hit[0]:hit[1]].lower(), hit, False) if hit else NONE


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
    return NONE if truncated else reply.last_number()


_MATH_DROP = ("\\left", "\\right", "\\!", "\\,", "\\;", "\\:", "\\displaystyle", "$",
              "^\\circ", "^{\\circ}", "\\%", "%", "\\ ")


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


_TEXT_TOKEN = re.compile(r"[\"'“”‘’*`\s]*([A-Za-z0-9]+)")
_QUOTED_R = re.compile(r"[\"”]([A-Za-z0-9]+)[\"“]")
_QUOTE_CHAIN_R = re.compile(r"(?:[A-Za-z0-9]++\")*+(?:[A-Za-z0-9]++“)?")
_WORD_R = re.compile(r"[A-Za-z0-9]+")


def extract_text(text: str, truncated: bool = False) -> Extracted:
    """A one-word answer (e.g. concatenated letters): the first word after an answer statement,
    else the last quoted word, else (text not cut off) the last word."""
    if not isinstance(text, str):
        return NONE
    reply = _Reply(text)
    for s, e, _ in reply.statements():
        m = _TEXT_TOKEN.match(text, s, e)
        if m:
            return Extracted(m.group(1), m.span(1), True)
    for j, k in reply.boxes():
        m = _TEXT_TOKEN.match(text, j, k)
        if m and reply.outermost(j):
            return Extracted(m.group(1), m.span(1), True)
    quoted = reply.rsearch(_QUOTED_R, reply.hi)
    if quoted:
        q, end = quoted
        if text[q] == '"':  # quoted words sharing their quotes ("a"b"c") are read in pairs from the first
            chain = _QUOTE_CHAIN_R.match(reply.rev, reply.hi - q).group()
            if (chain.count('"') + chain.endswith("“")) % 2:
                q, end = q - len(_WORD_R.match(chain).group()) - 1, q + 1
        return Extracted(text[q + 1:end - 1], (q + 1, end - 1), False)
    if truncated:
        return NONE
    if reply.starts.view is not None:
        word = reply.starts.last_word(reply.lo, reply.hi)
    else:
        word = reply.rsearch(_WORD_R, reply.hi)
    return Extracted(text[word[0]:word[1]], word, False) if word else NONE


_LINE_BREAK = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # where str.splitlines splits
_BREAK = re.compile(f"[{_LINE_BREAK}]")
_NOT_BREAK_R = re.compile(f"[^{_LINE_BREAK}]*")
# A line of at most GRID_LIMIT digits, apart from spaces, commas, bars and (around them) brackets.
_GRID_LINE = re.compile(rf"[\s\[\],|]*+\d(?:[\s,|]*+\d){{0,{GRID_LIMIT - 1}}}+[\s\[\],|]*+")
_JSON_CHARS = re.compile(r"[\d\s,\[\]]*+")
_JSON_GRID_CHARS = 8 * GRID_LIMIT ** 2  # room for GRID_LIMIT rows of GRID_LIMIT cells, "1, " each
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
        end = _BREAK.search(text, d[0], x)
        end = end.start() if end else x
        start = reply.back(_NOT_BREAK_R, end)
        if _GRID_LINE.fullmatch(text, start, end):
            break
        x = start
    else:
        return None
    block = [text[start:end]]
    while start > lo:
        end = start - 1 - (start - 2 >= lo and text[start - 2:start] == "\r\n")
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
            grid = json.loads(text[found[0]:found[1]])
            if (grid and all(isinstance(r, list) and all(isinstance(v, int) for v in r) for r in grid)
                    and len(grid) <= GRID_LIMIT and max(map(len, grid)) <= GRID_LIMIT):
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
        x, y = parse_grid(a), parse_grid(b)
        return x is not None and x == y
    return a.strip().lower() == b.strip().lower()
