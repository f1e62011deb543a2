"""Where benchmark files are found: `--data-dir`, else `PONDER_DATA_DIR`. Never copied into ponder."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ponder.errors import DataError

HOW_TO = ("pass --data-dir DIR or set PONDER_DATA_DIR to a folder holding the benchmark files "
          "(in this project's CI: ../shared/data)")


def data_dir(explicit: Path | str | None = None) -> Path:
    chosen = explicit or os.environ.get("PONDER_DATA_DIR")
    if not chosen:
        raise DataError(f"no data folder given: {HOW_TO}")
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise DataError(f"data folder {path} does not exist: {HOW_TO}")
    return path


def data_file(relative: str, explicit: Path | str | None = None) -> Path:
    path = data_dir(explicit) / relative
    if not path.is_file():
        raise DataError(f"{path} is missing from the data folder: {HOW_TO}")
    return path


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-empty line; a bad line is a DataError naming file and line."""
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
            if not isinstance(obj, dict):
                raise DataError(f"{path}:{lineno}: expected a JSON object")
            yield lineno, obj
