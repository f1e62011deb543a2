"""SVAMP (Patel et al. 2021): one-unknown arithmetic word problems with varied structure."""

from __future__ import annotations

from pathlib import Path

from ponder.errors import DataError
from ponder.tasks.answers import normalise_number
from ponder.tasks.data import data_file, read_json
from ponder.types import Task

FILE = "svamp/SVAMP.json"


def load_benchmark(name: str, variant: str | None, data_dir: Path | str | None = None) -> list[Task]:
    path = data_file(FILE, data_dir)
    rows = read_json(path)
    if not isinstance(rows, list):
        raise DataError(f"{path}: expected a JSON list of problems")
    tasks = []
    for i, row in enumerate(rows):
        where = f"{path}: problem {i} ({row.get('ID', '?') if isinstance(row, dict) else '?'})"
        if not isinstance(row, dict):
            raise DataError(f"{where}: expected an object")
        for field in ("Body", "Question", "Answer"):
            if field not in row:
                raise DataError(f"{where}: missing field {field!r}")
        gold = normalise_number(str(row["Answer"]))
        if gold is None:
            raise DataError(f"{where}: field 'Answer' is not a number: {row['Answer']!r}")
        body = str(row["Body"]).strip()
        question = f"{body}{'' if body.endswith(('.', '?', '!')) else '.'} {str(row['Question']).strip()}"
        tasks.append(
            Task(
                id=f"svamp/{row.get('ID', i)}",
                question=question,
                answer=gold,
                kind="number",
                meta={"equation": row.get("Equation"), "type": row.get("Type")},
            )
        )
    return tasks
