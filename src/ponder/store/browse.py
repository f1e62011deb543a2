"""Read-only queries for browsing a store (`ponder view`): runs with their totals, one run's
totals, and pages of its results filtered, searched and counted in SQL, so a page of a large run
never reads the traces of results it does not show.

`Browse(store)` only reads. A result's status is `errored` (its `error` is set), else `noanswer`
(no answer was extracted), else `correct`, `wrong` or `ungraded` (correctness unknown).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ponder.store.results import Store

STATUS_SQL = {
    "errored": "error IS NOT NULL",
    "noanswer": "error IS NULL AND answer IS NULL",
    "correct": "error IS NULL AND answer IS NOT NULL AND correct = 1",
    "wrong": "error IS NULL AND answer IS NOT NULL AND correct = 0",
    "ungraded": "error IS NULL AND answer IS NOT NULL AND correct IS NULL",
}
STATUSES = tuple(STATUS_SQL)

RUN_TASK_SQL = "COALESCE(json_extract(r.config, '$.task'), r.kind)"
RUN_COLUMNS = {
    "id": "r.id",
    "kind": "r.kind",
    "task": RUN_TASK_SQL,
    "strategy": "COALESCE(r.strategy, '')",
    "model": "r.model",
    "status": "r.status",
    "n": "COALESCE(s.n, 0)",
    "accuracy": "CAST(s.correct AS REAL) / s.n",
    "tokens": "COALESCE(s.tokens, 0)",
    "seconds": "COALESCE(s.seconds, 0)",
    "created": "r.created_at",
}
RUN_FILTERS = ("task", "strategy", "model", "status")

_RUNS_SQL = f"""
    SELECT r.id, r.kind, {RUN_TASK_SQL} AS task, COALESCE(r.strategy, '') AS strategy, r.model,
           r.status, r.created_at, r.finished_at, r.planned, COALESCE(s.n, 0) AS n,
           COALESCE(s.correct, 0) AS correct, COALESCE(s.tokens, 0) AS tokens,
           COALESCE(s.seconds, 0.0) AS seconds
    FROM runs r LEFT JOIN (
        SELECT run_id, COUNT(*) AS n, SUM(correct = 1) AS correct,
               SUM(prompt_tokens_evaluated + completion_tokens) AS tokens, SUM(seconds) AS seconds
        FROM results GROUP BY run_id
    ) s ON s.run_id = r.id
