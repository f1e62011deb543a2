"""A town run from a session: started or resumed, run for some simulated hours; and the questions
and words a person puts to one of its agents between runs."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ponder.embeddings import get_embedder
from ponder.embeddings.cached import CachedEmbedder
from ponder.errors import ConfigError
from ponder.eval.session import Session
from ponder.models import Embedder
from ponder.store import Store, StoredMemories, StoredSteps, StoredVectors
from ponder.town.ablation import AblatedAnswer, ablation_answers
from ponder.town.contracts import Memories
from ponder.town.costs import Call, HourCost, hourly_costs
from ponder.town.interview import interview, tell
from ponder.town.load import Town, default_town, load_town
from ponder.town.measure import Judged, attendance, density, diffusion, interviews, names_a_key
from ponder.town.memory import MemoryStream
from ponder.town.simulate import RUN_KIND, Simulation, TownBudget, TownRun, start_town_run
from ponder.trace import Recorder
from ponder.types import Compute, Result, Task, Trace

MEASURE_KIND = "town-measure"
ABLATION_KIND = "town-ablation"


def town_of(folder: Path | None) -> Town:
    """The town in `folder`, or the default one."""
    return default_town() if folder is None else load_town(folder)


def embedder_for(session: Session, spec: str | None) -> Embedder:
    """The embedder of `spec` behind the store's embeddings cache."""
    return CachedEmbedder(get_embedder(spec), StoredVectors(session.store))


def town_run_id(session: Session, run_id: int) -> int:
    """`run_id` when it is a town run of the session's store; ConfigError naming it otherwise."""
    found = [r for r in session.store.runs() if r["id"] == run_id]
    if not found or found[0]["kind"] != RUN_KIND:
        raise ConfigError(f"run {run_id} is not a town run of store {session.store.path}")
    return run_id


async def run_town(
    session: Session,
    hours: float,
    *,
    folder: Path | None = None,
    resume: int | None = None,
    embedder: str | None = None,
    step_minutes: int = 10,
    budget: TownBudget | None = None,
    on_step: Callable[[int, datetime], None] | None = None,
    measure_every: float | None = None,
    measure_acquaintance: bool = False,
) -> TownRun:
    """Run the town (a new run, or `resume`'s) until `hours` of simulation time from its start;
    with `measure_every`, measure it (`measure_town`; the acquaintance pairs only with
    `measure_acquaintance`) each time that many simulated hours from the start have passed."""
    if hours <= 0:
        raise ConfigError(f"hours must be positive, got {hours}")
    town = town_of(folder)
    model = session.cached(session.model)
    if resume is None:
        config = {
            "town": str(folder or "default"),
            "step_minutes": step_minutes,
            "embedder": embedder or "local",
        }
        run_id = start_town_run(session.store, town.world.name, model, config)
    else:
        run_id = town_run_id(session, resume)
        session.store.reopen_run(run_id)
    sim = Simulation(
        town, model, embedder_for(session, embedder), session.store, run_id, step_minutes=step_minutes
    )
    after_step = None
    if measure_every is not None:
        if measure_every <= 0:
            raise ConfigError(f"measure_every must be positive, got {measure_every}")
        every = timedelta(hours=measure_every)

        async def measure_on_the_hour(s: Simulation) -> None:
            elapsed = s.now - town.start_time
            if elapsed // every > (elapsed - timedelta(minutes=s.step_minutes)) // every:
                await measure_town(
                    session, run_id, folder=folder, embedder=embedder, acquaintance=measure_acquaintance
                )

        after_step = measure_on_the_hour
    result = await sim.run(hours, budget, on_step, after_step)
    session.store.finish_run(run_id, "done" if result.stopped_by == "done" else "stopped")
    return result


@dataclass(frozen=True)
class Measured:
    """The measurements of a town run as of its last step, kept as run `run_id` (kind
    "town-measure", one result per judged interview)."""

    run_id: int
    time: datetime
    diffusion: dict[str, float]
    density: float | None
    attendance: dict[str, tuple[list[str], list[str]]]
    judged: list[Judged]


