"""The embeddings table: vectors cached per embedder and text (`ponder.embeddings.cached`).

`StoredVectors(store)` reads many vectors in one query per 500 keys and writes many in one
transaction. A vector is kept as little-endian float32 bytes (4 bytes a dimension); a row whose
bytes do not match its `dim` is a StoreError. Writing a key again replaces its vector.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from ponder.errors import StoreError
from ponder.store.results import Store

_FLOAT32 = np.dtype("<f4")
_CHUNK = 500  # keys per query, well under SQLite's limit on bound parameters


def pack(vector: Sequence[float]) -> bytes:
    return np.asarray(vector, dtype=_FLOAT32).tobytes()


def unpack(blob: bytes, dim: int) -> tuple[float, ...]:
    if len(blob) != 4 * dim:
        raise StoreError(f"a stored embedding has {len(blob)} bytes, not 4 x {dim} dimensions")
    return tuple(np.frombuffer(blob, dtype=_FLOAT32).tolist())


class StoredVectors:
    """The embeddings table of `store`, as the embedding cache uses it."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def cached_vectors(self, model_id: str, keys: Sequence[bytes]) -> dict[bytes, tuple[float, ...]]:
        """The stored vectors of `model_id` for those of `keys` (sha256 digests) it has."""
        found: dict[bytes, tuple[float, ...]] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = list(keys[start : start + _CHUNK])
            marks = ", ".join("?" * len(chunk))
            rows = self.store._read(
                f"SELECT text_hash, dim, vector FROM embeddings WHERE model = ? AND text_hash IN ({marks})",
                (model_id, *chunk),
            )
            for row in rows:
                found[bytes(row["text_hash"])] = unpack(row["vector"], row["dim"])
        return found

    def put_vectors(self, model_id: str, items: Sequence[tuple[bytes, Sequence[float]]]) -> None:
        """Store each (key, vector) of `model_id`, all in one transaction."""
        now = time.time()
        rows = [(model_id, key, len(vector), pack(vector), now) for key, vector in items]
        if not rows:
            return
        with self.store._transaction() as db:
            db.executemany(
                """INSERT OR REPLACE INTO embeddings (model, text_hash, dim, vector, created_at)
                   VALUES (?, ?, ?, ?, ?)""",
                rows,
            )

    def count(self, model_id: str | None = None) -> int:
        """How many vectors are stored (of `model_id`, or of every embedder)."""
        if model_id is None:
            return int(self.store._read("SELECT COUNT(*) FROM embeddings")[0][0])
        return int(self.store._read("SELECT COUNT(*) FROM embeddings WHERE model = ?", (model_id,))[0][0])
