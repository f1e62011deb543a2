"""Any OpenAI-compatible embeddings endpoint: `openai:MODEL@BASE_URL` (OpenAI, vLLM, llama.cpp's
llama-server started with `--embeddings`, Ollama).

The texts go to `{BASE_URL}/embeddings` as `{"model": MODEL, "input": [texts]}`, at most
`max_batch` texts a request (larger inputs are split, and the requests run concurrently, bounded).
Each reply is checked with pydantic before it is read: `data[i].embedding` lists of finite
numbers, one per text, all of one length, with `index` values that are each position once (they
order the vectors; a missing `index` is the item's position), and `usage.prompt_tokens` when
given. A reply of another shape is a MalformedReply naming the field, retried like any transient
failure; transient and fatal HTTP failures follow the models' retry policy (`models/retry.py`).
Vectors come back L2-normalised. Credentials in the base URL (userinfo, query values) and the key
live only in the HTTP client: `model_id` and every message show the redacted URL.

llama-server (build 0c1e570) with `--pooling mean` must serve one slot (`-np 1`): with several, the
vectors of a request's inputs mix (each but the last is cosine 0.57-0.83 to the same text alone).
`--pooling last` does not mix, but separates paraphrases less (benchmarks/embeddings.py).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Sequence
from typing import Annotated, Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ponder.contract import Embeddings
from ponder.embeddings.vectors import unit_rows
from ponder.errors import ConfigError, FatalModelError, MalformedReply, ModelUnavailable, TransientModelError
from ponder.models.http_options import positive_seconds, spec_options
from ponder.models.replies import Count, describe
from ponder.models.retry import RetryPolicy, is_transient_status, parse_retry_after
from ponder.redact import MASK, MIN_SECRET, redact_query, redact_spec, redact_url, url_secrets

Finite = Annotated[float, Field(allow_inf_nan=False)]
MAX_BATCH = 64


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)


class EmbeddingItem(_Shape):
    embedding: list[Finite] = Field(min_length=1)
    index: Count | None = None


class EmbeddingUsage(_Shape):
    prompt_tokens: Count | None = None


class EmbeddingReply(_Shape):
    data: list[EmbeddingItem]
    usage: EmbeddingUsage | None = None


class ReplyShapeError(ValueError):
    """A reply that is not of the embeddings API's shape; the message names the field."""


def parse_embeddings(data: Any, count: int) -> tuple[list[list[float]], int]:
    """(vectors in the texts' order, prompt tokens) of a decoded reply to `count` texts."""
    try:
        reply = EmbeddingReply.model_validate(data)
    except ValidationError as e:
        raise ReplyShapeError(describe(e)) from None
    if len(reply.data) != count:
        raise ReplyShapeError(f"data: expected {count} embeddings, got {len(reply.data)}")
    order = [i if item.index is None else item.index for i, item in enumerate(reply.data)]
    if sorted(order) != list(range(count)):
        raise ReplyShapeError(f"data.index: expected each of 0..{count - 1} once, got {order}")
    dim = len(reply.data[0].embedding)
    for i, item in enumerate(reply.data):
        if len(item.embedding) != dim:
            raise ReplyShapeError(
                f"data.{i}.embedding: expected {dim} numbers like data.0, got {len(item.embedding)}"
            )
    by_index = sorted(zip(order, reply.data), key=lambda pair: pair[0])
    tokens = (reply.usage.prompt_tokens if reply.usage else None) or 0
    return [item.embedding for _, item in by_index], tokens


