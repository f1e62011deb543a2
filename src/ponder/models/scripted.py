"""A strict, deterministic fake model for unit tests. Never a default.

It returns scripted replies in order and raises `ScriptMismatch` on a call it did not expect
(script exhausted, or a step's `expect` check failed) and, from `assert_done()`, on steps left
unconsumed. It never looks at prompt text to decide what to say.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ponder.contract import Delta, read_call
from ponder.errors import ScriptMismatch
from ponder.models import JSON_SCHEMA, LOGPROBS, PREFIX, SHARED_SAMPLES, STREAM, TOOLS, check_abilities
from ponder.types import Completion, GenerationRequest, TokenLogprob, Usage


def _words(text: str) -> int:
    return len(text.split())


def prompt_text(request: GenerationRequest) -> str:
    if request.prompt is not None:
        return request.prompt + request.assistant_prefix
    return "\n".join(m.content for m in request.messages) + request.assistant_prefix


@dataclass
class Step:
    """One expected call. `texts` are the samples returned (one per requested sample).

    `expect`: a dict of request fields that must match, or a predicate on the request.
    `logprobs`: per-sample token logprobs to return when the request asks for them, each a
    (token, logprob) pair or a (token, logprob, ((alternative, logprob), …)) triple.
    `error`: an exception to raise instead of replying.
    `tool_calls`: per sample, the (function name, argument text) pairs the reply calls, read
    against the request's tools as a backend reads them (a malformed one carries its error); a
    sample with calls finishes with "tool_calls".
    """

    texts: Sequence[str] = ()
    finish_reason: str = "stop"
    expect: dict[str, Any] | Callable[[GenerationRequest], bool] | None = None
    logprobs: Sequence[Sequence[tuple[Any, ...]]] | None = None
    error: BaseException | None = None
    tool_calls: Sequence[Sequence[tuple[str, str]]] | None = None


@dataclass
class ScriptedModel:
    steps: list[Step]
    model_id: str = "scripted"
    abilities: frozenset[str] = frozenset({LOGPROBS, PREFIX, SHARED_SAMPLES, TOOLS, JSON_SCHEMA, STREAM})
    requests: list[GenerationRequest] = field(default_factory=list)

    async def generate(self, request: GenerationRequest) -> list[Completion]:
        check_abilities(self.model_id, self.abilities, request)
        self.requests.append(request)
        call_no = len(self.requests)
        if not self.steps:
            raise ScriptMismatch(f"unexpected call #{call_no}: the script is exhausted ({request!r})")
        step = self.steps.pop(0)
        self._check(step, request, call_no)
        if step.error is not None:
            raise step.error
        if len(step.texts) != request.n:
            raise ScriptMismatch(
                f"call #{call_no} asked for n={request.n} samples, the script has {len(step.texts)}"
            )
        prompt_tokens = _words(prompt_text(request))
        out = []
        for i, text in enumerate(step.texts):
            lps = None
            if request.logprobs:
                if step.logprobs is None:
                    lps = tuple(TokenLogprob(w, -0.1) for w in text.split())
                else:
                    lps = tuple(
                        TokenLogprob(x[0], x[1], tuple(x[2]) if len(x) > 2 else ()) for x in step.logprobs[i]
                    )
            pairs = step.tool_calls[i] if step.tool_calls else ()
            calls = tuple(
                read_call(name, raw, request.tools, position=k) for k, (name, raw) in enumerate(pairs)
            )
            out.append(
                Completion(
                    text=text,
                    finish_reason="tool_calls" if calls else step.finish_reason,  # type: ignore[arg-type]
                    usage=Usage(prompt_tokens, _words(text), prompt_tokens if i else 0),
                    logprobs=lps,
                    index=i,
                    tool_calls=calls,
                )
            )
        return out

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Delta | Completion]:
        """The next step's one sample in pieces (a word and the space before it at a time, then
        each call's name and arguments), then the whole completion."""
        if request.n != 1:
            raise ScriptMismatch(f"stream takes n=1 requests, got n={request.n}")
        [done] = await self.generate(request)
        for piece in re.findall(r"\s*\S+|\s+$", done.text):
            yield Delta(piece)
        for k, call in enumerate(done.tool_calls):
            yield Delta(tool_index=k, tool_name=call.name)
            yield Delta(tool_index=k, tool_arguments=call.raw)
        yield done

    def _check(self, step: Step, request: GenerationRequest, call_no: int) -> None:
        if step.expect is None:
            return
        if callable(step.expect):
            if not step.expect(request):
                raise ScriptMismatch(f"call #{call_no} failed its expectation: {request!r}")
            return
        for name, want in step.expect.items():
            got = getattr(request, name)
            if got != want:
                raise ScriptMismatch(f"call #{call_no}: expected {name}={want!r}, got {got!r}")

    def assert_done(self) -> None:
        if self.steps:
            raise ScriptMismatch(f"{len(self.steps)} scripted step(s) were never called")


def from_spec(rest: str, steps: list[Step] | None = None, **_: object) -> ScriptedModel:
    return ScriptedModel(list(steps or []))
