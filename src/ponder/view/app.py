"""The web app of `ponder view`: every page reads a store opened read-only (the pages' routers
are in `runs`, …); anything not found is a 404 page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException

from ponder.view import runs
from ponder.view.context import Context, NotFound
from ponder.view.render import render


def create_app(store_path: Path | str) -> FastAPI:
    """The app over the store at `store_path`, opened read-only now (a StoreError when it is
    missing or not a ponder store)."""
    ctx = Context.open(store_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        ctx.store.close()

    app = FastAPI(title="ponder view", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)

    @app.exception_handler(NotFound)
    def not_found(request: Request, exc: NotFound) -> HTMLResponse:
        return HTMLResponse(render("not_found.html.j2", message=exc.message), status_code=404)

    @app.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException) -> HTMLResponse:
        message = f"no page at {request.url.path}" if exc.status_code == 404 else str(exc.detail)
        return HTMLResponse(render("not_found.html.j2", message=message), status_code=exc.status_code)

    app.include_router(runs.router(ctx))
    return app
