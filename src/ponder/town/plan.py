"""Planning and reacting (Park et al. 2023, section 4.3): a day plan in 5-8 broad chunks from
waking to sleep, each chunk broken down to hour-long pieces and those to 5-15 minute actions;
deciding whether an observation warrants a reaction; and replanning the rest of the day from now.

A plan is a list of `PlanItem`s in time order, each following the last, so a plan never has gaps
or overlaps. For a day plan and a replan the model gives each chunk's start time, as the paper's
plans do ("8:00 open the cafe"); `lay_out_at` runs each chunk until the next one starts and the
last until the plan's end (sleep, or the end of the old plan). For a decomposition the model gives
each piece's minutes; `fit_durations` scales them so that they add up to the parent's minutes. A
day plan and a replan are stored as memories of kind "plan".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from ponder.errors import ConfigError
from ponder.town.cognition import BOOLEAN, PROMPTS, ask, obj, recorder_for, statements, text
from ponder.town.contracts import Memories, Persona
from ponder.town.schedule import (
    DayPlan,
    PlanItem,
    before,
    clock,
    describe,
    lay_out,
    lay_out_at,
)
from ponder.trace import Generator, Recorder

CHUNKS = (5, 8)  # broad chunks of a day plan
GRAINS = {"hours": (30, 120), "minutes": (5, 15)}  # the minutes of each piece of a decomposition
MOST_PIECES = 12
RECALL = 5  # memories retrieved for each query
ITEM_TOKENS = 60  # room for one plan item's JSON: an 80- and a 60-character string, a time or minutes
DAY_TOKENS = 40 + CHUNKS[1] * ITEM_TOKENS  # a reply cut short fails the run: leave room for the longest
DECOMPOSE_TOKENS = 20 + MOST_PIECES * ITEM_TOKENS
REPLAN_TOKENS = 20 + CHUNKS[1] * ITEM_TOKENS
REACT_TOKENS = 120
CLOCK = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}


def chunk_schema(low: int, high: int) -> dict[str, Any]:
    """The schema of one plan step the model writes: an action, a place, and minutes in [low, high]."""
    return obj(action=text(80), where=text(60), minutes={"type": "integer", "minimum": low, "maximum": high})


def steps(key: str, low: int, high: int, fewest: int, most: int) -> dict[str, Any]:
    """The schema of an object holding under `key` from `fewest` to `most` plan steps."""
    items = {"type": "array", "items": chunk_schema(low, high), "minItems": fewest, "maxItems": most}
    return obj(**{key: items})


TIMED_CHUNK = obj(at=CLOCK, action=text(80), where=text(60))
DAY_SCHEMA = obj(
    wake=CLOCK,
    sleep=CLOCK,
    chunks={"type": "array", "items": TIMED_CHUNK, "minItems": CHUNKS[0], "maxItems": CHUNKS[1]},
)
REPLAN_SCHEMA = obj(chunks={"type": "array", "items": TIMED_CHUNK, "minItems": 1, "maxItems": CHUNKS[1]})
REACT_SCHEMA = obj(why=text(200), react=BOOLEAN)


@dataclass(frozen=True)
class Reaction:
    """Whether an agent reacts to an observation, and why."""

    react: bool
    why: str


async def plan_day(
    model: Generator,
    persona: Persona,
    memories: Memories,
    day_start: datetime,
    *,
    recorder: Recorder | None = None,
) -> DayPlan:
    """The plan of the day of `day_start` in 5-8 broad chunks from waking to sleep (sleep at or
    before the wake time counts as past midnight), from the persona's lifestyle and the memories
    retrieved of yesterday and of plans; stored as a "plan" memory."""
    recorder = recorder_for(model, recorder)
    name = persona.name
    found = statements(
        await memories.retrieve(f"what {name} did yesterday", day_start, k=RECALL)
        + await memories.retrieve(f"{name}'s plans for today", day_start, k=RECALL)
    )
    prompt = PROMPTS.render(
        "plan_day.j2",
        summary=persona.summary(),
        lifestyle=persona.lifestyle,
        home=persona.home,
        name=name,
        memories=found,
        day=day_start.strftime("%A %d %B %Y"),
        low=CHUNKS[0],
        high=CHUNKS[1],
    )
    reply = await ask(
        recorder, model, prompt, DAY_SCHEMA, name="day_plan", purpose="town-plan-day", max_tokens=DAY_TOKENS
    )
    wake = datetime.combine(day_start.date(), time.fromisoformat(reply["wake"]))
    sleep = datetime.combine(day_start.date(), time.fromisoformat(reply["sleep"]))
    if sleep <= wake:
        sleep += timedelta(days=1)
    plan = lay_out_at(wake, reply["chunks"], sleep, wrap=True)
    note = f"{name}'s plan for {day_start:%A %d %B}: {describe(plan)}; sleep at {clock(sleep)}"
    await memories.add(note, "plan", day_start)
    return plan


async def decompose(
    model: Generator,
    persona: Persona,
    item: PlanItem,
    *,
    grain: str,
    recorder: Recorder | None = None,
) -> DayPlan:
    """`item` broken into consecutive pieces of the `grain` ("hours": 30-120 minutes, "minutes":
    5-15) that fill its time exactly; `item` itself, without a call, when it is too short to hold
    two pieces."""
    if grain not in GRAINS:
        raise ConfigError(f"grain must be one of {', '.join(GRAINS)}, got {grain!r}")
    low, high = GRAINS[grain]
    if item.minutes < 2 * low:
        return [item]
    fewest = max(2, math.ceil(item.minutes / high))
    most = max(fewest, min(MOST_PIECES, item.minutes // low))
    prompt = PROMPTS.render(
        "plan_decompose.j2",
        summary=persona.summary(),
        name=persona.name,
        start=clock(item.start),
        end=clock(item.end),
        minutes=item.minutes,
        action=item.action,
        where=item.where,
        low=low,
        high=high,
        low_n=fewest,
        high_n=most,
    )
    reply = await ask(
        recorder_for(model, recorder),
        model,
        prompt,
        steps("actions", low, high, fewest, most),
        name="actions",
        purpose=f"town-plan-{grain}",
        max_tokens=DECOMPOSE_TOKENS,
    )
    return lay_out(item.start, reply["actions"], item.minutes)


async def should_react(
    model: Generator,
    persona: Persona,
    memories: Memories,
    observation: str,
    now: datetime,
    *,
    doing: str = "",
    recorder: Recorder | None = None,
) -> Reaction:
    """Whether the agent, doing `doing`, should react to `observation` at `now`, judged with the
    memories retrieved for the observation."""
    found = statements(await memories.retrieve(observation, now, k=RECALL))
    prompt = PROMPTS.render(
        "react_decide.j2",
        summary=persona.summary(),
        name=persona.name,
        now=f"{now:%A} {clock(now)}",
        doing=doing,
        observation=observation,
        memories=found,
    )
    reply = await ask(
        recorder_for(model, recorder),
        model,
        prompt,
        REACT_SCHEMA,
        name="reaction",
        purpose="town-react",
        max_tokens=REACT_TOKENS,
    )
    return Reaction(reply["react"], reply["why"])


async def replan(
    model: Generator,
    persona: Persona,
    memories: Memories,
    plan: Sequence[PlanItem],
    now: datetime,
    reason: str,
    *,
    recorder: Recorder | None = None,
) -> DayPlan:
    """`plan` with the rest of the day from `now` replaced: the items before `now` kept, the one
    under way cut short at `now`, and new items from `now` to the plan's end, stored as a "plan"
    memory. Without a call when nothing of the plan is left after `now`."""
    kept = before(plan, now)
    end = max((item.end for item in plan), default=now)
    minutes = int((end - now).total_seconds() // 60)
    if minutes < 1:
        return kept
    found = statements(await memories.retrieve(reason, now, k=RECALL))
    prompt = PROMPTS.render(
        "plan_replan.j2",
        summary=persona.summary(),
        lifestyle=persona.lifestyle,
        name=persona.name,
        now=clock(now),
        end=clock(end),
        most=CHUNKS[1],
        rest=[item for item in plan if item.end > now],
        reason=reason,
        memories=found,
    )
    reply = await ask(
        recorder_for(model, recorder),
        model,
        prompt,
        REPLAN_SCHEMA,
        name="rest_of_day",
        purpose="town-replan",
        max_tokens=REPLAN_TOKENS,
    )
    new = lay_out_at(now, reply["chunks"], end, wrap=False)
    note = f"{persona.name} changed plans at {clock(now)} because {reason}: {describe(new)}"
    await memories.add(note, "plan", now)
    return kept + new
