"""Asking an agent a question (the paper's interviews), and speaking to it: an observation it is
told of, or its inner voice. The answer comes from the memories retrieved for the question."""

from __future__ import annotations

from datetime import datetime

from ponder.town.cognition import PROMPTS, recorder_for, statements
from ponder.town.contracts import Memories, MemoryRecord, Persona
from ponder.town.schedule import clock
from ponder.trace import Generator, Recorder
from ponder.types import GenerationRequest, Message

RECALL = 8
ANSWER_TOKENS = 160
INNER_VOICE_IMPORTANCE = 8


async def interview(
    model: Generator,
    persona: Persona,
    memories: Memories,
    question: str,
    now: datetime,
    *,
    recorder: Recorder | None = None,
    max_tokens: int = ANSWER_TOKENS,
) -> str:
    """The agent's answer to `question` at `now`, from the memories retrieved for it."""
    found = statements(await memories.retrieve(question, now, k=RECALL))
    prompt = PROMPTS.render(
        "interview.j2",
        summary=persona.summary(),
        name=persona.name,
        now=f"{now:%A %d %B} {clock(now)}",
        question=question,
        memories=found,
    )
    request = GenerationRequest(messages=(Message("user", prompt),), max_tokens=max_tokens, temperature=0.0)
    completions = await recorder_for(model, recorder).generate(request, "town-interview")
    return completions[0].text.strip()


async def tell(memories: Memories, text: str, now: datetime, *, inner_voice: bool = False) -> MemoryRecord:
    """Give the agent an observation (rated as any other), or a thought in its inner voice (which
    it takes as its own wish, with a high importance)."""
    if inner_voice:
        return await memories.add(
            f"{memories.agent} thinks: {text}", "observation", now, importance=INNER_VOICE_IMPORTANCE
        )
    return await memories.add(text, "observation", now)
