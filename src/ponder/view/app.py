"""The web app of `ponder view`: every page reads a store opened read-only (the pages' routers
are in `runs`, …, the town replay in `town`); anything not found is a 404 page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

from ponder.view import arena, compare, export, report, runs, town
from ponder.view import vote as voting
from ponder.view.context import Context, PageError
from ponder.view.render import render


def error_page(status: int, message: str) -> str:
    """The page answering an error: "Not found" for 404, else "Cannot show this"."""
    return render(
        "error.html.j2", heading="Not found" if status == 404 else "Cannot show this", message=message
    )


def create_app(store_path: Path | str, vote: voting.Voting | None = None) -> FastAPI:
    """The app over the store at `store_path`, opened read-only now (a StoreError when it is
    missing or not a ponder store); with `vote`, also the voting page, which writes each vote."""
    ctx = Context.open(store_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        ctx.store.close()

    app = FastAPI(title="ponder view", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)

    @app.exception_handler(PageError)
    def page_error(request: Request, exc: PageError) -> HTMLResponse:
        return HTMLResponse(error_page(exc.status, exc.message), status_code=exc.status)

    @app.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException) -> HTMLResponse:
        message = f"no page at {request.url.path}" if exc.status_code == 404 else str(exc.detail)
        return HTMLResponse(error_page(exc.status_code, message), status_code=exc.status_code)

    script = (Path(__file__).parent / "static" / "view.js").read_text(encoding="utf-8")
    town_script = (Path(__file__).parent / "static" / "town.js").read_text(encoding="utf-8")

    @app.get("/static/view.js")
    def view_js() -> Response:
        return Response(script, media_type="text/javascript")

    @app.get("/static/town.js")
    def town_js() -> Response:
        return Response(town_script, media_type="text/javascript")

    app.include_router(runs.router(ctx))
    app.include_router(export.router(ctx))
    app.include_router(compare.router(ctx))
    app.include_router(arena.router(ctx))
    app.include_router(report.router(ctx))
    app.include_router(town.router(ctx))
    if vote is not None:
        app.include_router(voting.router(ctx, vote))
    return app
