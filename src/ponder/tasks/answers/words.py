"""One-word answers: a multiple-choice letter, "yes"/"no", and a word of text."""

from __future__ import annotations

import re
from functools import lru_cache

from ponder.tasks.answers.extracted import NONE, Extracted
from ponder.tasks.answers.reply import _Reply
from ponder.tasks.answers.scan import READ_LIMIT, run_at

_CHOICE_WORDS = ("answer", "option", "choice")
_CHOICE_CUE = r"(?i:answer|option|choice)[^\n]{0,20}?(?:is|:)[*_\s:]*"
_CHOICE_CUE_R = re.compile(r"[RrNnEe](?:(?<=[Rr])(?i:ewsna)|(?<=[Nn])(?i:oitpo)|(?<=[Ee])(?i:ciohc))")


@lru_cache(maxsize=16)
def _choice_patterns(letters: str) -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    up, low = re.escape(letters.upper()), re.escape(letters.lower())
    return (
        re.compile(_CHOICE_CUE + rf"(?:\(([{up}{low}])\)|([{up}])(?![A-Za-z]))"),
        re.compile(rf"\b([{up}])\b"),
        re.compile(rf"\)([{up}{low}])\("),
    )


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
    """ "yes" or "no": after an answer statement if there is one, else the last yes/no word."""
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
    return Extracted(text[hit[0] : hit[1]].lower(), hit, False) if hit else NONE


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
            chain = run_at(_QUOTE_CHAIN_R, reply.rev, reply.hi - q)
            if (chain.count('"') + chain.endswith("“")) % 2:
                q, end = q - len(run_at(_WORD_R, chain, 0)) - 1, q + 1
        return Extracted(text[q + 1 : end - 1], (q + 1, end - 1), False)
    if truncated:
        return NONE
    if reply.starts.view is not None:
        word = reply.starts.last_word(reply.lo, reply.hi)
    else:
        word = reply.rsearch(_WORD_R, reply.hi)
    return Extracted(text[word[0] : word[1]], word, False) if word else NONE
