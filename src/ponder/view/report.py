"""The report page (`/report?run=A&run=B…`): what `ponder report` writes for the runs (table,
plots, sections), rendered from the store on request, nothing written; the last few reports are
remembered until a result is added to one of their runs."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

import ponder.faithfulness.report  # noqa: F401  (registers the faithfulness section)
from ponder.errors import ConfigError
from ponder.report.data import load_runs
from ponder.report.write import report_html
from ponder.view.context import BadRequest, Context

MAX_RUNS = 20
KEPT = 8  # reports remembered until their runs' results change


def router(ctx: Context) -> APIRouter:
    """The report page's route over `ctx`."""
    pages = APIRouter()
    kept: dict[tuple[int, ...], tuple[list[tuple[int, int]], str]] = {}

    def version(ids: list[int]) -> list[tuple[int, int]]:
        """Each run's result count and last result id: they change exactly when its results do."""
        sql = "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM results WHERE run_id = ?"
        rows = [ctx.store._read(sql, (i,))[0] for i in ids]
        return [(int(r[0]), int(r[1])) for r in rows]

    @pages.get("/report", response_class=HTMLResponse)
    def report_page(run: list[str] = Query(default=[])) -> str:
        texts = [t.strip() for part in run for t in part.split(",") if t.strip()]
        if not texts:
            raise BadRequest("name the runs to report: /report?run=ID (one or more)")
        if len(texts) > MAX_RUNS:
            raise BadRequest(f"a report takes at most {MAX_RUNS} runs, got {len(texts)}")
        ids = list(dict.fromkeys(ctx.run(t)["id"] for t in texts))
        now = version(ids)
        hit = kept.get(tuple(ids))
        if hit is not None and hit[0] == now:
            return hit[1]
        try:
            html = report_html(load_runs(ctx.store, ids), str(ctx.path))
        except ConfigError as e:
            raise BadRequest(str(e)) from None
        if len(kept) >= KEPT:
            kept.pop(next(iter(kept)))
        kept[tuple(ids)] = (now, html)
        return html

    return pages
