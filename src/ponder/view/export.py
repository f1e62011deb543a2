"""A run's samples as downloads: `/runs/{id}/samples.jsonl` (full records, with details and trace)
and `/runs/{id}/samples.csv` (the flat columns), kept by `?show=` and `?q=` as on the run page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from ponder.store.browse import STATUSES, SampleQuery
from ponder.store.samples import csv_chunks, jsonl_chunks, sample_records
from ponder.view.context import Context


def router(ctx: Context) -> APIRouter:
    """The export routes over `ctx`."""
    routes = APIRouter()

    def query(show: str, q: str) -> SampleQuery:
        return SampleQuery(show if show in STATUSES else None, q.strip())

    @routes.get("/runs/{run_id}/samples.jsonl")
    def samples_jsonl(run_id: str, show: str = "", q: str = "") -> StreamingResponse:
        rid = ctx.run(run_id)["id"]
        records = sample_records(ctx.store, rid, query(show, q), full=True)
        return StreamingResponse(
            jsonl_chunks(records),
            media_type="application/x-ndjson",
            headers={"Content-Disposition": f'attachment; filename="run-{rid}-samples.jsonl"'},
        )

    @routes.get("/runs/{run_id}/samples.csv")
    def samples_csv(run_id: str, show: str = "", q: str = "") -> StreamingResponse:
        rid = ctx.run(run_id)["id"]
        return StreamingResponse(
            csv_chunks(sample_records(ctx.store, rid, query(show, q))),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="run-{rid}-samples.csv"'},
        )

    return routes
