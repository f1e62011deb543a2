"""`ponder arena vote`: a page on loopback where a person judges battles. It shows an item and two
stored answers with the players hidden, takes "A is better", "B is better", "Tie" or "Both are
bad", stores the battle (judge "human") at once, then shows who was who."""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from ponder.arena.battles import WINNERS, Battle
from ponder.arena.judges import Answer
from ponder.errors import ConfigError
from ponder.store import Store
from ponder.types import Task

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
CHOICES = (
    ("model_a", "A is better"),
    ("model_b", "B is better"),
    ("tie", "Tie"),
    ("tie (bothbad)", "Both are bad"),
)


@dataclass(frozen=True)
class Pending:
    task: Task
    a: Answer
    b: Answer


class Ballot:
    """Draws battles to show and remembers the ones shown until they are voted on."""

    def __init__(
        self, tasks: Sequence[Task], answers: dict[str, dict[str, Answer]], seed: int | None = None
    ) -> None:
        self.tasks = [t for t in tasks if sum(t.id in by_task for by_task in answers.values()) >= 2]
        if not self.tasks:
            raise ConfigError("nothing to vote on: no item has stored answers from two players")
        self.answers = answers
        self.rng = random.Random(seed)
        self.shown: dict[str, Pending] = {}

    def draw(self) -> tuple[str, Pending]:
        task = self.rng.choice(self.tasks)
        a, b = self.rng.sample([p for p, by_task in self.answers.items() if task.id in by_task], 2)
        token = secrets.token_urlsafe(12)
        pending = Pending(task, self.answers[a][task.id], self.answers[b][task.id])
        self.shown[token] = pending
        return token, pending


def create_app(store_path: Path | str | None, arena: str, ballot: Ballot) -> FastAPI:
    app = FastAPI(title="ponder arena vote", docs_url=None, redoc_url=None)
    page = _TEMPLATES.get_template("vote.html.j2")

    @app.get("/", response_class=HTMLResponse)
    def show() -> str:
        token, pending = ballot.draw()
        return page.render(arena=arena, token=token, p=pending, choices=CHOICES, voted=None)

    @app.post("/vote", response_class=HTMLResponse)
    async def vote(request: Request) -> HTMLResponse:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8")).items()}
        winner, token = form.get("winner"), form.get("token", "")
        if winner not in WINNERS:
            return HTMLResponse(
                f"vote: field 'winner' must be one of {', '.join(WINNERS)}, got {winner!r}", status_code=400
            )
        pending = ballot.shown.pop(token, None)
        if pending is None:
            return HTMLResponse(
                "vote: unknown or already used battle token; open the page again for a new battle",
                status_code=400,
            )
        battle = Battle(pending.task.id, pending.a.player, pending.b.player, winner, "human")
        with Store(store_path) as store:
            store.add_battle(arena, battle)
        return HTMLResponse(
            page.render(arena=arena, token="", p=pending, choices=CHOICES, voted=dict(CHOICES)[winner])
        )

    return app
