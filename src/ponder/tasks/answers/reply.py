"""Reading a reply: its visible part (not hidden reasoning, not a new exemplar it runs on into),
its explicit answer statements ("#### …", "The answer is …", "Answer: …") and its \\boxed{…}."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ponder.tasks.answers.scan import READ_LIMIT, _Budget, _Starts, _Window, run_at

EXEMPLAR_STARTS = ("Question", "Q", "Problem", "Input")
BRACE_LIMIT = 20_000

_HASH_CUE = "####"
_HASH_TAIL = re.compile(r"[*_\s]*")
_HASHES = re.compile(r"#*")
_ANSWER_CUE = re.compile(
    r"[Aa](?i:nswer(?:\s*\([^)\n]{0,40}\))?[*_\s]*(?:is|was|will\s+be|would\s+be|:|=)[*_\s:]*)"
)
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


class _Reply(_Window):
    """A reply's visible part [lo, hi), with a new exemplar it runs on into cut off (`EXEMPLAR_STARTS`),
    and its statements and boxes, found backward from the end."""

    def __init__(self, text: str) -> None:
        super().__init__(text, *_visible(text))
        self.skips = _Budget()
        self.starts = _Starts(text)
        self.braces = BRACE_LIMIT
        self.answer_cues = True  # False once a search has found none
        if any(f"\n{w[0]}" in text for w in EXEMPLAR_STARTS) and _EXEMPLAR.search(text, self.lo, self.hi):
            first = self._first_statement()
            cut = _EXEMPLAR.search(text, first, self.hi) if first is not None else None
            if cut:
                self.hi = cut.start()
        self._unclosed_from = self.hi  # no "}" from here on

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
            run = len(run_at(_HASHES, text, h, hi))
            ends.append(h + 4 + len(run_at(_HASH_TAIL, text, h + 4, hi)) if run == 4 else h + 4)
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
            end = h + len(run_at(_HASHES, text, h, hi))
            start = self.back(_HASHES, h)
            n, extra = divmod(end - start, 4)
            i = n - 1
            if extra == 0:
                last = end + len(run_at(_HASH_TAIL, text, end, hi))
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
        while True:
            a, b = heads
            if a is not None and (b is None or a > b):
                yield a
                heads[0] = next(streams[0], None)
            elif b is not None:
                yield b
                heads[1] = next(streams[1], None)
            else:
                return

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


def answer_first(text: str) -> str:
    """`text` up to the end of its first explicit answer statement, its full stop or newline
    included (all of it if it has none): for replies whose answer comes before their reasoning."""
    reply = _Reply(text)
    s = reply.first_cue()
    return text if s is None else text[: reply.stop(s) + 1]
