"""Connection and append-only migrations. Never edit a migration: add a new one at the end.

A writing connection waits up to BUSY_TIMEOUT_S for another process's write lock. A read-only one
(`open_readonly`) writes nothing at all: no folder, no file beside the store, no migration.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from ponder.errors import StoreError

BUSY_TIMEOUT_S = 30.0


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
    _script(
        db,
        """
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
    """,
    )


def m002_cache_and_verifier_compute(db: sqlite3.Connection) -> None:
    """Compute columns for the cache's share and the verifier's share of each result."""
    for column in ("cached_tokens", "verifier_calls", "verifier_prompt_tokens", "verifier_completion_tokens"):
        db.execute(f"ALTER TABLE results ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE calls ADD COLUMN purpose TEXT NOT NULL DEFAULT 'generate'")


def m003_battles(db: sqlite3.Connection) -> None:
    """Arena battles: one verdict on one question between two players, by a judge (a model, a
    rule such as correctness, or "human"). Machine judges give one verdict per pair and question."""
    _script(
        db,
        """
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
    """,
    )


def m004_result_errors(db: sqlite3.Connection) -> None:
    """`results.error`: NULL when the item was answered, the message when it errored (a later
    result for the same item replaces an errored one)."""
    db.execute("ALTER TABLE results ADD COLUMN error TEXT")


def m005_run_identity(db: sqlite3.Connection) -> None:
    """`runs.identity`: the sha256 of what a run runs (its resolved configuration, the model, the
    tasks: see `eval/runner.py`), by which it is found again. NULL for the runs made before it, which
    are never found by an identity, and for runs that are not found again (rescores)."""
    db.execute("ALTER TABLE runs ADD COLUMN identity TEXT")
    db.execute("CREATE UNIQUE INDEX runs_identity ON runs (identity) WHERE identity IS NOT NULL")


def m006_embeddings(db: sqlite3.Connection) -> None:
    """`embeddings`: the cache of embedders' vectors, one row per embedder (`model`, its model id)
    and text (`text_hash`, the 32-byte sha256 of the text's UTF-8), the vector as `dim`
    little-endian float32 values."""
    db.execute(
        """CREATE TABLE embeddings (
            model TEXT NOT NULL,
            text_hash BLOB NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (model, text_hash)
        ) WITHOUT ROWID"""
    )


def m007_run_planned(db: sqlite3.Connection) -> None:
    """`runs.planned`: how many items the run's latest start asked for (the benchmark, or its first
    `--limit` items), so a run in progress shows how far it is. NULL for runs made before it."""
    db.execute("ALTER TABLE runs ADD COLUMN planned INTEGER")


def m008_memories(db: sqlite3.Connection) -> None:
    """`memories`: the town's memory streams, one row per memory of one agent in one run, numbered
    from 1 per agent (`number`, the memory's id in its stream); times are ISO strings of simulation
    time, `evidence` a JSON list of the numbers of the memories it rests on, the embedding `dim`
    little-endian float32 values. `memory_state`: per run and agent, the number of the last memory
    made before the latest reflection (0: none yet)."""
    _script(
        db,
        """
        CREATE TABLE memories (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            agent TEXT NOT NULL,
            number INTEGER NOT NULL,
            kind TEXT NOT NULL,
            text TEXT NOT NULL,
            created TEXT NOT NULL,
            last_accessed TEXT NOT NULL,
            importance INTEGER NOT NULL,
            evidence TEXT NOT NULL DEFAULT '[]',
            dim INTEGER NOT NULL,
            embedding BLOB NOT NULL,
            PRIMARY KEY (run_id, agent, number)
        );
        CREATE TABLE memory_state (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            agent TEXT NOT NULL,
            reflected_through INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (run_id, agent)
        )
    """,
    )


def m009_town_steps(db: sqlite3.Connection) -> None:
    """`town_steps`: a town run's state after each step of its clock, for replay and resuming: the
    step's number and simulation time (ISO), and its state as JSON (each agent's tile, action,
    place and speech; each object's state)."""
    db.execute(
        """CREATE TABLE town_steps (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            step INTEGER NOT NULL,
            time TEXT NOT NULL,
            state TEXT NOT NULL,
            PRIMARY KEY (run_id, step)
        )"""
    )


def m010_town_step_walls(db: sqlite3.Connection) -> None:
    """`town_steps.finished_at`: the wall-clock time (Unix seconds) a step was stored, so a run's
    cost per simulated hour can be read back. NULL for steps stored before it."""
    db.execute("ALTER TABLE town_steps ADD COLUMN finished_at REAL")


def m011_results_by_task(db: sqlite3.Connection) -> None:
    """An index of results by item id: `ponder serve` finds a request's trace by its id alone."""
    db.execute("CREATE INDEX results_task ON results (task_id)")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    m001_runs_results_calls,
    m002_cache_and_verifier_compute,
    m003_battles,
    m004_result_errors,
    m005_run_identity,
    m006_embeddings,
    m007_run_planned,
    m008_memories,
    m009_town_steps,
    m010_town_step_walls,
    m011_results_by_task,
]


