"""The town's small contracts, shared by the memory stream, the cognition (reflection, planning,
dialogue) and the world: a memory record and its retrieval scores, the retrieval weights, a
persona, and the `Memories` protocol the cognition reads and writes through.

Simulation time is a naive `datetime` on the town's clock; recency counts simulated hours since a
memory was last accessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

KINDS = ("observation", "plan", "reflection", "utterance")


@dataclass(frozen=True)
class MemoryRecord:
    """One memory of one agent: what it says, what kind it is (one of KINDS), when it was made and
    last retrieved (simulation time), how important it is (1-10), and the ids of the memories it
    rests on (a reflection's evidence; reflections may cite reflections)."""

    id: int
    agent: str
    kind: str
    text: str
    created: datetime
    last_accessed: datetime
    importance: int
    evidence: tuple[int, ...] = ()


@dataclass(frozen=True)
class Weights:
    """How retrieval weighs its three scores, and the recency decay per simulated hour."""

    recency: float = 1.0
    importance: float = 1.0
    relevance: float = 1.0
    decay: float = 0.995


@dataclass(frozen=True)
class Scored:
    """A retrieved memory with its three scores, each min-max normalised over the candidates, and
    their weighted sum."""

    memory: MemoryRecord
    recency: float
    importance: float
    relevance: float
    score: float


@dataclass(frozen=True)
class Persona:
    """Who an agent is: its name, age, innate traits, the facts it starts with (each becomes a
    memory), its lifestyle (when it wakes and sleeps, what its days hold), where it lives, and
    what it thinks of the others it knows (name → relationship); and what it is currently about,
    as the paper's agent descriptions say (a scenario's seeded facts of this agent)."""

    name: str
    age: int
    traits: str
    facts: tuple[str, ...]
    lifestyle: str
    home: str
    relationships: dict[str, str] = field(default_factory=dict)
    currently: tuple[str, ...] = ()

    def summary(self) -> str:
        """The short description every prompt about the agent starts from."""
        now = "".join(f"\nCurrently: {c}" for c in self.currently)
        return (
            f"Name: {self.name} (age {self.age})\nInnate traits: {self.traits}\n"
            + "\n".join(self.facts)
            + now
        )


class Memories(Protocol):
    """One agent's memory stream, as the cognition uses it."""

    agent: str

    async def add(
        self,
        text: str,
        kind: str,
        now: datetime,
        *,
        importance: int | None = None,
        evidence: Sequence[int] = (),
    ) -> MemoryRecord:
        """Store a memory made at `now`; its importance is rated by the model when not given."""
        ...

    async def retrieve(
        self, query: str, now: datetime, k: int = 10, kinds: frozenset[str] | None = None
    ) -> list[Scored]:
        """The `k` memories (of `kinds` only, when given) that score highest for `query` at `now`,
        best first; each one's last access becomes `now`."""
        ...

    def latest(self, n: int) -> list[MemoryRecord]:
        """The `n` most recently made memories, newest last."""
        ...

    def importance_since_reflection(self) -> int:
        """The summed importance of the memories made since the last reflection."""
        ...

    def mark_reflected(self) -> None:
        """Start counting importance towards the next reflection from now."""
        ...
