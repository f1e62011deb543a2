"""A plan as data: `PlanItem`s in time order, each following the last, and the pure functions
that lay them out (from chunks with start times, `lay_out_at`, or with minutes scaled to a span,
`fit_durations` and `lay_out`), find the item under way, cut a plan at a time and describe it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any

from ponder.errors import ConfigError


def clock(moment: datetime) -> str:
    """A time of day as HH:MM."""
    return moment.strftime("%H:%M")


@dataclass(frozen=True)
class PlanItem:
    """One step of a plan: from `start`, for `minutes`, doing `action` at `where`."""

    start: datetime
    minutes: int
    action: str
    where: str

    def __post_init__(self) -> None:
        if self.minutes < 1:
            raise ConfigError(f"a plan item lasts at least a minute, got {self.minutes} for {self.action!r}")

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)


DayPlan = list[PlanItem]


def fit_durations(minutes: Sequence[int], total: int) -> list[int]:
    """`minutes` scaled in proportion so that they add up to `total`, rounded by largest remainder
    (ties to the earlier item); every item keeps at least one minute where `total` allows, else
    the first `total` items get one minute and the rest none. Negative minutes count as none;
    all none splits `total` evenly."""
    if not minutes:
        raise ConfigError("there are no durations to fit")
    if total < 0:
        raise ConfigError(f"durations cannot add up to a negative total, got {total}")
    weights = [max(0, m) for m in minutes]
    if sum(weights) == 0:
        weights = [1] * len(weights)
    whole = sum(weights)
    exact = [w * total / whole for w in weights]
    fitted = [math.floor(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - fitted[i]), i))
    for i in order[: total - sum(fitted)]:
        fitted[i] += 1
    if total < len(fitted):
        return [1 if i < total else 0 for i in range(len(fitted))]
    for i, value in enumerate(fitted):
        if value == 0:
            donor = max(range(len(fitted)), key=lambda j: (fitted[j], -j))
            fitted[donor] -= 1
            fitted[i] = 1
    return fitted


def lay_out(start: datetime, chunks: Sequence[Mapping[str, Any]], total: int) -> DayPlan:
    """Plan items one after another from `start`, their minutes fitted to `total` (items left
    with no minutes are dropped)."""
    fitted = fit_durations([c["minutes"] for c in chunks], total)
    items: DayPlan = []
    at = start
    for chunk, minutes in zip(chunks, fitted, strict=True):
        if minutes:
            items.append(PlanItem(at, minutes, chunk["action"], chunk["where"]))
            at += timedelta(minutes=minutes)
    return items


def lay_out_at(start: datetime, chunks: Sequence[Mapping[str, Any]], end: datetime, *, wrap: bool) -> DayPlan:
    """Plan items from `start` to `end` from chunks that each give the time they start ("at",
    HH:MM on `start`'s day). With `wrap`, a time before `start` is taken as past midnight (a day
    plan's late chunks); without, as `start` (a replan's chunk that should already have begun).
    The chunks are taken in time order (a stable sort), the first from `start` whatever its time;
    each runs until the next different time, the chunks that share a time splitting that span
    evenly; the last runs until `end`. Chunks that would start at or after `end`, or get no
    minutes, are dropped."""
    timed = []
    for chunk in chunks:
        at = datetime.combine(start.date(), time.fromisoformat(chunk["at"]))
        if at < start:
            at = at + timedelta(days=1) if wrap and at + timedelta(days=1) < end else start
        if at < end:
            timed.append((at, chunk))
    timed.sort(key=lambda t: t[0])
    if not timed:
        return []
    timed[0] = (start, timed[0][1])
    starts = sorted({at for at, _ in timed})
    items: DayPlan = []
    for i, at in enumerate(starts):
        until = starts[i + 1] if i + 1 < len(starts) else end
        group = [chunk for t, chunk in timed if t == at]
        total = int((until - at).total_seconds() // 60)
        begin = at
        for chunk, minutes in zip(group, fit_durations([1] * len(group), total), strict=True):
            if minutes:
                items.append(PlanItem(begin, minutes, chunk["action"], chunk["where"]))
                begin += timedelta(minutes=minutes)
    return items


def action_at(plan: Sequence[PlanItem], now: datetime) -> PlanItem | None:
    """The item of `plan` under way at `now` (the latest-starting one, if several are); None when
    none is."""
    under_way = [item for item in plan if item.start <= now < item.end]
    return max(under_way, key=lambda item: item.start) if under_way else None


def before(plan: Sequence[PlanItem], now: datetime) -> DayPlan:
    """The part of `plan` before `now`: the items that have ended, and the one under way cut short
    at `now` (dropped when it began less than a minute before)."""
    kept: DayPlan = []
    for item in sorted(plan, key=lambda item: item.start):
        if item.end <= now:
            kept.append(item)
        elif item.start < now:
            minutes = int((now - item.start).total_seconds() // 60)
            if minutes >= 1:
                kept.append(replace(item, minutes=minutes))
    return kept


def describe(plan: Sequence[PlanItem]) -> str:
    """A plan as one line: each item's start, action and place."""
    return "; ".join(f"{clock(item.start)} {item.action} ({item.where})" for item in plan)
