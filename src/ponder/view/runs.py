"""The pages of runs: the runs list (`/`), one run (`/runs/{id}`) and one of its samples
(`/runs/{id}/samples/{task_id}`)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from ponder.store.browse import RUN_COLUMNS, RUN_FILTERS, STATUSES, SampleQuery
from ponder.view.context import Context, NotFound, page_number
from ponder.view.metrics import accuracy_ci, run_metrics
from ponder.view.render import render
from ponder.view.sample import sample_view, status_row

PER_PAGE = 50


def router(ctx: Context) -> APIRouter:
    """The routes of the runs pages over `ctx`."""
    pages = APIRouter()
    browse = ctx.browse

    def runs_context(sort: str, task: str, strategy: str, model: str, status: str) -> dict[str, Any]:
        filters = {"task": task, "strategy": strategy, "model": model, "status": status}
        if sort.lstrip("-") not in RUN_COLUMNS:
            sort = "-id"
        rows = browse.runs(filters, sort)
        for row in rows:
            row["accuracy"], row["ci"] = accuracy_ci(row["correct"], row["n"])
        return {"runs": rows, "sort": sort, "filters": filters, "columns": list(RUN_COLUMNS)}

    @pages.get("/", response_class=HTMLResponse)
    def runs_page(
        sort: str = "-id", task: str = "", strategy: str = "", model: str = "", status: str = ""
    ) -> str:
        return render(
            "runs.html.j2",
            store=str(ctx.path),
            choices=browse.run_choices(),
            filter_names=RUN_FILTERS,
            **runs_context(sort, task, strategy, model, status),
        )

    @pages.get("/live/runs", response_class=HTMLResponse)
    def runs_rows(
        sort: str = "-id", task: str = "", strategy: str = "", model: str = "", status: str = ""
    ) -> str:
        """The runs list's rows alone, which the page polls while a run is in progress."""
        return render("_runs_rows.html.j2", **runs_context(sort, task, strategy, model, status))

    def sample_query(show: str, q: str, page: str) -> SampleQuery:
        return SampleQuery(show if show in STATUSES else None, q.strip(), page_number(page), PER_PAGE)

    @pages.get("/runs/{run_id}/live", response_class=HTMLResponse)
    def run_live(run_id: str, show: str = "", q: str = "", seen: str = "") -> str:
        """A run's status, metrics and counts alone, which its page polls while it is in progress."""
        run = ctx.run(run_id)
        totals = browse.totals(run["id"])
        return render(
            "_run_live.html.j2",
            run=run,
            metrics=run_metrics(totals),
            totals=totals,
            statuses=STATUSES,
            query=sample_query(show, q, "1"),
            seen=int(seen) if seen.isdigit() else None,
        )

    @pages.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_page(run_id: str, show: str = "", q: str = "", page: str = "1") -> str:
        run = ctx.run(run_id)
        rid = run["id"]
        query = sample_query(show, q, page)
        totals = browse.totals(rid)
        matched = browse.count(rid, query)
        pages_count = max((matched + PER_PAGE - 1) // PER_PAGE, 1)
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
            pages=pages_count,
            seen=None,
            samples=rows,
        )

    @pages.get("/runs/{run_id}/samples/{task_id:path}", response_class=HTMLResponse)
    def sample_page(run_id: str, task_id: str) -> str:
        run = ctx.run(run_id)
        row = browse.sample(run["id"], task_id)
        if row is None:
            raise NotFound(f"run {run['id']} has no sample {task_id!r}")
        previous, following = browse.neighbours(run["id"], row["id"])
        return render("sample.html.j2", run=run, s=sample_view(row), previous=previous, following=following)

    return pages
