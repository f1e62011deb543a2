"""A town run's steps in the store: written as each step ends, read back in order for replay,
the last one found for resuming; a step written twice and an unreadable row are store errors."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pytest

from ponder.errors import StoreError
from ponder.store import Store, StoredSteps, TownStep

START = datetime(2026, 2, 13, 7, 0)


def state(n: int) -> dict:
    return {"agents": {"Ana": {"tile": [n, 2], "action": f"walking {n}", "speech": None}}, "objects": {}}


def test_steps_are_kept_in_order_and_the_last_is_found(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        run = store.start_run("town", "scripted", "town", {"task": "town"})
        steps = StoredSteps(store)
        assert steps.last_step(run) is None
        for n in (1, 2, 3):
            steps.add_step(run, TownStep(n, START + timedelta(minutes=10 * n), state(n)))
        with pytest.raises(StoreError):
            steps.add_step(run, TownStep(2, START, state(9)))
    with Store(path, readonly=True) as store:
        steps = StoredSteps(store)
        assert [s.step for s in steps.steps(run)] == [1, 2, 3]
        assert [s.step for s in steps.steps(run, start=2, end=2)] == [2]
        last = steps.last_step(run)
        assert last == TownStep(3, START + timedelta(minutes=30), state(3))
        assert steps.steps(run + 1) == []


def test_an_unreadable_step_is_a_store_error(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        run = store.start_run("town", "scripted", "town", {"task": "town"})
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO town_steps (run_id, step, time, state) VALUES (?, 1, 'not a time', '{}')", (run,)
        )
    with Store(path, readonly=True) as store, pytest.raises(StoreError, match="town step 1"):
        StoredSteps(store).steps(run)
