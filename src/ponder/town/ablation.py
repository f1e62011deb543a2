"""The paper's ablation of the architecture, at interview time: each agent answers the same
questions from its whole memory stream ("full"), without its reflections ("no reflection"),
without its reflections and plans ("no reflection, no planning"), and with no memory at all ("no
memory"). The questions cover the paper's five categories (self-knowledge, memory, plans,
reactions, reflections), one each, written for ponder; the answers are judged pairwise elsewhere
(the arena) and the conditions ranked."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ponder.town.contracts import Memories, MemoryRecord, Persona, Scored
from ponder.town.interview import interview
from ponder.trace import Generator, Recorder

CONDITIONS: dict[str, frozenset[str] | None] = {
    "full": None,
    "no reflection": frozenset({"observation", "plan", "utterance"}),
    "no reflection, no planning": frozenset({"observation", "utterance"}),
    "no memory": frozenset(),
}
EVERY = 10**9  # latest(EVERY): the whole stream
QUESTIONS: tuple[tuple[str, str], ...] = (
    ("self-knowledge", "Tell me about yourself: who are you and what do you do?"),
    ("memory", "Who is {other}, and what do you know about them?"),
    ("plans", "What are you going to do later today?"),
    ("reactions", "Your kitchen is filling with smoke from the stove. What do you do?"),
    ("reflections", "If you could spend an hour with one person you met recently, who would it be and why?"),
)


class AblatedMemories:
    """A memory stream seen through a condition: retrieval returns only memories of the allowed
    kinds (None: every kind; an empty set: none)."""

    def __init__(self, inner: Memories, kinds: frozenset[str] | None) -> None:
        self.inner, self.kinds, self.agent = inner, kinds, inner.agent

    async def retrieve(
        self, query: str, now: datetime, k: int = 10, kinds: frozenset[str] | None = None
    ) -> list[Scored]:
        allowed = self.kinds if kinds is None or self.kinds is None else self.kinds & kinds
        if allowed is not None and not allowed:
            return []
        return await self.inner.retrieve(query, now, k, kinds=kinds if allowed is None else allowed)

    async def add(
        self,
        text: str,
        kind: str,
        now: datetime,
        *,
        importance: int | None = None,
        evidence: Sequence[int] = (),
    ) -> MemoryRecord:
        return await self.inner.add(text, kind, now, importance=importance, evidence=evidence)

    def latest(self, n: int) -> list[MemoryRecord]:
        kept = [m for m in self.inner.latest(EVERY) if self.kinds is None or m.kind in self.kinds]
        return kept[-n:] if n > 0 else []

    def importance_since_reflection(self) -> int:
        return self.inner.importance_since_reflection()

    def mark_reflected(self) -> None:
        self.inner.mark_reflected()


@dataclass(frozen=True)
class AblatedAnswer:
    agent: str
    category: str
    question: str
    condition: str
    answer: str


def questions_for(agent: str, others: Sequence[str]) -> list[tuple[str, str]]:
    """The interview's questions for `agent` (the memory question names the first other agent)."""
    other = next((o for o in others if o != agent), agent)
    return [(category, text.format(other=other)) for category, text in QUESTIONS]


async def ablation_answers(
    model: Generator,
    personas: Mapping[str, Persona],
    streams: Mapping[str, Memories],
    now: datetime,
    recorder: Recorder,
    conditions: Mapping[str, frozenset[str] | None] = CONDITIONS,
    agents: Sequence[str] | None = None,
) -> list[AblatedAnswer]:
    """Every agent's (or each of `agents`') answer to every question under every condition, as of
    `now` (the memory question names another agent of `personas`): the agents
    concurrently (their calls batch in the local engine), each one's answers in turn; the answers
    agent by agent, in the order of `personas`."""
    names = list(personas)

    async def one(name: str, persona: Persona) -> list[AblatedAnswer]:
        out = []
        for category, question in questions_for(name, names):
            for condition, kinds in conditions.items():
                seen = AblatedMemories(streams[name], kinds)
                answer = await interview(model, persona, seen, question, now, recorder=recorder)
                out.append(AblatedAnswer(name, category, question, condition, answer))
        return out

    asked = {n: p for n, p in personas.items() if agents is None or n in agents}
    each = await asyncio.gather(*(one(name, persona) for name, persona in asked.items()))
    return [a for answers in each for a in answers]
