"""ARC-AGI-1 and ARC-AGI-2: one task per test input, grids serialised as rows of digits.

The prompt shows the demonstration pairs and the test input; the answer is the output grid,
scored by exact match. Each test input gets two attempts (pass@2, as the ARC Prize scores it):
see `strategies/attempts.py`.
"""

from __future__ import annotations

from pathlib import Path

from ponder.errors import DataError
from ponder.tasks.answers import grid_text
from ponder.tasks.data import data_file, read_json
from ponder.types import Task

FILES = {
    "arc-agi-1": "arc_agi/arc_agi1_fchollet_aa922be.json",
    "arc-agi-2": "arc_agi/arc_agi2_arcprize_f3283f7.json",
}
INSTRUCTION = (
    "Find the rule that turns each input grid into its output grid, then apply it to the test "
    "input. Grids are rows of digits 0-9 (each digit a colour), one row per line."
)


def _grid(value, where: str) -> list[list[int]]:
    ok = (
        isinstance(value, list)
        and value
        and all(isinstance(r, list) and r for r in value)
        and all(isinstance(v, int) and 0 <= v <= 9 for r in value for v in r)
    )
    if not ok:
        raise DataError(f"{where}: expected a grid, a non-empty list of rows of digits 0-9")
    return value


def prompt(train: list[dict], test_input: list[list[int]]) -> str:
    parts = [INSTRUCTION, ""]
    for n, pair in enumerate(train, 1):
        parts += [
            f"Example {n}",
            "Input:",
            grid_text(pair["input"]),
            "Output:",
            grid_text(pair["output"]),
            "",
        ]
    parts += [
        "Test",
        "Input:",
        grid_text(test_input),
        'Give the test output grid in the same format, after "Output:".',
    ]
    return "\n".join(parts)


def load_benchmark(name: str, variant: str | None, data_dir: Path | str | None = None) -> list[Task]:
    path = data_file(FILES[name], data_dir)
    doc = read_json(path)
    split = variant or "eval"
    tasks_in = doc.get(split) if isinstance(doc, dict) else None
    if not isinstance(tasks_in, dict):
        raise DataError(f'{path}: expected {{"train": {{…}}, "eval": {{…}}}} with task ids as keys')
    tasks = []
    for task_id in sorted(tasks_in):
        where = f"{path}: {split} task {task_id}"
        entry = tasks_in[task_id]
        if not isinstance(entry, dict) or not entry.get("train") or not entry.get("test"):
            raise DataError(f"{where}: fields 'train' and 'test' must be non-empty lists of pairs")
        train = [
            {
                "input": _grid(p.get("input"), f"{where} train {i} field 'input'"),
                "output": _grid(p.get("output"), f"{where} train {i} field 'output'"),
            }
            for i, p in enumerate(entry["train"])
        ]
        for i, pair in enumerate(entry["test"]):
            test_input = _grid(pair.get("input"), f"{where} test {i} field 'input'")
            output = _grid(pair.get("output"), f"{where} test {i} field 'output'")
            tasks.append(
                Task(
                    id=f"{name}/{split}/{task_id}/{i}",
                    question=prompt(train, test_input),
                    answer=grid_text(output),
                    kind="grid",
                    meta={"train": train, "test_input": test_input},
                )
            )
    return tasks
