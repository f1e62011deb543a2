"""Runs against a server that fails: `ponder eval` in a subprocess against the fault-injecting
stub on loopback (tests/fault_server.py). Transient faults end in the same answers as a clean run;
an item whose prompt always fails is stored as errored while the others are answered, and a rerun
asks only for it; kill -9 at random moments loses and duplicates nothing; two evals on one store
both finish."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest

from ponder.tasks import gsm8k
from servers import free_port, serving

pytestmark = pytest.mark.loopback
HERE = Path(__file__).parent


@contextmanager
def fault_server(tmp_path: Path, name: str, **config):
    port = free_port()
    config.setdefault("log", str(tmp_path / f"{name}.requests.jsonl"))
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    argv = [sys.executable, str(HERE / "fault_server.py"), str(port), str(path)]
    with serving(argv, port, tmp_path / f"{name}.log", timeout_s=30) as base:
        yield base


def eval_argv(
    base: str,
    store: Path,
    data_dir: Path,
    limit: int,
    *extra: str,
    spec: str = "timeout=1,retries=12,backoff=0.01",
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ponder.cli",
        "eval",
        "gsm8k",
        "--model",
        f"openai:stub@{base}[{spec}]",
        "--limit",
        str(limit),
        "--store",
        str(store),
        "--data-dir",
        str(data_dir),
        *extra,
    ]


def run_cli(argv: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PONDER_STORE": argv[argv.index("--store") + 1]}
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)


def rows(store: Path) -> list[tuple]:
    """(task id, answer, error) of every stored result; none while the store is not made yet."""
    if not store.exists():
        return []
    with sqlite3.connect(store) as db:
        try:
            return db.execute("SELECT task_id, answer, error FROM results ORDER BY task_id").fetchall()
        except sqlite3.OperationalError:
            return []


def integrity(store: Path) -> str:
    with sqlite3.connect(store) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def asked(log: Path) -> Counter:
    if not log.exists():
        return Counter()
    return Counter(json.loads(line) for line in log.read_text(encoding="utf-8").splitlines())


def test_self_consistency_under_30_percent_faults_gives_the_clean_runs_answers(tmp_path, data_dir):
    items = 200
    how = ["-s", "self-consistency", "-k", "5", "--prompt", "direct", "--exemplars", "none", "-c", "8"]
    with fault_server(tmp_path, "clean") as base:
        clean = run_cli(eval_argv(base, tmp_path / "clean.sqlite", data_dir, items, *how))
    assert clean.returncode == 0, clean.stderr
    with fault_server(tmp_path, "faulty", fault_rate=0.3, seed=7, slow_s=3) as base:
        t0 = time.monotonic()
        faulty = run_cli(eval_argv(base, tmp_path / "faulty.sqlite", data_dir, items, *how))
        seconds = time.monotonic() - t0
    assert faulty.returncode == 0, faulty.stderr
    expected = rows(tmp_path / "clean.sqlite")
    got = rows(tmp_path / "faulty.sqlite")
    assert len(got) == len({r[0] for r in got}) == items
    assert got == expected
    assert all(error is None for _, _, error in got)
    requests = sum(asked(tmp_path / "faulty.requests.jsonl").values())
    assert requests > items * 1.2, "the server injected too few faults for this test to mean anything"
    print(f"faulty run: {requests} requests for {items} items in {seconds:.1f} s")


def test_an_item_whose_prompt_always_fails_is_errored_and_a_rerun_retries_only_it(tmp_path, data_dir):
    items = 12
    tasks = gsm8k.load(limit=items, data_dir=data_dir)
    poison = tmp_path / "poison.txt"
    poison.write_text(tasks[5].question + "\n", encoding="utf-8")
    store = tmp_path / "s.sqlite"
    log = tmp_path / "poisoned.requests.jsonl"
    with fault_server(tmp_path, "poisoned", poison=str(poison)) as base:
        argv = eval_argv(base, store, data_dir, items, "-s", "direct", spec="retries=3,backoff=0.01")
        first = run_cli(argv)
        assert first.returncode == 1, first.stderr
        assert "1 errored" in first.stdout + first.stderr
        by_id = {task_id: (answer, error) for task_id, answer, error in rows(store)}
        assert len(by_id) == items
        assert by_id[tasks[5].id][0] is None and "HTTP 500" in by_id[tasks[5].id][1]
        assert all(
            error is None and answer is not None
            for task_id, (answer, error) in by_id.items()
            if task_id != tasks[5].id
        )

        log.unlink()
        second = run_cli(argv)
        assert second.returncode == 1, second.stderr
        assert set(asked(log)) == {q for q in asked(log) if tasks[5].question in q} != set()

        log.unlink()
        poison.write_text("", encoding="utf-8")
        third = run_cli(argv)
        assert third.returncode == 0, third.stderr
        assert sum(asked(log).values()) == 1
    final = rows(store)
    assert len(final) == items and all(error is None and answer is not None for _, answer, error in final)
    with sqlite3.connect(store) as db:
        assert [r[0] for r in db.execute("SELECT status FROM runs")] == ["done"]


def test_a_run_fails_as_a_whole_past_max_errors(tmp_path, data_dir):
    poison = tmp_path / "poison.txt"
    poison.write_text("?\n.\n", encoding="utf-8")  # every question
    store = tmp_path / "s.sqlite"
    with fault_server(tmp_path, "down", poison=str(poison)) as base:
        res = run_cli(
            eval_argv(
                base, store, data_dir, 10, "-s", "direct", "--max-errors", "2", spec="retries=2,backoff=0.01"
            )
        )
    assert res.returncode == 1, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "3 of 10 items errored" in lines[0] and "--max-errors 2" in lines[0]
    assert "Traceback" not in res.stderr
    assert len(rows(store)) == 3
    with sqlite3.connect(store) as db:
        assert [r[0] for r in db.execute("SELECT status FROM runs")] == ["failed"]


def test_kill_9_at_random_moments_loses_and_duplicates_nothing(tmp_path, data_dir):
    items = 60
    store = tmp_path / "s.sqlite"
    rng = random.Random(13)
    with fault_server(tmp_path, "slow", delay_s=0.2, fault_rate=0.1, faults=["500", "reset"]) as base:
        argv = eval_argv(
            base,
            store,
            data_dir,
            items,
            "-s",
            "self-consistency",
            "-k",
            "3",
            "--prompt",
            "direct",
            "--exemplars",
            "none",
            "-c",
            "2",
        )
        env = {**os.environ, "PONDER_STORE": str(store)}
        kills = 0
        for _ in range(6):
            before = len(rows(store))
            proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            deadline = time.monotonic() + 60
            while proc.poll() is None and len(rows(store)) == before:
                assert time.monotonic() < deadline, "the run made no progress"
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.6))  # a moment drawn at random, once results are flowing
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait()
            if store.exists():
                assert integrity(store) == "ok"
        assert kills >= 5
        last = run_cli(argv)
    assert last.returncode == 0, last.stderr
    got = rows(store)
    assert len(got) == len({r[0] for r in got}) == items
    assert all(error is None and answer is not None for _, answer, error in got)
    assert integrity(store) == "ok"
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1


def test_two_evals_on_one_store_both_finish_with_one_result_per_item(tmp_path, data_dir):
    items = 30
    store = tmp_path / "s.sqlite"
    with fault_server(tmp_path, "shared", delay_s=0.05) as base:
        argv = eval_argv(base, store, data_dir, items, "-s", "direct", "-c", "2")
        env = {**os.environ, "PONDER_STORE": str(store)}
        procs = [
            subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    got = rows(store)
    assert len(got) == len({r[0] for r in got}) == items
    assert integrity(store) == "ok"
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1


def test_credentials_in_the_base_url_are_in_no_stored_or_printed_text(tmp_path, data_dir):
    store = tmp_path / "s.sqlite"
    with fault_server(tmp_path, "auth") as base:
        secret_base = base.replace("http://", "http://me:hunter22@") + "?key=sekrit99"
        res = run_cli(eval_argv(secret_base, store, data_dir, 2, "-s", "direct", spec="retries=2"))
        assert res.returncode == 0, res.stderr
        down = run_cli(
            eval_argv(
                secret_base.replace(base.split("//")[1].split("/")[0], "127.0.0.1:9"),
                store,
                data_dir,
                1,
                "-s",
                "direct",
                spec="retries=1,connect_timeout=1",
            )
        )
    assert down.returncode != 0 and "127.0.0.1:9" in down.stderr
    report = run_cli(
        [
            sys.executable,
            "-m",
            "ponder.cli",
            "report",
            "1",
            "--store",
            str(store),
            "--out",
            str(tmp_path / "report"),
        ]
    )
    assert report.returncode == 0, report.stderr
    runs = run_cli([sys.executable, "-m", "ponder.cli", "runs", "--store", str(store)])
    texts = [res.stdout, res.stderr, down.stdout, down.stderr, report.stdout, runs.stdout]
    texts += [p.read_bytes().decode("latin-1") for p in (tmp_path / "report").iterdir()]
    texts += [p.read_bytes().decode("latin-1") for p in tmp_path.glob("s.sqlite*")]
    assert "127.0.0.1" in "".join(texts)
    for secret in ("hunter22", "sekrit99"):
        assert not any(secret in t for t in texts), secret
