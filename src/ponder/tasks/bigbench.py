"""BIG-bench tasks used by the chain-of-thought papers: date understanding (multiple choice),
sports understanding and StrategyQA (yes/no).

Date understanding lists its correct option first in the file, so the options are shuffled
with a seeded generator per item (seed 0 + item index), the same on every run.
"""

from __future__ import annotations

import random
from pathlib import Path

from ponder.errors import DataError
from ponder.tasks.data import data_file, read_json
from ponder.types import Task

FILES = {
    "date": "bigbench/date_understanding_task.json",
    "sports": "bigbench/sports_understanding_task.json",
    "strategyqa": "bigbench/strategyqa_task.json",
}
LETTERS = "ABCDEF"


def _examples(path: Path) -> list[dict]:
    doc = read_json(path)
    examples = doc.get("examples") if isinstance(doc, dict) else None
    if not isinstance(examples, list):
        raise DataError(f"{path}: expected a BIG-bench task file with an 'examples' list")
    for i, ex in enumerate(examples):
        if not isinstance(ex, dict) or not isinstance(ex.get("input"), str):
            raise DataError(f"{path}: example {i}: field 'input' is missing or not text")
        scores = ex.get("target_scores")
        if not isinstance(scores, dict) or sum(1 for v in scores.values() if v == 1) != 1:
            raise DataError(f"{path}: example {i}: field 'target_scores' needs exactly one option scored 1")
    return examples


def _winner(ex: dict) -> str:
    return next(k for k, v in ex["target_scores"].items() if v == 1)


def load_benchmark(name: str, variant: str | None, data_dir: Path | str | None = None) -> list[Task]:
    path = data_file(FILES[name], data_dir)
    tasks = []
    for i, ex in enumerate(_examples(path)):
        if name == "date":
            options = list(ex["target_scores"])
            if len(options) > len(LETTERS):
                raise DataError(f"{path}: example {i}: more than {len(LETTERS)} options")
            random.Random(i).shuffle(options)
            gold = LETTERS[options.index(_winner(ex))]
            choices = " ".join(f"({LETTERS[j]}) {o}" for j, o in enumerate(options))
            tasks.append(Task(f"date/{i}", f"{ex['input']}\nAnswer Choices: {choices}", gold, "choice"))
        elif name == "sports":
            winner = _winner(ex).lower()
            if winner not in ("plausible", "implausible"):
                raise DataError(f"{path}: example {i}: expected plausible or implausible, got {winner!r}")
            tasks.append(
                Task(
                    f"sports/{i}",
                    f'Is the following sentence plausible? "{ex["input"].strip()}"',
                    "yes" if winner == "plausible" else "no",
                    "yesno",
                )
            )
        else:
            winner = _winner(ex).lower().rstrip(".")
            if winner not in ("yes", "no"):
                raise DataError(f"{path}: example {i}: expected Yes or No, got {_winner(ex)!r}")
            tasks.append(
                Task(
                    f"strategyqa/{i}",
                    ex["input"].strip(),
                    winner,
                    "yesno",
                    meta={"explanation": ex.get("target")},
                )
            )
    return tasks
