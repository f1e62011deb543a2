"""Any OpenAI-compatible server (vLLM, llama.cpp server, Ollama, OpenAI): `openai:MODEL@BASE_URL`.

Chat requests go to /chat/completions, raw prompts to /completions. `n` is sent as one request;
where a server returns fewer choices than asked it is remembered as ignoring `n` and the missing
samples are drawn by separate concurrent calls (seed s + i for sample i). Some servers count the
completion tokens of one choice only when n > 1, so for n > 1 ponder asks for logprobs and counts
each choice's tokens itself. Transient failures are retried with backoff and jitter; fatal ones
are raised at once. A semaphore bounds the requests in flight.

Every reply is checked against its API's shape (replies.py) before it is read: one that is not of
that shape is a MalformedReply, retried like any transient failure. Text is normalised here
(invalid code points replaced, content parts joined, null read as "") and the completion's
`notes` say what changed. Credentials in the base URL (userinfo, query values) live only in the
HTTP client: `base_url`, `model_id` and every error message show the redacted URL. `timeout_s`
bounds reading (and writing, and waiting for a pooled connection), `connect_timeout_s` connecting.

Tools and structured output use the API's own fields: `tools`, `tool_choice` and
`response_format` (json_schema) are sent only where the request sets them, so a request without
them has the body it always had. They need chat messages: a raw prompt that carries them is
refused (UnsupportedAbility), since /completions takes neither. Each function call of a reply is
read against the request's tools with `read_call`, so a call with arguments that are not JSON, an
unknown function or arguments that break the schema is a `FunctionCall` with an `error`, never an
exception; a reply that calls functions finishes with "tool_calls" (some servers say "stop" for a
forced call).

`stream` sends an n=1 request with `"stream": true` and reads the server-sent events: it yields a
`Delta` per piece of text or of a function call, then the whole `Completion`, with the usage of
the server's last chunk (or, where the server sends none, the tokens counted from the chunks and
a note). Failures before the reply starts are retried like generate's; a connection that drops
mid-stream is a TransientModelError, not retried, since part of the reply was already yielded.
Closing the iterator closes the HTTP response.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import os
import random
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import httpx

from ponder.contract import Delta, FunctionCall, read_call
from ponder.errors import (
    ConfigError,
    ContextOverflow,
    FatalModelError,
    MalformedReply,
    ModelError,
    ModelUnavailable,
    RequestError,
    TransientModelError,
    UnsupportedAbility,
)
from ponder.models import (
    JSON_SCHEMA,
    LOGPROBS,
    PREFIX,
    SHARED_SAMPLES,
    SPEC_OPTIONS,
    STREAM,
    TOOLS,
    check_abilities,
)
from ponder.models.replies import (
    ChatChoice,
    ChatChunk,
    ChatChunkChoice,
    ChatLogprobs,
    ChatReply,
    CompletionChunk,
    CompletionChunkChoice,
    CompletionLogprobs,
    CompletionReply,
    ReplyShapeError,
    ReplyToolCall,
    ReplyUsage,
    ToolCallDelta,
    normalise_content,
    parse_chunk,
    parse_reply,
    replace_invalid,
)
from ponder.models.retry import RetryPolicy, is_transient_status, parse_retry_after
from ponder.redact import MASK, MIN_SECRET, redact_query, redact_spec, redact_url, url_secrets
from ponder.types import Completion, FinishReason, GenerationRequest, Message, TokenLogprob, Usage

_CONTEXT = re.compile(r"context|too long|maximum.*tokens", re.I)
_OPTION_LIKE = re.compile(r"\[\s*\w+\s*=[^\[\]]*\]$")


class _Transient(Exception):
    def __init__(
        self,
        message: str,
        retry_after: float | None = None,
        unreachable: bool = False,
        malformed: bool = False,
    ):
        super().__init__(message)
        self.retry_after = retry_after
        self.unreachable = unreachable
        self.malformed = malformed


def _positive_seconds(value: Any) -> bool:
    return (
        isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    )


def _split_url(base_url: str) -> tuple[str, str]:
    """(scheme://authority/path without a trailing slash, query string) of a base URL."""
    root, _, query = base_url.partition("#")[0].partition("?")
    return root.rstrip("/"), query


class OpenAICompatModel:
    def __init__(
        self,
        model: str,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout_s: float = 300.0,
        connect_timeout_s: float = 10.0,
        max_concurrency: int = 8,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        honours_n: bool | None = None,
        seed: int | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base URL {redact_url(base_url)!r} must start with http:// or https://")
        for name, value in (("timeout_s", timeout_s), ("connect_timeout_s", connect_timeout_s)):
            if not _positive_seconds(value):
                raise ConfigError(f"{name} must be a positive number of seconds, got {value!r}")
        root, query = _split_url(base_url)
        self.model = model
        self._shown_query = redact_query(query) if query else ""
        self._shown_root = redact_url(root)
        self.base_url = self._shown_root + (f"?{self._shown_query}" if query else "")
        self.model_id = f"openai:{model}@{self.base_url}"
        self.abilities = frozenset({LOGPROBS, PREFIX, SHARED_SAMPLES, TOOLS, JSON_SCHEMA, STREAM})
        self.retry = retry or RetryPolicy()
        self.honours_n = honours_n  # None until the server has shown whether it honours n
        self.max_concurrency = max_concurrency
        self.timeout_s = float(timeout_s)
        self.connect_timeout_s = float(connect_timeout_s)
        self._rng = random.Random(seed)
        secrets = set(url_secrets(base_url)) | (
            {api_key} if api_key and len(api_key) >= MIN_SECRET else set()
        )
        self._secrets = sorted(secrets, key=len, reverse=True)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=root,
            params=httpx.QueryParams(query),
            headers=headers,
            transport=transport,
            timeout=httpx.Timeout(self.timeout_s, connect=self.connect_timeout_s),
        )
        self._semaphore: asyncio.Semaphore | None = None
        self.http_requests = 0

    async def aclose(self) -> None:
        await self._client.aclose()

    def _url(self, path: str) -> str:
        return self._shown_root + path + (f"?{self._shown_query}" if self._shown_query else "")

    def _scrub(self, message: str) -> str:
        """`message` (text that came from the server or from httpx) without the URL's secrets or the key."""
        for secret in self._secrets:
            message = message.replace(secret, MASK)
        return message

    def _check(self, request: GenerationRequest) -> None:
        """Refuse what this backend cannot send: abilities it lacks, tools or a response format
        on a raw prompt (the /completions API takes neither)."""
        check_abilities(self.model_id, self.abilities, request)
        if request.prompt is not None and (request.tools or request.response_format is not None):
            asked = "tools" if request.tools else "a response_format"
            raise UnsupportedAbility(
                f"{self.model_id}: a raw prompt cannot carry {asked} (/completions takes neither); "
                "send chat messages instead"
            )

    async def generate(self, request: GenerationRequest) -> list[Completion]:
        self._check(request)
        if request.n == 1 or self.honours_n is False:
            return await self._separately(request, 0, request.n)
        out = await self._one_call(request, count_tokens=True)
        if len(out) >= request.n:
            self.honours_n = True
            return out[: request.n]
        self.honours_n = False
        rest = await self._separately(request, len(out), request.n - len(out))
        return out + rest

    async def _separately(self, request: GenerationRequest, first: int, count: int) -> list[Completion]:
        def single(i: int) -> GenerationRequest:
            seed = None if request.seed is None else request.seed + i
            return dataclasses.replace(request, n=1, seed=seed)

        batches = await asyncio.gather(*(self._one_call(single(first + j)) for j in range(count)))
        return [dataclasses.replace(b[0], index=first + j) for j, b in enumerate(batches)]

    # one HTTP request, with retries
    async def _one_call(self, request: GenerationRequest, count_tokens: bool = False) -> list[Completion]:
        path, body = self._body(request, count_tokens)
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.max_concurrency)
        async with self._semaphore:
            t0 = time.perf_counter()
            reply = await self._post_with_retries(path, body, chat=path.endswith("chat/completions"))
            latency = time.perf_counter() - t0
        return self._parse(request, reply, latency)

    def _body(self, request: GenerationRequest, count_tokens: bool) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
        }
        if request.n > 1:
            body["n"] = request.n
        if request.stop:
            body["stop"] = list(request.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        want_lp = request.logprobs or count_tokens
        if request.messages:
            messages = [_message_body(m) for m in request.messages]
            if request.assistant_prefix:
                messages.append({"role": "assistant", "content": request.assistant_prefix})
                body["continue_final_message"] = True
                body["add_generation_prompt"] = False
            body["messages"] = messages
            if want_lp:
                body["logprobs"] = True
                if request.top_logprobs:
                    body["top_logprobs"] = request.top_logprobs
            body.update(_tool_fields(request))
            return "/chat/completions", body
        body["prompt"] = (request.prompt or "") + request.assistant_prefix
        if want_lp:
            body["logprobs"] = max(request.top_logprobs, 1 if request.logprobs else 0) or 1
        return "/completions", body

    async def _post_with_retries(
        self, path: str, body: dict[str, Any], chat: bool
    ) -> ChatReply | CompletionReply:
        url = self._url(path)
        for attempt in range(1, self.retry.attempts + 1):
            try:
                data = await self._post(path, body, url)
                try:
                    return parse_reply(data, chat=chat)
                except ReplyShapeError as e:
                    raise _Transient(self._scrub(str(e)), malformed=True) from None
            except _Transient as e:
                if attempt == self.retry.attempts:
                    raise _gave_up(url, e, attempt) from None
                await asyncio.sleep(self.retry.delay(attempt, self._rng, e.retry_after))
        raise AssertionError("unreachable")

    def _transport_failure(self, e: httpx.TransportError) -> _Transient:
        """The retryable failure an httpx error before any reply stands for."""
        if isinstance(e, httpx.TimeoutException):
            return _Transient(f"timed out ({type(e).__name__})")
        if isinstance(e, httpx.ConnectError):
            return _Transient(self._scrub(f"connection failed ({e})"), unreachable=True)
        return _Transient(self._scrub(f"connection dropped ({type(e).__name__}: {e})"))

    async def _post(self, path: str, body: dict[str, Any], url: str) -> Any:
        self.http_requests += 1
        try:
            resp = await self._client.post(path, json=body)
        except httpx.TransportError as e:
            raise self._transport_failure(e) from None
        if resp.status_code == 200:
            try:
                return resp.json()
            except ValueError:
                start = " ".join(resp.content[:60].decode("utf-8", "replace").split())
                raise _Transient(self._scrub(f"not JSON: {start!r}"), malformed=True) from None
        self._refuse(resp, url)

    def _refuse(self, resp: httpx.Response, url: str) -> NoReturn:
        """Raise what a (read) reply with a status other than 200 stands for: a retryable
        _Transient, ContextOverflow or FatalModelError."""
        detail = self._scrub(resp.text[:300].replace("\n", " "))
        if is_transient_status(resp.status_code):
            raise _Transient(
                f"HTTP {resp.status_code}: {detail}",
                retry_after=parse_retry_after(resp.headers.get("retry-after")),
            )
        hint = " (set OPENAI_API_KEY)" if resp.status_code == 401 else ""
        if resp.status_code == 400 and _CONTEXT.search(detail):
            raise ContextOverflow(f"{url}: HTTP 400: {detail}")
        raise FatalModelError(f"{url}: HTTP {resp.status_code}{hint}: {detail}")

    def _parse(
        self, request: GenerationRequest, reply: ChatReply | CompletionReply, latency: float
    ) -> list[Completion]:
        order = sorted(
            range(len(reply.choices)),
            key=lambda p: p if (i := reply.choices[p].index) is None else i,
        )
        choices = [reply.choices[p] for p in order]
        usage = reply.usage or ReplyUsage()
        prompt_tokens = usage.prompt_tokens or 0
        server_cached = _server_cached(usage)
        reported = usage.completion_tokens or 0
        out = []
        for i, choice in enumerate(choices):
            calls: tuple[FunctionCall, ...] = ()
            notes: tuple[str, ...]
            if isinstance(choice, ChatChoice):
                message = choice.message
                calls, bad_calls = _read_calls(message.tool_calls or (), request)
                if message.content is None and calls:
                    text, notes = "", ()
                else:
                    text, notes = normalise_content(message.content)
                if bad_calls:
                    notes += (f"replaced {_plural(bad_calls, 'invalid code point')} in function calls",)
                lps, bad = _chat_logprobs(choice.logprobs)
            else:
                text, replaced = replace_invalid(choice.text)
                notes = (f"replaced {_plural(replaced, 'invalid code point')}",) if replaced else ()
                lps, bad = _completion_logprobs(choice.logprobs)
            if lps is not None and (len(choices) > 1 or not reported):
                completion_tokens = len(lps)
            else:
                completion_tokens = reported
            if bad and request.logprobs:
                notes += (f"replaced {_plural(bad, 'invalid code point')} in logprob tokens",)
            out.append(
                Completion(
                    text=text,
                    finish_reason=_finish(choice.finish_reason, bool(calls)),
                    usage=Usage(prompt_tokens, completion_tokens, prompt_tokens if i else server_cached),
                    logprobs=lps if request.logprobs else None,
                    index=i,
                    latency_s=latency,
                    notes=notes,
                    tool_calls=calls,
                )
            )
        return out

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Delta | Completion]:
        """The reply to an n=1 request as it is made: a Delta per piece of text or of a function
        call, then the whole Completion. Closing the iterator closes the HTTP response."""
        self._check(request)
        if request.n != 1:
            raise RequestError(f"{self.model_id}: stream takes n=1 requests, got n={request.n}")
        path, body = self._body(request, count_tokens=False)
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
        url = self._url(path)
        chat = path.endswith("chat/completions")
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.max_concurrency)
        async with self._semaphore:
            t0 = time.perf_counter()
            resp = await self._open_with_retries(path, body, url)
            items = (
                self._streamed(request, resp, url, chat, t0)
                if _is_event_stream(resp)
                else self._whole(request, resp, url, chat, t0)
            )
            try:
                async for item in items:
                    yield item
            finally:
                await items.aclose()
                await resp.aclose()

    async def _open_with_retries(self, path: str, body: dict[str, Any], url: str) -> httpx.Response:
        """The streaming response to `body` once its status is 200, failures before it retried."""
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return await self._open(path, body, url)
            except _Transient as e:
                if attempt == self.retry.attempts:
                    raise _gave_up(url, e, attempt) from None
                await asyncio.sleep(self.retry.delay(attempt, self._rng, e.retry_after))
        raise AssertionError("unreachable")

    async def _open(self, path: str, body: dict[str, Any], url: str) -> httpx.Response:
        """One streaming POST: the open response when its status is 200 (the body not yet read)."""
        self.http_requests += 1
        try:
            resp = await self._client.send(self._client.build_request("POST", path, json=body), stream=True)
        except httpx.TransportError as e:
            raise self._transport_failure(e) from None
        if resp.status_code == 200:
            return resp
        try:
            await resp.aread()
        except httpx.TransportError as e:
            raise self._transport_failure(e) from None
        finally:
            await resp.aclose()
        self._refuse(resp, url)

    async def _streamed(
        self, request: GenerationRequest, resp: httpx.Response, url: str, chat: bool, t0: float
    ) -> AsyncGenerator[Delta | Completion, None]:
        """The deltas of a server-sent event stream up to `[DONE]`, then the completion; a dropped
        connection, an error event or a stream that stops short raise."""
        reply = _StreamedReply(request, chat)
        events = _Events()
        try:
            async for line in resp.aiter_lines():
                for delta in self._deltas(events.feed(line), reply, url):
                    yield delta
                if reply.done:
                    break
            else:
                for delta in self._deltas(events.flush(), reply, url):
                    yield delta
        except httpx.TransportError as e:
            what = "timed out" if isinstance(e, httpx.TimeoutException) else "dropped"
            raise TransientModelError(
                self._scrub(
                    f"{url}: the stream {what} after {reply.chunks} chunks ({type(e).__name__}: {e}); "
                    "not retried, since part of the reply was already read"
                )
            ) from None
        if not reply.done and reply.finish is None:
            raise TransientModelError(
                f"{url}: the stream ended after {reply.chunks} chunks without [DONE] or a finish reason"
            )
        yield reply.completion(time.perf_counter() - t0)

    def _deltas(self, events: list[tuple[str, str]], reply: _StreamedReply, url: str) -> list[Delta]:
        """The deltas of some events, each checked and added to `reply`; nothing after [DONE]."""
        out: list[Delta] = []
        for kind, data in events:
            if reply.done:
                break
            if kind == "error":
                raise self._stream_error(url, data)
            if data.strip() == "[DONE]":
                reply.done = True
            else:
                out += reply.add(self._chunk(url, data, reply.chat), url)
        return out

    def _chunk(self, url: str, data: str, chat: bool) -> ChatChunk | CompletionChunk:
        """One event's data as a chunk; MalformedReply naming the field when it is not one."""
        try:
            decoded = json.loads(data)
        except ValueError:
            start = " ".join(data[:60].split())
            raise MalformedReply(
                self._scrub(f"{url}: malformed stream chunk (not JSON: {start!r})")
            ) from None
        if isinstance(decoded, dict) and "error" in decoded and "choices" not in decoded:
            raise self._stream_error(url, data)
        try:
            return parse_chunk(decoded, chat=chat)
        except ReplyShapeError as e:
            raise MalformedReply(self._scrub(f"{url}: malformed stream chunk ({e})")) from None

    def _stream_error(self, url: str, data: str) -> ModelError:
        """The error a server reports inside a stream (an `error` event or an `error` object)."""
        try:
            decoded = json.loads(data)
        except ValueError:
            decoded = data
        error = decoded.get("error", decoded) if isinstance(decoded, dict) else decoded
        message = error.get("message", error) if isinstance(error, dict) else error
        detail = self._scrub(" ".join(str(message).split())[:300])
        if _CONTEXT.search(detail):
            return ContextOverflow(f"{url}: the server reported mid-stream: {detail}")
        return TransientModelError(f"{url}: the server reported mid-stream: {detail}")

    async def _whole(
        self, request: GenerationRequest, resp: httpx.Response, url: str, chat: bool, t0: float
    ) -> AsyncGenerator[Delta | Completion, None]:
        """The pieces of a reply that came whole (a server that does not stream): its text and
        calls as deltas, then the completion, noted."""
        try:
            data = json.loads(await resp.aread())
        except httpx.TransportError as e:
            raise TransientModelError(
                self._scrub(f"{url}: connection dropped ({type(e).__name__}: {e})")
            ) from None
        except ValueError:
            raise MalformedReply(f"{url}: malformed reply (not JSON, and not an event stream)") from None
        try:
            reply = parse_reply(data, chat=chat)
        except ReplyShapeError as e:
            raise MalformedReply(self._scrub(f"{url}: malformed reply ({e})")) from None
        [done] = self._parse(request, reply, time.perf_counter() - t0)[:1]
        if done.text:
            yield Delta(done.text)
        for k, call in enumerate(done.tool_calls):
            yield Delta(tool_index=k, tool_name=call.name)
            yield Delta(tool_index=k, tool_arguments=call.raw)
        yield dataclasses.replace(
            done, notes=done.notes + ("the server did not stream: the reply came whole",)
        )


