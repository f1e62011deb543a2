"""One agent's memory stream (Park et al. 2023): every observation, plan, reflection and utterance
as a `MemoryRecord`, with its embedding, retrieved by recency, importance and relevance
(`ponder.town.scores`).

`MemoryStream(agent, embedder, model, weights, store, run_id)` implements the `Memories` contract.
A memory's id is its number in the agent's stream, counted from 1. With a store (which needs a
`run_id`) every memory, every last-access update and every reflection mark is written as it
happens, and a stream made for the same run and agent loads what was written, so a stopped run
resumes with the same stream. Embeddings are kept as float32, as the store keeps them, so a
reloaded stream scores exactly as the one that wrote it.

`rate_importance` asks the model for a memory's poignancy, 1-10. Where the backend holds replies to
a JSON schema the reply is an integer in range by construction; elsewhere the first whole number in
the reply is read and clamped to 1-10 ("11 out of 10" is 10). A reply with no number, or a held
reply that is not an integer 1-10, raises ReplyFormatError: a rating is never made up.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

from ponder.contract import ResponseFormat
from ponder.errors import ConfigError, DataError, ReplyFormatError
from ponder.models import JSON_SCHEMA, Embedder
from ponder.store import Store, StoredMemories, StoredMemory
from ponder.strategies import Templates
from ponder.town.contracts import KINDS, MemoryRecord, Scored, Weights
from ponder.town.scores import score_all, top_k
from ponder.trace import Generator, Recorder, TraceSink
from ponder.types import GenerationRequest, Message

PROMPTS = Templates(Path(__file__).parent / "prompts")
LOWEST, HIGHEST = 1, 10
IMPORTANCE_FORMAT = ResponseFormat({"type": "integer", "minimum": LOWEST, "maximum": HIGHEST}, "importance")
IMPORTANCE_PURPOSE = "memory-importance"
IMPORTANCE_MAX_TOKENS = 16
_NUMBER = re.compile(r"\d+")


def read_importance(text: str) -> int:
    """The first whole number in `text`, clamped to 1-10; ReplyFormatError when there is none."""
    match = _NUMBER.search(text)
    if match is None:
        raise ReplyFormatError(f"the importance rating has no number in it: {text[:200]!r}")
    return min(max(int(match.group()), LOWEST), HIGHEST)


async def rate_importance(
    model: Generator, agent: str, text: str, *, about: str = "", recorder: Recorder | None = None
) -> int:
    """How poignant the memory `text` of `agent` is, 1 (mundane) to 10 (life-changing), as the
    model rates it; `about` describes the agent to the model. The call is recorded by `recorder`
    (a new Recorder of `model` when none is given) with purpose "memory-importance"."""
    held = JSON_SCHEMA in model.abilities
    request = GenerationRequest(
        messages=(
            Message("user", PROMPTS.render("memory_importance.j2", agent=agent, text=text, about=about)),
        ),
        max_tokens=IMPORTANCE_MAX_TOKENS,
        temperature=0.0,
        response_format=IMPORTANCE_FORMAT if held else None,
    )
    completions = await (recorder or Recorder(model)).generate(request, IMPORTANCE_PURPOSE, model=model)
    reply = completions[0].text
    if held:
        value = IMPORTANCE_FORMAT.parse(reply.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise ReplyFormatError(f"the importance rating is not a whole number: {reply[:200]!r}")
        return value
    return read_importance(reply)


def _float32(vector: Sequence[float]) -> tuple[float, ...]:
    return tuple(np.asarray(vector, dtype=np.float32).tolist())


def record_of(row: StoredMemory) -> MemoryRecord:
    """The memory a stored row holds."""
    return MemoryRecord(
        row.number,
        row.agent,
        row.kind,
        row.text,
        row.created,
        row.last_accessed,
        row.importance,
        row.evidence,
    )


class MemoryStream:
    """The memory stream of `agent`: its memories in the order made, their embeddings, and the
    mark of its latest reflection. Model calls go through `recorder` (sending each to `sink`)."""

    def __init__(
        self,
        agent: str,
        embedder: Embedder,
        model: Generator,
        weights: Weights | None = None,
        store: Store | None = None,
        run_id: int | None = None,
        *,
        sink: TraceSink | None = None,
        about: str = "",
    ) -> None:
        if store is not None and run_id is None:
            raise ConfigError(f"the memory stream of {agent} needs a run id to be kept in a store")
        self.agent = agent
        self.embedder = embedder
        self.model = model
        self.weights = weights or Weights()
        self.run_id = run_id
        self.about = about
        self.recorder = Recorder(model, sink=sink)
        self._stored = StoredMemories(store) if store is not None else None
        self._records: list[MemoryRecord] = []
        self._vectors: list[tuple[float, ...]] = []
        self._reflected_through = 0
        if self._stored is not None and run_id is not None:
            for row in self._stored.memories(run_id, agent):
                self._records.append(record_of(row))
                self._vectors.append(row.embedding)
            self._reflected_through = self._stored.reflected_through(run_id, agent)

    @property
    def records(self) -> list[MemoryRecord]:
        """Every memory, oldest first."""
        return list(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def by_id(self, memory_id: int) -> MemoryRecord:
        """The memory numbered `memory_id`; DataError when the stream has none."""
        if not 1 <= memory_id <= len(self._records):
            raise DataError(f"{self.agent} has no memory {memory_id} (it has {len(self._records)})")
        return self._records[memory_id - 1]

    def vector(self, memory_id: int) -> tuple[float, ...]:
        """The embedding of the memory numbered `memory_id`."""
        self.by_id(memory_id)
        return self._vectors[memory_id - 1]

    async def add(
        self,
        text: str,
        kind: str,
        now: datetime,
        *,
        importance: int | None = None,
        evidence: Sequence[int] = (),
    ) -> MemoryRecord:
        """Embed `text`, rate its importance when not given, and keep it (and write it to the store)."""
        if kind not in KINDS:
            raise ConfigError(f"a memory's kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if importance is not None and (
            isinstance(importance, bool)
            or not isinstance(importance, int)
            or not LOWEST <= importance <= HIGHEST
        ):
            raise ConfigError(f"a memory's importance must be a whole number 1-10, got {importance!r}")
        for cited in evidence:
            self.by_id(cited)
        embedded = await self.embedder.embed([text])
        if len(embedded.vectors) != 1:
            raise DataError(
                f"the embedder {self.embedder.model_id} gave {len(embedded.vectors)} vectors for 1 text"
            )
        vector = _float32(embedded.vectors[0])
        if importance is None:
            importance = await rate_importance(
                self.model, self.agent, text, about=self.about, recorder=self.recorder
            )
        record = MemoryRecord(
            len(self._records) + 1, self.agent, kind, text, now, now, importance, tuple(evidence)
        )
        if self._stored is not None and self.run_id is not None:
            self._stored.add_memory(
                self.run_id,
                StoredMemory(
                    self.agent, record.id, kind, text, now, now, importance, record.evidence, vector
                ),
            )
        self._records.append(record)
        self._vectors.append(vector)
        return record

    async def retrieve(
        self, query: str, now: datetime, k: int = 10, kinds: frozenset[str] | None = None
    ) -> list[Scored]:
        """The `k` memories (of `kinds` only, when given: the candidates the scores are normalised
        over) that score highest for `query` at `now`, best first, each with its last access set to
        `now` (the returned records carry it; the scores are those it was ranked by)."""
        among = [i for i, r in enumerate(self._records) if kinds is None or r.kind in kinds]
        if not among or k <= 0:
            return []
        embedded = await self.embedder.embed([query])
        records = [self._records[i] for i in among]
        vectors = self._vectors if kinds is None else [self._vectors[i] for i in among]
        best = top_k(score_all(records, embedded.vectors[0], vectors, now, self.weights), k)
        numbers = [s.memory.id for s in best]
        if self._stored is not None and self.run_id is not None:
            self._stored.touch_memories(self.run_id, self.agent, numbers, now)
        out = []
        for s in best:
            touched = _touch(s.memory, now)
            self._records[touched.id - 1] = touched
            out.append(Scored(touched, s.recency, s.importance, s.relevance, s.score))
        return out

    def detach(self) -> None:
        """Stop writing to the store: later memories and retrievals change only this copy (an
        interview asks an agent without changing its run)."""
        self._stored = None

    def latest(self, n: int) -> list[MemoryRecord]:
        """The `n` most recently made memories, newest last."""
        return self._records[-n:] if n > 0 else []

    def importance_since_reflection(self) -> int:
        """The summed importance of the memories made since the last `mark_reflected`."""
        return sum(m.importance for m in self._records[self._reflected_through :])

    def mark_reflected(self) -> None:
        """Count importance towards the next reflection from the next memory made."""
        self._reflected_through = len(self._records)
        if self._stored is not None and self.run_id is not None:
            self._stored.set_reflected_through(self.run_id, self.agent, self._reflected_through)


def _touch(record: MemoryRecord, now: datetime) -> MemoryRecord:
    return dataclasses.replace(record, last_accessed=now)
