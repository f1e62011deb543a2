"""A town run's cost per simulated hour, on a worked example: each step's calls are those made
since the previous step was stored; its wall time starts at the later of that and its first
call's start, so a run that stood still before it was resumed is not charged for the wait."""

from __future__ import annotations

from datetime import datetime

from ponder.town.costs import Call, HourCost, hourly_costs


def call(at: float, latency: float, cached: bool = False) -> Call:
    return Call(at, latency, 10, 2, cached)


def test_steps_are_charged_their_calls_and_wall_time_by_the_hour_they_start_in():
    steps = [
        (datetime(2025, 2, 14, 7, 10), 100.0),
        (datetime(2025, 2, 14, 7, 20), 130.0),
        (datetime(2025, 2, 14, 7, 30), 1000.0),  # stopped after 07:20, resumed at about 975
        (datetime(2025, 2, 14, 8, 10), 1010.0),
    ]
    calls = [
        call(95, 10),  # step 1 began at 85
        call(120, 5),
        call(128, 2),
        call(129, 0, cached=True),  # step 2: from 115 (after step 1 was stored at 100)
        call(995, 20),  # step 3: from 975, not from 130
        call(1500, 1),  # after the last stored step: a step that did not finish
    ]
    got = hourly_costs(steps, calls, step_minutes=10)
    assert got == [
        HourCost(datetime(2025, 2, 14, 7), 3, 15 + 15 + 25, 5, 1, 50, 10),
        HourCost(datetime(2025, 2, 14, 8), 1, 10, 0, 0, 0, 0),  # no calls: from the previous step's end
    ]
    assert got[0].tokens == 60


def test_time_spent_measuring_between_steps_is_not_charged_to_a_step():
    steps = [(datetime(2025, 2, 14, 7, 10), 100.0), (datetime(2025, 2, 14, 7, 20), 300.0)]
    calls = [call(95, 10)]  # step 2 made no call: its time runs from step 1's end
    # a measurement ran from 110 to 250, and one before the run (overlapping no step)
    got = hourly_costs(steps, calls, step_minutes=10, pauses=[(110, 250), (0, 50)])
    assert [h.wall_s for h in got] == [15 + (300 - 100 - 140)]
    assert [h.wall_s for h in hourly_costs(steps, calls, step_minutes=10)] == [15 + 200]


def test_a_run_without_steps_costs_nothing_yet():
    assert hourly_costs([], [call(1, 1)], step_minutes=10) == []


def test_a_run_stored_before_step_times_were_kept_has_no_cost_per_hour(tmp_path):
    import sqlite3

    import pytest

    from ponder.errors import ConfigError
    from ponder.store import Store
    from ponder.town.runs import costs_of

    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        run = store.start_run("town", "scripted", "town", {"task": "town"})
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO town_steps (run_id, step, time, state) VALUES (?, 1, '2025-02-14T07:10', '{}')",
            (run,),
        )
    with (
        Store(path, readonly=True) as store,
        pytest.raises(ConfigError, match="without their wall-clock times"),
    ):
        costs_of(store, run)
