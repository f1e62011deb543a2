"""Any OpenAI-compatible server (vLLM, llama.cpp server, Ollama, OpenAI): `openai:MODEL@BASE_URL`.

Chat requests go to /chat/completions, raw prompts to /completions. `n` is sent as one request;
where a server returns fewer choices than asked it is remembered as ignoring `n` and the missing
samples are drawn by separate concurrent calls (seed s + i for sample i). Some servers count the
completion tokens of one choice only when n > 1, so for n > 1 ponder asks for logprobs and counts
each choice's tokens itself. Transient failures are retried with backoff and jitter; fatal ones
are raised at once. A semaphore bounds the requests in flight.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import re
import time
from typing import Any

import httpx

from ponder.errors import ConfigError, ContextOverflow, FatalModelError, ModelUnavailable, TransientModelError
from ponder.models import LOGPROBS, PREFIX, SHARED_SAMPLES
from ponder.models.retry import RetryPolicy, is_transient_status, parse_retry_after
from ponder.types import Completion, GenerationRequest, TokenLogprob, Usage

_CONTEXT = re.compile(r"context|too long|maximum.*tokens", re.I)


class _Transient(Exception):
    def __init__(self, message: str, retry_after: float | None = None, unreachable: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.unreachable = unreachable


class OpenAICompatModel:
    def __init__(self, model: str, base_url: str, api_key: str | None = None, *,
                 timeout_s: float = 300.0, max_concurrency: int = 8,
                 retry: RetryPolicy | None = None, transport: httpx.AsyncBaseTransport | None = None,
                 honours_n: bool | None = None, seed: int | None = None) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base URL {base_url!r} must start with http:// or https://")
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.model_id = f"openai:{model}@{self.base_url}"
        self.abilities = frozenset({LOGPROBS, PREFIX, SHARED_SAMPLES})
        self.retry = retry or RetryPolicy()
        self.honours_n = honours_n          # None until the server has shown whether it honours n
        self.max_concurrency = max_concurrency
        self._rng = random.Random(seed)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(base_url=self.base_url, headers=headers, transport=transport,
                                         timeout=httpx.Timeout(timeout_s, connect=10.0))
        self._semaphore: asyncio.Semaphore | None = None
        self.http_requests = 0

    async def aclose(self) -> None:
        await self._client.aclose()

    async def generate(self, request: GenerationRequest) -> list[Completion]:
        if request.n == 1 or self.honours_n is False:
            return await self._separately(request, 0, request.n)
        out = await self._one_call(request, count_tokens=True)
        if len(out) >= request.n:
            self.honours_n = True
            return out[:request.n]
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
            data = await self._post_with_retries(path, body)
            latency = time.perf_counter() - t0
        return self._parse(request, data, latency, chat=path.endswith("chat/completions"))

    def _body(self, request: GenerationRequest, count_tokens: bool) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {"model": self.model, "max_tokens": request.max_tokens,
                                "temperature": request.temperature, "top_p": request.top_p}
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

    async def _post_with_retries(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = self.base_url + path
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return await self._post(path, body, url)
            except _Transient as e:
                if attempt == self.retry.attempts:
                    if e.unreachable:
                        raise ModelUnavailable(f"cannot reach {url}: {e}") from None
                    raise TransientModelError(f"{url}: {e} (gave up after {attempt} tries)") from None
                await asyncio.sleep(self.retry.delay(attempt, self._rng, e.retry_after))
        raise AssertionError("unreachable")

    async def _post(self, path: str, body: dict[str, Any], url: str) -> dict[str, Any]:
        self.http_requests += 1
        try:
            resp = await self._client.post(path, json=body)
        except httpx.TimeoutException as e:
            raise _Transient(f"timed out ({type(e).__name__})") from None
        except httpx.ConnectError as e:
            raise _Transient(f"connection failed ({e})", unreachable=True) from None
        except httpx.TransportError as e:
            raise _Transient(f"connection dropped ({type(e).__name__}: {e})") from None
        if resp.status_code == 200:
            try:
                return resp.json()
            except ValueError:
                raise _Transient("response was not JSON") from None
        detail = resp.text[:300].replace("\n", " ")
        if is_transient_status(resp.status_code):
            raise _Transient(f"HTTP {resp.status_code}: {detail}",
                             retry_after=parse_retry_after(resp.headers.get("retry-after")))
        hint = " (set OPENAI_API_KEY)" if resp.status_code == 401 else ""
        if resp.status_code == 400 and _CONTEXT.search(detail):
            raise ContextOverflow(f"{url}: HTTP 400: {detail}")
        raise FatalModelError(f"{url}: HTTP {resp.status_code}{hint}: {detail}")

    def _parse(self, request: GenerationRequest, data: dict[str, Any], latency: float,
               chat: bool) -> list[Completion]:
        choices = sorted(data.get("choices") or [], key=lambda c: c.get("index", 0))
        if not choices:
            raise FatalModelError(f"{self.base_url}: response has no choices: {str(data)[:200]}")
        usage = data.get("usage") or {}
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        server_cached = int(((usage.get("prompt_tokens_details") or {}).get("cached_tokens")) or 0)
        out = []
        for i, choice in enumerate(choices):
            text = (choice.get("message") or {}).get("content") if chat else choice.get("text")
            lps = _chat_logprobs(choice) if chat else _completion_logprobs(choice)
            if lps is not None and (len(choices) > 1 or not usage.get("completion_tokens")):
                completion_tokens = len(lps)
            else:
                completion_tokens = int(usage.get("completion_tokens") or 0)
            finish = choice.get("finish_reason") or "stop"
            out.append(Completion(
                text=text or "",
                finish_reason="length" if finish == "length" else "stop",
                usage=Usage(prompt_tokens, completion_tokens, prompt_tokens if i else server_cached),
                logprobs=lps if request.logprobs else None,
                index=i, latency_s=latency))
        return out


def _chat_logprobs(choice: dict[str, Any]) -> tuple[TokenLogprob, ...] | None:
    content = (choice.get("logprobs") or {}).get("content")
    if content is None:
        return None
    return tuple(TokenLogprob(t.get("token", ""), float(t.get("logprob", 0.0)),
                              tuple((x.get("token", ""), float(x.get("logprob", 0.0)))
                                    for x in t.get("top_logprobs") or ()))
                 for t in content)


def _completion_logprobs(choice: dict[str, Any]) -> tuple[TokenLogprob, ...] | None:
    lp = choice.get("logprobs")
    if not lp or lp.get("tokens") is None:
        return None
    tops = lp.get("top_logprobs") or [None] * len(lp["tokens"])
    return tuple(TokenLogprob(tok, float(val if val is not None else 0.0),
                              tuple((k, float(v)) for k, v in (top or {}).items()))
                 for tok, val, top in zip(lp["tokens"], lp.get("token_logprobs") or [], tops))


def parse_spec(rest: str) -> tuple[str, str]:
    model, sep, base_url = rest.partition("@")
    if not sep or not model or not base_url:
        raise ConfigError(f"model spec 'openai:{rest}' must look like openai:MODEL@BASE_URL, "
                          "e.g. openai:gpt-4o-mini@https://api.openai.com/v1")
    return model, base_url


def from_spec(rest: str, **options: Any) -> OpenAICompatModel:
    model, base_url = parse_spec(rest)
    key = options.pop("api_key", None) or os.environ.get("PONDER_API_KEY") or os.environ.get("OPENAI_API_KEY")
    return OpenAICompatModel(model, base_url, key, **options)
