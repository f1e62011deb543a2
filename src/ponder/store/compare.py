"""Read-only queries comparing runs item by item (`ponder view`'s compare page): the items every
run answered, joined on the task id in SQL, with each run's answer and status, filtered to the
items where the answers differ (`disagree`) or where some runs are right and others are not
(`split`), counted and paged.

Two answers are the same when both are the same string or both are missing (an errored or
unanswered item has no answer). An item is right when `correct = 1`; ungraded items are not right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ponder.store.results import Store

SHOWS = ("all", "disagree", "split")
MAX_RUNS = 8


@dataclass(frozen=True)
class CompareQuery:
    """Which shared items a page shows: `all`, `disagree` or `split`, and a page (from 1)."""

    show: str = "all"
    page: int = 1
    per_page: int = 50


def _status(alias: str) -> str:
    return f"""CASE WHEN {alias}.error IS NOT NULL THEN 'errored'
        WHEN {alias}.answer IS NULL THEN 'noanswer'
        WHEN {alias}.correct = 1 THEN 'correct'
        WHEN {alias}.correct = 0 THEN 'wrong' ELSE 'ungraded' END"""


class Comparison:
    """The item-by-item comparison of runs (two to MAX_RUNS, first one's order) in a store."""

    def __init__(self, store: Store, run_ids: Sequence[int]) -> None:
        if not 2 <= len(run_ids) <= MAX_RUNS:
            raise ValueError(f"compare takes 2 to {MAX_RUNS} runs, got {len(run_ids)}")
        if len(set(run_ids)) != len(run_ids):
            raise ValueError("compare takes each run once")
        self.store = store
        self.run_ids = list(run_ids)
        aliases = [f"r{i}" for i in range(len(run_ids))]
        self.aliases = aliases
        self.params: dict[str, Any] = {f"run{i}": rid for i, rid in enumerate(run_ids)}
        joins = " ".join(
            f"JOIN results {a} ON {a}.run_id = :run{i} AND {a}.task_id = r0.task_id"
            for i, a in enumerate(aliases)
            if i
        )
        self.source = f"FROM results r0 {joins} WHERE r0.run_id = :run0"
        first = aliases[0]
        self.conditions = {
            "all": "1",
            "disagree": " OR ".join(f"{a}.answer IS NOT {first}.answer" for a in aliases[1:]),
            "split": "("
            + " OR ".join(f"{a}.correct = 1" for a in aliases)
            + ") AND ("
            + " OR ".join(f"{a}.correct IS NOT 1" for a in aliases)
            + ")",
        }

    def _rows(self, sql: str, extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return [dict(r) for r in self.store._read(sql, {**self.params, **(extra or {})})]

    def summary(self) -> dict[str, Any]:
        """Counts over the shared items: `n`, `disagree`, `split`, `correct` (per run, in order),
        and for two runs `both`, `only` (per run) and `neither` right."""
        right = [f"COALESCE(SUM({a}.correct = 1), 0)" for a in self.aliases]
        cols = ", ".join(
            [
                "COUNT(*) AS n",
                f"COALESCE(SUM({self.conditions['disagree']}), 0) AS disagree",
                f"COALESCE(SUM({self.conditions['split']}), 0) AS split",
                *(f"{r} AS c{i}" for i, r in enumerate(right)),
            ]
        )
        row = self._rows(f"SELECT {cols} {self.source}")[0]
        out: dict[str, Any] = {
            "n": row["n"],
            "disagree": row["disagree"],
            "split": row["split"],
            "correct": [row[f"c{i}"] for i in range(len(self.aliases))],
        }
        if len(self.aliases) == 2:
            pair = self._rows(
                f"""SELECT COALESCE(SUM(r0.correct = 1 AND r1.correct = 1), 0) AS both,
                    COALESCE(SUM(r0.correct = 1 AND r1.correct IS NOT 1), 0) AS only0,
                    COALESCE(SUM(r0.correct IS NOT 1 AND r1.correct = 1), 0) AS only1
                    {self.source}"""
            )[0]
            out["both"], out["only"] = pair["both"], [pair["only0"], pair["only1"]]
            out["neither"] = out["n"] - pair["both"] - pair["only0"] - pair["only1"]
        return out

    def missing(self) -> list[int]:
        """For each run, how many of its items are not shared by all the runs."""
        shared = self._rows(f"SELECT COUNT(*) AS n {self.source}")[0]["n"]
        counts = self._rows(
            "SELECT run_id, COUNT(*) AS n FROM results WHERE run_id IN ("
            + ", ".join(f":run{i}" for i in range(len(self.run_ids)))
            + ") GROUP BY run_id"
        )
        by_run = {r["run_id"]: r["n"] for r in counts}
        return [by_run.get(rid, 0) - shared for rid in self.run_ids]

    def count(self, query: CompareQuery) -> int:
        """How many shared items the query keeps."""
        sql = f"SELECT COUNT(*) AS n {self.source} AND ({self.conditions[query.show]})"
        return int(self._rows(sql)[0]["n"])

    def items(self, query: CompareQuery) -> list[dict[str, Any]]:
        """One page of the shared items the query keeps, in the first run's order: task id, the
        question's first 120 characters and its length, gold, and per run (`runs`, in order) its
        answer and status. The page's items are chosen first, so no other item's JSON is read."""
        cols = ", ".join(
            f"{a}.answer AS answer{i}, {_status(a)} AS status{i}" for i, a in enumerate(self.aliases)
        )
        offset = (max(query.page, 1) - 1) * query.per_page
        rows = self._rows(
            f"""SELECT r0.task_id, substr(json_extract(r0.data, '$.question'), 1, 120) AS question,
                length(json_extract(r0.data, '$.question')) AS question_length,
                json_extract(r0.data, '$.gold') AS gold, {cols}
                {self.source} AND r0.id IN (
                    SELECT r0.id {self.source} AND ({self.conditions[query.show]})
                    ORDER BY r0.id LIMIT :limit OFFSET :offset
                ) ORDER BY r0.id""",
            {"limit": query.per_page, "offset": offset},
        )
        width = range(len(self.aliases))
        return [
            {
                "task_id": r["task_id"],
                "question": r["question"],
                "question_length": r["question_length"],
                "gold": r["gold"],
                "runs": [{"answer": r[f"answer{i}"], "status": r[f"status{i}"]} for i in width],
            }
            for r in rows
        ]
