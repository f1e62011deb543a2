"""The compare page (`/compare?run=A&run=B…`, the runs in the order of their ids, the first one's
items in its order): runs on the same task side by side, item by item,
with every run's answer and whether it is right, filtered to the items where they disagree or
where some are right and others not; for two runs, the paired counts and McNemar's exact test."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from ponder.eval.metrics import mcnemar_exact
from ponder.store.compare import MAX_RUNS, SHOWS, CompareQuery, Comparison
from ponder.view.context import BadRequest, Context, page_number, run_id_of
from ponder.view.metrics import accuracy_ci
from ponder.view.render import render

PER_PAGE = 50


def router(ctx: Context) -> APIRouter:
    """The compare page's route over `ctx`."""
    pages = APIRouter()

    @pages.get("/compare", response_class=HTMLResponse)
    def compare_page(run: list[str] = Query(default=[]), show: str = "all", page: str = "1") -> str:
        texts = [t for part in run for t in part.split(",") if t.strip()]
        if len(texts) < 2:
            raise BadRequest("pick two or more runs to compare: tick them in the runs list")
        if len(texts) > MAX_RUNS:
            raise BadRequest(f"compare takes at most {MAX_RUNS} runs, got {len(texts)}")
        ids = sorted(run_id_of(t.strip()) for t in texts)
        if len(set(ids)) != len(ids):
            raise BadRequest("each run may be named once")
        runs = [ctx.run(str(i)) for i in ids]
        tasks = sorted({r["task"] for r in runs})
        if len(tasks) > 1:
            raise BadRequest(f"runs on different tasks cannot be compared item by item: {', '.join(tasks)}")
        comparison = Comparison(ctx.store, ids)
        query = CompareQuery(show if show in SHOWS else "all", page_number(page), PER_PAGE)
        summary = comparison.summary()
        accuracy = [accuracy_ci(c, summary["n"]) for c in summary["correct"]]
        paired = None
        if len(ids) == 2:
            paired = mcnemar_exact(summary["only"][0], summary["only"][1])
        matched = comparison.count(query)
        return render(
            "compare.html.j2",
            runs=runs,
            ids=ids,
            summary=summary,
            accuracy=accuracy,
            paired=paired,
            missing=comparison.missing(),
            query=query,
            shows=SHOWS,
            matched=matched,
            pages=max((matched + PER_PAGE - 1) // PER_PAGE, 1),
            items=comparison.items(query),
        )

    return pages
