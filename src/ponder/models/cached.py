"""A cache in front of any backend, backed by the store's calls table.

Key: sha256 of the model id and the canonical request (n left out), plus the sample index, so
the n samples of a request stay different, reruns are free, and asking for more samples later
only pays for the new ones. A hit returns the original completion and usage with `cached=True`,
and sample i of the reply has index i. The cache only reads: every call, hit or miss, is written
to the calls table once, by the sink of the trace that records it (`Store.call_sink`).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Protocol

from ponder.models import Model
from ponder.types import Completion, GenerationRequest, cache_key


class CallLookup(Protocol):
    """Where stored completions are looked up (the store's calls table): what the cache needs of it."""

    def cached_completions(self, key: str, count: int) -> dict[int, Completion]: ...


class CachedModel:
    """`inner` behind the store's cache: hits come from `store`, misses from `inner` (`read`
    False: every sample from `inner`)."""

    def __init__(self, inner: Model, store: CallLookup, read: bool = True) -> None:
        self.inner = inner
        self.store = store
        self.read = read
        self.model_id: str = inner.model_id
        self.abilities: frozenset[str] = inner.abilities

    async def generate(self, request: GenerationRequest) -> list[Completion]:
        key = cache_key(self.model_id, request)
        hits = self.store.cached_completions(key, request.n) if self.read else {}
        first_missing = next((i for i in range(request.n) if i not in hits), request.n)
        out = [dataclasses.replace(hits[i], index=i, cached=True) for i in range(first_missing)]
        if first_missing < request.n:
            rest = dataclasses.replace(
                request,
                n=request.n - first_missing,
                seed=None if request.seed is None else request.seed + first_missing,
            )
            t0 = time.perf_counter()
            fresh = await self.inner.generate(rest)
            latency = time.perf_counter() - t0
            out.extend(
                dataclasses.replace(
                    c, index=first_missing + j, cached=False, latency_s=c.latency_s or latency
                )
                for j, c in enumerate(fresh)
            )
        return out

    async def aclose(self) -> None:
        close = getattr(self.inner, "aclose", None)
        if close is not None:
            await close()
