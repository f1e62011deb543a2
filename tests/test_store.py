import sqlite3

from ponder.store import Store
from ponder.store.db import MIGRATIONS, connect, migrate
from ponder.types import Call, Completion, Compute, GenerationRequest, Result, Task, Usage


def test_migrations_from_an_empty_database(tmp_path):
    db = connect(tmp_path / "s.sqlite")
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "results", "calls", "_migrations"} <= names
    applied = [r[0] for r in db.execute("SELECT name FROM _migrations ORDER BY rowid")]
    assert applied == [fn.__name__ for fn in MIGRATIONS]
    assert migrate(db) == []  # idempotent
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_failing_migration_leaves_nothing_behind(tmp_path, monkeypatch):
    def m999_broken(db):
        db.execute("CREATE TABLE half (x)")
        raise sqlite3.OperationalError("boom")

    db = connect(tmp_path / "s.sqlite")
    monkeypatch.setattr("ponder.store.db.MIGRATIONS", MIGRATIONS + [m999_broken])
    try:
        migrate(db)
    except sqlite3.OperationalError:
        pass
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "half" not in tables
    assert "m999_broken" not in {r[0] for r in db.execute("SELECT name FROM _migrations")}


def _result(task_id="t1"):
    req = GenerationRequest.chat("2+2?")
    comp = Completion("4", "stop", Usage(10, 1, 0), latency_s=0.5)
    call = Call(req, (comp,), 0.5)
    return Result(Task(task_id, "2+2?", "4"), "cot", "4", "so 4", True, (call,), Compute.of((call,), 0.6))


def test_runs_and_results_round_trip(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        run = store.start_run("solve", "scripted", "cot", {"k": 1})
        store.add_result(run, _result())
        store.finish_run(run)
    with Store(path) as store:  # committed: visible from a new connection
        assert store.run(run)["status"] == "done"
        [row] = store.results(run)
        assert (row["task_id"], row["answer"], row["correct"], row["prompt_tokens"], row["calls"]) == \
            ("t1", "4", 1, 10, 1)


def test_one_result_per_task_and_run(tmp_path):
    import pytest

    from ponder.errors import StoreError
    with Store(tmp_path / "s.sqlite") as store:
        run = store.start_run("eval", "m")
        store.add_result(run, _result())
        with pytest.raises(StoreError, match="UNIQUE"):
            store.add_result(run, _result())


def test_cached_completions_by_key_and_index(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        req = GenerationRequest.chat("q", n=2)
        comps = [Completion("a", "stop", Usage(5, 1)), Completion("b", "length", Usage(5, 2, 5))]
        store.add_calls("m", "k1", req, comps)
        store.add_calls("m", "k1", req, [Completion("a2", "stop", Usage(5, 1), cached=True)])
        got = store.cached_completions("k1", 2)
        assert got[0].text == "a" and got[1].text == "b" and got[1].finish_reason == "length"
        assert store.cached_completions("k1", 1).keys() == {0}
        assert store.cached_completions("other", 2) == {}
        assert len(store.calls()) == 3
