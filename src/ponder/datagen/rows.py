"""Rows in TRL's dataset formats, each with its provenance, and the JSONL file that holds them.

- Conversational SFT (`SFTTrainer`): {"messages": [{"role": "user", ...}, {"role": "assistant", ...}]}.
- Stepwise supervision (a process verifier's data): {"prompt", "completions" (the steps), "labels"}.

Every row also carries "provenance": the model's identity, the sha256 of the run's resolved
configuration, the seed, the item's id and the store's run id. A trainer reads the format's
columns and leaves "provenance" out."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ponder.strategies.config import canonical_sha256


@dataclass(frozen=True)
class Provenance:
    model: str
    config_sha256: str
    seed: int | None
    item: str
    run: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def provenance_of(run: Mapping[str, Any], item: str) -> Provenance:
    """A row's provenance from the store's run row (`Store.run`) and the item's id."""
    config = json.loads(run["config"]) if isinstance(run.get("config"), str) else run.get("config") or {}
    resolved = config.get("resolved", config.get("options", {}))
    seed = resolved.get("seed") if isinstance(resolved, dict) else None
    return Provenance(str(run["model"]), canonical_sha256(resolved), seed, item, int(run["id"]))


def sft_row(prompt: str, completion: str, provenance: Provenance) -> dict[str, Any]:
    """TRL's conversational SFT row: the user's prompt and the assistant's reply."""
    return {
        "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion}],
        "provenance": provenance.to_dict(),
    }


def stepwise_row(
    prompt: str, steps: list[str], labels: list[bool], soft: list[float], provenance: Provenance
) -> dict[str, Any]:
    """TRL's stepwise-supervision row: the prompt, the steps and each step's hard label; the soft
    labels (shares of rollouts that reached the gold answer) ride along in "soft_labels"."""
    if not len(steps) == len(labels) == len(soft):
        raise ValueError(f"{len(steps)} steps but {len(labels)} labels and {len(soft)} soft labels")
    return {
        "prompt": prompt,
        "completions": steps,
        "labels": labels,
        "soft_labels": soft,
        "provenance": provenance.to_dict(),
    }


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write the rows to `path` as JSON lines through a temporary file renamed into place, so a
    killed writer never leaves a half-written file; the number of rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    n = 0
    try:
        with tmp.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += 1
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return n
