"""Read-only queries for the arena pages of `ponder view`: arenas with their judges, one arena's
battles a page at a time, one battle, and the stored result a player answered it with."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ponder.store.results import Store

_BATTLE_COLUMNS = """id, arena, question_id, turn, model_a, model_b, winner, judge, created_at,
    json_extract(data, '$.consistent') AS consistent"""


def _where(arena: str, judge: str | None) -> tuple[str, dict[str, Any]]:
    if judge is None:
        return "arena = :arena", {"arena": arena}
    return "arena = :arena AND judge = :judge", {"arena": arena, "judge": judge}


class ArenaBrowse:
    """The read-only queries of the arena pages."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _rows(self, sql: str, params: Mapping[str, Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self.store._read(sql, params)]

    def arenas(self) -> list[dict[str, Any]]:
        """Every arena and judge, sorted by both: battles, and the times of the first and last."""
        return self._rows(
            """SELECT arena, judge, COUNT(*) AS battles, MIN(created_at) AS first, MAX(created_at) AS last
               FROM battles GROUP BY arena, judge ORDER BY arena, judge"""
        )

    def judges(self, arena: str) -> list[str]:
        """The judges of the arena's battles, sorted; empty when the store has no such arena."""
        rows = self._rows(
            "SELECT DISTINCT judge FROM battles WHERE arena = :arena ORDER BY judge", {"arena": arena}
        )
        return [str(r["judge"]) for r in rows]

    def outcomes(self, arena: str, judge: str | None = None) -> list[tuple[str, str, float]]:
        """The arena's battles (of one judge, or all) in the order recorded, as the ratings read
        them: (model_a, model_b, score of model_a), a tie of either kind scoring 1/2."""
        where, params = _where(arena, judge)
        rows = self.store._read(
            f"""SELECT model_a, model_b, CASE winner WHEN 'model_a' THEN 1.0 WHEN 'model_b' THEN 0.0
                ELSE 0.5 END AS score FROM battles WHERE {where} ORDER BY id""",
            params,
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def count(self, arena: str, judge: str | None = None) -> int:
        """How many battles the arena has (of one judge, or all)."""
        return self.version(arena, judge)[0]

    def version(self, arena: str, judge: str | None = None) -> tuple[int, int]:
        """The arena's battle count and last battle id (of one judge, or all): battles are only
        ever added, so the pair changes exactly when the battles do."""
        where, params = _where(arena, judge)
        row = self._rows(
            f"SELECT COUNT(*) AS n, COALESCE(MAX(id), 0) AS last FROM battles WHERE {where}", params
        )
        return int(row[0]["n"]), int(row[0]["last"])

    def page(self, arena: str, judge: str | None, page: int, per_page: int) -> list[dict[str, Any]]:
        """One page of the arena's battles, newest first: id, question, turn, players, winner,
        judge, time and `consistent` (a model judge's orders agreed; None for other judges)."""
        where, params = _where(arena, judge)
        return self._rows(
            f"""SELECT {_BATTLE_COLUMNS} FROM battles WHERE {where}
                ORDER BY id DESC LIMIT :limit OFFSET :offset""",
            {**params, "limit": per_page, "offset": (max(page, 1) - 1) * per_page},
        )

    def battle(self, battle_id: int) -> dict[str, Any] | None:
        """One battle's row with its `data` decoded; None when the store has no such battle."""
        rows = self._rows(f"SELECT {_BATTLE_COLUMNS}, data FROM battles WHERE id = :id", {"id": battle_id})
        if not rows:
            return None
        row = rows[0]
        try:
            data = json.loads(row["data"])
        except ValueError:
            data = {}
        row["data"] = data if isinstance(data, dict) else {}
        return row

    def result(self, run_id: int, task_id: str) -> dict[str, Any] | None:
        """The whole results row of one item of a run; None when the run has no such item."""
        rows = self._rows(
            "SELECT * FROM results WHERE run_id = :run AND task_id = :task", {"run": run_id, "task": task_id}
        )
        return rows[0] if rows else None
