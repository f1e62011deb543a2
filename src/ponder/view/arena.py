"""The arena pages: every arena (`/arenas`), one arena's leaderboard and battles
(`/arenas/{name}`), and one battle with both answers and the judge's verdicts (`/battles/{id}`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from ponder.arena.play import turns_of
from ponder.arena.ratings import Rated, leaderboard
from ponder.store.arena_browse import ArenaBrowse
from ponder.store.codec import result_from_row
from ponder.types import Result
from ponder.view.context import Context, NotFound, page_number
from ponder.view.render import link, render
from ponder.view.sample import status_of

PER_PAGE = 50
ROUNDS = 1000  # bootstrap rounds of the leaderboard's intervals, as `ponder arena ratings` by default
SIDES = ("model_a", "model_b")


def arena_link(name: str, **params: Any) -> str:
    """The page of an arena (its name quoted, `/` and `:` kept), with a query string."""
    return link(f"/arenas/{quote(name, safe='/:')}", **params)


@dataclass(frozen=True)
class Standing:
    """A leaderboard row: the rating with its interval and the player's wins, ties and losses."""

    rated: Rated
    wins: int
    ties: int
    losses: int


@dataclass(frozen=True)
class Side:
    """One player's side of a battle: its run and stored result, where the store has them."""

    label: str
    player: str
    run_id: int | None
    result: Result | None
    status: str
    turns: tuple[str, ...]


def standings(outcomes: list[tuple[str, str, float]]) -> list[Standing]:
    """The Bradley-Terry leaderboard of the outcomes, best first, with each player's wins, ties
    (of either kind) and losses."""
    tally: dict[str, list[int]] = {}
    for a, b, score in outcomes:
        first, second = tally.setdefault(a, [0, 0, 0]), tally.setdefault(b, [0, 0, 0])
        if score == 1.0:
            first[0], second[2] = first[0] + 1, second[2] + 1
        elif score == 0.0:
            first[2], second[0] = first[2] + 1, second[0] + 1
        else:
            first[1], second[1] = first[1] + 1, second[1] + 1
    rows = leaderboard(outcomes, method="bt", rounds=ROUNDS, seed=0)
    return [Standing(r, *tally[r.player]) for r in rows]


def side(browse: ArenaBrowse, label: str, player: str, run_id: Any, task_id: str) -> Side:
    """A player's side: its stored result for the item, read from run `run_id` when it is known."""
    run = run_id if isinstance(run_id, int) and not isinstance(run_id, bool) else None
    row = browse.result(run, task_id) if run is not None else None
    result = result_from_row(row) if row is not None else None
    status = status_of(result) if result is not None else ""
    return Side(label, player, run, result, status, turns_of(result) if result is not None else ())


def verdict_text(verdict: Any, a: str, b: str) -> str:
    """A model judge's verdict ("A", "B" or "C", already in the battle's order) in words."""
    return {"A": f"A ({a}) is better", "B": f"B ({b}) is better", "C": "tie"}.get(verdict, "no verdict")


def orders(battle: dict[str, Any]) -> list[tuple[str, str, str]]:
    """A model judge's two readings: which answer it was shown first, its verdict in words and
    its reply; empty when the battle holds no verdicts."""
    data = battle["data"]
    verdicts, replies = data.get("verdicts"), data.get("replies")
    if not isinstance(verdicts, list) or not isinstance(replies, list):
        return []
    a, b = battle["model_a"], battle["model_b"]
    shown = (f"A ({a}) shown first", f"B ({b}) shown first")
    return [(s, verdict_text(v, a, b), str(r)) for s, v, r in zip(shown, verdicts, replies)]


def other_data(data: dict[str, Any]) -> str:
    """The battle's data other than its runs and a model judge's verdicts, as JSON; empty if none."""
    rest = {k: v for k, v in data.items() if k not in ("runs", "prompt", "verdicts", "replies", "consistent")}
    return json.dumps(rest, indent=2, sort_keys=True, ensure_ascii=False, default=str) if rest else ""


def battle_id_of(text: str) -> int:
    """The battle id in a path; NotFound when it is not a number."""
    try:
        return int(text)
    except ValueError:
        raise NotFound(f"no battle {text!r}: battle ids are numbers") from None


def router(ctx: Context) -> APIRouter:
    """The routes of the arena pages over `ctx`."""
    pages = APIRouter()
    browse = ArenaBrowse(ctx.store)
    computed: dict[tuple[str, str | None], tuple[tuple[int, int], list[Standing]]] = {}

    def standings_of(name: str, judge: str | None) -> list[Standing]:
        """The arena's standings, computed again only when its battles have changed."""
        version = browse.version(name, judge)
        kept = computed.get((name, judge))
        if kept is None or kept[0] != version:
            kept = computed[(name, judge)] = (version, standings(browse.outcomes(name, judge)))
        return kept[1]

    @pages.get("/arenas", response_class=HTMLResponse)
    def arenas_page() -> str:
        return render("arenas.html.j2", store=str(ctx.path), arenas=browse.arenas(), arena_link=arena_link)

    @pages.get("/arenas/{name:path}", response_class=HTMLResponse)
    def arena_page(name: str, judge: str = "", page: str = "1") -> str:
        judges = browse.judges(name)
        if not judges:
            raise NotFound(f"no arena {name!r} in the store {ctx.path}")
        if judge and judge not in judges:
            raise NotFound(f"arena {name!r} has no battles judged by {judge!r}")
        chosen = judge or None
        total = browse.count(name, chosen)
        pages_count = max((total + PER_PAGE - 1) // PER_PAGE, 1)
        number = min(page_number(page), pages_count)
        return render(
            "arena.html.j2",
            arena=name,
            judge=judge,
            judges=judges,
            standings=standings_of(name, chosen),
            rounds=ROUNDS,
            total=total,
            page=number,
            pages=pages_count,
            battles=browse.page(name, chosen, number, PER_PAGE),
            arena_link=arena_link,
        )

    @pages.get("/battles/{battle_id}", response_class=HTMLResponse)
    def battle_page(battle_id: str) -> str:
        battle = browse.battle(battle_id_of(battle_id))
        if battle is None:
            raise NotFound(f"no battle {battle_id} in the store {ctx.path}")
        data = battle["data"]
        runs = data.get("runs") if isinstance(data.get("runs"), dict) else {}
        sides = [
            side(browse, label, battle[key], runs.get(key), battle["question_id"])
            for label, key in zip("AB", SIDES)
        ]
        task = next((s.result.task for s in sides if s.result is not None), None)
        return render(
            "battle.html.j2",
            b=battle,
            data=data,
            runs=runs,
            sides=sides,
            task=task,
            orders=orders(battle),
            other=other_data(data),
            arena_link=arena_link,
        )

    return pages
