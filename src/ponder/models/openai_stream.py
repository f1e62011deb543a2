"""Server-sent events of an OpenAI-compatible stream, read into `Delta`s and, at the end, the
whole `Completion` (text joined, function calls read against the request's tools, usage from the
server's last chunk or counted from the chunks, with a note)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from ponder.contract import Delta, read_call
from ponder.errors import MalformedReply
from ponder.models.openai_reading import (
    chat_logprobs,
    completion_logprobs,
    finish_reason,
    plural,
    server_cached,
)
from ponder.models.replies import (
    ChatChunk,
    ChatChunkChoice,
    CompletionChunk,
    CompletionChunkChoice,
    ReplyUsage,
    ToolCallDelta,
    replace_invalid,
)
from ponder.types import Completion, GenerationRequest, TokenLogprob, Usage


def is_event_stream(resp: httpx.Response) -> bool:
    """Whether a 200 reply is an event stream (else a server answered whole, as JSON)."""
    kind = str(resp.headers.get("content-type", "")).split(";")[0].strip().lower()
    return kind != "application/json"


class Events:
    """Server-sent events from the lines of a stream: (field, data) of each event, where field is
    "data" or "error" (an `error:` line, as llama.cpp's server sends); comments and other fields
    are skipped."""

    def __init__(self) -> None:
        self._kind = "data"
        self._data: list[str] = []

    def feed(self, line: str) -> list[tuple[str, str]]:
        """The events `line` completes (a blank line ends one)."""
        if not line:
            return self.flush()
        if line.startswith(":"):
            return []
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name in ("data", "error"):
            if name == "error":
                self._kind = "error"
            self._data.append(value)
        return []

    def flush(self) -> list[tuple[str, str]]:
        """The event in progress, if any, ended."""
        if not self._data:
            return []
        event = (self._kind, "\n".join(self._data))
        self._kind, self._data = "data", []
        return [event]


@dataclass
class CallParts:
    id: str | None = None
    name: str | None = None
    arguments: list[str] = field(default_factory=list)


class StreamedReply:
    """What a stream has said so far (text, function calls, finish reason, usage, logprobs), and
    the completion it makes."""

    def __init__(self, request: GenerationRequest, chat: bool) -> None:
        self.request = request
        self.chat = chat
        self.texts: list[str] = []
        self.calls: dict[int, CallParts] = {}
        self.finish: str | None = None
        self.usage: ReplyUsage | None = None
        self.logprobs: list[TokenLogprob] = []
        self.saw_logprobs = False
        self.chunks = 0
        self.pieces = 0
        self.bad_text = 0
        self.bad_calls = 0
        self.bad_logprobs = 0
        self.done = False

    def add(self, chunk: ChatChunk | CompletionChunk, url: str) -> list[Delta]:
        """The deltas of one chunk, its finish reason, usage and logprobs kept."""
        self.chunks += 1
        if chunk.usage is not None:
            self.usage = chunk.usage
        out: list[Delta] = []
        choices: Sequence[ChatChunkChoice | CompletionChunkChoice] = chunk.choices
        for k, choice in enumerate(choices):
            if choice.index not in (None, 0):
                raise MalformedReply(
                    f"{url}: malformed stream chunk (choices.{k}.index: expected 0 in a stream of one "
                    f"sample, got {choice.index})"
                )
            if choice.finish_reason is not None:
                self.finish = choice.finish_reason
            if isinstance(choice, ChatChunkChoice):
                lps, bad = chat_logprobs(choice.logprobs)
                out += self._text(choice.delta.content)
                for td in choice.delta.tool_calls or ():
                    out += self._call(td)
            else:
                lps, bad = completion_logprobs(choice.logprobs)
                out += self._text(choice.text)
            if lps is not None:
                self.saw_logprobs = True
                self.logprobs.extend(lps)
                self.bad_logprobs += bad
        return out

    def _text(self, piece: str | None) -> list[Delta]:
        if not piece:
            return []
        clean, bad = replace_invalid(piece)
        self.bad_text += bad
        self.texts.append(clean)
        self.pieces += 1
        return [Delta(clean)]

    def _call(self, td: ToolCallDelta) -> list[Delta]:
        """Deltas of a piece of a function call: its name when first seen, then argument text.
        Calls are numbered in the order they first appear."""
        if td.index not in self.calls:
            self.calls[td.index] = CallParts()
        position = list(self.calls).index(td.index)
        parts = self.calls[td.index]
        if td.id and parts.id is None:
            parts.id = td.id
        out = []
        fn = td.function
        if fn is not None and fn.name and parts.name is None:
            parts.name, bad = replace_invalid(fn.name)
            self.bad_calls += bad
            out.append(Delta(tool_index=position, tool_name=parts.name))
        if fn is not None and fn.arguments:
            piece, bad = replace_invalid(fn.arguments)
            self.bad_calls += bad
            parts.arguments.append(piece)
            self.pieces += 1
            out.append(Delta(tool_index=position, tool_arguments=piece))
        return out

    def completion(self, latency: float) -> Completion:
        """The whole reply: text joined, calls read against the request's tools, usage (counted
        from the chunks, and noted, where the server sent none)."""
        request = self.request
        calls = tuple(
            read_call(p.name or "", "".join(p.arguments), request.tools, id=p.id, position=k)
            for k, p in enumerate(self.calls.values())
        )
        notes: list[str] = []
        if self.bad_text:
            notes.append(f"replaced {plural(self.bad_text, 'invalid code point')}")
        if self.bad_calls:
            notes.append(f"replaced {plural(self.bad_calls, 'invalid code point')} in function calls")
        if self.bad_logprobs and request.logprobs:
            notes.append(f"replaced {plural(self.bad_logprobs, 'invalid code point')} in logprob tokens")
        if self.usage is None:
            counted = len(self.logprobs) if self.saw_logprobs else self.pieces
            usage = Usage(0, counted, 0)
            notes.append(
                f"the server sent no usage: {plural(counted, 'completion token')} counted from the "
                "streamed chunks, prompt tokens unknown (0)"
            )
        else:
            usage = Usage(
                self.usage.prompt_tokens or 0, self.usage.completion_tokens or 0, server_cached(self.usage)
            )
        return Completion(
            text="".join(self.texts),
            finish_reason=finish_reason(self.finish, bool(calls)),
            usage=usage,
            logprobs=tuple(self.logprobs) if request.logprobs and self.saw_logprobs else None,
            latency_s=latency,
            notes=tuple(notes),
            tool_calls=calls,
        )
