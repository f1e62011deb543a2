"""Two processes writing one store at once, and a writer killed mid-write, with real processes."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import ponder
from ponder.store import Store

TASKS = 200

WRITER = r"""
import random, sys, time
from pathlib import Path
from ponder.store import Store
from ponder.types import Compute, Result, Task

path, folder, seed = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
ids = [f"t{i}" for i in range(int(sys.argv[4]))]
random.Random(seed).shuffle(ids)
(folder / f"ready{seed}").touch()
while not (folder / "go").exists():
    time.sleep(0.001)
written = 0
with Store(path) as store:
    run = store.find_or_start_run("eval", "scripted", "cot", {"task": "gsm8k", "options": {"k": 1}})
    for i, task_id in enumerate(ids):
        error = "the server gave up" if seed == 1 and i % 10 == 0 else None
        result = Result(Task(task_id, "q", "a"), "cot", None if error else "a", f"writer {seed}",
                        None if error else True, (), Compute(), error=error)
        written += store.add_result(run, result) is not None
        time.sleep(random.random() / 500)
print(run, written)
"""

KILLED = r"""
import sys
from ponder.store import Store
from ponder.types import Completion, Compute, GenerationRequest, Result, Task, Usage

path, start = sys.argv[1], int(sys.argv[2])
with Store(path) as store:
    run = store.find_or_start_run("eval", "scripted", "cot", {})
    i = start
    while True:
        reasoning = f"{i}:" + "x" * (20_000 + i)
        store.add_result(run, Result(Task(f"t{i}", "q", "a"), "cot", str(i), reasoning, True, (), Compute()))
        store.add_calls("scripted", f"k{i}", GenerationRequest.chat(f"q{i}", n=3),
                        [Completion(f"{i}/{j}" + "y" * 5_000, "stop", Usage(5, 1)) for j in range(3)],
                        run_id=run, task_id=f"t{i}")
        i += 1
"""


def _env():
    src = str(Path(ponder.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}


def _integrity(path):
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    db.close()


def test_two_processes_writing_the_same_run_both_finish_with_one_result_per_item(tmp_path):
    path = tmp_path / "fresh" / "s.sqlite"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(tmp_path), str(seed), str(TASKS)],
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready{seed}").exists() for seed in (1, 2)):
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        assert time.monotonic() < deadline, "the writers did not start"
        time.sleep(0.01)
    (tmp_path / "go").touch()
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    (run_a, written_a), (run_b, written_b) = (map(int, out.split()) for out, _ in outs)
    assert run_a == run_b
    _integrity(path)
    with Store(path, readonly=True) as store:
        assert [r["id"] for r in store.runs()] == [run_a]
        rows = store.results_summary(run_a)
    assert sorted(r["task_id"] for r in rows) == sorted(f"t{i}" for i in range(TASKS))
    assert [r for r in rows if r["error"] is not None or r["answer"] != "a"] == []
    assert TASKS <= written_a + written_b <= TASKS + TASKS // 10


def test_a_writer_killed_mid_write_leaves_a_sound_store_of_whole_rows(tmp_path):
    path = tmp_path / "s.sqlite"
    start = 0
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", KILLED, str(path), str(start)],
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while _count(path) < start + 15:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        _integrity(path)
        start = _count(path)
    with Store(path, readonly=True) as store:
        [run] = store.runs()
        results = store.result_rows(run["id"])
        calls = store.calls(run["id"])
    assert [r["task_id"] for r in results] == [f"t{i}" for i in range(len(results))]
    for r in results:
        i = int(r["answer"])
        assert r["reasoning"] == f"{i}:" + "x" * (20_000 + i)
        assert json.loads(r["data"])["question"] == "q"
    by_task: dict[str, list[str]] = {}
    for c in calls:
        by_task.setdefault(c["task_id"], []).append(c["output"])
    for task_id, outputs in by_task.items():
        i = task_id[1:]
        assert outputs == [f"{i}/{j}" + "y" * 5_000 for j in range(3)]
    assert set(by_task) <= {r["task_id"] for r in results}
    with Store(path) as store:
        store.finish_run(run["id"], "failed")
        assert store.run(run["id"])["status"] == "failed"


def _count(path):
    if not path.exists():
        return 0
    db = sqlite3.connect(path, timeout=30)
    try:
        return db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()
