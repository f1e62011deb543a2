"""Battles (the `Battle` record lives in `ponder.types`, where the store reads it too) and their
JSONL form, which is Chatbot Arena's public battle format: one object per line
with model_a, model_b, winner (model_a, model_b, tie or "tie (bothbad)"), judge, turn and
question_id; anything else on the line is kept in `data`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ponder.errors import DataError
from ponder.tasks.data import read_jsonl as read_rows
from ponder.types import WINNERS, Battle

__all__ = ["WINNERS", "Battle", "outcomes", "read_jsonl", "write_jsonl"]

_FIELDS = ("question_id", "turn", "model_a", "model_b", "winner", "judge")


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
    return Battle(
        str(row["question_id"]),
        row["model_a"],
        row["model_b"],
        row["winner"],
        str(row.get("judge") or "unknown"),
        turn,
        data,
    )
