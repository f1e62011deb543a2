"""GSM8K (Cobbe et al. 2021): grade-school maths word problems with numeric answers after "####"."""

from __future__ import annotations

from pathlib import Path

from ponder.errors import DataError
from ponder.tasks.answers import normalise_number
from ponder.tasks.data import data_file, read_jsonl
from ponder.types import Task

FILES = {"test": "gsm8k/test.jsonl", "train": "gsm8k/train.jsonl"}


def load(split: str = "test", limit: int | None = None, data_dir: Path | str | None = None) -> list[Task]:
    if split not in FILES:
        raise DataError(f"gsm8k has no split {split!r}: expected one of {', '.join(FILES)}")
    path = data_file(FILES[split], data_dir)
    tasks = []
    for i, (lineno, row) in enumerate(read_jsonl(path)):
        if limit is not None and i >= limit:
            break
        question, solution = row.get("question"), row.get("answer")
        if not isinstance(question, str) or not isinstance(solution, str) or "####" not in solution:
            raise DataError(f"{path}:{lineno}: expected 'question' and an 'answer' ending in '#### N'")
        gold = normalise_number(solution.rsplit("####", 1)[1])
        if gold is None:
            raise DataError(f"{path}:{lineno}: no number after '####'")
        tasks.append(Task(id=f"gsm8k/{split}/{i}", question=question, answer=gold, kind="number",
                          meta={"solution": solution}))
    return tasks


def load_benchmark(name: str, variant: str | None, data_dir: Path | str | None = None) -> list[Task]:
    return load(variant or "test", data_dir=data_dir)
