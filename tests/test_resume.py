"""A run killed with SIGKILL mid-run resumes: one result per item, no repeated calls for finished
items. The eval runs in a subprocess against an HTTP stub on loopback that logs every request."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter

import pytest

from ponder.tasks import gsm8k
from servers import free_port, serving

pytestmark = pytest.mark.loopback
ITEMS = 12


def finished(store):
    if not store.exists():
        return []
    with sqlite3.connect(store) as db:
        try:
            return [r[0] for r in db.execute("SELECT task_id FROM results")]
        except sqlite3.OperationalError:
            return []


def test_a_killed_run_resumes_without_repeating_finished_items(tmp_path, data_dir):
    port = free_port()
    log = tmp_path / "requests.jsonl"
    store = tmp_path / "runs.sqlite"
    server = [
        sys.executable,
        os.path.join(os.path.dirname(__file__), "logging_stub_server.py"),
        str(port),
        str(log),
        "0.3",
    ]
    with serving(server, port, tmp_path / "server.log", timeout_s=30) as base:
        argv = [
            sys.executable,
            "-m",
            "ponder.cli",
            "eval",
            "gsm8k",
            "-s",
            "direct",
            "--model",
            f"openai:stub@{base}",
            "--limit",
            str(ITEMS),
            "--store",
            str(store),
            "--data-dir",
            str(data_dir),
        ]
        env = {**os.environ, "PONDER_STORE": str(store)}
        first = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while len(finished(store)) < 4:
            assert first.poll() is None, first.stderr.read().decode()
            assert time.monotonic() < deadline, "the first run made no progress"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        done_before = finished(store)
        assert 4 <= len(done_before) < ITEMS
        second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr
        assert f"{len(done_before)} already in the store" in second.stdout
        third = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        assert third.returncode == 0, third.stderr
    ids = finished(store)
    assert sorted(ids) == sorted(f"gsm8k/test/{i}" for i in range(ITEMS))
    assert len(ids) == len(set(ids)) == ITEMS
    asked = Counter(json.loads(line) for line in log.read_text().splitlines())
    questions = {t.id: t.question for t in gsm8k.load(limit=ITEMS, data_dir=data_dir)}
    for task_id in done_before:
        assert sum(n for q, n in asked.items() if questions[task_id] in q) == 1, task_id
    # Every item was asked at least once; only an item in flight at the kill may be asked twice,
    # and the finished third run asked nothing.
    assert ITEMS <= sum(asked.values()) <= ITEMS + 1
