"""The memories and memory_state tables: the town's memory streams, kept per run and agent so a
run stopped at any point resumes with the same streams.

`StoredMemories(store)` writes one memory per transaction, updates the last access of several at
once, and loads an agent's whole stream in the order it was made. Times are naive or aware
`datetime`s stored as ISO strings; an embedding is stored as little-endian float32 bytes (as the
embeddings table keeps vectors), so a vector comes back rounded to float32.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ponder.errors import StoreError
from ponder.store.embeddings import pack, unpack
from ponder.store.results import Store


@dataclass(frozen=True)
class StoredMemory:
    """One row of the memories table: `number` is the memory's id in its agent's stream."""

    agent: str
    number: int
    kind: str
    text: str
    created: datetime
    last_accessed: datetime
    importance: int
    evidence: tuple[int, ...]
    embedding: tuple[float, ...]


def _time(value: str, what: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise StoreError(f"a stored memory's {what} is not an ISO time: {value!r}") from None


def _evidence(value: str) -> tuple[int, ...]:
    try:
        numbers = json.loads(value)
    except ValueError:
        numbers = None
    if not isinstance(numbers, list) or not all(isinstance(n, int) for n in numbers):
        raise StoreError(f"a stored memory's evidence is not a JSON list of numbers: {value!r}")
    return tuple(numbers)


class StoredMemories:
    """The memory tables of `store`, as the town's memory streams use them."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add_memory(self, run_id: int, memory: StoredMemory) -> None:
        """Store one memory of `run_id`; a number its agent already has in the run is a StoreError."""
        with self.store._transaction() as db:
            db.execute(
                """INSERT INTO memories (run_id, agent, number, kind, text, created, last_accessed,
                   importance, evidence, dim, embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    run_id,
                    memory.agent,
                    memory.number,
                    memory.kind,
                    memory.text,
                    memory.created.isoformat(),
                    memory.last_accessed.isoformat(),
                    memory.importance,
                    json.dumps(list(memory.evidence)),
                    len(memory.embedding),
                    pack(memory.embedding),
                ),
            )

    def touch_memories(self, run_id: int, agent: str, numbers: Sequence[int], when: datetime) -> None:
        """Set the last access of the memories `numbers` of `agent` in `run_id` to `when`, at once."""
        if not numbers:
            return
        with self.store._transaction() as db:
            db.executemany(
                "UPDATE memories SET last_accessed = ? WHERE run_id = ? AND agent = ? AND number = ?",
                [(when.isoformat(), run_id, agent, n) for n in numbers],
            )

    def memories(self, run_id: int, agent: str) -> list[StoredMemory]:
        """Every memory of `agent` in `run_id`, in the order made."""
        rows = self.store._read(
            "SELECT * FROM memories WHERE run_id = ? AND agent = ? ORDER BY number", (run_id, agent)
        )
        return [
            StoredMemory(
                agent=row["agent"],
                number=row["number"],
                kind=row["kind"],
                text=row["text"],
                created=_time(row["created"], "creation time"),
                last_accessed=_time(row["last_accessed"], "last access"),
                importance=row["importance"],
                evidence=_evidence(row["evidence"]),
                embedding=unpack(row["embedding"], row["dim"]),
            )
            for row in rows
        ]

    def memory_agents(self, run_id: int) -> list[str]:
        """The agents that have memories in `run_id`, by name."""
        rows = self.store._read(
            "SELECT DISTINCT agent FROM memories WHERE run_id = ? ORDER BY agent", (run_id,)
        )
        return [row["agent"] for row in rows]

    def set_reflected_through(self, run_id: int, agent: str, number: int) -> None:
        """Record that `agent`'s latest reflection in `run_id` came after its memory `number`."""
        self.store._write(
            """INSERT INTO memory_state (run_id, agent, reflected_through) VALUES (?, ?, ?)
               ON CONFLICT (run_id, agent) DO UPDATE SET reflected_through = excluded.reflected_through""",
            (run_id, agent, number),
        )

    def reflected_through(self, run_id: int, agent: str) -> int:
        """The number of `agent`'s last memory before its latest reflection in `run_id` (0: none)."""
        rows = self.store._read(
            "SELECT reflected_through FROM memory_state WHERE run_id = ? AND agent = ?", (run_id, agent)
        )
        return int(rows[0][0]) if rows else 0

    def forget_from(self, run_id: int, when: datetime) -> int:
        """Delete the memories of `run_id` made at or after `when` (a step that did not finish), and
        bring each agent's reflection mark back within what is left; how many were deleted."""
        with self.store._transaction() as db:
            gone = db.execute(
                "DELETE FROM memories WHERE run_id = ? AND created >= ?", (run_id, when.isoformat())
            ).rowcount
            db.execute(
                """UPDATE memory_state SET reflected_through = MIN(reflected_through, COALESCE(
                       (SELECT MAX(number) FROM memories m
                        WHERE m.run_id = memory_state.run_id AND m.agent = memory_state.agent), 0))
                   WHERE run_id = ?""",
                (run_id,),
            )
        return int(gone)
