import os
import shutil
import sqlite3
import subprocess

import pytest

from ponder.arena.battles import Battle
from ponder.errors import StoreError
from ponder.store import Store, StoredVectors
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


def test_the_embeddings_table_is_keyed_by_model_and_text_hash(tmp_path):
    db = connect(tmp_path / "s.sqlite")
    columns = {r[1]: r[5] for r in db.execute("PRAGMA table_info(embeddings)")}
    assert columns == {"model": 1, "text_hash": 2, "dim": 0, "vector": 0, "created_at": 0}
    row = ("m", b"\x01" * 32, 2, b"\x00" * 8, 0.0)
    db.execute("INSERT INTO embeddings VALUES (?, ?, ?, ?, ?)", row)
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO embeddings VALUES (?, ?, ?, ?, ?)", row)
    db.execute("INSERT INTO embeddings VALUES (?, ?, ?, ?, ?)", ("other", *row[1:]))


def test_a_failing_migration_leaves_nothing_behind(tmp_path, monkeypatch):
    def m999_broken(db):
        db.execute("CREATE TABLE half (x)")
        raise sqlite3.OperationalError("boom")

    db = connect(tmp_path / "s.sqlite")
    monkeypatch.setattr("ponder.store.db.MIGRATIONS", MIGRATIONS + [m999_broken])
    with pytest.raises(sqlite3.OperationalError, match="boom"):
        migrate(db)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "half" not in tables
    assert "m999_broken" not in {r[0] for r in db.execute("SELECT name FROM _migrations")}


def _result(task_id="t1", answer="4", error=None):
    req = GenerationRequest.chat("2+2?")
    comp = Completion("4", "stop", Usage(10, 1, 0), latency_s=0.5)
    call = Call(req, (comp,), 0.5)
    return Result(
        Task(task_id, "2+2?", "4"),
        "cot",
        answer,
        "so 4",
        answer == "4",
        (call,),
        Compute.of((call,), 0.6),
        error=error,
    )


