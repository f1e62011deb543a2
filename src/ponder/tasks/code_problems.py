"""ponder-code: small Python functions written for ponder, HumanEval-style (a signature and a
docstring with examples), each scored by its hidden unit tests in the sandbox.

A row of `code_problems/problems.jsonl`: `id`, `prompt` (the def line and docstring),
`entry_point` (the function's name), `examples` (assert lines shown to the agents), `tests` (the
hidden assert lines that score an answer) and `solution` (a reference body that passes them). The
task's answer is the reference function (prompt and body), shown as the gold; its kind is "open",
so a strategy that runs the tests (`agent-coding`) gives the correctness itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ponder.errors import DataError
from ponder.tasks.data import jsonl_rows
from ponder.types import Task

FILE = "code_problems/problems.jsonl"
INSTRUCTION = "Complete the Python function below. Reply with the whole function in one ```python block."


def load_benchmark(name: str, variant: str | None, data_dir: Path | str | None = None) -> list[Task]:
    tasks: list[Task] = []
    seen: set[str] = set()
    for where, row in jsonl_rows(FILE, data_dir):
        problem = read_row(where, row)
        if problem["id"] in seen:
            raise DataError(f"{where}: field 'id': {problem['id']!r} appears twice")
        seen.add(problem["id"])
        tasks.append(
            Task(
                id=f"ponder-code/{problem['id']}",
                question=f"{INSTRUCTION}\n\n```python\n{problem['prompt']}```",
                answer=problem["prompt"] + problem["solution"],
                kind="open",
                meta={
                    "entry_point": problem["entry_point"],
                    "examples": problem["examples"],
                    "tests": problem["tests"],
                },
            )
        )
    return tasks


def read_row(where: str, row: dict[str, Any]) -> dict[str, Any]:
    """The row's fields, checked; a DataError naming `where` (file:line) and the field otherwise."""
    for field in ("id", "prompt", "entry_point", "solution"):
        if not isinstance(row.get(field), str) or not row[field].strip():
            raise DataError(f"{where}: field {field!r} is missing or not a non-empty string")
    for field in ("examples", "tests"):
        lines = row.get(field)
        if not isinstance(lines, list) or not lines:
            raise DataError(f"{where}: field {field!r} must be a non-empty list of assert lines")
        for i, line in enumerate(lines):
            if not isinstance(line, str) or not line.strip():
                raise DataError(f"{where}: field {field!r}: item {i} is not a non-empty string")
    entry = row["entry_point"]
    if not entry.isidentifier():
        raise DataError(f"{where}: field 'entry_point': {entry!r} is not a Python name")
    if f"def {entry}(" not in row["prompt"]:
        raise DataError(f"{where}: field 'prompt' does not define {entry}")
    return {k: row[k] for k in ("id", "prompt", "entry_point", "examples", "tests", "solution")}
