"""The store's runs, results, calls and battles; with `embeddings.py` (cached vectors) and
`memories.py` (the town's memory streams), the only modules that write SQL.

Every write is one transaction (`Store._transaction`): BEGIN IMMEDIATE, so the write lock is taken
first (waiting up to the busy timeout for another process's) and two processes never deadlock
upgrading a read lock; then COMMIT, or ROLLBACK on any error, so nothing half-written stays and the
connection is never left inside a transaction. Database errors come out as StoreError naming the store.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ponder.errors import StoreError
from ponder.store.codec import result_data, result_from_row
from ponder.store.db import FileState, connect, default_store_path, file_state, open_readonly
from ponder.types import Battle, Completion, Event, GenerationRequest, ModelCall, Result, cache_key

RESULT_COLUMNS = (
    "run_id",
    "task_id",
    "answer",
    "correct",
    "reasoning",
    "prompt_tokens",
    "prompt_tokens_evaluated",
    "completion_tokens",
    "calls",
    "cached_calls",
    "seconds",
    "cached_tokens",
    "verifier_calls",
    "verifier_prompt_tokens",
    "verifier_completion_tokens",
    "data",
    "created_at",
    "error",
)


def _config_json(config: dict[str, Any] | None) -> str:
    return json.dumps(config or {}, sort_keys=True)


def _row(run_id: int, result: Result, created_at: float) -> tuple[Any, ...]:
    """The values of RESULT_COLUMNS for `result`."""
    c = result.compute
    return (
        run_id,
        result.task.id,
        result.answer,
        None if result.correct is None else int(result.correct),
        result.reasoning,
        c.prompt_tokens,
        c.prompt_tokens_evaluated,
        c.completion_tokens,
        c.calls,
        c.cached_calls,
        c.seconds,
        c.cached_tokens,
        c.verifier_calls,
        c.verifier_prompt_tokens,
        c.verifier_completion_tokens,
        result_data(result),
        created_at,
        result.error,
    )


class Store:
    """Runs, results, calls and battles in one SQLite file.

    `Store(path, readonly=True)` reads an existing store without writing anything (see
    `db.open_readonly`); a missing file is a StoreError, and so is every write.
    """

    def __init__(self, path: Path | str | None = None, readonly: bool = False) -> None:
        self.path = default_store_path() if path is None else path
        self.readonly = readonly
        self._snapshot: FileState | None = None
        if readonly:
            self._db, self._snapshot = open_readonly(self.path)
        else:
            self._db = connect(self.path)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self.readonly:
            raise StoreError(f"store {self.path} is open read-only: it cannot be written")
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as e:
                raise StoreError(f"store {self.path}: {e}") from e

    def _write(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> int:
        with self._transaction() as db:
            return db.execute(sql, params).lastrowid or 0

    def _read(self, sql: str, params: tuple[Any, ...] | Mapping[str, Any] = ()) -> list[sqlite3.Row]:
        try:
            with self._lock:
                if self._snapshot is not None and file_state(Path(self.path)) != self._snapshot:
                    self._db.close()
                    self._db, self._snapshot = open_readonly(self.path)
                return self._db.execute(sql, params).fetchall()
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"store {self.path}: {e}") from e

    # runs
    def start_run(
        self, kind: str, model: str, strategy: str | None = None, config: dict[str, Any] | None = None
    ) -> int:
        return self._write(
            "INSERT INTO runs (created_at, kind, model, strategy, config) VALUES (?, ?, ?, ?, ?)",
            (time.time(), kind, model, strategy, _config_json(config)),
        )

    def find_or_start_run(
        self,
        kind: str,
        model: str,
        strategy: str | None = None,
        config: dict[str, Any] | None = None,
        identity: str | None = None,
    ) -> int:
        """The id of the run with this identity (one run at most has it), set back to status
        'running' with no finished_at; or of a new run holding it, with this kind, model, strategy
        and config, when the store has none. Without an identity, the run is found among those
        without one by kind, model, strategy and config (config compared as JSON with sorted keys;
        the oldest such run if there are several). One IMMEDIATE transaction, so two processes
        starting the same run at once get the same id."""
        cfg = _config_json(config)
        with self._transaction() as db:
            if identity is not None:
                row = db.execute("SELECT id FROM runs WHERE identity = ?", (identity,)).fetchone()
            else:
                row = db.execute(
                    """SELECT id FROM runs WHERE kind = ? AND model = ? AND strategy IS ? AND config = ?
                       AND identity IS NULL ORDER BY id LIMIT 1""",
                    (kind, model, strategy, cfg),
                ).fetchone()
            if row is not None:
                db.execute("UPDATE runs SET status = 'running', finished_at = NULL WHERE id = ?", (row[0],))
                return int(row[0])
            cur = db.execute(
                "INSERT INTO runs (created_at, kind, model, strategy, config, identity) VALUES (?, ?, ?, ?, ?, ?)",
                (time.time(), kind, model, strategy, cfg, identity),
            )
            return int(cur.lastrowid or 0)

    def run_with_identity(self, identity: str) -> dict[str, Any] | None:
        rows = self._read("SELECT * FROM runs WHERE identity = ?", (identity,))
        return dict(rows[0]) if rows else None

    def add_finished_run(
        self,
        kind: str,
        model: str,
        strategy: str | None,
        config: dict[str, Any],
        results: list[Result],
    ) -> int:
        """A run written whole in one transaction, status 'done', holding `results`. Nothing of it
        is written if any result fails."""
        now = time.time()
        with self._transaction() as db:
            run_id = int(
                db.execute(
                    """INSERT INTO runs (created_at, finished_at, kind, model, strategy, config, status, planned)
                   VALUES (?, ?, ?, ?, ?, ?, 'done', ?)""",
                    (now, now, kind, model, strategy, _config_json(config), len(results)),
                ).lastrowid
                or 0
            )
            placeholders = ", ".join("?" * len(RESULT_COLUMNS))
            db.executemany(
                f"INSERT INTO results ({', '.join(RESULT_COLUMNS)}) VALUES ({placeholders})",
                [_row(run_id, r, now) for r in results],
            )
        return run_id

    def plan_run(self, run_id: int, items: int) -> None:
        """Record how many items the run's latest start asked for (`runs.planned`)."""
        self._write("UPDATE runs SET planned = ? WHERE id = ?", (items, run_id))

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
    def add_result(self, run_id: int, result: Result) -> int | None:
        """Store the result of one item of a run; return its row id, or None when nothing was
        written because the run already holds an answered result for this item (another process
        wrote it first): that one is kept. A stored errored result (`error` set) is replaced by
        this one, keeping its row id."""
        values = _row(run_id, result, time.time())
        updates = ", ".join(f"{col} = excluded.{col}" for col in RESULT_COLUMNS[2:])
        with self._transaction() as db:
            rows = db.execute(
                f"""INSERT INTO results ({", ".join(RESULT_COLUMNS)}) VALUES ({", ".join("?" * len(values))})
                    ON CONFLICT (run_id, task_id) DO UPDATE SET {updates} WHERE results.error IS NOT NULL
                    RETURNING id""",
                values,
            ).fetchall()
        return int(rows[0][0]) if rows else None

    def results(self, run_id: int) -> list[Result]:
        """The run's results, in the order written, each equal to the Result that was stored (rows
        of earlier versions read as described in `store.codec`)."""
        return [result_from_row(r) for r in self.result_rows(run_id)]

    def result_of_item(self, task_id: str, kind: str) -> tuple[int, Result] | None:
        """The latest result stored for item `task_id` in a run of `kind`, with its run id."""
        rows = self._read(
            """SELECT r.* FROM results r JOIN runs ON runs.id = r.run_id WHERE r.task_id = ? AND runs.kind = ?
               ORDER BY r.id DESC LIMIT 1""",
            (task_id, kind),
        )
        return (int(rows[0]["run_id"]), result_from_row(dict(rows[0]))) if rows else None

    def result_rows(self, run_id: int) -> list[dict[str, Any]]:
        """The run's results rows as stored (their `data` column as JSON text), in the order written."""
        return [dict(r) for r in self._read("SELECT * FROM results WHERE run_id = ? ORDER BY id", (run_id,))]

    def results_summary(self, run_id: int) -> list[dict[str, Any]]:
        """The numeric columns of a run's results and their errors, without the traces (cheap for
        large runs)."""
        return [
            dict(r)
            for r in self._read(
                """SELECT task_id, answer, correct, prompt_tokens, prompt_tokens_evaluated,
               completion_tokens, calls, cached_calls, seconds, error FROM results WHERE run_id = ?
               ORDER BY id""",
                (run_id,),
            )
        ]

    # battles
    def add_battle(self, arena: str, battle: Battle) -> int:
        return self._write(
            """INSERT INTO battles (arena, question_id, turn, model_a, model_b, winner, judge, data, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                arena,
                battle.question_id,
                battle.turn,
                battle.model_a,
                battle.model_b,
                battle.winner,
                battle.judge,
                json.dumps(battle.data, default=str),
                time.time(),
            ),
        )

    def import_battles(self, arena: str, battles: list[Battle]) -> tuple[int, int]:
        """Add battles in one transaction; a machine judge's verdict already stored for the same
        question, turn and ordered pair is skipped. Returns (added, skipped)."""
        rows = [
            (
                arena,
                b.question_id,
                b.turn,
                b.model_a,
                b.model_b,
                b.winner,
                b.judge,
                json.dumps(b.data, default=str),
                time.time(),
            )
            for b in battles
        ]
        with self._transaction() as db:
            before = db.total_changes
            db.executemany(
                """INSERT OR IGNORE INTO battles (arena, question_id, turn, model_a, model_b, winner, judge,
                   data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                rows,
            )
            added = db.total_changes - before
        return added, len(rows) - added

    def battles(self, arena: str | None = None, judge: str | None = None) -> list[Battle]:
        """Battles in the order recorded, of one arena (or all) and one judge (or all)."""
        sql, params = "SELECT * FROM battles WHERE 1", list[str]()
        if arena is not None:
            sql, params = sql + " AND arena = ?", params + [arena]
        if judge is not None:
            sql, params = sql + " AND judge = ?", params + [judge]
        rows = self._read(sql + " ORDER BY id", tuple(params))
        return [
            Battle(
                r["question_id"],
                r["model_a"],
                r["model_b"],
                r["winner"],
                r["judge"],
                r["turn"],
                json.loads(r["data"]),
            )
            for r in rows
        ]

    def arenas(self) -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in self._read(
                """SELECT arena, judge, COUNT(*) AS battles, MIN(created_at) AS first, MAX(created_at) AS last
               FROM battles GROUP BY arena, judge ORDER BY MIN(id)"""
            )
        ]

    # calls
    def add_calls(
        self,
        model: str,
        key: str,
        request: GenerationRequest,
        completions: list[Completion],
        first_index: int = 0,
        run_id: int | None = None,
        task_id: str | None = None,
        purpose: str = "generate",
    ) -> None:
        """Record the completions of one call, sample i stored under index first_index + i."""
        req = request.canonical_json()
        now = time.time()
        rows = [
            (
                run_id,
                task_id,
                model,
                key,
                first_index + i,
                req,
                c.text,
                json.dumps(c.to_dict()),
                c.usage.prompt_tokens,
                c.usage.completion_tokens,
                c.usage.cached_prompt_tokens,
                c.latency_s,
                int(c.cached),
                now,
                purpose,
            )
            for i, c in enumerate(completions)
        ]
        with self._transaction() as db:
            db.executemany(
                """INSERT INTO calls (run_id, task_id, model, request_hash, sample_index, request,
                   output, completion, prompt_tokens, completion_tokens, cached_prompt_tokens,
                   latency_s, cached, created_at, purpose)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                rows,
            )

    def call_sink(self, run_id: int | None, task_id: str | None) -> CallSink:
        """A trace sink that writes each model call of one task to the calls table."""
        return CallSink(self, run_id, task_id)

    def cached_completions(self, key: str, count: int) -> dict[int, Completion]:
        """Original (non-cached) completions stored under `key`, by sample index < count."""
        rows = self._read(
            """SELECT sample_index, completion, MIN(id) FROM calls WHERE request_hash = ? AND cached = 0
               AND sample_index < ? GROUP BY sample_index""",
            (key, count),
        )
        return {r["sample_index"]: Completion.from_dict(json.loads(r["completion"])) for r in rows}

    def calls(self, run_id: int | None = None) -> list[dict[str, Any]]:
        if run_id is None:
            return [dict(r) for r in self._read("SELECT * FROM calls ORDER BY id")]
        return [dict(r) for r in self._read("SELECT * FROM calls WHERE run_id = ? ORDER BY id", (run_id,))]


class CallSink:
    """Writes each model call a task's Recorder emits to the store's calls table, under the run
    and task, once: every sample with its index and whether it came from the cache, keyed as the
    cache looks it up (the model id and the request as sent). Other events, and calls that no
    model backend answered (`model` None), belong to the result's trace only."""

    def __init__(self, store: Store, run_id: int | None, task_id: str | None) -> None:
        self.store = store
        self.run_id = run_id
        self.task_id = task_id

    def emit(self, event: Event) -> None:
        if not isinstance(event, ModelCall) or event.model is None:
            return
        self.store.add_calls(
            event.model,
            cache_key(event.model, event.request),
            event.request,
            list(event.completions),
            0,
            self.run_id,
            self.task_id,
            event.purpose,
        )