def test_runs_and_results_round_trip(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        run = store.start_run("solve", "scripted", "cot", {"k": 1})
        store.add_result(run, _result())
        store.finish_run(run)
    with Store(path) as store:  # committed: visible from a new connection
        assert store.run(run)["status"] == "done"
        [row] = store.result_rows(run)
        assert (row["task_id"], row["answer"], row["correct"], row["prompt_tokens"], row["calls"]) == (
            "t1",
            "4",
            1,
            10,
            1,
        )


def test_an_answered_result_is_kept_and_a_second_write_says_it_wrote_nothing(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        run = store.start_run("eval", "m")
        first = store.add_result(run, _result())
        assert isinstance(first, int)
        assert store.add_result(run, _result(answer="5")) is None
        assert store.add_result(run, _result(answer="5", error="timed out")) is None
        [row] = store.result_rows(run)
        assert (row["id"], row["answer"], row["error"]) == (first, "4", None)


def test_an_errored_result_is_replaced_by_a_newer_one(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        run = store.start_run("eval", "m")
        other = store.add_result(run, _result("t0"))
        first = store.add_result(run, _result(answer=None, error="server gave up"))
        assert [r["error"] for r in store.results_summary(run)] == [None, "server gave up"]
        assert store.add_result(run, _result(answer=None, error="again")) == first
        assert store.results_summary(run)[1]["error"] == "again"
        assert store.add_result(run, _result()) == first
        assert [
            (r["task_id"], r["answer"], r["correct"], r["error"]) for r in store.results_summary(run)
        ] == [("t0", "4", 1, None), ("t1", "4", 1, None)]
        assert store.add_result(run, _result(answer=None, error="late")) is None
        assert [r["id"] for r in store.result_rows(run)] == [other, first]


def test_find_or_start_run_finds_the_same_run_and_sets_it_running(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        run = store.find_or_start_run("eval", "m", "cot", {"task": "gsm8k", "options": {"k": 1, "a": 2}})
        store.finish_run(run, "failed")
        again = store.find_or_start_run("eval", "m", "cot", {"options": {"a": 2, "k": 1}, "task": "gsm8k"})
        assert again == run
        assert (store.run(run)["status"], store.run(run)["finished_at"]) == ("running", None)
        assert store.find_or_start_run("eval", "m", "cot", {"task": "svamp"}) != run
        assert store.find_or_start_run("eval", "m", None) == store.find_or_start_run("eval", "m", None)
        assert (
            store.find_or_start_run("solve", "m", "cot", {"task": "gsm8k", "options": {"k": 1, "a": 2}})
            != run
        )
        old = store.start_run("eval", "m2", "cot", {"b": 1, "a": 1})
        assert store.find_or_start_run("eval", "m2", "cot", {"a": 1, "b": 1}) == old
        assert len(store.runs()) == 5


def _boom(path, table, when):
    with sqlite3.connect(path) as db:
        db.execute(
            f"CREATE TRIGGER boom BEFORE INSERT ON {table} WHEN {when} "
            "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        )
    db.close()


_COMPLETIONS = [Completion(t, "stop", Usage(5, 1)) for t in "abc"]
FAILING_WRITES = {
    "add_calls": (
        "calls",
        "NEW.sample_index = 1",
        lambda s, run: s.add_calls("m", "k", GenerationRequest.chat("q", n=3), _COMPLETIONS, run_id=run),
    ),
    "import_battles": (
        "battles",
        "NEW.question_id = 'q2'",
        lambda s, run: s.import_battles(
            "x", [Battle("q1", "a", "b", "tie", "rule"), Battle("q2", "a", "b", "tie", "rule")]
        ),
    ),
    "add_result": ("results", "1", lambda s, run: s.add_result(run, _result())),
    "find_or_start_run": ("runs", "NEW.kind = 'other'", lambda s, run: s.find_or_start_run("other", "m")),
}


@pytest.mark.parametrize("write", sorted(FAILING_WRITES))
def test_a_write_that_fails_midway_is_rolled_back_and_the_next_write_succeeds(tmp_path, write):
    path = tmp_path / "s.sqlite"
    table, when, do = FAILING_WRITES[write]
    with Store(path) as store:
        run = store.start_run("eval", "m")
        _boom(path, table, when)
        with pytest.raises(StoreError, match="injected failure") as e:
            do(store, run)
        assert str(path) in str(e.value)
        assert not store._db.in_transaction
        assert (store.calls(), store.battles(), store.result_rows(run), len(store.runs())) == ([], [], [], 1)
        store.finish_run(run, "failed")
    with Store(path) as store:
        assert store.run(run)["status"] == "failed"


def test_any_exception_inside_a_write_rolls_it_back(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        with pytest.raises(KeyboardInterrupt):
            with store._transaction() as db:
                db.execute("INSERT INTO runs (created_at, kind, model) VALUES (0, 'eval', 'm')")
                raise KeyboardInterrupt
        assert not store._db.in_transaction and store.runs() == []
        assert store.start_run("eval", "m") == 1


def test_a_writing_store_waits_30_s_for_another_writer(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        assert store._db.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000


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


def _stored(tmp_path):
    path = tmp_path / "store" / "s.sqlite"
    with Store(path) as store:
        run = store.start_run("eval", "m", "cot", {"k": 1})
        store.add_result(run, _result())
        store.add_calls(
            "m", "k1", GenerationRequest.chat("q"), [Completion("a", "stop", Usage(5, 1))], run_id=run
        )
        store.add_battle("x", Battle("q1", "a", "b", "tie", "rule"))
        store.finish_run(run)
    return path, run


def _snapshot(folder):
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


READONLY_WRITES = [
    lambda s: s.start_run("eval", "m"),
    lambda s: s.find_or_start_run("eval", "m"),
    lambda s: s.finish_run(1),
    lambda s: s.reopen_run(1),
    lambda s: s.add_result(1, _result("t2")),
    lambda s: s.add_battle("x", Battle("q2", "a", "b", "tie", "rule")),
    lambda s: s.import_battles("x", [Battle("q3", "a", "b", "tie", "rule")]),
    lambda s: s.add_calls("m", "k2", GenerationRequest.chat("q"), [Completion("a", "stop", Usage(5, 1))]),
]


def _reads(store, run):
    return (
        store.runs(),
        store.run(run),
        store.result_rows(run),
        store.results_summary(run),
        store.calls(),
        store.calls(run),
        store.battles("x"),
        store.arenas(),
        store.cached_completions("k1", 1),
    )


def test_a_readonly_store_reads_refuses_every_write_and_changes_no_byte(tmp_path):
    path, run = _stored(tmp_path)
    before = _snapshot(path.parent)
    assert list(before) == ["s.sqlite"]
    with Store(path) as writer:
        expected = _reads(writer, run)
    assert _snapshot(path.parent) == before
    with Store(path, readonly=True) as store:
        assert _reads(store, run) == expected
        for write in READONLY_WRITES:
            with pytest.raises(StoreError, match="read-only"):
                write(store)
        assert _reads(store, run) == expected
    assert _snapshot(path.parent) == before


def test_a_readonly_store_sees_what_a_writer_commits_after_it_opened(tmp_path):
    path, run = _stored(tmp_path)
    with Store(path, readonly=True) as reader:
        assert len(reader.result_rows(run)) == 1
        with Store(path) as writer:
            writer.add_result(run, _result("t2"))
            assert [r["task_id"] for r in reader.result_rows(run)] == ["t1", "t2"]
            writer.add_result(run, _result("t3"))
            assert len(reader.results_summary(run)) == 3
        writer = Store(path)
        writer.add_result(run, _result("t4"))
        writer.close()
        assert len(reader.result_rows(run)) == 4
    with Store(path) as writer:
        writer.add_result(run, _result("t5"))
    with Store(path, readonly=True) as reader:
        with Store(path) as writer:
            writer.add_result(run, _result("t6"))
        assert len(reader.result_rows(run)) == 6


def test_a_readonly_store_must_exist_and_be_a_store(tmp_path):
    missing = tmp_path / "nothing" / "s.sqlite"
    with pytest.raises(StoreError, match=f"no store at {missing}"):
        Store(missing, readonly=True)
    assert not missing.parent.exists()
    (tmp_path / "empty.sqlite").write_bytes(b"")
    with pytest.raises(StoreError, match="not a ponder store"):
        Store(tmp_path / "empty.sqlite", readonly=True)
    (tmp_path / "text.sqlite").write_text("hello, this is not a database at all" * 40)
    with pytest.raises(StoreError, match="text.sqlite"):
        Store(tmp_path / "text.sqlite", readonly=True)


def _old_store(path, monkeypatch, migrations):
    monkeypatch.setattr("ponder.store.db.MIGRATIONS", MIGRATIONS[:migrations])
    db = connect(path)
    db.execute("INSERT INTO runs (created_at, kind, model) VALUES (0, 'eval', 'm')")
    db.execute("""INSERT INTO results (run_id, task_id, answer, correct, prompt_tokens, prompt_tokens_evaluated,
                  completion_tokens, calls, cached_calls, seconds, created_at) VALUES (1, 't1', '4', 1, 3, 3, 1,
                  1, 0, 0.1, 0)""")
    db.close()
    monkeypatch.undo()


@pytest.mark.parametrize("migrations", [1, 3, 5])
def test_an_older_store_reads_as_the_current_schema_without_being_migrated(tmp_path, monkeypatch, migrations):
    path = tmp_path / "old.sqlite"
    _old_store(path, monkeypatch, migrations)
    before = _snapshot(tmp_path)
    with Store(path, readonly=True) as store:
        [summary] = store.results_summary(1)
        assert (summary["task_id"], summary["answer"], summary["error"]) == ("t1", "4", None)
        [row] = store.result_rows(1)
        assert (row["error"], row["cached_tokens"], row["reasoning"]) == (None, 0, "")
        assert store.battles() == [] and store.arenas() == []
        assert store.calls(1) == [] and store.cached_completions("k", 1) == {}
        assert StoredVectors(store).cached_vectors("m", [b"\x00" * 32]) == {}
    assert _snapshot(tmp_path) == before
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM _migrations").fetchone()[0] == migrations
    db.close()
    with Store(path) as store:
        assert store.results_summary(1)[0]["error"] is None
        assert store.add_result(1, _result("t1")) is None


def _chattr(flag, *paths):
    return subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True, text=True)


@pytest.fixture
def frozen(tmp_path):
    """A folder nobody can write, root included (`chattr +i` on it and its files); skipped where the
    filesystem or the container refuses the immutable attribute."""
    folder = tmp_path / "frozen"
    folder.mkdir()
    frozen = []

    def freeze():
        paths = [folder, *folder.iterdir()]
        done = shutil.which("chattr") and _chattr("+i", *paths)
        if not done or done.returncode != 0:
            pytest.skip(f"cannot make a folder unwritable here (chattr +i: {done and done.stderr.strip()})")
        frozen.extend(paths)
        try:
            (folder / "probe").touch()
        except OSError:
            return
        os.remove(folder / "probe")
        pytest.skip("chattr +i did not stop writes here")

    yield folder, freeze
    if frozen:
        _chattr("-i", *frozen)


def test_a_readonly_store_reads_from_an_unwritable_folder(tmp_path, frozen):
    folder, freeze = frozen
    path, run = _stored(tmp_path)
    shutil.copy(path, folder / "s.sqlite")
    freeze()
    before = _snapshot(folder)
    with Store(folder / "s.sqlite", readonly=True) as store:
        assert [r["task_id"] for r in store.result_rows(run)] == ["t1"]
        with pytest.raises(StoreError, match="read-only"):
            store.finish_run(run)
    assert _snapshot(folder) == before
    with pytest.raises(StoreError, match="cannot open"):
        Store(folder / "s.sqlite")


def test_a_readonly_store_reads_an_unwritable_store_a_writer_left_a_wal_beside(tmp_path, frozen):
    folder, freeze = frozen
    path, run = _stored(tmp_path)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("INSERT INTO runs (created_at, kind, model) VALUES (0, 'eval', 'in the wal')")
    for name in ("s.sqlite", "s.sqlite-wal"):
        shutil.copy(tmp_path / "store" / name, folder / name)
    writer.close()
    freeze()
    before = _snapshot(folder)
    with Store(folder / "s.sqlite", readonly=True) as store:
        assert store.run(run)["status"] == "done"
        assert [r["task_id"] for r in store.result_rows(run)] == ["t1"]
    assert _snapshot(folder) == before
