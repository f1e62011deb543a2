"""The voting page of `ponder arena vote`, served in the view app: `GET /vote` shows an item and
two stored answers with the players hidden; `POST /vote` takes "A is better", "B is better", "Tie"
or "Both are bad", stores the battle (judge "human") at once through a writable store opened for
that write, then shows who was who with links to the battle's page and to the next battle. A
battle's token is used once."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ponder.arena.battles import WINNERS
from ponder.arena.vote import CHOICES, Ballot
from ponder.store import Store
from ponder.view.context import Context
from ponder.view.render import render


@dataclass(frozen=True)
class Voting:
    """What the voting page serves: the arena its votes go to and the ballot drawing battles."""

    arena: str
    ballot: Ballot


def router(ctx: Context, voting: Voting) -> APIRouter:
    """The routes of the voting page over `ctx`, storing votes in `voting.arena`."""
    pages = APIRouter()
    arena, ballot = voting.arena, voting.ballot

    def refused(message: str) -> HTMLResponse:
        return HTMLResponse(render("vote.html.j2", arena=arena, refused=message), status_code=400)

    @pages.get("/vote", response_class=HTMLResponse)
    def show() -> str:
        token, pending = ballot.draw()
        return render("vote.html.j2", arena=arena, token=token, p=pending, choices=CHOICES, voted=None)

    @pages.post("/vote", response_class=HTMLResponse)
    async def vote(request: Request) -> HTMLResponse:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        winner, token = form.get("winner"), form.get("token", "")
        if winner not in WINNERS:
            return refused(f"vote: field 'winner' must be one of {', '.join(WINNERS)}, got {winner!r}")
        pending = ballot.take(token)
        if pending is None:
            return refused("vote: unknown or already used battle token; open the page again for a new battle")
        with Store(ctx.path) as store:
            battle_id = store.add_battle(arena, pending.battle(winner))
        return HTMLResponse(
            render(
                "vote.html.j2",
                arena=arena,
                token="",
                p=pending,
                choices=CHOICES,
                voted=dict(CHOICES)[winner],
                battle_id=battle_id,
            )
        )

    return pages
