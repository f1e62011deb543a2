"""What a town run cost per simulated hour: steps, wall-clock seconds, model calls (and how many
came from the cache) and tokens, from the steps' stored times and the run's calls. A pure
function of those rows.

A step's calls are those made after the previous step was stored and up to its own storing. Its
wall time runs from the later of the previous step's storing and the start of its first call (a
call starts `latency_s` before it is recorded), so the time a stopped run stood still before it
was resumed is not counted, nor the `pauses` within it (wall-clock intervals spent on something
else between steps: the measurements a run takes as it goes). Steps are grouped by the simulated
hour they start in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Call:
    """One recorded model call: when it was recorded (Unix seconds), how long it took, its tokens,
    and whether it came from the cache."""

    at: float
    latency_s: float
    prompt_tokens: int
    completion_tokens: int
    cached: bool


@dataclass(frozen=True)
class HourCost:
    """One simulated hour of a run (from `start`): the steps that started in it, their wall time,
    calls, calls from the cache, and tokens."""

    start: datetime
    steps: int
    wall_s: float
    calls: int
    cached: int
    prompt_tokens: int
    completion_tokens: int

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def _overlap(a: float, b: float, pauses: Sequence[tuple[float, float]]) -> float:
    return sum(max(0.0, min(b, end) - max(a, start)) for start, end in pauses)


def hourly_costs(
    steps: Sequence[tuple[datetime, float]],
    calls: Sequence[Call],
    step_minutes: int,
    pauses: Sequence[tuple[float, float]] = (),
) -> list[HourCost]:
    """Per simulated hour, in order, the cost of `steps` (each the simulation time it ended at and
    the wall-clock time it was stored, in order) given the run's `calls`; calls made after the last
    stored step (a step that did not finish) are not counted."""
    ordered = sorted(calls, key=lambda c: c.at)
    hours: dict[datetime, list[tuple[float, list[Call]]]] = {}
    previous: float | None = None
    taken = 0
    for ended, stored in steps:
        upto = next((i for i in range(taken, len(ordered)) if ordered[i].at > stored), len(ordered))
        mine, taken = ordered[taken:upto], upto
        began = min((c.at - c.latency_s for c in mine), default=stored if previous is None else previous)
        start = began if previous is None else max(previous, began)
        wall = stored - start - _overlap(start, stored, pauses)
        previous = stored
        started = ended - timedelta(minutes=step_minutes)
        hours.setdefault(started.replace(minute=0, second=0, microsecond=0), []).append((wall, mine))
    return [
        HourCost(
            start,
            len(parts),
            sum(w for w, _ in parts),
            sum(len(c) for _, c in parts),
            sum(x.cached for _, c in parts for x in c),
            sum(x.prompt_tokens for _, c in parts for x in c),
            sum(x.completion_tokens for _, c in parts for x in c),
        )
        for start, parts in hours.items()
    ]