def _gave_up(url: str, e: _Transient, attempt: int) -> ModelError:
    """The error to raise when the last try failed with `e`."""
    if e.unreachable:
        return ModelUnavailable(f"cannot reach {url}: {e}")
    if e.malformed:
        return MalformedReply(f"{url}: malformed reply ({e}) (gave up after {attempt} tries)")
    return TransientModelError(f"{url}: {e} (gave up after {attempt} tries)")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _message_body(m: Message) -> dict[str, Any]:
    """A turn as the chat API takes it: role and content, an assistant turn's calls (its content
    null when empty), a tool turn's call id."""
    d: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls:
        d["content"] = m.content or None
        d["tool_calls"] = [_call_body(c) for c in m.tool_calls]
    if m.tool_call_id is not None:
        d["tool_call_id"] = m.tool_call_id
    return d


def _call_body(call: FunctionCall) -> dict[str, Any]:
    """A function call as the chat API takes it; blank argument text is sent as `{}`."""
    body = call.to_openai()
    if not call.raw.strip():
        body["function"]["arguments"] = "{}"
    return body


def _tool_fields(request: GenerationRequest) -> dict[str, Any]:
    """The request's tools, tool choice and response format in the API's fields; none when unset."""
    fields: dict[str, Any] = {}
    if request.tools:
        fields["tools"] = [t.to_openai() for t in request.tools]
        choice = request.tool_choice
        fields["tool_choice"] = (
            choice
            if choice in ("auto", "none", "required")
            else {"type": "function", "function": {"name": choice}}
        )
    if request.response_format is not None:
        fields["response_format"] = request.response_format.to_openai()
    return fields


