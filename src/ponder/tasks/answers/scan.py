"""The scanning machinery every extractor shares, each piece linear in the text: a budget of
candidates that turn out not to count (`READ_LIMIT`), `find`/`rfind` answered from a cache when a
scan moves one way, where the digits a number can start with are, and a window of a text searched
backward from its end."""

from __future__ import annotations

import re
from typing import AnyStr, Generic

READ_LIMIT = 1_000

# A number's first digit follows no letter, digit or full stop, or follows a full stop that follows none.
_FIRST_DIGIT = re.compile(r"\d(?:(?<![\w.]\d)|(?<=(?<![\w.])\.\d))")
_FIRST_DIGIT_R = re.compile(r"\d(?:(?![\w.])|(?=\.(?![\w.])))")
# The same found from the character before it (or before its full stop), for text mostly of digits.
_BEFORE_FIRST_DIGIT = re.compile(r"[^\w.](?:(?=\d)|\.(?=\d))")
_BEFORE_FIRST_DIGIT_R = re.compile(r"[^\w.](?:(?<=\d[^\w.])|(?<=\d\.[^\w.]))")
_DIGIT = re.compile(r"\d")
_SEPARATOR = re.compile(r"[^\w.]")
# Each ASCII character's class: digit "0", letter "a", "_" or "." as itself, anything else " ".
_CLASSES = bytes(
    ord("0") if chr(c).isdigit() else ord("a") if chr(c).isalpha() else c if chr(c) in "_." else ord(" ")
    for c in range(128)
) + bytes(128)


class _Budget:
    """How many more candidates that turn out not to count may be read."""

    __slots__ = ("left",)

    def __init__(self, n: int = READ_LIMIT) -> None:
        self.left = n

    def spend(self) -> bool:
        self.left -= 1
        return self.left >= 0


def run_at(pattern: re.Pattern[str], text: str, pos: int, endpos: int | None = None) -> str:
    """The text a `pattern` that may match empty (so always does) matches at `pos`."""
    m = pattern.match(text, pos, len(text) if endpos is None else endpos)
    return m.group() if m else ""


class _Cached(Generic[AnyStr]):
    """`find` and `rfind` in one string, each answered from the last one for the same substring
    when its range lies within the last range: a scan that moves one way reads the string once."""

    def __init__(self, s: AnyStr) -> None:
        self.s: AnyStr = s
        self._found: dict[AnyStr, tuple[int, int, int]] = {}
        self._rfound: dict[AnyStr, tuple[int, int, int]] = {}

    def find(self, sub: AnyStr, start: int, end: int) -> int:
        s, e, f = self._found.get(sub, (0, -1, -1))
        if s <= start and end <= e and (f < 0 or f >= start):
            return f if 0 <= f and f + len(sub) <= end else -1
        f = self.s.find(sub, start, end)
        self._found[sub] = (start, end, f)
        return f

    def rfind(self, sub: AnyStr, start: int, end: int) -> int:
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
        self._view: _Cached[bytes] | None = None
        self._mode: str | None = None

    @property
    def view(self) -> _Cached[bytes] | None:
        if self._view is None and self.text.isascii():
            self._view = _Cached(self.text.encode("ascii").translate(_CLASSES))
        return self._view

    @property
    def mode(self) -> str:
        """How to find them in text that is not ASCII: from its digits ("digits") or from the
        characters a number can follow ("separators"), whichever samples of the text hold fewer."""
        if self._mode is None:
            step = max(1, len(self.text) // 8)
            sample = "".join(self.text[i : i + 512] for i in range(0, len(self.text), step))
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
        found = [
            k
            for k, ok in (
                (0, pos <= 0 < end and v.s[:1] == b"0"),
                (1, pos <= 1 < end and v.s[:2] == b".0"),
                (i + 1, i >= 0),
                (j + 2, j >= 0),
            )
            if ok
        ]
        return min(found, default=None)

    def prev(self, lo: int, x: int) -> int | None:
        """The last such digit in [lo, x), in ASCII text (None in other text)."""
        v = self.view
        if v is None:
            return None
        i, j = v.rfind(b" 0", max(lo - 1, 0), x), v.rfind(b" .0", max(lo - 2, 0), x)
        found = [
            k
            for k, ok in (
                (0, lo <= 0 < x and v.s[:1] == b"0"),
                (1, lo <= 1 < x and v.s[:2] == b".0"),
                (i + 1, i >= 0),
                (j + 2, j >= 0),
            )
            if ok
        ]
        return max(found, default=None)

    def last_word(self, lo: int, x: int) -> tuple[int, int] | None:
        """The last run of ASCII letters and digits in [lo, x), in ASCII text (None in other text)."""
        if self.view is None:
            return None
        s = self.view.s
        end = lo + len(s[lo:x].rstrip(b" ._"))
        if end == lo:
            return None
        return max(s.rfind(b" ", lo, end), s.rfind(b".", lo, end), s.rfind(b"_", lo, end), lo - 1) + 1, end


class _Window:
    """A window [lo, hi) of a text and the searches over it, most of them backward from the end
    over the reversed window (`rev`), so that the last match is found without reading the rest."""

    def __init__(self, text: str, lo: int, hi: int) -> None:
        self.text = text
        self.lo, self.hi = lo, hi
        self._rev: str | None = None
        self._low: _Cached[str] | None = None

    @property
    def rev(self) -> str:
        if self._rev is None:
            self._rev = self.text[self.lo : self.hi][::-1]
        return self._rev

    @property
    def low(self) -> _Cached[str] | None:
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
        return x - len(run_at(pattern, self.rev, self.hi - x)) if x > self.lo else x
