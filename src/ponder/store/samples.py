"""A run's samples as flat records, JSONL, CSV or a pandas DataFrame: one per result, in the
order written, read from SQL `BATCH` rows at a time.

SAMPLE_COLUMNS, in order: the result's run_id, task_id, question, gold, answer, correct (True,
False or None, as stored), status (`store.browse.STATUS_SQL`: errored, noanswer, correct, wrong or
ungraded), error, reasoning, prompt_tokens, prompt_tokens_evaluated, completion_tokens, calls,
cached_calls, seconds and created_at (seconds since the epoch, as stored); then the run's model,
strategy and task (`config.task`, else the run's kind). A full record adds `details` (the
details' JSON, `{"type": NAME, ...}`) and `trace` (each event's JSON with its `event` kind), as
`store.codec` writes them; rows of earlier versions (`calls` and `meta`) are given in that form.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ponder import details as details_codec
from ponder.errors import ConfigError
from ponder.store.browse import RUN_TASK_SQL, STATUS_SQL, SampleQuery
from ponder.store.codec import event_from_json, event_to_json
from ponder.store.results import Store

if TYPE_CHECKING:
    import pandas

SAMPLE_COLUMNS = (
    "run_id",
    "task_id",
    "question",
    "gold",
    "answer",
    "correct",
    "status",
    "error",
    "reasoning",
    "prompt_tokens",
    "prompt_tokens_evaluated",
    "completion_tokens",
    "calls",
    "cached_calls",
    "seconds",
    "created_at",
    "model",
    "strategy",
    "task",
)
RUN_SAMPLE_COLUMNS = ("model", "strategy", "task")
INT_COLUMNS = (
    "run_id",
    "prompt_tokens",
    "prompt_tokens_evaluated",
    "completion_tokens",
    "calls",
    "cached_calls",
)
TEXT_COLUMNS = tuple(c for c in SAMPLE_COLUMNS if c not in (*INT_COLUMNS, "correct", "seconds", "created_at"))
BATCH = 500
CHUNK_CHARS = 1 << 16

_STATUS_CASE = "CASE " + " ".join(f"WHEN {sql} THEN '{name}'" for name, sql in STATUS_SQL.items()) + " END"
_ROW_COLUMNS = f"""id, run_id, task_id, json_extract(data, '$.question') AS question,
    json_extract(data, '$.gold') AS gold, answer, correct, {_STATUS_CASE} AS status, error, reasoning,
    prompt_tokens, prompt_tokens_evaluated, completion_tokens, calls, cached_calls, seconds, created_at"""


def _run_columns(store: Store, run_id: int) -> dict[str, Any]:
    rows = store._read(
        f"SELECT r.model, r.strategy, {RUN_TASK_SQL} AS task FROM runs r WHERE r.id = ?", (run_id,)
    )
    if not rows:
        raise ConfigError(f"run {run_id} is not in the store {store.path}")
    return {c: rows[0][c] for c in RUN_SAMPLE_COLUMNS}


def _plain_gold(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else json.dumps(value)


def _full(data_json: str) -> dict[str, Any]:
    """The details and trace of a row's `data` (rows of earlier versions read as `store.codec` does)."""
    data = json.loads(data_json or "{}")
    if "details" in data:
        details = data["details"]
    else:
        legacy = details_codec.from_meta(data.get("strategy", ""), data.get("meta") or {})[0]
        details = details_codec.to_json(legacy)
    if "trace" in data:
        trace = data["trace"]
    else:
        trace = json.loads(json.dumps([event_to_json(event_from_json(e)) for e in data.get("calls", [])]))
    return {"details": details, "trace": trace}


def sample_records(
    store: Store, run_id: int, query: SampleQuery | None = None, *, full: bool = False
) -> Iterator[dict[str, Any]]:
    """The run's results as records with SAMPLE_COLUMNS (and `details` and `trace` when `full`),
    in the order written, kept by the query's status and search (its page is ignored). A
    ConfigError now, before any is read, when the store has no such run."""
    run = _run_columns(store, run_id)
    where, params = (query or SampleQuery()).where()
    sql = f"""SELECT {_ROW_COLUMNS}{", data" if full else ""} FROM results
        WHERE run_id = :run AND id > :after AND {where} ORDER BY id LIMIT :limit"""

    def records() -> Iterator[dict[str, Any]]:
        after = 0
        while True:
            rows = store._read(sql, {**params, "run": run_id, "after": after, "limit": BATCH})
            for row in rows:
                record = {c: row[c] for c in SAMPLE_COLUMNS[: -len(RUN_SAMPLE_COLUMNS)]}
                record["gold"] = _plain_gold(record["gold"])
                record["correct"] = None if row["correct"] is None else bool(row["correct"])
                record |= run
                if full:
                    record |= _full(row["data"])
                yield record
            if len(rows) < BATCH:
                return
            after = rows[-1]["id"]

    return records()


def jsonl_chunks(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The records as JSON Lines (UTF-8 text, not ASCII-escaped), in chunks of about CHUNK_CHARS."""
    lines: list[str] = []
    size = 0
    for record in records:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        lines.append(line)
        size += len(line)
        if size >= CHUNK_CHARS:
            yield "".join(lines)
            lines, size = [], 0
    if lines:
        yield "".join(lines)


def csv_chunks(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The records' SAMPLE_COLUMNS as CSV (a header row, then one row per record; None empty),
    in chunks of about CHUNK_CHARS."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, SAMPLE_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for record in records:
        writer.writerow(record)
        if buffer.tell() >= CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


FORMATS: dict[str, Callable[[Iterable[dict[str, Any]]], Iterator[str]]] = {
    "jsonl": jsonl_chunks,
    "csv": csv_chunks,
}


def samples_frame(run: int, store: Store | Path | str | None = None) -> pandas.DataFrame:
    """The run's samples as a DataFrame, one row per result in the order written, SAMPLE_COLUMNS:
    text as "string", counts as "Int64", `correct` as "boolean", `seconds` as float64 and
    `created_at` as a UTC datetime. `store`: an open Store, or the path of one to open read-only
    (None: `default_store_path()`). A ConfigError when the run is not in the store or pandas is
    not installed."""
    try:
        import pandas as pd
    except ImportError:
        raise ConfigError("pandas is not installed: pip install 'ponder[frame]'") from None
    if isinstance(store, Store):
        records = list(sample_records(store, run))
    else:
        with Store(store, readonly=True) as opened:
            records = list(sample_records(opened, run))
    frame = pd.DataFrame.from_records(records, columns=list(SAMPLE_COLUMNS))
    types: dict[str, Any] = {c: "string" for c in TEXT_COLUMNS}
    types |= {c: "Int64" for c in INT_COLUMNS} | {"correct": "boolean", "seconds": "float64"}
    frame = frame.astype(types)
    frame["created_at"] = pd.to_datetime(frame["created_at"].astype("float64"), unit="s", utc=True)
    return frame
