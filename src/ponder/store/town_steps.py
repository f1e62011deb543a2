"""The town_steps table: a town run's state after each step, written as the step ends, so a run
replays step by step and a stopped run resumes from its last finished step."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ponder.errors import StoreError
from ponder.store.results import Store


@dataclass(frozen=True)
class TownStep:
    """One finished step: its number (from 1), the simulation time it ended at, and the state."""

    step: int
    time: datetime
    state: dict[str, Any]


def _read(step: int, time: str, state: str) -> TownStep:
    try:
        when = datetime.fromisoformat(time)
        body = json.loads(state)
    except ValueError as e:
        raise StoreError(f"town step {step} is not readable: {e}") from None
    if not isinstance(body, dict):
        raise StoreError(f"town step {step}: its state is not a JSON object")
    return TownStep(step, when, body)


class StoredSteps:
    """The town steps of `store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add_step(self, run_id: int, step: TownStep) -> None:
        """Store a finished step; a step number the run already has is a StoreError."""
        text = json.dumps(step.state, sort_keys=True, ensure_ascii=False)
        with self.store._transaction() as db:
            db.execute(
                "INSERT INTO town_steps (run_id, step, time, state, finished_at) VALUES (?, ?, ?, ?, ?)",
                (run_id, step.step, step.time.isoformat(), text, time.time()),
            )

    def steps(self, run_id: int, start: int = 1, end: int | None = None) -> list[TownStep]:
        """The run's steps from `start` to `end` (inclusive; None: the last), in order."""
        rows = self.store._read(
            "SELECT step, time, state FROM town_steps WHERE run_id = ? AND step >= ? AND step <= ? ORDER BY step",
            (run_id, start, end if end is not None else 2**62),
        )
        return [_read(row["step"], row["time"], row["state"]) for row in rows]

    def finished(self, run_id: int) -> list[tuple[datetime, float | None]]:
        """Each of the run's steps, in order: the simulation time it ended at and the wall-clock
        time it was stored (None for steps stored before that was kept)."""
        rows = self.store._read(
            "SELECT time, finished_at FROM town_steps WHERE run_id = ? ORDER BY step", (run_id,)
        )
        return [(datetime.fromisoformat(row["time"]), row["finished_at"]) for row in rows]

    def last_step(self, run_id: int) -> TownStep | None:
        """The run's last finished step, or None before its first."""
        rows = self.store._read(
            "SELECT step, time, state FROM town_steps WHERE run_id = ? ORDER BY step DESC LIMIT 1", (run_id,)
        )
        return _read(rows[0]["step"], rows[0]["time"], rows[0]["state"]) if rows else None
