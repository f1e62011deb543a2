"""MATH-500 (Lightman et al. 2023's split of Hendrycks MATH): LaTeX answers, compared after
normalisation (see `answers.normalise_math`)."""

from __future__ import annotations

from pathlib import Path

from ponder.errors import DataError
from ponder.tasks.data import jsonl_rows
from ponder.types import Task

FILE = "math500/test.jsonl"
HUB = ("HuggingFaceH4/MATH-500", None, "test")


def load_benchmark(name: str, variant: str | None, data_dir: Path | str | None = None) -> list[Task]:
    tasks = []
    for n, (where, row) in enumerate(jsonl_rows(FILE, data_dir, HUB), 1):
        for field in ("problem", "answer"):
            if not isinstance(row.get(field), str) or not row[field].strip():
                raise DataError(f"{where}: field {field!r} is missing or empty")
        tasks.append(
            Task(
                id=f"math500/{row.get('unique_id', n)}",
                question=f"{row['problem'].strip()}\n\nPut the final answer in \\boxed{{}}.",
                answer=row["answer"],
                kind="math",
                meta={"subject": row.get("subject"), "level": row.get("level")},
            )
        )
    return tasks