class _Transient(Exception):
    def __init__(
        self,
        message: str,
        retry_after: float | None = None,
        unreachable: bool = False,
        malformed: bool = False,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.unreachable = unreachable
        self.malformed = malformed


class OpenAIEmbedder:
    """An OpenAI-compatible embeddings endpoint (see the module's docstring)."""

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout_s: float = 120.0,
        connect_timeout_s: float = 10.0,
        max_batch: int = MAX_BATCH,
        max_concurrency: int = 4,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        seed: int | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base URL {redact_url(base_url)!r} must start with http:// or https://")
        for name, value in (("timeout_s", timeout_s), ("connect_timeout_s", connect_timeout_s)):
            if not positive_seconds(value):
                raise ConfigError(f"{name} must be a positive number of seconds, got {value!r}")
        for name, count in (("max_batch", max_batch), ("max_concurrency", max_concurrency)):
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ConfigError(f"{name} must be a whole number, at least 1, got {count!r}")
        root, _, query = base_url.partition("#")[0].partition("?")
        root = root.rstrip("/")
        shown_query = f"?{redact_query(query)}" if query else ""
        self.model = model
        self.base_url = redact_url(root) + shown_query
        self.url = redact_url(root) + "/embeddings" + shown_query
        self.model_id = f"openai:{model}@{self.base_url}"
        self.max_batch = max_batch
        self.retry = retry or RetryPolicy()
        self._rng = random.Random(seed)
        secrets = set(url_secrets(base_url)) | (
            {api_key} if api_key and len(api_key) >= MIN_SECRET else set()
        )
        self._secrets = sorted(secrets, key=len, reverse=True)
        self._client = httpx.AsyncClient(
            base_url=root,
            params=httpx.QueryParams(query),
            headers={"Authorization": f"Bearer {api_key}"} if api_key else {},
            transport=transport,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
        )
        self.max_concurrency = max_concurrency
        self._semaphore: asyncio.Semaphore | None = None
        self.http_requests = 0

    async def aclose(self) -> None:
        await self._client.aclose()

    def _scrub(self, message: str) -> str:
        for secret in self._secrets:
            message = message.replace(secret, MASK)
        return message

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        batch = list(texts)
        if not batch:
            return Embeddings(())
        t0 = time.perf_counter()
        chunks = [batch[i : i + self.max_batch] for i in range(0, len(batch), self.max_batch)]
        replies = await asyncio.gather(*(self._one_call(chunk) for chunk in chunks))
        rows = [row for vectors, _ in replies for row in vectors]
        tokens = sum(t for _, t in replies)
        return Embeddings(unit_rows(rows), prompt_tokens=tokens, latency_s=time.perf_counter() - t0)

    async def _one_call(self, texts: list[str]) -> tuple[list[list[float]], int]:
        body = {"model": self.model, "input": texts}
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.max_concurrency)
        async with self._semaphore:
            for attempt in range(1, self.retry.attempts + 1):
                try:
                    data = await self._post(body)
                    try:
                        return parse_embeddings(data, len(texts))
                    except ReplyShapeError as e:
                        raise _Transient(self._scrub(str(e)), malformed=True) from None
                except _Transient as e:
                    if attempt == self.retry.attempts:
                        raise self._gave_up(e, attempt) from None
                    await asyncio.sleep(self.retry.delay(attempt, self._rng, e.retry_after))
        raise AssertionError("unreachable")

    def _gave_up(self, e: _Transient, attempt: int) -> Exception:
        if e.unreachable:
            return ModelUnavailable(f"cannot reach {self.url}: {e}")
        if e.malformed:
            return MalformedReply(f"{self.url}: malformed reply ({e}) (gave up after {attempt} tries)")
        return TransientModelError(f"{self.url}: {e} (gave up after {attempt} tries)")

    async def _post(self, body: dict[str, Any]) -> Any:
        self.http_requests += 1
        try:
            resp = await self._client.post("/embeddings", json=body)
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
        detail = self._scrub(" ".join(resp.text[:300].split()))
        if is_transient_status(resp.status_code):
            raise _Transient(
                f"HTTP {resp.status_code}: {detail}",
                retry_after=parse_retry_after(resp.headers.get("retry-after")),
            )
        hint = " (set OPENAI_API_KEY)" if resp.status_code == 401 else ""
        raise FatalModelError(f"{self.url}: HTTP {resp.status_code}{hint}: {detail}")


def from_spec(
    rest: str,
    *,
    spec: str | None = None,
    timeout: Any = None,
    connect_timeout: Any = None,
    retries: Any = None,
    backoff: Any = None,
    **options: Any,
) -> OpenAIEmbedder:
    """Build the embedder from `MODEL@BASE_URL` and its options, validated."""
    shown = redact_spec(spec or f"openai:{rest}")
    model, sep, base_url = rest.partition("@")
    if not sep or not model or not base_url:
        raise ConfigError(
            f"embedder spec {shown!r} must look like openai:MODEL@BASE_URL, "
            "e.g. openai:text-embedding-3-small@https://api.openai.com/v1"
        )
    options = spec_options(
        f"embedder spec {shown!r}",
        options,
        timeout=timeout,
        connect_timeout=connect_timeout,
        retries=retries,
        backoff=backoff,
    )
    key = options.pop("api_key", None) or os.environ.get("PONDER_API_KEY") or os.environ.get("OPENAI_API_KEY")
    return OpenAIEmbedder(model, base_url, key, **options)