def _finish(reason: str | None, calls: bool) -> FinishReason:
    """length when the reply was cut, tool_calls when it calls functions (or says so), else stop."""
    if reason == "length":
        return "length"
    if reason == "tool_calls" or calls:
        return "tool_calls"
    return "stop"


def _server_cached(usage: ReplyUsage) -> int:
    """The prompt tokens the server says it served from its cache (at most the prompt's)."""
    details = usage.prompt_tokens_details
    return min(usage.prompt_tokens or 0, (details.cached_tokens or 0) if details else 0)


def _read_calls(
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


def _is_event_stream(resp: httpx.Response) -> bool:
    """Whether a 200 reply is an event stream (else a server answered whole, as JSON)."""
    kind = str(resp.headers.get("content-type", "")).split(";")[0].strip().lower()
    return kind != "application/json"


class _Events:
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
class _CallParts:
    id: str | None = None
    name: str | None = None
    arguments: list[str] = field(default_factory=list)


class _StreamedReply:
    """What a stream has said so far (text, function calls, finish reason, usage, logprobs), and
    the completion it makes."""

    def __init__(self, request: GenerationRequest, chat: bool) -> None:
        self.request = request
        self.chat = chat
        self.texts: list[str] = []
        self.calls: dict[int, _CallParts] = {}
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
                lps, bad = _chat_logprobs(choice.logprobs)
                out += self._text(choice.delta.content)
                for td in choice.delta.tool_calls or ():
                    out += self._call(td)
            else:
                lps, bad = _completion_logprobs(choice.logprobs)
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
            self.calls[td.index] = _CallParts()
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
            notes.append(f"replaced {_plural(self.bad_text, 'invalid code point')}")
        if self.bad_calls:
            notes.append(f"replaced {_plural(self.bad_calls, 'invalid code point')} in function calls")
        if self.bad_logprobs and request.logprobs:
            notes.append(f"replaced {_plural(self.bad_logprobs, 'invalid code point')} in logprob tokens")
        if self.usage is None:
            counted = len(self.logprobs) if self.saw_logprobs else self.pieces
            usage = Usage(0, counted, 0)
            notes.append(
                f"the server sent no usage: {_plural(counted, 'completion token')} counted from the "
                "streamed chunks, prompt tokens unknown (0)"
            )
        else:
            usage = Usage(
                self.usage.prompt_tokens or 0, self.usage.completion_tokens or 0, _server_cached(self.usage)
            )
        return Completion(
            text="".join(self.texts),
            finish_reason=_finish(self.finish, bool(calls)),
            usage=usage,
            logprobs=tuple(self.logprobs) if request.logprobs and self.saw_logprobs else None,
            latency_s=latency,
            notes=tuple(notes),
            tool_calls=calls,
        )


def _token(text: str, bad: list[int]) -> str:
    clean, count = replace_invalid(text)
    bad[0] += count
    return clean


def _chat_logprobs(logprobs: ChatLogprobs | None) -> tuple[tuple[TokenLogprob, ...] | None, int]:
    content = logprobs.content if logprobs else None
    if content is None:
        return None, 0
    bad = [0]
    lps = tuple(
        TokenLogprob(
            _token(t.token, bad),
            t.logprob,
            tuple((_token(x.token, bad), x.logprob) for x in t.top_logprobs or ()),
        )
        for t in content
    )
    return lps, bad[0]


def _completion_logprobs(lp: CompletionLogprobs | None) -> tuple[tuple[TokenLogprob, ...] | None, int]:
    if lp is None or lp.tokens is None:
        return None, 0
    bad = [0]
    values = lp.token_logprobs or [None] * len(lp.tokens)
    tops = lp.top_logprobs or [None] * len(lp.tokens)
    lps = tuple(
        TokenLogprob(
            _token(tok, bad),
            val if val is not None else 0.0,
            tuple((_token(k, bad), v) for k, v in (top or {}).items()),
        )
        for tok, val, top in zip(lp.tokens, values, tops)
    )
    return lps, bad[0]


def parse_spec(rest: str) -> tuple[str, str]:
    """(model, base URL) from the part of an `openai:` spec after the colon, options removed."""
    model, sep, base_url = rest.partition("@")
    if not sep or not model or not base_url:
        raise ConfigError(
            f"model spec {redact_spec('openai:' + rest)!r} must look like openai:MODEL@BASE_URL, "
            "e.g. openai:gpt-4o-mini@https://api.openai.com/v1"
        )
    if "?" not in base_url and _OPTION_LIKE.search(base_url):
        raise ConfigError(
            f"model spec {redact_spec('openai:' + rest)!r} ends with unknown options: "
            f"known options are {', '.join(SPEC_OPTIONS)}"
        )
    return model, base_url


def _seconds(name: str, value: Any, shown: str) -> float:
    seconds: Any
    try:
        seconds = float(value) if isinstance(value, str) else value
    except ValueError:
        seconds = None
    if not _positive_seconds(seconds):
        raise ConfigError(
            f"option {name}={value} for model spec {shown!r}: expected a positive number of seconds"
        )
    return float(seconds)


def _tries(value: Any, shown: str) -> int:
    text = value.strip() if isinstance(value, str) else None
    tries = int(text) if text is not None and text.isdigit() else value
    if isinstance(tries, bool) or not isinstance(tries, int) or tries < 1:
        raise ConfigError(
            f"option retries={value} for model spec {shown!r}: expected a whole number of tries, at least 1"
        )
    return tries


def from_spec(
    rest: str,
    *,
    spec: str | None = None,
    timeout: Any = None,
    connect_timeout: Any = None,
    retries: Any = None,
    backoff: Any = None,
    **options: Any,
) -> OpenAICompatModel:
    """Build the backend from `MODEL@BASE_URL`; `timeout`, `connect_timeout` (seconds), `retries`
    (total tries) and `backoff` (base seconds) as given in the spec or by keyword, validated."""
    shown = redact_spec(spec or f"openai:{rest}")
    model, base_url = parse_spec(rest)
    if timeout is not None:
        options["timeout_s"] = _seconds("timeout", timeout, shown)
    if connect_timeout is not None:
        options["connect_timeout_s"] = _seconds("connect_timeout", connect_timeout, shown)
    if retries is not None or backoff is not None:
        policy = options.get("retry") or RetryPolicy()
        if retries is not None:
            policy = dataclasses.replace(policy, attempts=_tries(retries, shown))
        if backoff is not None:
            base = _seconds("backoff", backoff, shown)
            policy = dataclasses.replace(policy, base_s=base, cap_s=max(policy.cap_s, base))
        options["retry"] = policy
    key = options.pop("api_key", None) or os.environ.get("PONDER_API_KEY") or os.environ.get("OPENAI_API_KEY")
    return OpenAICompatModel(model, base_url, key, **options)
