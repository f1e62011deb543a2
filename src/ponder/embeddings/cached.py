"""A cache in front of any embedder, backed by the store's embeddings table.

Key: the embedder's `model_id` and the sha256 of the text, so embedders never share vectors and a
text is embedded once per model. `CachedEmbedder.embed` looks every text up in one read, embeds
the misses (each distinct text once) in one call to the inner embedder, writes them in one
transaction, and returns all the vectors in the texts' order, with `cached` saying how many came
from the store. Vectors are stored as float32, and a fresh vector is returned as the store will
give it back, so a hit equals the miss it repeats. `read=False` embeds every text afresh and
overwrites what was stored.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from ponder.contract import Embeddings
from ponder.embeddings.vectors import as_float32, text_key
from ponder.errors import FatalModelError
from ponder.models import Embedder


class VectorStore(Protocol):
    """Where vectors are kept (the store's embeddings table): what the cache needs of it."""

    def cached_vectors(self, model_id: str, keys: Sequence[bytes]) -> dict[bytes, tuple[float, ...]]: ...

    def put_vectors(self, model_id: str, items: Sequence[tuple[bytes, Sequence[float]]]) -> None: ...


class CachedEmbedder:
    """`inner` behind the store's cache (see the module's docstring)."""

    def __init__(self, inner: Embedder, store: VectorStore, read: bool = True) -> None:
        self.inner = inner
        self.store = store
        self.read = read
        self.model_id: str = inner.model_id

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        texts = list(texts)
        if not texts:
            return Embeddings(())
        t0 = time.perf_counter()
        keys = [text_key(t) for t in texts]
        found = self.store.cached_vectors(self.model_id, list(dict.fromkeys(keys))) if self.read else {}
        misses = {k: t for k, t in zip(keys, texts) if k not in found}
        tokens = 0
        if misses:
            fresh = await self.inner.embed(list(misses.values()))
            if len(fresh.vectors) != len(misses):
                raise FatalModelError(
                    f"{self.model_id} returned {len(fresh.vectors)} vectors for {len(misses)} texts"
                )
            rows = as_float32(fresh.vectors)
            self.store.put_vectors(self.model_id, list(zip(misses, rows)))
            found = {**found, **dict(zip(misses, rows))}
            tokens = fresh.prompt_tokens
        cached = sum(1 for k in keys if k not in misses)
        return Embeddings(
            tuple(found[k] for k in keys),
            prompt_tokens=tokens,
            cached=cached,
            latency_s=time.perf_counter() - t0,
        )

    async def aclose(self) -> None:
        close = getattr(self.inner, "aclose", None)
        if close is not None:
            await close()
