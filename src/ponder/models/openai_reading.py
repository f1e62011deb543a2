"""Reading the parts of an OpenAI-compatible reply that a whole reply and a stream share: finish
reasons, the server's cached prompt tokens, function calls read against the request's tools, and
token logprobs, each with the count of invalid code points replaced."""

from __future__ import annotations

from collections.abc import Sequence

from ponder.contract import FunctionCall, read_call
from ponder.models.replies import ChatLogprobs, CompletionLogprobs, ReplyToolCall, ReplyUsage, replace_invalid
from ponder.types import FinishReason, GenerationRequest, TokenLogprob


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def finish_reason(reason: str | None, calls: bool) -> FinishReason:
    """length when the reply was cut, tool_calls when it calls functions (or says so), else stop."""
    if reason == "length":
        return "length"
    if reason == "tool_calls" or calls:
        return "tool_calls"
    return "stop"


def server_cached(usage: ReplyUsage) -> int:
    """The prompt tokens the server says it served from its cache (at most the prompt's)."""
    details = usage.prompt_tokens_details
    return min(usage.prompt_tokens or 0, (details.cached_tokens or 0) if details else 0)


def read_calls(
    calls: Sequence[ReplyToolCall], request: GenerationRequest
) -> tuple[tuple[FunctionCall, ...], int]:
    """The reply's function calls read against the request's tools, and how many invalid code
    points were replaced in their names and arguments."""
    out = []
    bad = 0
    for k, c in enumerate(calls):
        name, bad_name = replace_invalid(c.function.name)
        raw, bad_raw = replace_invalid(c.function.arguments)
        bad += bad_name + bad_raw
        out.append(read_call(name, raw, request.tools, id=c.id or None, position=k))
    return tuple(out), bad


def clean_token(text: str, bad: list[int]) -> str:
    clean, count = replace_invalid(text)
    bad[0] += count
    return clean


def chat_logprobs(logprobs: ChatLogprobs | None) -> tuple[tuple[TokenLogprob, ...] | None, int]:
    content = logprobs.content if logprobs else None
    if content is None:
        return None, 0
    bad = [0]
    lps = tuple(
        TokenLogprob(
            clean_token(t.token, bad),
            t.logprob,
            tuple((clean_token(x.token, bad), x.logprob) for x in t.top_logprobs or ()),
        )
        for t in content
    )
    return lps, bad[0]


def completion_logprobs(lp: CompletionLogprobs | None) -> tuple[tuple[TokenLogprob, ...] | None, int]:
    if lp is None or lp.tokens is None:
        return None, 0
    bad = [0]
    values = lp.token_logprobs or [None] * len(lp.tokens)
    tops = lp.top_logprobs or [None] * len(lp.tokens)
    lps = tuple(
        TokenLogprob(
            clean_token(tok, bad),
            val if val is not None else 0.0,
            tuple((clean_token(k, bad), v) for k, v in (top or {}).items()),
        )
        for tok, val, top in zip(lp.tokens, values, tops)
    )
    return lps, bad[0]
