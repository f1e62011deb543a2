"""Retrieval scores of the memory stream (Park et al. 2023), as pure functions.

A memory's retrieval score for a query at a time is

    w_rec * recency + w_imp * importance + w_rel * relevance

where each of the three is min-max normalised over the candidates first:

- recency: `decay ** hours`, the simulated hours since the memory was last accessed (a memory
  accessed after `now` counts as accessed at `now`);
- importance: the 1-10 rating given when the memory was made;
- relevance: the cosine similarity of the query's embedding and the memory's (a zero vector is
  relevant to nothing: 0).

Min-max normalisation maps the smallest value to 0 and the largest to 1; when every candidate has
the same value (one candidate included) each gets 0.5, so that score neither helps nor hurts any
of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from ponder.errors import ConfigError, DataError
from ponder.town.contracts import MemoryRecord, Scored, Weights

SECONDS_PER_HOUR = 3600.0
EQUAL = 0.5  # what min-max normalisation gives every value when all are equal


def recency(hours_since_access: float, decay: float) -> float:
    """`decay ** hours`: 1.0 for a memory accessed just now, less the longer ago (negative hours
    count as 0)."""
    if not 0.0 < decay <= 1.0:
        raise ConfigError(f"the recency decay must be in (0, 1], got {decay}")
    return float(decay ** max(hours_since_access, 0.0))


def hours_between(earlier: datetime, later: datetime) -> float:
    """Simulated hours from `earlier` to `later` (negative when `later` is earlier)."""
    return (later - earlier).total_seconds() / SECONDS_PER_HOUR


def min_max(values: Sequence[float]) -> list[float]:
    """Each value mapped linearly so the smallest is 0 and the largest 1; all equal: all 0.5;
    empty: empty."""
    if not values:
        return []
    low, high = min(values), max(values)
    if high == low:
        return [EQUAL] * len(values)
    return [(v - low) / (high - low) for v in values]


def relevance(query_vec: Sequence[float], memory_vecs: Sequence[Sequence[float]]) -> list[float]:
    """The cosine similarity of `query_vec` with each of `memory_vecs`, in order; 0.0 where either
    vector is all zeros. Raises DataError when the dimensions differ."""
    if not memory_vecs:
        return []
    query = np.asarray(query_vec, dtype=np.float64)
    try:
        rows = np.asarray(memory_vecs, dtype=np.float64)
    except ValueError as e:
        raise DataError(f"memory embeddings of different lengths: {e}") from None
    if rows.ndim != 2 or query.ndim != 1 or rows.shape[1] != query.shape[0]:
        raise DataError(
            f"the query embedding has {query.shape[-1] if query.ndim else 0} dimensions but the "
            f"memory embeddings have shape {rows.shape}"
        )
    norms = np.linalg.norm(rows, axis=1) * np.linalg.norm(query)
    dots = rows @ query
    safe = np.where(norms > 0.0, norms, 1.0)
    return [float(x) for x in np.where(norms > 0.0, dots / safe, 0.0)]


def score_all(
    memories: Sequence[MemoryRecord],
    query_vec: Sequence[float],
    vectors: Sequence[Sequence[float]],
    now: datetime,
    weights: Weights,
) -> list[Scored]:
    """Score every memory (`vectors[i]` is the embedding of `memories[i]`) for a query at `now`:
    the three scores normalised over these candidates, then weighted. In the memories' order."""
    if len(vectors) != len(memories):
        raise DataError(f"{len(memories)} memories but {len(vectors)} embeddings to score them by")
    rec = min_max([recency(hours_between(m.last_accessed, now), weights.decay) for m in memories])
    imp = min_max([float(m.importance) for m in memories])
    rel = min_max(relevance(query_vec, vectors))
    return [
        Scored(
            memory=m,
            recency=r,
            importance=i,
            relevance=v,
            score=weights.recency * r + weights.importance * i + weights.relevance * v,
        )
        for m, r, i, v in zip(memories, rec, imp, rel, strict=True)
    ]


def top_k(scored: Sequence[Scored], k: int) -> list[Scored]:
    """The `k` highest scores, best first; equal scores keep their given order."""
    if k < 0:
        raise ConfigError(f"k must be zero or more memories, got {k}")
    return sorted(scored, key=lambda s: -s.score)[:k]
