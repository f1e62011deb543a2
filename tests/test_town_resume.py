"""A town run killed with SIGKILL mid-run and resumed ends where an uninterrupted run of the same
town ends: the same steps, the same memories, none repeated. `ponder town run` runs in a
subprocess against an HTTP stub on loopback that answers by the reply's schema."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from tests.test_town_simulate import AGENTS, MAP, SCENARIO
from tests.town_files import write_town

from servers import free_port, serving

pytestmark = pytest.mark.loopback
HOURS = "1.5"  # nine steps, each rating the stove's new state


def steps(store) -> int:
    try:
        with sqlite3.connect(store) as db:
            return db.execute("SELECT COUNT(*) FROM town_steps").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def kept(store) -> tuple[list, list]:
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT step, time, state FROM town_steps ORDER BY step").fetchall()
        memories = db.execute(
            "SELECT agent, number, kind, text, created, last_accessed, importance, evidence"
            " FROM memories ORDER BY agent, number"
        ).fetchall()
    return rows, memories


def test_a_killed_town_run_resumes_to_the_same_end_as_an_uninterrupted_one(tmp_path):
    folder = write_town(tmp_path / "tiny", MAP, AGENTS, SCENARIO)
    port = free_port()
    server = [
        sys.executable,
        os.path.join(os.path.dirname(__file__), "town_stub_server.py"),
        str(port),
        "0.15",
    ]
    with serving(server, port, tmp_path / "server.log", timeout_s=30) as base:

        def argv(store, *more: str) -> list[str]:
            return [
                sys.executable, "-m", "ponder.cli", "town", "run", "--hours", HOURS, "--town", str(folder),
                "--store", str(store), "--embedder", "scripted", "-m", f"openai:stub@{base}", *more,
            ]  # fmt: skip

        reference = tmp_path / "whole.sqlite"
        whole = subprocess.run(argv(reference), capture_output=True, text=True, timeout=120)
        assert whole.returncode == 0, whole.stderr
        assert "run 1: 9 steps" in whole.stdout

        store = tmp_path / "killed.sqlite"
        first = subprocess.Popen(argv(store), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while steps(store) < 3:
            assert first.poll() is None, first.stderr.read().decode()
            assert time.monotonic() < deadline, "the first run made no progress"
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert 3 <= steps(store) < 9
        second = subprocess.run(argv(store, "--resume", "1"), capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr
        assert "run 1: 9 steps" in second.stdout
    (whole_steps, whole_memories), (resumed_steps, resumed_memories) = kept(reference), kept(store)
    assert [s[:2] for s in resumed_steps] == [s[:2] for s in whole_steps]
    assert [s[2] for s in resumed_steps] == [s[2] for s in whole_steps]
    assert resumed_memories == whole_memories
    assert len({m[3:5] for m in resumed_memories}) == len(resumed_memories)  # no memory made twice