def _applied(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM _migrations")}


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply the migrations not yet applied, in order, each in its own IMMEDIATE transaction that
    checks again whether another process applied it meanwhile; return the names applied now."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    done = _applied(db)
    applied = []
    for fn in MIGRATIONS:
        if fn.__name__ in done:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            if fn.__name__ not in _applied(db):
                fn(db)
                db.execute(
                    "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (fn.__name__, time.time())
                )
                applied.append(fn.__name__)
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    return applied


def connect(path: Path | str) -> sqlite3.Connection:
    """A writing connection: creates the folder and the file if needed, WAL mode, migrated."""
    path = Path(path) if str(path) != ":memory:" else path
    try:
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None)
        db.row_factory = sqlite3.Row
        _wal_mode(db)
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        migrate(db)
    except (sqlite3.Error, OSError) as e:
        raise StoreError(f"cannot open the store at {path}: {e}") from e
    return db


def _wal_mode(db: sqlite3.Connection) -> None:
    """Switch to WAL mode. Two connections switching a new file at once may be told 'locked' at
    once, without the busy timeout (SQLite will not wait where waiting could deadlock): retry."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL").fetchall()
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class FileState(NamedTuple):
    """What tells whether a store file changed under a snapshot reader."""

    wal: bool
    mtime_ns: int
    size: int


def file_state(path: Path) -> FileState:
    st = path.stat()
    return FileState(Path(f"{path}-wal").exists(), st.st_mtime_ns, st.st_size)


def open_readonly(path: Path | str) -> tuple[sqlite3.Connection, FileState | None]:
    """A connection that reads an existing store and cannot write it; creates nothing, migrates nothing.

    It opens with `mode=ro`, and reads what every writer committed, when the store has a -wal file
    beside it or is not in WAL mode. A WAL-mode store without one is opened `immutable=1`, because
    `mode=ro` would create the -wal and -shm files; so is any store `mode=ro` cannot open (a folder
    it may not write, with no -shm file: the WAL's uncheckpointed pages are then not seen). For an
    immutable snapshot the file's state is returned too: the caller checks it before each query
    and reopens when it changed (a writer began or wrote), since such a connection never notices a
    change; only a writer that starts and checkpoints within one query goes unseen. A store older
    than this version reads as the current schema: a missing column as its default, a missing table
    as empty.
    """
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"no store at {path}")
    uri = path.absolute().as_uri() + "?mode=ro"
    try:
        state: FileState | None = file_state(path)
        with path.open("rb") as f:
            wal_mode = f.read(20)[18:20] == b"\x02\x02"
        db = None
        if (state is not None and state.wal) or not wal_mode:
            try:
                db = _open_uri(uri)
            except sqlite3.OperationalError:
                pass
        if db is None:
            db = _open_uri(uri + "&immutable=1")
        else:
            state = None
        try:
            if not db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'"
            ).fetchall():
                raise StoreError(f"{path} is not a ponder store (it has no _migrations table)")
            _present_current_schema(db)
        except BaseException:
            db.close()
            raise
    except (sqlite3.Error, OSError) as e:
        raise StoreError(f"cannot read the store at {path}: {e}") from e
    return db, state


def _open_uri(uri: str) -> sqlite3.Connection:
    db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None)
    try:
        db.row_factory = sqlite3.Row
        db.execute("SELECT count(*) FROM sqlite_master").fetchall()
    except sqlite3.Error:
        db.close()
        raise
    return db


def _present_current_schema(db: sqlite3.Connection) -> None:
    """Shadow each table an older store lacks, or lacks columns of, by a TEMP view in the current shape."""
    if {fn.__name__ for fn in MIGRATIONS} <= _applied(db):
        return
    current = sqlite3.connect(":memory:", isolation_level=None)
    migrate(current)
    tables = [
        r[0]
        for r in current.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != '_migrations' ORDER BY name"
        )
    ]
    for table in tables:
        have = {r[1] for r in db.execute(f"PRAGMA main.table_info({table})")}
        missing = [
            f"{r[4] or 'NULL'} AS {r[1]}"
            for r in current.execute(f"PRAGMA table_info({table})")
            if r[1] not in have
        ]
        if not have:
            db.execute(f"CREATE TEMP VIEW {table} AS SELECT {', '.join(missing)} WHERE 0")
        elif missing:
            db.execute(f"CREATE TEMP VIEW {table} AS SELECT *, {', '.join(missing)} FROM main.{table}")
    current.close()
