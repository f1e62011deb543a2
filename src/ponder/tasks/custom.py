"""Your own benchmark: a JSONL file with a question field and an answer field.

Scorers: `numeric` (answers compared as numbers) or `exact` (the first word after an answer
statement, compared case-insensitively).
"""

from __future__ import annotations

from pathlib import Path

from ponder.errors import ConfigError, DataError
from ponder.tasks.answers import normalise_number
from ponder.tasks.data import read_jsonl
from ponder.types import Task

SCORERS = {"numeric": "number", "exact": "text"}


def load_benchmark(
    name: str,
    variant: str | None,
    data_dir: Path | str | None = None,
    question_field: str = "question",
    answer_field: str = "answer",
    scorer: str = "numeric",
) -> list[Task]:
    if scorer not in SCORERS:
        raise ConfigError(f"unknown scorer {scorer!r}: expected {' or '.join(SCORERS)}")
    path = Path(variant or "").expanduser()
    if path.is_dir():
        raise DataError(f"task file {path} is a folder, not a file")
    if not path.is_file():
        raise DataError(f"task file {path} does not exist")
    tasks = []
    for lineno, row in read_jsonl(path):
        question, answer = row.get(question_field), row.get(answer_field)
        if not isinstance(question, str) or not question.strip():
            raise DataError(f"{path}:{lineno}: field {question_field!r} is missing or not text")
        if answer is None or isinstance(answer, (dict, list)):
            raise DataError(f"{path}:{lineno}: field {answer_field!r} is missing or not a value")
        gold = str(answer).strip()
        if scorer == "numeric":
            number = normalise_number(gold)
            if number is None:
                raise DataError(
                    f"{path}:{lineno}: field {answer_field!r} is not a number: {answer!r} "
                    "(use --scorer exact for text answers)"
                )
            gold = number
        tasks.append(
            Task(
                id=f"{path.stem}/{row.get('id', lineno)}",
                question=question.strip(),
                answer=gold,
                kind=SCORERS[scorer],
            )
        )
    if not tasks:
        raise DataError(f"{path}: no items")
    return tasks
