"""A battle and its JSONL form, which is Chatbot Arena's public battle format: one object per line
with model_a, model_b, winner (model_a, model_b, tie or "tie (bothbad)"), judge, turn and
question_id; anything else on the line is kept in `data`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ponder.errors import DataError
from ponder.tasks.data import read_jsonl as read_rows

WINNERS = ("model_a", "model_b", "tie", "tie (bothbad)")
_SCORE = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "tie (bothbad)": 0.5}
_FIELDS = ("question_id", "turn", "model_a", "model_b", "winner", "judge")


@dataclass(frozen=True)
class Battle:
    question_id: str
    model_a: str
    model_b: str
    winner: str
    judge: str
    turn: int = 1
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.winner not in WINNERS:
            raise ValueError(f"winner {self.winner!r}: expected one of {', '.join(WINNERS)}")
        if self.model_a == self.model_b:
            raise ValueError(f"a battle needs two players; both are {self.model_a!r}")

    @property
    def outcome(self) -> tuple[str, str, float]:
        """(model_a, model_b, score of model_a) for the ratings."""
        return self.model_a, self.model_b, _SCORE[self.winner]

    def to_json(self) -> dict[str, Any]:
        return {**self.data, "question_id": self.question_id, "turn": self.turn, "model_a": self.model_a,
                "model_b": self.model_b, "winner": self.winner, "judge": self.judge}


def outcomes(battles: Iterable[Battle]) -> list[tuple[str, str, float]]:
    return [b.outcome for b in battles]


def write_jsonl(battles: Sequence[Battle], path: Path | str) -> int:
    with open(path, "w", encoding="utf-8") as f:
        for b in battles:
            f.write(json.dumps(b.to_json(), ensure_ascii=False) + "\n")
    return len(battles)


def read_jsonl(path: Path | str) -> list[Battle]:
    """Battles from a JSONL file; a bad line fails naming the file, the line and the field."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file of battles")
    return [_battle(row, f"{path}:{lineno}") for lineno, row in read_rows(path)]


def _battle(row: dict[str, Any], where: str) -> Battle:
    for name in ("model_a", "model_b", "winner", "question_id"):
        if name not in row or row[name] in (None, ""):
            raise DataError(f"{where}: field {name!r} is missing")
    for name in ("model_a", "model_b"):
        if not isinstance(row[name], str):
            raise DataError(f"{where}: field {name!r} must be a string, got {row[name]!r}")
    if row["winner"] not in WINNERS:
        raise DataError(f"{where}: field 'winner' is {row['winner']!r}; expected one of {', '.join(WINNERS)}")
    if row["model_a"] == row["model_b"]:
        raise DataError(f"{where}: model_a and model_b are both {row['model_a']!r}")
    turn = row.get("turn", 1)
    if not isinstance(turn, int) or isinstance(turn, bool) or turn < 1:
        raise DataError(f"{where}: field 'turn' must be a positive integer, got {turn!r}")
    data = {k: v for k, v in row.items() if k not in _FIELDS}
    return Battle(str(row["question_id"]), row["model_a"], row["model_b"], row["winner"],
                  str(row.get("judge") or "unknown"), turn, data)
