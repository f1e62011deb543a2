"""GSM8K (Cobbe et al. 2021): grade-school maths word problems with numeric answers after "####"."""

from __future__ import annotations

from pathlib import Path

from ponder.errors import DataError
from ponder.tasks.answers import normalise_number
from ponder.tasks.data import jsonl_rows
from ponder.types import Task

FILES = {"test": "gsm8k/test.jsonl", "train": "gsm8k/train.jsonl"}
HUB = ("openai/gsm8k", "main")


def load(split: str = "test", limit: int | None = None, data_dir: Path | str | None = None) -> list[Task]:
    if split not in FILES:
        raise DataError(f"gsm8k has no split {split!r}: expected one of {', '.join(FILES)}")
    tasks = []
    for i, (where, row) in enumerate(jsonl_rows(FILES[split], data_dir, (*HUB, split))):
        if limit is not None and i >= limit:
            break
        question, solution = row.get("question"), row.get("answer")
        if not isinstance(question, str) or not isinstance(solution, str) or "####" not in solution:
            raise DataError(f"{where}: expected 'question' and an 'answer' ending in '#### N'")
        gold = normalise_number(solution.rsplit("####", 1)[1])
        if gold is None:
            raise DataError(f"{where}: no number after '####'")
        tasks.append(
            Task(
                id=f"gsm8k/{split}/{i}",
                question=question,
                answer=gold,
                kind="number",
                meta={"solution": solution},
            )
        )
    return tasks


def load_benchmark(name: str, variant: str | None, data_dir: Path | str | None = None) -> list[Task]:
    return load(variant or "test", data_dir=data_dir)
