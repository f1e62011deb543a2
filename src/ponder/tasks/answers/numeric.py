"""Numbers: the number patterns (currency, thousands separators, fractions, \\frac{p}{q},
scientific notation up to ±`MAX_EXPONENT`), their canonical form, and a reply's numbers: the one
an answer statement or box holds, or the reply's last."""

from __future__ import annotations

import collections
import re
import sys
from collections.abc import Iterator
from fractions import Fraction

from ponder.tasks.answers.extracted import NONE, Extracted
from ponder.tasks.answers.reply import _Reply
from ponder.tasks.answers.scan import (
    _BEFORE_FIRST_DIGIT_R,
    _DIGIT,
    _FIRST_DIGIT,
    _FIRST_DIGIT_R,
    READ_LIMIT,
    _Budget,
    _Starts,
)

MAX_EXPONENT = 100
SAFE_RUN = 1_024

_NUMBER = re.compile(
    r"(?<![\w.])(?P<neg>[-−])?(?:\\?\$\s?)?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?:[eE](?P<exp>[-+]?\d+)(?!\w|\.\d)|\s?/\s?(?P<den>\d+)(?![\d/]))?"
)
_FRAC = re.compile(r"(?P<neg>-)?\\d?frac\{\s*(?P<num>-?\d+)\s*\}\{\s*(?P<den>\d+)\s*\}")
# Whatever no number or \frac can hold (or a space between two digits): a number never spans it.
_NUMBER_EDGE_R = re.compile(r"[^-−+\\$,./{}dfraceE\d](?:(?<=\S)|(?<=\d\s)(?=\d))")


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


def _plain_numbers(
    text: str, a: int, b: int, endpos: int, budget: _Budget, starts: _Starts
) -> Iterator[tuple[re.Match, Fraction | None]]:
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


def _fractions(
    text: str, a: int, b: int, endpos: int, budget: _Budget
) -> Iterator[tuple[re.Match, Fraction | None]]:
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


def _numbers(
    text: str, a: int, b: int, endpos: int, budget: _Budget | None = None, starts: _Starts | None = None
) -> Iterator[tuple[Fraction, tuple[int, int]]]:
    """The numbers starting in [a, b) of the text up to `endpos`, in order: plain numbers and
    \\frac{p}{q}, without the numbers inside an already-taken \\frac."""
    budget = budget or _Budget()
    streams = [
        _fractions(text, a, b, endpos, budget),
        _plain_numbers(text, a, b, endpos, budget, starts or _Starts(text)),
    ]
    heads = [next(s, None) for s in streams]
    taken_end = -1
    while True:
        live = [(h[0].span(), i, h[1]) for i, h in enumerate(heads) if h is not None]
        if not live:
            return
        span, i, value = min(live, key=lambda x: x[:2])
        heads[i] = next(streams[i], None)
        if value is None or span[0] < taken_end:
            continue
        taken_end = span[1]
        yield value, span


def normalise_number(text: str) -> str | None:
    """The first number in `text`, in canonical form, or None."""
    first = next(_numbers(text, 0, len(text), len(text)), None)
    return canonical(first[0]) if first else None


def _reply_numbers(reply: _Reply, a: int, b: int, endpos: int) -> Iterator[tuple[Fraction, tuple[int, int]]]:
    """`_numbers` of the reply's text, spending the reply's budget."""
    return _numbers(reply.text, a, b, endpos, reply.skips, reply.starts)


def _number_in(reply: _Reply, a: int, b: int, nxt: int | None = None) -> Extracted | None:
    """The first number of the span [a, b) (starting before `nxt`), or after its last "=" or
    "≈" when the first one comes before it ("5 x 3 = 15": the result, not the first factor)."""
    end = b if nxt is None else nxt
    first = next(_reply_numbers(reply, a, end, b), None) if _DIGIT.search(reply.text, a, end) else None
    if first is None:
        return None
    value, where = first
    eq = max(reply.text.rfind("=", a, b), reply.text.rfind("≈", a, b))
    if eq > where[1]:
        after = next(_reply_numbers(reply, eq + 1, b, b), None)
        if after:
            value, where = after
    return Extracted(canonical(value), where, True)


def _number_edge(reply: _Reply, t: int) -> int:
    """A point at or before `t` that no number spans (within SAFE_RUN of it, else `t`)."""
    floor = max(reply.lo, t - SAFE_RUN)
    hit = reply.rsearch(_NUMBER_EDGE_R, t, floor)
    if hit is not None:
        return hit[1]
    return reply.lo if floor == reply.lo else t


def _last_start(reply: _Reply, x: int) -> int | None:
    """The last digit before `x` that a number can start with."""
    if reply.starts.view is not None:
        return reply.starts.prev(reply.lo, x)
    mode = reply.starts.mode
    if mode == "digits":
        hit = reply.rsearch(_FIRST_DIGIT_R, x)
        return hit[0] if hit else None
    end = x
    while True:
        hit = reply.rsearch(_BEFORE_FIRST_DIGIT_R, end)
        if hit is None:
            break
        digit = hit[1] + (reply.text[hit[1]] == ".")
        if digit < x:
            return digit
        end = hit[0]
    for k in (reply.lo + 1, reply.lo):  # at the start, where the character before is outside the reply
        if k < x and _FIRST_DIGIT.match(reply.text, k):
            return k
    return None


def last_number(reply: _Reply) -> Extracted:
    """The last number of the reply: found near the last digit a number can start with, read
    forward from a point before it that no number spans."""
    end = reply.hi
    for _ in range(READ_LIMIT):
        d = _last_start(reply, end)
        if d is None or reply.skips.left <= 0:
            return NONE
        start = _number_edge(reply, max(reply.lo, d - 5))
        tail = collections.deque(_reply_numbers(reply, start, end, reply.hi), maxlen=1)
        if tail:
            value, span = tail[0]
            return Extracted(canonical(value), span, False)
        end = start
    return NONE


def extract_number(text: str, truncated: bool = False) -> Extracted:
    if not isinstance(text, str):
        return NONE
    reply = _Reply(text)
    for j, k in reply.boxes():
        found = _number_in(reply, j, k)
        if found and reply.outermost(j):
            return found
    for s, e, nxt in reply.statements():
        found = _number_in(reply, s, e, nxt)
        if found:
            return found
    return NONE if truncated else last_number(reply)
