"""Reflection (Park et al. 2023, section 4.2): when the importance of what an agent lived through
since its last reflection adds up past a threshold, it asks itself the 3 most salient high-level
questions about its latest memories, retrieves memories for each, and stores the insights it draws
as memories of kind "reflection" that cite the memories they rest on.

An insight's evidence keeps only ids among the memories retrieved for its question (a reflection
may cite reflections, so reflections form a tree); an insight left with no such evidence is
dropped, so every stored reflection rests on something the agent remembers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ponder.town.cognition import PROMPTS, ask, obj, recorder_for, statements, text
from ponder.town.contracts import Memories, MemoryRecord, Persona
from ponder.trace import Generator, Recorder

THRESHOLD = 150  # summed importance since the last reflection that triggers the next one
LATEST = 100  # memories the questions are asked about
QUESTIONS = 3
PER_QUESTION = 10  # memories retrieved for each question
INSIGHTS = 5  # most insights drawn from each question
QUESTIONS_TOKENS = 200
INSIGHTS_TOKENS = 400

QUESTIONS_SCHEMA = obj(
    questions={"type": "array", "items": text(200), "minItems": QUESTIONS, "maxItems": QUESTIONS}
)
INSIGHTS_SCHEMA = obj(
    insights={
        "type": "array",
        "items": obj(
            insight=text(300),
            evidence={"type": "array", "items": {"type": "integer", "minimum": 0}, "maxItems": PER_QUESTION},
        ),
        "minItems": 1,
        "maxItems": INSIGHTS,
    }
)


def should_reflect(memories: Memories, threshold: int = THRESHOLD) -> bool:
    """Whether the importance summed since the last reflection has reached `threshold`."""
    return memories.importance_since_reflection() >= threshold


def cited(evidence: list[Any], allowed: set[int]) -> tuple[int, ...]:
    """The ids of `evidence` that are among `allowed`, in order and without repeats."""
    return tuple(dict.fromkeys(e for e in evidence if isinstance(e, int) and e in allowed))


async def reflect(
    memories: Memories,
    model: Generator,
    persona: Persona,
    now: datetime,
    *,
    recorder: Recorder | None = None,
) -> list[MemoryRecord]:
    """Reflect on the latest memories at `now`: ask for the salient questions, retrieve for each,
    store each insight with its evidence as a "reflection" memory, and start counting towards the
    next reflection. Returns the reflections stored (none, and no call, when there are no memories)."""
    latest = memories.latest(LATEST)
    if not latest:
        return []
    recorder = recorder_for(model, recorder)
    summary = persona.summary()
    prompt = PROMPTS.render("reflect_questions.j2", summary=summary, name=persona.name, memories=latest)
    reply = await ask(
        recorder,
        model,
        prompt,
        QUESTIONS_SCHEMA,
        name="questions",
        purpose="town-reflect-questions",
        max_tokens=QUESTIONS_TOKENS,
    )
    stored: list[MemoryRecord] = []
    for question in reply["questions"]:
        found = statements(await memories.retrieve(question, now, k=PER_QUESTION))
        if not found:
            continue
        prompt = PROMPTS.render(
            "reflect_insights.j2",
            summary=summary,
            name=persona.name,
            memories=found,
            question=question,
            most=INSIGHTS,
        )
        answer = await ask(
            recorder,
            model,
            prompt,
            INSIGHTS_SCHEMA,
            name="insights",
            purpose="town-reflect-insights",
            max_tokens=INSIGHTS_TOKENS,
        )
        allowed = {m.id for m in found}
        for item in answer["insights"]:
            evidence = cited(item["evidence"], allowed)
            if evidence:
                stored.append(await memories.add(item["insight"], "reflection", now, evidence=evidence))
    memories.mark_reflected()
    return stored
