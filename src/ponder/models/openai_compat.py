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
import os
import random
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, NoReturn

import httpx

from ponder.contract import Delta, FunctionCall
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
from ponder.models.http_options import positive_seconds, spec_options
from ponder.models.openai_reading import (
    chat_logprobs,
    completion_logprobs,
    finish_reason,
    plural,
    read_calls,
    server_cached,
)
from ponder.models.openai_stream import Events, StreamedReply, is_event_stream
from ponder.models.replies import (
    ChatChoice,
    ChatChunk,
    ChatReply,
    CompletionChunk,
    CompletionReply,
    ReplyShapeError,
    ReplyUsage,
    normalise_content,
    parse_chunk,
    parse_reply,
    replace_invalid,
)
from ponder.models.retry import RetryPolicy, is_transient_status, parse_retry_after
from ponder.redact import MASK, MIN_SECRET, redact_query, redact_spec, redact_url, url_secrets
from ponder.types import Completion, GenerationRequest, Message, Usage

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
            if not positive_seconds(value):
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
        cached_by_server = server_cached(usage)
        reported = usage.completion_tokens or 0
        out = []
        for i, choice in enumerate(choices):
            calls: tuple[FunctionCall, ...] = ()
            notes: tuple[str, ...]
            if isinstance(choice, ChatChoice):
                message = choice.message
                calls, bad_calls = read_calls(message.tool_calls or (), request)
                if message.content is None and calls:
                    text, notes = "", ()
                else:
                    text, notes = normalise_content(message.content)
                if bad_calls:
                    notes += (f"replaced {plural(bad_calls, 'invalid code point')} in function calls",)
                lps, bad = chat_logprobs(choice.logprobs)
            else:
                text, replaced = replace_invalid(choice.text)
                notes = (f"replaced {plural(replaced, 'invalid code point')}",) if replaced else ()
                lps, bad = completion_logprobs(choice.logprobs)
            if lps is not None and (len(choices) > 1 or not reported):
                completion_tokens = len(lps)
            else:
                completion_tokens = reported
            if bad and request.logprobs:
                notes += (f"replaced {plural(bad, 'invalid code point')} in logprob tokens",)
            out.append(
                Completion(
                    text=text,
                    finish_reason=finish_reason(choice.finish_reason, bool(calls)),
                    usage=Usage(prompt_tokens, completion_tokens, prompt_tokens if i else cached_by_server),
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
                if is_event_stream(resp)
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
        reply = StreamedReply(request, chat)
        events = Events()
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

    def _deltas(self, events: list[tuple[str, str]], reply: StreamedReply, url: str) -> list[Delta]:
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
    options = spec_options(
        f"model spec {shown!r}",
        options,
        timeout=timeout,
        connect_timeout=connect_timeout,
        retries=retries,
        backoff=backoff,
    )
    key = options.pop("api_key", None) or os.environ.get("PONDER_API_KEY") or os.environ.get("OPENAI_API_KEY")
    return OpenAICompatModel(model, base_url, key, **options)
