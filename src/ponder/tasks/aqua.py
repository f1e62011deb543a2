"""AQuA-RAT (Ling et al. 2017): algebra word problems with five options, A-E."""

from __future__ import annotations

import re
from pathlib import Path

from ponder.errors import DataError
from ponder.tasks.data import jsonl_rows
from ponder.types import Task

FILES = {"test": "aqua_rat/test.json", "dev": "aqua_rat/dev.json"}
HUB, HUB_SPLITS = "deepmind/aqua_rat", {"test": "test", "dev": "validation"}
_OPTION = re.compile(r"^\s*([A-E])\s*\)\s*(.*)$", re.S)


def load_benchmark(name: str, variant: str | None, data_dir: Path | str | None = None) -> list[Task]:
    split = variant or "test"
    tasks = []
    for i, (where, row) in enumerate(jsonl_rows(FILES[split], data_dir, (HUB, "raw", HUB_SPLITS[split]))):
        question, options, correct = row.get("question"), row.get("options"), row.get("correct")
        if not isinstance(question, str):
            raise DataError(f"{where}: field 'question' is missing or not text")
        if not isinstance(options, list) or not options:
            raise DataError(f"{where}: field 'options' must be a list like [\"A)21\", …]")
        matched = [_OPTION.match(o) if isinstance(o, str) else None for o in options]
        parsed = [m for m in matched if m is not None]
        if len(parsed) < len(matched):
            raise DataError(f"{where}: field 'options' has an entry that is not 'LETTER)text'")
        letters = [m.group(1) for m in parsed]
        if correct not in letters:
            raise DataError(f"{where}: field 'correct' must be one of {', '.join(letters)}, got {correct!r}")
        choices = " ".join(f"({m.group(1)}) {m.group(2).strip()}" for m in parsed)
        tasks.append(
            Task(
                id=f"aqua/{variant or 'test'}/{i}",
                question=f"{question.strip()}\nAnswer Choices: {choices}",
                answer=correct,
                kind="choice",
                meta={"rationale": row.get("rationale")},
            )
        )
    return tasks