async def measure_town(
    session: Session,
    run_id: int,
    *,
    folder: Path | None = None,
    embedder: str | None = None,
    acquaintance: bool = True,
) -> Measured:
    """Interview every agent about the seeded facts (and, with `acquaintance`, about each other)
    as of the run's last step, judge the answers, and compute diffusion, density and, for each
    event whose time the run has reached, who of those who knew of it were there."""
    town = town_of(folder)
    run_id = town_run_id(session, run_id)
    steps = StoredSteps(session.store).steps(run_id)
    now = steps[-1].time if steps else town.start_time
    model = session.cached(session.model)
    streams = read_only_streams(session, run_id, town, embedder)
    measure_id = session.store.start_run(
        MEASURE_KIND, model.model_id, "interview", {"task": f"town-run:{run_id}", "at": now.isoformat()}
    )
    recorder = Recorder(model, sink=session.store.call_sink(measure_id, "town-measure"))
    judged = await interviews(
        model, town.personas, streams, town.scenario.facts, now, recorder, acquaintance=acquaintance
    )
    for j in judged:
        task = Task(f"{j.about}/{j.agent}", j.question, None, "open")
        session.store.add_result(
            measure_id,
            Result(task, "interview", j.answer, j.answer, j.knows, Trace(()), Compute(seconds=0.0)),
        )
    session.store.finish_run(measure_id, "done")
    agents = list(town.personas)
    shares = diffusion(judged, town.scenario.facts, agents)
    came = {}
    for fact in town.scenario.facts:
        if fact.place is not None and fact.at is not None and now >= fact.at:
            knew = sorted({fact.agent} | {j.agent for j in judged if j.about == fact.id and j.knows})
            came[fact.id] = (knew, attendance(steps, town.world, fact.place, fact.at, knew))
    return Measured(measure_id, now, shares, density(judged, agents) if acquaintance else None, came, judged)


@dataclass(frozen=True)
class Measurement:
    """A stored measurement of a town run: when, each seeded fact's diffusion, and the
    relationship density (None when the acquaintance questions were not asked)."""

    at: datetime
    diffusion: dict[str, float]
    density: float | None


def measurements_of(store: Store, run_id: int, folder: Path | None = None) -> list[Measurement]:
    """Every measurement stored for the run, in time order, from the stored judgements (an answer
    counting only when it names one of the fact's keys, as `interviews` counts it)."""
    town = town_of(folder)
    if (store.run(run_id) or {}).get("kind") != RUN_KIND:
        raise ConfigError(f"run {run_id} is not a town run of store {store.path}")
    out = []
    for run in store.runs():
        config = json.loads(run["config"] or "{}")
        if run["kind"] != MEASURE_KIND or config.get("task") != f"town-run:{run_id}":
            continue
        keys = {f.id: f.keys for f in town.scenario.facts}
        judged = []
        for r in store.results(run["id"]):
            about, agent = r.task.id.split("/", 1)
            answer = r.answer or ""
            judged.append(
                Judged(
                    agent,
                    about,
                    r.task.question,
                    answer,
                    bool(r.correct) and names_a_key(answer, keys.get(about, ())),
                )
            )
        agents = list(town.personas)
        asked = any(j.about.startswith("knows:") for j in judged)
        out.append(
            Measurement(
                datetime.fromisoformat(config["at"]),
                diffusion(judged, town.scenario.facts, agents),
                density(judged, agents) if asked else None,
            )
        )
    return sorted(out, key=lambda m: m.at)


def costs_of(store: Store, run_id: int) -> list[HourCost]:
    """The run's cost per simulated hour (`costs.hourly_costs`) from its stored steps and calls."""
    run = store.run(run_id) or {}
    if run.get("kind") != RUN_KIND:
        raise ConfigError(f"run {run_id} is not a town run of store {store.path}")
    finished = StoredSteps(store).finished(run_id)
    if any(at is None for _, at in finished):
        raise ConfigError(
            f"run {run_id}'s steps were stored without their wall-clock times; its cost per hour is unknown"
        )
    calls = [
        Call(c["created_at"], c["latency_s"], c["prompt_tokens"], c["completion_tokens"], bool(c["cached"]))
        for c in store.calls(run_id)
    ]
    minutes = int(json.loads(run.get("config") or "{}").get("step_minutes", 10))
    measured = [
        (float(r["created_at"]), float(r["finished_at"]))
        for r in store.runs()
        if r["kind"] == MEASURE_KIND
        and r["finished_at"] is not None
        and json.loads(r["config"] or "{}").get("task") == f"town-run:{run_id}"
    ]
    return hourly_costs([(t, at) for t, at in finished if at is not None], calls, minutes, measured)


