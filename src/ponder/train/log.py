"""A trainer callback that appends every log (loss, rewards, lengths…) to a JSONL file as it is
logged, so a killed run keeps the steps it finished."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from transformers import TrainerCallback


class MetricsFile(TrainerCallback):
    def __init__(self, path: Path, keep: bool = False) -> None:
        """`keep`: append to the file a resumed run left (else it starts empty)."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if not keep or not path.is_file():
            path.write_text("")

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if not logs:
            return
        row = {
            "step": state.global_step,
            **{k: v for k, v in logs.items() if isinstance(v, (int, float, str))},
        }
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


def read_metrics(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
