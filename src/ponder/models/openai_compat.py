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
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
import random
import re
import time
from typing import Any

import httpx

from ponder.errors import (
    ConfigError,
    ContextOverflow,
    FatalModelError,
    MalformedReply,
    ModelUnavailable,
    TransientModelError,
)
from ponder.models import LOGPROBS, PREFIX, SHARED_SAMPLES, SPEC_OPTIONS
from ponder.models.replies import (
    ChatChoice,
    ChatReply,
    CompletionChoice,
    CompletionReply,
    ReplyShapeError,
    ReplyUsage,
    normalise_content,
    parse_reply,
    replace_invalid,
)
from ponder.models.retry import RetryPolicy, is_transient_status, parse_retry_after
from ponder.redact import MASK, MIN_SECRET, redact_query, redact_spec, redact_url, url_secrets
from ponder.types import Completion, GenerationRequest, TokenLogprob, Usage

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
        self.abilities = frozenset({LOGPROBS, PREFIX, SHARED_SAMPLES})
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

    async def generate(self, request: GenerationRequest) -> list[Completion]:
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
            messages = [{"role": m.role, "content": m.content} for m in request.messages]
            if request.assistant_prefix:
                messages.append({"role": "assistant", "content": request.assistant_prefix})
                body["continue_final_message"] = True
                body["add_generation_prompt"] = False
            body["messages"] = messages
            if want_lp:
                body["logprobs"] = True
                if request.top_logprobs:
                    body["top_logprobs"] = request.top_logprobs
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
                    if e.unreachable:
                        raise ModelUnavailable(f"cannot reach {url}: {e}") from None
                    if e.malformed:
                        raise MalformedReply(
                            f"{url}: malformed reply ({e}) (gave up after {attempt} tries)"
                        ) from None
                    raise TransientModelError(f"{url}: {e} (gave up after {attempt} tries)") from None
                await asyncio.sleep(self.retry.delay(attempt, self._rng, e.retry_after))
        raise AssertionError("unreachable")

    async def _post(self, path: str, body: dict[str, Any], url: str) -> Any:
        self.http_requests += 1
        try:
            resp = await self._client.post(path, json=body)
        except httpx.TimeoutException as e:
            raise _Transient(f"timed out ({type(e).__name__})") from None
        except httpx.ConnectError as e:
            raise _Transient(self._scrub(f"connection failed ({e})"), unreachable=True) from None
        except httpx.TransportError as e:
            raise _Transient(self._scrub(f"connection dropped ({type(e).__name__}: {e})")) from None
        if resp.status_code == 200:
            try:
                return resp.json()
            except ValueError:
                start = " ".join(resp.content[:60].decode("utf-8", "replace").split())
                raise _Transient(self._scrub(f"not JSON: {start!r}"), malformed=True) from None
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
        details = usage.prompt_tokens_details
        server_cached = min(prompt_tokens, (details.cached_tokens or 0) if details else 0)
        reported = usage.completion_tokens or 0
        out = []
        for i, choice in enumerate(choices):
            if isinstance(choice, ChatChoice):
                text, notes = normalise_content(choice.message.content)
                lps, bad = _chat_logprobs(choice)
            else:
                text, replaced = replace_invalid(choice.text)
                notes = (
                    (f"replaced {replaced} invalid code point{'s' * (replaced != 1)}",) if replaced else ()
                )
                lps, bad = _completion_logprobs(choice)
            if lps is not None and (len(choices) > 1 or not reported):
                completion_tokens = len(lps)
            else:
                completion_tokens = reported
            if bad and request.logprobs:
                notes += (f"replaced {bad} invalid code point{'s' * (bad != 1)} in logprob tokens",)
            finish = choice.finish_reason or "stop"
            out.append(
                Completion(
                    text=text,
                    finish_reason="length" if finish == "length" else "stop",
                    usage=Usage(prompt_tokens, completion_tokens, prompt_tokens if i else server_cached),
                    logprobs=lps if request.logprobs else None,
                    index=i,
                    latency_s=latency,
                    notes=notes,
                )
            )
        return out


def _token(text: str, bad: list[int]) -> str:
    clean, count = replace_invalid(text)
    bad[0] += count
    return clean


def _chat_logprobs(choice: ChatChoice) -> tuple[tuple[TokenLogprob, ...] | None, int]:
    content = choice.logprobs.content if choice.logprobs else None
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


def _completion_logprobs(choice: CompletionChoice) -> tuple[tuple[TokenLogprob, ...] | None, int]:
    lp = choice.logprobs
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
