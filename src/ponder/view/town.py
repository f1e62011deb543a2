"""The replay of a town run: `/towns/{id}` draws the town's map and every stored step on a canvas
(the data embedded in the page as JSON), and `/towns/{id}/agents/{name}?step=N` is one agent's
panel as of a step, as JSON: its plan, its latest memories with their retrieval scores at that
time, and its reflections with the memories they cite.

The page reads the run's steps in one query and its town's map from the town's files; an agent's
memories are read only when its panel is asked for.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from ponder.errors import ConfigError, DataError
from ponder.store import StoredMemories, StoredMemory, StoredSteps, TownStep
from ponder.town.contracts import Weights
from ponder.town.load import Town, default_town, load_town
from ponder.town.memory import record_of
from ponder.town.scores import score_all
from ponder.town.simulate import RUN_KIND
from ponder.town.world import IDLE, World
from ponder.view.context import BadRequest, Context, NotFound, PageError
from ponder.view.render import render

LATEST = 20  # memories and reflections shown in an agent's panel
WALL_CELL, STREET_CELL = -1, 0
CAPTION = (
    "Scores as retrieval would give them at {time}, each min-max normalised over the {n} memories "
    "made by then: recency is {decay} ** hours since the memory was made, importance its 1-10 "
    "rating, relevance the cosine similarity to {query}. Weighted sum with weights {weights}."
)


def json_response(body: Any, status: int = 200) -> Response:
    """`body` as JSON with `<`, `>` and `&` written as escapes, so no stored text reads as markup
    even where the reply is shown as a page."""
    text = json.dumps(body, ensure_ascii=False)
    for ch, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(ch, escape)
    return Response(text, status_code=status, media_type="application/json")


def town_map(world: World) -> dict[str, Any]:
    """The map as the page draws it: its size; `tiles`, one list per row of one number per tile
    (-1 a wall, 0 the town's street, k the area `areas[k - 1]`, the deepest covering the tile);
    `areas` (address, name, and `top`: the index in `tops` of the top-level area it is in);
    `tops`, the names of the top-level areas (the legend); and the objects with their tiles."""
    tops = [a.name for a in world.root.areas]
    areas = [a for a in world.areas() if a.address]
    index = {a.address: i + 1 for i, a in enumerate(areas)}
    tiles: list[list[int]] = []
    for y in range(world.height):
        row = []
        for x in range(world.width):
            if not world.is_walkable((x, y)):
                row.append(WALL_CELL)
            else:
                row.append(index.get(world.area_at((x, y)).address, STREET_CELL))
        tiles.append(row)
    return {
        "width": world.width,
        "height": world.height,
        "tiles": tiles,
        "tops": tops,
        "areas": [
            {"address": a.address, "name": a.name, "top": tops.index(a.address.split(":")[0])} for a in areas
        ],
        "objects": [
            {"address": o.address, "name": o.name, "tiles": [list(t) for t in o.tiles]}
            for o in world.objects()
        ],
    }


def replay_steps(steps: Sequence[TownStep]) -> list[dict[str, Any]]:
    """What the page needs of each step: its number and time, each agent's tile, action, place and
    what it said in the step, and the objects whose state is not idle (by address)."""
    out = []
    for step in steps:
        agents = {}
        for name, agent in step.state.get("agents", {}).items():
            agents[name] = {
                "tile": agent.get("tile"),
                "action": agent.get("action") or "",
                "where": agent.get("where") or "",
                "said": [str(line) for line in agent.get("said") or ()],
            }
        objects = {a: s for a, s in step.state.get("objects", {}).items() if s != IDLE}
        out.append({"step": step.step, "time": step.time.isoformat(), "agents": agents, "objects": objects})
    return out


def agent_names(town: Town, steps: Sequence[TownStep]) -> list[str]:
    """The town's agents in its order, then any other agent the steps hold, by name."""
    names = list(town.personas)
    seen = {n for s in steps for n in s.state.get("agents", {})}
    return names + sorted(seen - set(names))


def _under_way(item: dict[str, Any], now: datetime) -> bool:
    try:
        start = datetime.fromisoformat(str(item["start"]))
        return start <= now < start + timedelta(minutes=float(item["minutes"]))
    except (KeyError, TypeError, ValueError):
        return False


def plan_view(plan: dict[str, Any], now: datetime) -> dict[str, list[dict[str, Any]]]:
    """The agent's plan at three grains (the day's chunks, the hours of the chunk under way, the
    actions of the hour under way), each item marked `current` when it is under way at `now`."""
    return {
        grain: [{**item, "current": _under_way(item, now)} for item in plan.get(grain) or ()]
        for grain in ("chunks", "hours", "actions")
    }


def memories_as_of(memories: Sequence[StoredMemory], now: datetime) -> list[StoredMemory]:
    """The memories made at or before `now`, in the order made."""
    return [m for m in memories if m.created <= now]


def scored_memories(
    memories: Sequence[StoredMemory], now: datetime, weights: Weights
) -> tuple[list[dict[str, Any]], StoredMemory | None]:
    """Each memory (made by `now`) with its retrieval scores at `now`, as `score_all` gives them
    with the query the embedding of the latest plan memory (all zeros when there is none, which
    makes every relevance equal) and each memory counted as last accessed when it was made; and
    that plan memory."""
    if not memories:
        return [], None
    plans = [m for m in memories if m.kind == "plan"]
    query = plans[-1] if plans else None
    query_vec = query.embedding if query else tuple(0.0 for _ in memories[-1].embedding)
    records = [dataclasses.replace(record_of(m), last_accessed=m.created) for m in memories]
    scored = score_all(records, query_vec, [m.embedding for m in memories], now, weights)
    rows = [
        {
            "number": s.memory.id,
            "kind": s.memory.kind,
            "text": s.memory.text,
            "created": s.memory.created.isoformat(),
            "importance": s.memory.importance,
            "evidence": list(s.memory.evidence),
            "scores": {
                "recency": s.recency,
                "importance": s.importance,
                "relevance": s.relevance,
                "score": s.score,
            },
        }
        for s in scored
    ]
    return rows, query


def reflections_view(memories: Sequence[StoredMemory], latest: int = LATEST) -> list[dict[str, Any]]:
    """The `latest` reflections among `memories`, newest first, each with the memories it cites
    (number, kind and text; a number not among `memories` is given with no text)."""
    by_number = {m.number: m for m in memories}
    out = []
    for m in [m for m in memories if m.kind == "reflection"][-latest:][::-1]:
        cited = []
        for n in m.evidence:
            found = by_number.get(n)
            cited.append(
                {"number": n, "kind": found.kind if found else None, "text": found.text if found else None}
            )
        out.append(
            {
                "number": m.number,
                "text": m.text,
                "created": m.created.isoformat(),
                "importance": m.importance,
                "evidence": cited,
            }
        )
    return out


def agent_panel(
    name: str,
    step: TownStep,
    memories: Sequence[StoredMemory],
    weights: Weights | None = None,
    latest: int = LATEST,
) -> dict[str, Any]:
    """One agent's panel as of `step`: where it is and what it does, its plan (current items
    marked), its `latest` memories made by the step's time (newest first) with their retrieval
    scores then, a caption saying how they are scored, and its reflections made by then."""
    weights = weights or Weights()
    state = step.state.get("agents", {}).get(name)
    if state is None:
        raise NotFound(f"no agent {name!r} in step {step.step}")
    known = memories_as_of(memories, step.time)
    try:
        rows, query = scored_memories(known, step.time, weights)
    except (ConfigError, DataError) as e:
        raise BadRequest(f"the memories of {name} cannot be scored: {e}") from None
    target = f"the latest plan memory (#{query.number})" if query else "nothing (no plan memory yet)"
    caption = CAPTION.format(
        time=step.time.isoformat(sep=" "),
        n=len(known),
        decay=weights.decay,
        query=target,
        weights=f"{weights.recency}/{weights.importance}/{weights.relevance}",
    )
    caption += " Relevance is scored against that plan, not the current action: the action's own embedding is not stored."
    return {
        "agent": name,
        "step": step.step,
        "time": step.time.isoformat(),
        "tile": state.get("tile"),
        "action": state.get("action") or "",
        "where": state.get("where") or "",
        "said": [str(line) for line in state.get("said") or ()],
        "plan": plan_view(state.get("plan") or {}, step.time),
        "query": None if query is None else {"number": query.number, "text": query.text},
        "caption": caption,
        "memory_count": len(known),
        "memories": rows[-latest:][::-1],
        "reflections": reflections_view(known, latest),
    }


def router(ctx: Context) -> APIRouter:
    """The routes of the town replay over `ctx`."""
    pages = APIRouter()
    towns: dict[str, Town] = {}

    def town_run(run_id: str) -> tuple[dict[str, Any], Town]:
        run = ctx.run(run_id)
        if run["kind"] != RUN_KIND:
            raise BadRequest(f"run {run['id']} is a {run['kind']} run, not a town run: it has no replay")
        try:
            config = json.loads(run["config"] or "{}")
        except ValueError:
            config = {}
        folder = str(config.get("town") or "default") if isinstance(config, dict) else "default"
        if folder not in towns:
            try:
                towns[folder] = default_town() if folder == "default" else load_town(Path(folder))
            except (ConfigError, DataError, OSError) as e:
                raise BadRequest(f"the town of run {run['id']} ({folder}) cannot be read: {e}") from None
        return run, towns[folder]

    @pages.get("/towns/{run_id}", response_class=HTMLResponse)
    def town_page(run_id: str) -> str:
        run, town = town_run(run_id)
        steps = StoredSteps(ctx.store).steps(run["id"])
        names = agent_names(town, steps)
        data = {
            "run": run["id"],
            "map": town_map(town.world),
            "agents": names,
            "steps": replay_steps(steps),
        }
        return render("town.html.j2", run=run, town=town.world.name, agents=names, steps=steps, data=data)

    @pages.get("/towns/{run_id}/agents/{name}")
    def agent(run_id: str, name: str, step: str = "") -> Response:
        try:
            run, _ = town_run(run_id)
            store_steps = StoredSteps(ctx.store)
            if step:
                try:
                    number = int(step)
                except ValueError:
                    raise BadRequest(f"step {step!r} is not a number") from None
                found = store_steps.steps(run["id"], number, number)
                if not found:
                    raise NotFound(f"run {run['id']} has no step {number}")
                at = found[0]
            else:
                last = store_steps.last_step(run["id"])
                if last is None:
                    raise NotFound(f"run {run['id']} has no steps yet")
                at = last
            memories = StoredMemories(ctx.store).memories(run["id"], name)
            return json_response(agent_panel(name, at, memories))
        except PageError as e:
            return json_response({"error": e.message}, e.status)

    return pages
