"""Vectors as the embedders return them: rows scaled to unit length (L2), as tuples of floats;
and the key of a text in the cache (the sha256 of its UTF-8 bytes)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np


def unit_rows(rows: Any) -> tuple[tuple[float, ...], ...]:
    """`rows` (a 2-D array or a sequence of equal-length sequences of numbers) with each row
    divided by its L2 norm; an all-zero row stays zero."""
    matrix = np.asarray(rows, dtype=np.float64)
    if matrix.size == 0:
        return ()
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = matrix / np.where(norms == 0, 1.0, norms)
    return tuple(tuple(row) for row in matrix.tolist())


def as_float32(vectors: Sequence[Sequence[float]]) -> tuple[tuple[float, ...], ...]:
    """`vectors` rounded to float32, as the cache stores them (so a hit equals the miss it repeats)."""
    if not vectors:
        return ()
    return tuple(tuple(row) for row in np.asarray(vectors, dtype=np.float32).tolist())


def text_key(text: str) -> bytes:
    """The sha256 digest of `text` (UTF-8; a lone surrogate is escaped, not an error)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
