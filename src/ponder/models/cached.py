"""A cache in front of any backend, backed by the store's calls table.

Key: sha256 of the model id and the canonical request (n left out), plus the sample index, so
the n samples of a request stay different, reruns are free, and asking for more samples later
only pays for the new ones. A hit returns the original completion and usage with `cached=True`.
Every call, hit or miss, is logged in the store under the current scope (run and task).
"""

from __future__ import annotations

import contextvars
import dataclasses
import time
from contextlib import contextmanager
from typing import Protocol

from ponder.types import Completion, GenerationRequest, cache_key

_scope: contextvars.ContextVar[tuple[int | None, str | None]] = contextvars.ContextVar(
    "ponder_call_scope", default=(None, None)
)
_purpose: contextvars.ContextVar[str] = contextvars.ContextVar("ponder_call_purpose", default="generate")


@contextmanager
def call_scope(run_id: int | None, task_id: str | None = None):
    """Calls made inside this block (in this asyncio task) are logged under the run and task."""
    token = _scope.set((run_id, task_id))
    try:
        yield
    finally:
        _scope.reset(token)


@contextmanager
def call_purpose(purpose: str):
    """Calls made inside this block are logged with this purpose ("generate", "verify", …)."""
    token = _purpose.set(purpose)
    try:
        yield
    finally:
        _purpose.reset(token)


class CallLog(Protocol):
    """Where calls are logged and looked up (the store's calls table): what the cache needs of it."""

    def cached_completions(self, key: str, count: int) -> dict[int, Completion]: ...

    def add_calls(
        self,
        model: str,
        key: str,
        request: GenerationRequest,
        completions: list[Completion],
        first_index: int = 0,
        run_id: int | None = None,
        task_id: str | None = None,
        purpose: str = "generate",
    ) -> None: ...


class CachedModel:
    def __init__(self, inner, store: CallLog, read: bool = True) -> None:
        self.inner = inner
        self.store = store
        self.read = read
        self.model_id = inner.model_id
        self.abilities = inner.abilities

    async def generate(self, request: GenerationRequest) -> list[Completion]:
        key = cache_key(self.model_id, request)
        run_id, task_id = _scope.get()
        purpose = _purpose.get()
        hits = self.store.cached_completions(key, request.n) if self.read else {}
        first_missing = next((i for i in range(request.n) if i not in hits), request.n)
        out = [dataclasses.replace(hits[i], index=i, cached=True) for i in range(first_missing)]
        if out:
            self.store.add_calls(self.model_id, key, request, out, 0, run_id, task_id, purpose)
        if first_missing < request.n:
            rest = dataclasses.replace(
                request,
                n=request.n - first_missing,
                seed=None if request.seed is None else request.seed + first_missing,
            )
            t0 = time.perf_counter()
            fresh = await self.inner.generate(rest)
            latency = time.perf_counter() - t0
            fresh = [
                dataclasses.replace(
                    c, index=first_missing + j, cached=False, latency_s=c.latency_s or latency
                )
                for j, c in enumerate(fresh)
            ]
            self.store.add_calls(self.model_id, key, request, fresh, first_missing, run_id, task_id, purpose)
            out.extend(fresh)
        return out

    async def aclose(self) -> None:
        close = getattr(self.inner, "aclose", None)
        if close is not None:
            await close()
