"""The paper's measurements of a town run, as of a step: information diffusion (the share of the
agents who know each seeded fact, asked by interview and judged by the model with a fixed rubric),
relationship density (the share of ordered pairs where one knows who the other is, asked and judged
the same way), and party coordination (of the agents who knew of the party, how many stood in its
place at its time, read from the stored steps). The figures are pure functions of the judgements
and the steps; the interviews change nothing in the run."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ponder.store import TownStep
from ponder.town.cognition import BOOLEAN, PROMPTS, ask, obj
from ponder.town.contracts import Memories, Persona
from ponder.town.interview import interview
from ponder.town.load import SeedFact
from ponder.town.world import World
from ponder.trace import Generator, Recorder

JUDGE_TOKENS = 20
KNOWS = obj(knows=BOOLEAN)


@dataclass(frozen=True)
class Judged:
    """One interview: who was asked, about what (a fact's id, or "knows:NAME"), the question, the
    answer, and whether it shows the fact (or the acquaintance) known: the judge said so and, for
    a fact with keys, the answer names one of them."""

    agent: str
    about: str
    question: str
    answer: str
    knows: bool
    vetoed: bool = False  # the judge said yes, but the answer names none of the fact's keys


def diffusion(judged: Sequence[Judged], facts: Sequence[SeedFact], agents: Sequence[str]) -> dict[str, float]:
    """Per fact, the share of all agents who know it: its seeder counts as knowing, every other
    agent as judged (an agent not asked counts as not knowing)."""
    shares = {}
    for fact in facts:
        knowers = {fact.agent} | {j.agent for j in judged if j.about == fact.id and j.knows}
        shares[fact.id] = len(knowers & set(agents)) / len(agents) if agents else 0.0
    return shares


def density(judged: Sequence[Judged], agents: Sequence[str]) -> float:
    """The share of ordered pairs (a, b), a ≠ b, where a was judged to know who b is."""
    pairs = len(agents) * (len(agents) - 1)
    edges = {
        (j.agent, j.about.removeprefix("knows:")) for j in judged if j.about.startswith("knows:") and j.knows
    }
    return len(edges) / pairs if pairs else 0.0


def attendance(
    steps: Sequence[TownStep], world: World, place: str, at: datetime, invited: Sequence[str]
) -> list[str]:
    """The invited agents who stood in `place` (an area address) at the first step at or after `at`
    (empty when the run did not reach it)."""
    step = next((s for s in steps if s.time >= at), None)
    if step is None:
        return []
    agents: Mapping[str, Any] = step.state["agents"]
    return [
        name
        for name in invited
        if name in agents
        and world.contains(place, (int(agents[name]["tile"][0]), int(agents[name]["tile"][1])))
    ]


def names_a_key(answer: str, keys: Sequence[str]) -> bool:
    """Whether `answer` contains one of `keys` (ignoring case); true when there are no keys."""
    low = answer.lower()
    return not keys or any(k.lower() in low for k in keys)


async def judge(
    model: Generator,
    name: str,
    question: str,
    answer: str,
    fact: str | None,
    other: str | None,
    recorder: Recorder,
) -> bool:
    """The judge's verdict on one answer: does it show `fact` known (or `other` known, for an
    acquaintance question)?"""
    if fact is not None:
        prompt = PROMPTS.render("measure_judge.j2", name=name, question=question, answer=answer, fact=fact)
    else:
        prompt = PROMPTS.render("measure_acquainted.j2", name=name, other=other, answer=answer)
    reply = await ask(
        recorder, model, prompt, KNOWS, name="verdict", purpose="town-judge", max_tokens=JUDGE_TOKENS
    )
    return bool(reply["knows"])


async def interviews(
    model: Generator,
    personas: Mapping[str, Persona],
    streams: Mapping[str, Memories],
    facts: Sequence[SeedFact],
    now: datetime,
    recorder: Recorder,
    *,
    acquaintance: bool = True,
) -> list[Judged]:
    """Every agent but a fact's seeder asked the fact's question, and (with `acquaintance`) every
    agent asked whether it knows each other one; each answer judged (a fact's answer must also name
    one of its keys). The agents are interviewed
    concurrently (their calls batch in the local engine), each one's questions in turn, so that
    each retrieval sees the last-access times the one before left; the judgements come agent by
    agent, in the order of `personas`."""

    async def one(name: str, persona: Persona) -> list[Judged]:
        out = []
        for fact in facts:
            if name == fact.agent:
                continue
            answer = await interview(model, persona, streams[name], fact.question, now, recorder=recorder)
            said = await judge(model, name, fact.question, answer, fact.text, None, recorder)
            keyed = names_a_key(answer, fact.keys)
            out.append(Judged(name, fact.id, fact.question, answer, said and keyed, said and not keyed))
        for other in personas if acquaintance else ():
            if other == name:
                continue
            question = f"Do you know {other}? Who are they?"
            answer = await interview(model, persona, streams[name], question, now, recorder=recorder)
            knows = await judge(model, name, question, answer, None, other, recorder)
            out.append(Judged(name, f"knows:{other}", question, answer, knows))
        return out

    each = await asyncio.gather(*(one(name, persona) for name, persona in personas.items()))
    return [j for judged in each for j in judged]