async def ablate_town(
    session: Session,
    run_id: int,
    *,
    folder: Path | None = None,
    embedder: str | None = None,
    agents: Sequence[str] | None = None,
) -> tuple[datetime, list[AblatedAnswer]]:
    """Every agent's (or each of `agents`') answers to the ablation's questions under every
    condition, as of the run's last step (the run is not changed); the calls go to the calls table
    under a run of kind "town-ablation"."""
    town = town_of(folder)
    unknown = [a for a in agents or () if a not in town.personas]
    if unknown:
        raise ConfigError(f"--agent {unknown[0]!r}: no such agent; the town's are {', '.join(town.personas)}")
    run_id = town_run_id(session, run_id)
    last = StoredSteps(session.store).last_step(run_id)
    now = last.time if last is not None else town.start_time
    model = session.cached(session.model)
    streams = read_only_streams(session, run_id, town, embedder)
    ablation_id = session.store.start_run(
        ABLATION_KIND, model.model_id, "interview", {"task": f"town-run:{run_id}", "at": now.isoformat()}
    )
    recorder = Recorder(model, sink=session.store.call_sink(ablation_id, "town-ablation"))
    answers = await ablation_answers(model, town.personas, streams, now, recorder, agents=agents)
    session.store.finish_run(ablation_id, "done")
    return now, answers


async def ask_agent(
    session: Session,
    run_id: int,
    agent: str,
    question: str,
    *,
    folder: Path | None = None,
    embedder: str | None = None,
) -> tuple[datetime, str]:
    """The agent's answer to `question` as of the run's last step (the run is not changed); the
    simulation time and the answer."""
    stream, now, town = _stream(session, run_id, agent, folder, embedder)
    stream.detach()
    answer = await interview(session.cached(session.model), town.personas[agent], stream, question, now)
    return now, answer


async def tell_agent(
    session: Session,
    run_id: int,
    agent: str,
    text: str,
    *,
    inner_voice: bool = False,
    folder: Path | None = None,
    embedder: str | None = None,
) -> datetime:
    """Give the agent an observation, or a thought in its inner voice, in its run's memory (it acts
    on it when the run goes on); the simulation time it is given at: a second before the last
    step ended, so that it counts as part of the finished run (what a step that did not finish had
    made is forgotten first, as a resumed run does)."""
    last = StoredSteps(session.store).last_step(town_run_id(session, run_id))
    StoredMemories(session.store).forget_from(run_id, last.time if last else town_of(folder).start_time)
    stream, now, _ = _stream(session, run_id, agent, folder, embedder)
    told = now - timedelta(seconds=1)
    await tell(stream, text, told, inner_voice=inner_voice)
    return told


def read_only_streams(session: Session, run_id: int, town: Town, embedder: str | None) -> dict[str, Memories]:
    """Every agent's memory stream of the run as stored, detached: asking changes nothing."""
    model = session.cached(session.model)
    streams: dict[str, Memories] = {}
    for name, persona in town.personas.items():
        stream = MemoryStream(
            name,
            embedder_for(session, embedder),
            model,
            store=session.store,
            run_id=run_id,
            about=persona.summary(),
        )
        stream.detach()
        streams[name] = stream
    return streams


def _stream(
    session: Session, run_id: int, agent: str, folder: Path | None, embedder: str | None
) -> tuple[MemoryStream, datetime, Town]:
    town = town_of(folder)
    run_id = town_run_id(session, run_id)
    if agent not in town.personas:
        raise ConfigError(f"no agent {agent!r} in the town: expected one of {', '.join(town.personas)}")
    last = StoredSteps(session.store).last_step(run_id)
    now = last.time if last is not None else town.start_time
    model = session.cached(session.model)
    stream = MemoryStream(
        agent,
        embedder_for(session, embedder),
        model,
        store=session.store,
        run_id=run_id,
        about=town.personas[agent].summary(),
    )
    return stream, now, town
