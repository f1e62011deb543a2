"""What `ponder arena vote` shows people: battles drawn between two players' stored answers to one
item, the players hidden, each remembered under a one-time token until it is voted on. The page
itself is `ponder.view.vote`."""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from ponder.arena.battles import Battle
from ponder.arena.judges import Answer
from ponder.errors import ConfigError
from ponder.types import Task

CHOICES = (
    ("model_a", "A is better"),
    ("model_b", "B is better"),
    ("tie", "Tie"),
    ("tie (bothbad)", "Both are bad"),
)


@dataclass(frozen=True)
class Pending:
    """A battle shown and not yet voted on; `runs` maps model_a and model_b to the eval runs
    holding their answers, where known."""

    task: Task
    a: Answer
    b: Answer
    runs: dict[str, int] = field(default_factory=dict)

    def battle(self, winner: str) -> Battle:
        """The battle a person's vote makes (judge "human"), with the players' runs in its data."""
        data = {"runs": dict(self.runs)} if self.runs else {}
        return Battle(self.task.id, self.a.player, self.b.player, winner, "human", 1, data)


class Ballot:
    """Draws battles to show and remembers the ones shown until they are voted on; `runs` maps
    each player to the eval run holding its answers."""

    def __init__(
        self,
        tasks: Sequence[Task],
        answers: dict[str, dict[str, Answer]],
        seed: int | None = None,
        runs: dict[str, int] | None = None,
    ) -> None:
        self.tasks = [t for t in tasks if sum(t.id in by_task for by_task in answers.values()) >= 2]
        if not self.tasks:
            raise ConfigError("nothing to vote on: no item has stored answers from two players")
        self.answers = answers
        self.runs = runs or {}
        self.rng = random.Random(seed)
        self.shown: dict[str, Pending] = {}

    def draw(self) -> tuple[str, Pending]:
        task = self.rng.choice(self.tasks)
        a, b = self.rng.sample([p for p, by_task in self.answers.items() if task.id in by_task], 2)
        token = secrets.token_urlsafe(12)
        runs = {"model_a": self.runs[a], "model_b": self.runs[b]} if a in self.runs and b in self.runs else {}
        pending = Pending(task, self.answers[a][task.id], self.answers[b][task.id], runs)
        self.shown[token] = pending
        return token, pending

    def take(self, token: str) -> Pending | None:
        """The battle shown under `token`, forgotten now; None when the token is unknown or used."""
        return self.shown.pop(token, None)
