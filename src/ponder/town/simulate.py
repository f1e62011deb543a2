"""The town's loop: a game clock of `step_minutes` a step; in each step every agent, concurrently,
perceives within its radius (the `attention` nearest new things become observations in its memory
stream; an idle object's is rated 1 without asking the model), plans its day when the day is new
(then decomposes the current chunk into hours and the current hour into 5-15 minute actions, when
it reaches them), decides whether what it was told between steps (an observation or its inner voice, see
`interview.tell`) calls for re-planning the rest of its day, reflects when its importance since
the last reflection passes the threshold,
and walks along an A* path towards the place its current action names (an agent knows from the
start the town's buildings and places, and its own home with every room and object in it; the
rooms and objects of the others it learns by seeing them). Then each pair of agents awake and within
sight may talk (one decides; the conversation is stored in both streams, and each then decides whether
to re-plan the rest of its day). The world's object states follow the actions done at them.

Each finished step is written to the store (`town_steps`) with every agent's state, so a run
replays step by step and a stopped one resumes from its last step (the memories a killed step had
made are forgotten, and the step is taken again); every model call goes to the
calls table as it is made. A token budget per simulated hour and per run stops the run cleanly
at the end of the step that reaches it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ponder.errors import ConfigError
from ponder.models import Embedder, Model
from ponder.store import Store, StoredMemories, StoredSteps, TownStep
from ponder.town.contracts import Weights
from ponder.town.converse import Talker, converse, wants_to_talk
from ponder.town.load import Town
from ponder.town.memory import MemoryStream
from ponder.town.paths import NoPath, path_to
from ponder.town.plan import decompose, plan_day, replan, should_react
from ponder.town.reflect import reflect, should_reflect
from ponder.town.resident import Resident, place_for
from ponder.town.spatial import SpatialMemory, perceive
from ponder.town.world import IDLE as IDLE_STATE

RUN_KIND = "town"
WALK_TILES = 12  # tiles an agent walks in a 10-minute step
ATTENTION = 3  # new observations taken in per step
TALK_COOLDOWN = timedelta(hours=1)
TALK_TURNS = 4
IDLE = f" is {IDLE_STATE}"
IDLE_IMPORTANCE = 1  # an idle object is mundane: rated without a call, as the paper's own code does


@dataclass(frozen=True)
class TownBudget:
    """Completion and prompt tokens the whole town may spend per simulated hour and per run (None:
    no cap); checked at the end of each step."""

    tokens_per_hour: int | None = None
    tokens: int | None = None


@dataclass(frozen=True)
class TownRun:
    """How a run went: its id, the steps done (all of them, resumed ones included), why it
    stopped ("done" or "budget: …"), the simulation time it reached, and its tokens."""

    run_id: int
    steps: int
    stopped_by: str
    time: datetime
    tokens: int


class Simulation:
    """The town `town` run as run `run_id` of `store`, its agents thinking with `model` and
    remembering with `embedder`."""

    def __init__(
        self,
        town: Town,
        model: Model,
        embedder: Embedder,
        store: Store,
        run_id: int,
        *,
        step_minutes: int = 10,
        weights: Weights | None = None,
    ) -> None:
        if step_minutes < 1:
            raise ConfigError(f"step_minutes must be at least 1, got {step_minutes}")
        self.town, self.model, self.store, self.run_id = town, model, store, run_id
        self.step_minutes = step_minutes
        self.world = town.world
        self.steps = StoredSteps(store)
        last = self.steps.last_step(run_id)
        StoredMemories(store).forget_from(run_id, last.time if last else town.start_time)
        self.residents = {
            name: Resident(
                persona,
                MemoryStream(
                    name,
                    embedder,
                    model,
                    weights,
                    store,
                    run_id,
                    sink=store.call_sink(run_id, f"town/{name}"),
                    about=persona.summary(),
                ),
                SpatialMemory(name).learn(known_at_start(town, persona.home)),
                town.start[name],
            )
            for name, persona in town.personas.items()
        }
        self.step = last.step if last else 0
        self.now = last.time if last else town.start_time
        if last:
            for name, state in last.state["agents"].items():
                self.residents[name].restore(state)
            for address, state in last.state["objects"].items():
                self.world.set_state(address, state)

    def tokens(self) -> int:
        """Prompt and completion tokens every agent's calls have cost so far in this process."""
        return sum(
            c.usage.prompt_tokens + c.usage.completion_tokens
            for r in self.residents.values()
            for c in r.memories.recorder.calls
        )

    async def seed(self) -> None:
        """At the first step only: each persona's facts, whom it knows ("Rosa Delgado knows Kofi
        Okafor: …", from its relationships) and the scenario's seeded facts become the agents' first
        memories, as the paper seeds its agents' memories from their descriptions."""
        if self.step or any(len(r.memories) for r in self.residents.values()):
            return
        for r in self.residents.values():
            for line in r.persona.facts:
                await r.memories.add(line, "observation", self.now)
            for other, relationship in r.persona.relationships.items():
                await r.memories.add(f"{r.name} knows {other}: {relationship}", "observation", self.now)
        for seeded in self.town.scenario.facts:
            await self.residents[seeded.agent].memories.add(
                seeded.text, "observation", self.now, importance=8
            )

    async def run(
        self,
        hours: float,
        budget: TownBudget | None = None,
        on_step: Callable[[int, datetime], None] | None = None,
        after_step: Callable[[Simulation], Awaitable[None]] | None = None,
    ) -> TownRun:
        """Run until `hours` of simulation time from the start of the scenario have passed (a
        resumed run goes on from its last step), or the budget is spent; `after_step` is awaited
        after each stored step (measurements at fixed times)."""
        budget = budget or TownBudget()
        end = self.town.start_time + timedelta(hours=hours)
        await self.seed()
        spent_at_start, hour_start, hour_tokens = self.tokens(), self.now, self.tokens()
        stopped_by = "done"
        while self.now < end:
            await self.advance()
            if on_step is not None:
                on_step(self.step, self.now)
            if after_step is not None:
                await after_step(self)
            spent = self.tokens()
            if self.now - hour_start >= timedelta(hours=1):
                hour_start, hour_tokens = self.now, spent
            if budget.tokens is not None and spent - spent_at_start >= budget.tokens:
                stopped_by = "budget: tokens"
                break
            if budget.tokens_per_hour is not None and spent - hour_tokens >= budget.tokens_per_hour:
                stopped_by = "budget: tokens per hour"
                break
        return TownRun(self.run_id, self.step, stopped_by, self.now, self.tokens())

    async def advance(self) -> None:
        """One step of the clock, stored when it ends."""
        now = self.now
        for r in self.residents.values():
            r.said = []
        await asyncio.gather(*(self.think(r, now) for r in self.residents.values()))
        await self.talk(now)
        for r in self.residents.values():
            self.move(r, now)
        self.step += 1
        self.now = now + timedelta(minutes=self.step_minutes)
        self.steps.add_step(self.run_id, TownStep(self.step, self.now, self.snapshot()))

    def snapshot(self) -> dict[str, Any]:
        return {
            "agents": {name: r.state(self.now) for name, r in self.residents.items()},
            "objects": self.world.states(),
        }

    async def think(self, r: Resident, now: datetime) -> None:
        """Perceive, plan, react to what the agent was told since the last step (`tell`), and
        reflect (one agent, one step)."""
        others = {n: o.tile for n, o in self.residents.items() if n != r.name}
        seen = perceive(self.world, r.tile, others, me=r.name)
        r.spatial = r.spatial.update(seen)
        notes = [f"{o.address} is {o.state}" for o in seen.objects] + [
            f"{a.name} is {self.residents[a.name].activity(now)}" for a in seen.agents
        ]
        new = [n for n in notes if n not in r.seen][:ATTENTION]
        r.seen = notes
        for note in new:
            await r.memories.add(
                note, "observation", now, importance=IDLE_IMPORTANCE if note.endswith(IDLE) else None
            )
        await self.plan(r, now)
        since = now - timedelta(minutes=self.step_minutes)
        told: list[str] = []
        for m in reversed(r.memories.records):  # the newest last: stop at the previous step
            if m.created <= since:
                break
            if m.kind == "observation" and m.created < now:
                told.insert(0, m.text)
        if told:
            await self.react(r, now, "; ".join(told))
        if should_reflect(r.memories):
            await reflect(r.memories, self.model, r.persona, now, recorder=r.memories.recorder)

    async def plan(self, r: Resident, now: datetime) -> None:
        """The day's plan when the day is new; the current chunk's hours and hour's actions when
        they begin."""
        rec = r.memories.recorder
        if r.day != now.date():
            r.day = now.date()
            day_start = datetime.combine(now.date(), datetime.min.time())
            r.chunks = await plan_day(self.model, r.persona, r.memories, day_start, recorder=rec)
            r.hours, r.actions = [], []
        for coarse, fine, grain in ((r.chunks, "hours", "hours"), (r.hours, "actions", "minutes")):
            item = next((i for i in coarse if i.start <= now < i.end), None)
            pieces: list[Any] = getattr(r, fine)
            if item is not None and not any(p.start <= now < p.end for p in pieces):
                setattr(r, fine, await decompose(self.model, r.persona, item, grain=grain, recorder=rec))
                if fine == "hours":
                    r.actions = []

    async def talk(self, now: datetime) -> None:
        """Each pair of agents awake and within sight of each other may talk once a step, at most
        once an hour: the pairs are decided in turn (an agent talks once a step), then their
        conversations, which share no agent, are held concurrently."""
        busy: set[str] = set()
        chats: list[tuple[Resident, Resident]] = []
        names = sorted(self.residents)
        for i, a_name in enumerate(names):
            a = self.residents[a_name]
            for b_name in names[i + 1 :]:
                b = self.residents[b_name]
                if a_name in busy or b_name in busy or not (a.awake(now) and b.awake(now)):
                    continue
                if b_name not in {s.name for s in perceive(self.world, a.tile, {b_name: b.tile}).agents}:
                    continue
                if now - a.last_talk.get(b_name, datetime.min) < TALK_COOLDOWN:
                    continue
                if await wants_to_talk(
                    self.model,
                    a.persona,
                    b_name,
                    a.memories,
                    now,
                    context=f"{b_name} is {b.activity(now)}",
                    doing=a.activity(now),
                    recorder=a.memories.recorder,
                ):
                    busy |= {a_name, b_name}
                    chats.append((a, b))
        await asyncio.gather(*(self.chat(a, b, now) for a, b in chats))

    async def chat(self, a: Resident, b: Resident, now: datetime) -> None:
        """A conversation `a` opens with `b`, stored in both streams; then each decides whether it
        calls for re-planning."""
        lines = await converse(
            Talker(a.persona, a.memories, self.model, a.memories.recorder, a.activity(now)),
            Talker(b.persona, b.memories, self.model, b.memories.recorder, b.activity(now)),
            now,
            max_turns=TALK_TURNS,
        )
        a.last_talk[b.name] = b.last_talk[a.name] = now
        for speaker, text in lines:
            self.residents[speaker].said.append(text)
        summary = "; ".join(f"{s}: {t}" for s, t in lines)
        for r, other in ((a, b), (b, a)):
            await self.react(r, now, f"a conversation with {other.name}: {summary}")

    async def react(self, r: Resident, now: datetime, observation: str) -> None:
        """Re-plan the rest of the day when the agent decides the observation calls for it."""
        rec = r.memories.recorder
        doing = r.activity(now)
        reaction = await should_react(
            self.model, r.persona, r.memories, observation, now, doing=doing, recorder=rec
        )
        if reaction.react and r.chunks:
            r.chunks = await replan(
                self.model, r.persona, r.memories, r.chunks, now, reaction.why, recorder=rec
            )
            r.hours, r.actions = [], []

    def move(self, r: Resident, now: datetime) -> None:
        """Walk towards the place the current action names, up to WALK_TILES tiles; on arrival at an
        object, its state becomes the action."""
        item = r.doing(now)
        home = r.persona.home
        where = place_for(item.where if item else home, list(r.spatial.known), home)
        if where != r.target or not r.path:
            r.target = where
            try:
                r.path = path_to(self.world, r.tile, where)[1:]
            except NoPath:
                r.path = []
        steps, r.path = r.path[:WALK_TILES], r.path[WALK_TILES:]
        if steps:
            r.tile = steps[-1]
        if not r.path and item is not None and self.world.is_object(where):
            self.world.set_state(where, item.action)


def known_at_start(town: Town, home: str) -> list[str]:
    """What an agent knows of the town when a run starts: the town's top-level places, and its own
    home with everything in it."""
    return [a.address for a in town.world.root.areas] + [home, *town.world.addresses(home)]


def start_town_run(store: Store, town_name: str, model: Model, config: dict[str, Any]) -> int:
    """A new run of kind "town" in the store; its id."""
    return store.start_run(RUN_KIND, model.model_id, "town", {"task": f"town:{town_name}", **config})