"""

_SEARCH_SQL = r"""(
    task_id LIKE :q ESCAPE '\' OR answer LIKE :q ESCAPE '\' OR reasoning LIKE :q ESCAPE '\'
    OR (data LIKE :raw ESCAPE '\' AND (
        json_extract(data, '$.question') LIKE :q ESCAPE '\'
        OR EXISTS (SELECT 1 FROM json_each(results.data, '$.trace') t,
                   json_each(t.value, '$.completions') c
                   WHERE json_extract(c.value, '$.text') LIKE :q ESCAPE '\')
        OR EXISTS (SELECT 1 FROM json_each(results.data, '$.calls') t,
                   json_each(t.value, '$.completions') c
                   WHERE json_extract(c.value, '$.text') LIKE :q ESCAPE '\')
    ))
)"""


def like_pattern(text: str) -> str:
    """A LIKE pattern (escape character `\\`) matching any value that contains `text`."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def json_text(text: str) -> str:
    """`text` as it appears inside a JSON string written by `json.dumps` (ASCII, escaped)."""
    return json.dumps(text)[1:-1]


@dataclass(frozen=True)
class SampleQuery:
    """Which results of a run a page shows: a status (None: all), a search text, a page (from 1)."""

    show: str | None = None
    q: str = ""
    page: int = 1
    per_page: int = 50

    def where(self) -> tuple[str, dict[str, Any]]:
        """The SQL condition on the results table and its parameters (the run id not included)."""
        parts, params = [], dict[str, Any]()
        if self.show is not None:
            parts.append(STATUS_SQL[self.show])
        if self.q:
            parts.append(_SEARCH_SQL)
            params["q"] = like_pattern(self.q)
            params["raw"] = like_pattern(json_text(self.q))
        return " AND ".join(f"({p})" for p in parts) or "1", params


class Browse:
    """The read-only queries of a store's browser view."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _rows(self, sql: str, params: Mapping[str, Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self.store._read(sql, params)]

    def runs(self, filters: Mapping[str, str] | None = None, sort: str = "-id") -> list[dict[str, Any]]:
        """Every run with its results' totals (n, correct, tokens, seconds), keeping those whose
        task, strategy, model and status equal the given filters, sorted by a RUN_COLUMNS key
        (`-key`: descending), ties by id."""
        descending = sort.startswith("-")
        column = RUN_COLUMNS.get(sort.lstrip("-"), "r.id")
        where, params = [], dict[str, Any]()
        for name, value in (filters or {}).items():
            if name in RUN_FILTERS and value:
                where.append(f"{RUN_COLUMNS[name]} = :{name}")
                params[name] = value
        sql = _RUNS_SQL + (f" WHERE {' AND '.join(where)}" if where else "")
        direction = "DESC" if descending else "ASC"
        sql += f" ORDER BY {column} IS NULL, {column} {direction}, r.id {direction}"
        return self._rows(sql, params)

    def run_choices(self) -> dict[str, list[str]]:
        """The distinct values of each run filter, sorted."""
        choices: dict[str, list[str]] = {}
        for name in RUN_FILTERS:
            rows = self._rows(f"SELECT DISTINCT {RUN_COLUMNS[name]} AS v FROM runs r ORDER BY v")
            choices[name] = [str(r["v"]) for r in rows if r["v"] is not None]
        return choices

    def run(self, run_id: int) -> dict[str, Any] | None:
        """The run's row, with its task; None when the store has no such run."""
        rows = self._rows(f"SELECT r.*, {RUN_TASK_SQL} AS task FROM runs r WHERE r.id = :id", {"id": run_id})
        return rows[0] if rows else None

    def totals(self, run_id: int) -> dict[str, Any]:
        """The run's results counted by status, and their summed tokens, calls and seconds."""
        counts = ", ".join(f"COALESCE(SUM({sql}), 0) AS {name}" for name, sql in STATUS_SQL.items())
        rows = self._rows(
            f"""SELECT COUNT(*) AS n, {counts},
                COALESCE(SUM(prompt_tokens_evaluated + completion_tokens), 0) AS tokens,
                COALESCE(SUM(calls), 0) AS calls, COALESCE(SUM(seconds), 0.0) AS seconds
                FROM results WHERE run_id = :run""",
            {"run": run_id},
        )
        return rows[0]

    def count(self, run_id: int, query: SampleQuery) -> int:
        """How many of the run's results the query keeps."""
        where, params = query.where()
        rows = self._rows(
            f"SELECT COUNT(*) AS n FROM results WHERE run_id = :run AND {where}", {**params, "run": run_id}
        )
        return int(rows[0]["n"])

    def samples(self, run_id: int, query: SampleQuery) -> list[dict[str, Any]]:
        """One page of the run's results the query keeps, in the order written: the row id, task
        id, the question's first 120 characters (and its length), gold, answer, correct, error,
        tokens, calls and seconds. The page's rows are chosen first, so the JSON of the rows skipped
        is never read."""
        where, params = query.where()
        offset = (max(query.page, 1) - 1) * query.per_page
        return self._rows(
            f"""SELECT id, task_id, substr(json_extract(data, '$.question'), 1, 120) AS question,
                length(json_extract(data, '$.question')) AS question_length,
                json_extract(data, '$.gold') AS gold, answer, correct, error,
                prompt_tokens_evaluated + completion_tokens AS tokens, calls, seconds
                FROM results WHERE id IN (
                    SELECT id FROM results WHERE run_id = :run AND {where}
                    ORDER BY id LIMIT :limit OFFSET :offset
                ) ORDER BY id""",
            {**params, "run": run_id, "limit": query.per_page, "offset": offset},
        )

    def sample(self, run_id: int, task_id: str) -> dict[str, Any] | None:
        """The whole results row of one item of the run; None when the run has no such item."""
        rows = self._rows(
            "SELECT * FROM results WHERE run_id = :run AND task_id = :task", {"run": run_id, "task": task_id}
        )
        return rows[0] if rows else None

    def neighbours(self, run_id: int, row_id: int) -> tuple[str | None, str | None]:
        """The task ids of the run's results written just before and just after row `row_id`."""
        before = self._rows(
            "SELECT task_id FROM results WHERE run_id = :run AND id < :id ORDER BY id DESC LIMIT 1",
            {"run": run_id, "id": row_id},
        )
        after = self._rows(
            "SELECT task_id FROM results WHERE run_id = :run AND id > :id ORDER BY id LIMIT 1",
            {"run": run_id, "id": row_id},
        )
        return (
            before[0]["task_id"] if before else None,
            after[0]["task_id"] if after else None,
        )
