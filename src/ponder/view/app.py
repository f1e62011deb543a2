"""The web app of `ponder view`: the runs (`/`), one run (`/runs/{id}`) and one of its samples
(`/runs/{id}/samples/{task_id}`), read from a store opened read-only; anything not found is a
404 page."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException

from ponder.store import Store
from ponder.store.browse import RUN_COLUMNS, RUN_FILTERS, STATUSES, Browse, SampleQuery
from ponder.view.metrics import accuracy_ci, run_metrics
from ponder.view.render import render
from ponder.view.sample import sample_view, status_row

PER_PAGE = 50


class NotFound(Exception):
    """What a page asked for is not in the store: `message` says what."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def page_number(text: str | None) -> int:
    """A page number from the query string: 1 unless it is a positive integer."""
    try:
        return max(int(text or "1"), 1)
    except ValueError:
        return 1


def run_id_of(text: str) -> int:
    """The run id in a path; NotFound when it is not a number."""
    try:
        return int(text)
    except ValueError:
        raise NotFound(f"no run {text!r}: run ids are numbers") from None


def create_app(store_path: Path | str) -> FastAPI:
    """The app over the store at `store_path`, opened read-only now (a StoreError when it is
    missing or not a ponder store)."""
    store = Store(store_path, readonly=True)
    browse = Browse(store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(title="ponder view", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)

    @app.exception_handler(NotFound)
    def not_found(request: Request, exc: NotFound) -> HTMLResponse:
        return HTMLResponse(render("not_found.html.j2", message=exc.message), status_code=404)

    @app.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException) -> HTMLResponse:
        message = f"no page at {request.url.path}" if exc.status_code == 404 else str(exc.detail)
        return HTMLResponse(render("not_found.html.j2", message=message), status_code=exc.status_code)

    @app.get("/", response_class=HTMLResponse)
    def runs_page(
        sort: str = "-id", task: str = "", strategy: str = "", model: str = "", status: str = ""
    ) -> str:
        filters = {"task": task, "strategy": strategy, "model": model, "status": status}
        if sort.lstrip("-") not in RUN_COLUMNS:
            sort = "-id"
        rows = browse.runs(filters, sort)
        for row in rows:
            row["accuracy"], row["ci"] = accuracy_ci(row["correct"], row["n"])
        return render(
            "runs.html.j2",
            store=str(store_path),
            runs=rows,
            sort=sort,
            filters=filters,
            choices=browse.run_choices(),
            filter_names=RUN_FILTERS,
            columns=list(RUN_COLUMNS),
        )

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_page(run_id: str, show: str = "", q: str = "", page: str = "1") -> str:
        rid = run_id_of(run_id)
        run = browse.run(rid)
        if run is None:
            raise NotFound(f"no run {rid} in the store {store_path}")
        query = SampleQuery(show if show in STATUSES else None, q.strip(), page_number(page), PER_PAGE)
        totals = browse.totals(rid)
        matched = browse.count(rid, query)
        pages = max((matched + PER_PAGE - 1) // PER_PAGE, 1)
        rows = browse.samples(rid, query)
        for row in rows:
            row["status"] = status_row(row)
        try:
            config = json.dumps(json.loads(run["config"]), indent=2, sort_keys=True, ensure_ascii=False)
        except ValueError:
            config = run["config"]
        return render(
            "run.html.j2",
            run=run,
            config=config,
            metrics=run_metrics(totals),
            totals=totals,
            statuses=STATUSES,
            query=query,
            matched=matched,
            pages=pages,
            samples=rows,
        )

    @app.get("/runs/{run_id}/samples/{task_id:path}", response_class=HTMLResponse)
    def sample_page(run_id: str, task_id: str) -> str:
        rid = run_id_of(run_id)
        run = browse.run(rid)
        if run is None:
            raise NotFound(f"no run {rid} in the store {store_path}")
        row = browse.sample(rid, task_id)
        if row is None:
            raise NotFound(f"run {rid} has no sample {task_id!r}")
        previous, following = browse.neighbours(rid, row["id"])
        return render("sample.html.j2", run=run, s=sample_view(row), previous=previous, following=following)

    return app
