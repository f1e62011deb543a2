"""Connection and append-only migrations. Never edit a migration: add a new one at the end."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from ponder.errors import StoreError


def default_store_path() -> Path:
    env = os.environ.get("PONDER_STORE")
    if env:
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "ponder" / "ponder.sqlite"


def _script(db: sqlite3.Connection, sql: str) -> None:
    for statement in sql.split(";"):
        if statement.strip():
            db.execute(statement)


def m001_runs_results_calls(db: sqlite3.Connection) -> None:
    _script(db, """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            created_at REAL NOT NULL,
            finished_at REAL,
            kind TEXT NOT NULL,
            model TEXT NOT NULL,
            strategy TEXT,
            config TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL DEFAULT 'running'
        );
        CREATE TABLE results (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            task_id TEXT NOT NULL,
            answer TEXT,
            correct INTEGER,
            reasoning TEXT NOT NULL DEFAULT '',
            prompt_tokens INTEGER NOT NULL,
            prompt_tokens_evaluated INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            calls INTEGER NOT NULL,
            cached_calls INTEGER NOT NULL,
            seconds REAL NOT NULL,
            data TEXT NOT NULL DEFAULT '{}',
            created_at REAL NOT NULL,
            UNIQUE (run_id, task_id)
        );
        CREATE TABLE calls (
            id INTEGER PRIMARY KEY,
            run_id INTEGER REFERENCES runs(id),
            task_id TEXT,
            model TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            sample_index INTEGER NOT NULL,
            request TEXT NOT NULL,
            output TEXT NOT NULL,
            completion TEXT NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            cached_prompt_tokens INTEGER NOT NULL,
            latency_s REAL NOT NULL,
            cached INTEGER NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE INDEX calls_cache ON calls (request_hash, sample_index) WHERE cached = 0;
        CREATE INDEX calls_run ON calls (run_id, task_id);
    """)


def m002_cache_and_verifier_compute(db: sqlite3.Connection) -> None:
    """Compute columns for the cache's share and the verifier's share of each result."""
    for column in ("cached_tokens", "verifier_calls", "verifier_prompt_tokens",
                   "verifier_completion_tokens"):
        db.execute(f"ALTER TABLE results ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE calls ADD COLUMN purpose TEXT NOT NULL DEFAULT 'generate'")


def m003_battles(db: sqlite3.Connection) -> None:
    """Arena battles: one verdict on one question between two players, by a judge (a model, a
    rule such as correctness, or "human"). Machine judges give one verdict per pair and question."""
    _script(db, """
        CREATE TABLE battles (
            id INTEGER PRIMARY KEY,
            arena TEXT NOT NULL,
            question_id TEXT NOT NULL,
            turn INTEGER NOT NULL DEFAULT 1,
            model_a TEXT NOT NULL,
            model_b TEXT NOT NULL,
            winner TEXT NOT NULL CHECK (winner IN ('model_a', 'model_b', 'tie', 'tie (bothbad)')),
            judge TEXT NOT NULL,
            data TEXT NOT NULL DEFAULT '{}',
            created_at REAL NOT NULL
        );
        CREATE UNIQUE INDEX battles_once ON battles (arena, question_id, turn, model_a, model_b, judge)
            WHERE judge != 'human';
        CREATE INDEX battles_arena ON battles (arena, id)
    """)


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    m001_runs_results_calls,
    m002_cache_and_verifier_compute,
    m003_battles,
]


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply the migrations not yet applied, in order; return the names applied now."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    applied = []
    for fn in MIGRATIONS:
        if fn.__name__ in done:
            continue
        db.execute("BEGIN")
        try:
            fn(db)
            db.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (fn.__name__, time.time()))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        applied.append(fn.__name__)
    return applied


def connect(path: Path | str) -> sqlite3.Connection:
    path = Path(path) if str(path) != ":memory:" else path
    try:
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=5000")
        migrate(db)
    except (sqlite3.Error, OSError) as e:
        raise StoreError(f"cannot open the store at {path}: {e}") from e
    return db
