"""The only module that writes SQL. Every write commits before it returns."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from ponder.arena.battles import Battle
from ponder.errors import StoreError
from ponder.store.db import connect, default_store_path
from ponder.types import Completion, GenerationRequest, Result


class Store:
    def __init__(self, path: Path | str | None = None) -> None:
        self.path = default_store_path() if path is None else path
        self._db = connect(self.path)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, params: tuple | list = ()) -> int:
        try:
            with self._lock:
                cur = self._db.execute(sql, params)
                return cur.lastrowid or 0
        except sqlite3.Error as e:
            raise StoreError(f"store {self.path}: {e}") from e

    def _read(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # runs
    def start_run(self, kind: str, model: str, strategy: str | None = None,
                  config: dict[str, Any] | None = None) -> int:
        return self._write(
            "INSERT INTO runs (created_at, kind, model, strategy, config) VALUES (?, ?, ?, ?, ?)",
            (time.time(), kind, model, strategy, json.dumps(config or {}, sort_keys=True)))

    def finish_run(self, run_id: int, status: str = "done") -> None:
        self._write("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", (status, time.time(), run_id))

    def reopen_run(self, run_id: int) -> None:
        self._write("UPDATE runs SET status = 'running', finished_at = NULL WHERE id = ?", (run_id,))

    def run(self, run_id: int) -> dict[str, Any] | None:
        rows = self._read("SELECT * FROM runs WHERE id = ?", (run_id,))
        return dict(rows[0]) if rows else None

    def runs(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._read("SELECT * FROM runs ORDER BY id")]

    # results
    def add_result(self, run_id: int, result: Result) -> int:
        c = result.compute
        data = {"strategy": result.strategy, "meta": result.meta, "question": result.task.question,
                "gold": result.task.answer, "kind": result.task.kind, "task_meta": result.task.meta,
                "calls": [{"request": call.request.to_dict(), "purpose": call.purpose,
                           "latency_s": call.latency_s,
                           "completions": [x.to_dict() for x in call.completions]} for call in result.calls]}
        return self._write(
            """INSERT INTO results (run_id, task_id, answer, correct, reasoning, prompt_tokens,
               prompt_tokens_evaluated, completion_tokens, calls, cached_calls, seconds, cached_tokens,
               verifier_calls, verifier_prompt_tokens, verifier_completion_tokens, data, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (run_id, result.task.id, result.answer,
             None if result.correct is None else int(result.correct), result.reasoning,
             c.prompt_tokens, c.prompt_tokens_evaluated, c.completion_tokens, c.calls, c.cached_calls,
             c.seconds, c.cached_tokens, c.verifier_calls, c.verifier_prompt_tokens,
             c.verifier_completion_tokens, json.dumps(data, default=str), time.time()))

    def results(self, run_id: int) -> list[dict[str, Any]]:
        return [dict(r) for r in self._read("SELECT * FROM results WHERE run_id = ? ORDER BY id", (run_id,))]

    def results_summary(self, run_id: int) -> list[dict[str, Any]]:
        """The numeric columns of a run's results, without the traces (cheap for large runs)."""
        return [dict(r) for r in self._read(
            """SELECT task_id, answer, correct, prompt_tokens, prompt_tokens_evaluated,
               completion_tokens, calls, cached_calls, seconds FROM results WHERE run_id = ?
               ORDER BY id""", (run_id,))]

    # battles
    def add_battle(self, arena: str, battle: Battle) -> int:
        return self._write(
            """INSERT INTO battles (arena, question_id, turn, model_a, model_b, winner, judge, data, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (arena, battle.question_id, battle.turn, battle.model_a, battle.model_b, battle.winner,
             battle.judge, json.dumps(battle.data, default=str), time.time()))

    def import_battles(self, arena: str, battles: list[Battle]) -> tuple[int, int]:
        """Add battles in one transaction; a machine judge's verdict already stored for the same
        question, turn and ordered pair is skipped. Returns (added, skipped)."""
        rows = [(arena, b.question_id, b.turn, b.model_a, b.model_b, b.winner, b.judge,
                 json.dumps(b.data, default=str), time.time()) for b in battles]
        try:
            with self._lock:
                before = self._db.total_changes
                self._db.execute("BEGIN")
                self._db.executemany(
                    """INSERT OR IGNORE INTO battles (arena, question_id, turn, model_a, model_b, winner, judge,
                       data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""", rows)
                self._db.execute("COMMIT")
                added = self._db.total_changes - before
        except sqlite3.Error as e:
            raise StoreError(f"store {self.path}: {e}") from e
        return added, len(rows) - added

    def battles(self, arena: str | None = None, judge: str | None = None) -> list[Battle]:
        """Battles in the order recorded, of one arena (or all) and one judge (or all)."""
        sql, params = "SELECT * FROM battles WHERE 1", []
        if arena is not None:
            sql, params = sql + " AND arena = ?", params + [arena]
        if judge is not None:
            sql, params = sql + " AND judge = ?", params + [judge]
        rows = self._read(sql + " ORDER BY id", tuple(params))
        return [Battle(r["question_id"], r["model_a"], r["model_b"], r["winner"], r["judge"], r["turn"],
                       json.loads(r["data"])) for r in rows]

    def arenas(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._read(
            """SELECT arena, judge, COUNT(*) AS battles, MIN(created_at) AS first, MAX(created_at) AS last
               FROM battles GROUP BY arena, judge ORDER BY MIN(id)""")]

    # calls
    def add_calls(self, model: str, key: str, request: GenerationRequest, completions: list[Completion],
                  first_index: int = 0, run_id: int | None = None, task_id: str | None = None,
                  purpose: str = "generate") -> None:
        """Record the completions of one call, sample i stored under index first_index + i."""
        req = request.canonical_json()
        now = time.time()
        rows = [(run_id, task_id, model, key, first_index + i, req, c.text, json.dumps(c.to_dict()),
                 c.usage.prompt_tokens, c.usage.completion_tokens, c.usage.cached_prompt_tokens,
                 c.latency_s, int(c.cached), now, purpose) for i, c in enumerate(completions)]
        try:
            with self._lock:
                self._db.execute("BEGIN")
                self._db.executemany(
                    """INSERT INTO calls (run_id, task_id, model, request_hash, sample_index, request,
                       output, completion, prompt_tokens, completion_tokens, cached_prompt_tokens,
                       latency_s, cached, created_at, purpose)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    rows)
                self._db.execute("COMMIT")
        except sqlite3.Error as e:
            raise StoreError(f"store {self.path}: {e}") from e

    def cached_completions(self, key: str, count: int) -> dict[int, Completion]:
        """Original (non-cached) completions stored under `key`, by sample index < count."""
        rows = self._read(
            """SELECT sample_index, completion, MIN(id) FROM calls WHERE request_hash = ? AND cached = 0
               AND sample_index < ? GROUP BY sample_index""", (key, count))
        return {r["sample_index"]: Completion.from_dict(json.loads(r["completion"])) for r in rows}

    def calls(self, run_id: int | None = None) -> list[dict[str, Any]]:
        if run_id is None:
            return [dict(r) for r in self._read("SELECT * FROM calls ORDER BY id")]
        return [dict(r) for r in self._read("SELECT * FROM calls WHERE run_id = ? ORDER BY id", (run_id,))]

