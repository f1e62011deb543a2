"""An agent living in the town: its persona, memory stream and spatial memory, where it stands,
its plan at three grains (the day's chunks, the current chunk's hours, the current hour's
5-15 minute actions), where it is going, and what it said this step; and its state as JSON, which
a step stores so that a stopped run resumes where it was."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ponder.town.contracts import Persona
from ponder.town.memory import MemoryStream
from ponder.town.schedule import PlanItem, action_at
from ponder.town.spatial import SpatialMemory
from ponder.town.world import Tile

_WORD = re.compile(r"[a-z0-9']+")


@dataclass
class Resident:
    persona: Persona
    memories: MemoryStream
    spatial: SpatialMemory
    tile: Tile
    day: date | None = None
    chunks: list[PlanItem] = field(default_factory=list)
    hours: list[PlanItem] = field(default_factory=list)
    actions: list[PlanItem] = field(default_factory=list)
    target: str = ""
    path: list[Tile] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    last_talk: dict[str, datetime] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.persona.name

    def doing(self, now: datetime) -> PlanItem | None:
        """The finest plan item under way at `now`."""
        for grain in (self.actions, self.hours, self.chunks):
            item = action_at(grain, now)
            if item is not None:
                return item
        return None

    def activity(self, now: datetime) -> str:
        """What the agent is doing at `now`, in words ("sleeping" before its day starts)."""
        item = self.doing(now)
        return item.action if item is not None else "sleeping"

    def awake(self, now: datetime) -> bool:
        """Whether the agent is up at `now`: its plan has an item under way that is not sleep."""
        item = self.doing(now)
        return item is not None and "sleep" not in item.action.lower()

    def state(self, now: datetime) -> dict[str, Any]:
        """Everything a step keeps of the agent (the memory stream is kept on its own)."""
        item = self.doing(now)
        return {
            "tile": list(self.tile),
            "action": self.activity(now),
            "where": item.where if item is not None else "",
            "target": self.target,
            "path": [list(t) for t in self.path],
            "said": list(self.said),
            "day": self.day.isoformat() if self.day else None,
            "plan": {g: [_item(i) for i in getattr(self, g)] for g in ("chunks", "hours", "actions")},
            "known": list(self.spatial.known),
            "seen": list(self.seen),
            "last_talk": {k: v.isoformat() for k, v in self.last_talk.items()},
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Take up the state a step kept (see `state`)."""
        self.tile = (int(state["tile"][0]), int(state["tile"][1]))
        self.day = date.fromisoformat(state["day"]) if state.get("day") else None
        for grain in ("chunks", "hours", "actions"):
            setattr(self, grain, [_plan_item(d) for d in state["plan"][grain]])
        self.target = state.get("target", "")
        self.path = [(int(x), int(y)) for x, y in state.get("path", [])]
        self.spatial = SpatialMemory(self.name).learn(state.get("known", []))
        self.seen = list(state.get("seen", []))
        self.last_talk = {k: datetime.fromisoformat(v) for k, v in state.get("last_talk", {}).items()}


def _item(item: PlanItem) -> dict[str, Any]:
    return {
        "start": item.start.isoformat(),
        "minutes": item.minutes,
        "action": item.action,
        "where": item.where,
    }


def _plan_item(d: dict[str, Any]) -> PlanItem:
    return PlanItem(datetime.fromisoformat(d["start"]), int(d["minutes"]), str(d["action"]), str(d["where"]))


def place_for(where: str, known: list[str], fallback: str) -> str:
    """The known address a plan's free-text place names best: the one whose words overlap most
    with `where` (the last part of an address counting double, a deeper address winning a tie);
    `fallback` when no word is shared."""
    wanted = set(_WORD.findall(where.lower()))
    best, best_score = fallback, 0.0
    for address in known:
        parts = address.lower().split(":")
        words = set(_WORD.findall(" ".join(parts)))
        last = set(_WORD.findall(parts[-1]))
        score = len(wanted & words) + len(wanted & last) + 0.01 * len(parts)
        if score > best_score and wanted & words:
            best, best_score = address, score
    return best
