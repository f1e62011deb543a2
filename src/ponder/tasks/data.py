"""Where benchmark files are found. A data folder given with `--data-dir`, else `PONDER_DATA_DIR`,
comes first, file by file: a file it holds is read from it; a file it lacks is read from the copy
that ships inside ponder (`ponder.data`, the permissively licensed benchmarks with their licences),
found through importlib.resources. GSM-Symbolic does not ship: a data folder or the hub."""

from __future__ import annotations

import atexit
import json
import logging
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from ponder.errors import DataError

SHIPPED = "ponder.data"
HOW_TO = "pass --data-dir DIR or set PONDER_DATA_DIR to a folder holding the benchmark files"
HUB_HOW_TO = "or install `datasets` and be online to fetch {name} from the Hugging Face hub"
_extracted = ExitStack()  # shipped files copied out of a zipped install, removed at exit
_copies: dict[str, Path] = {}
atexit.register(_extracted.close)


def given_dir(explicit: Path | str | None = None) -> Path | None:
    """The data folder given by `explicit`, else by PONDER_DATA_DIR; None when neither is set.
    A folder that is given but does not exist is a DataError."""
    chosen = explicit or os.environ.get("PONDER_DATA_DIR")
    if not chosen:
        return None
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise DataError(f"data folder {path} does not exist: {HOW_TO}")
    return path


def data_dir(explicit: Path | str | None = None) -> Path:
    """The data folder given by `explicit` or PONDER_DATA_DIR; a DataError when there is none."""
    path = given_dir(explicit)
    if path is None:
        raise DataError(f"no data folder given: {HOW_TO}")
    return path


def shipped(relative: str) -> Path | None:
    """The copy of `relative` (e.g. "gsm8k/test.jsonl") that ships inside ponder; None if none."""
    try:
        resource = resources.files(SHIPPED).joinpath(*relative.split("/"))
    except ModuleNotFoundError:
        return None
    if not resource.is_file():
        return None
    if isinstance(resource, Path):
        return resource
    if relative not in _copies:
        _copies[relative] = _extracted.enter_context(resources.as_file(resource))
    return _copies[relative]


def shipped_dir() -> Path:
    """The folder of the shipped benchmark files, laid out like a data folder."""
    folder = resources.files(SHIPPED)
    if not isinstance(folder, Path):
        raise DataError(f"ponder's shipped data is not a folder on disk ({folder}): pass --data-dir DIR")
    return folder


def data_file(relative: str, explicit: Path | str | None = None) -> Path:
    """`relative` in the given data folder where it is there, else ponder's shipped copy."""
    folder = given_dir(explicit)
    if folder is not None:
        path = folder / relative
        if path.is_dir():
            raise DataError(f"{path} is a folder, not a file: {HOW_TO}")
        if path.is_file():
            return path
    found = shipped(relative)
    if found is not None:
        return found
    if folder is None:
        raise DataError(f"{relative} does not ship with ponder and no data folder is given: {HOW_TO}")
    raise DataError(f"{path} is missing from the data folder: {HOW_TO}")


def read_bytes(path: Path) -> bytes:
    """The file's bytes; a missing file, a folder or an unreadable file is a DataError naming it."""
    try:
        return Path(path).read_bytes()
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not a file") from None
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e.strerror or e})") from None


def decode(raw: bytes, where: str, lineno: int = 1) -> str:
    """`raw` as UTF-8 text; other bytes are a DataError naming `where`, the line and the byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line_start = raw.rfind(b"\n", 0, e.start) + 1
        line = lineno + raw.count(b"\n", 0, e.start)
        column = len(raw[line_start : e.start].decode("utf-8", errors="replace")) + 1
        raise DataError(f"{where}:{line}: not UTF-8 (byte 0x{raw[e.start]:02x} at column {column})") from None


def read_text(path: Path) -> str:
    """The whole file as UTF-8 text (a leading byte-order mark dropped); an empty file, a folder,
    a missing file or bytes that are not UTF-8 are a DataError naming the file."""
    text = decode(read_bytes(path), str(path)).removeprefix("\ufeff")
    if not text.strip():
        raise DataError(f"{path}: the file is empty")
    return text


def read_json(path: Path) -> Any:
    """The file's JSON document; anything that is not one is a DataError naming file and line."""
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None


_KINDS = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-empty line; a bad line is a DataError naming file and
    line, and so is a file that is empty, a folder, missing, or not UTF-8."""
    if Path(path).is_dir():
        raise DataError(f"{path}: is a folder, not a file")
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e.strerror or e})") from None
    seen = False
    with f:
        for lineno, raw in enumerate(f, 1):
            line = decode(raw, str(path), lineno)
            if lineno == 1:
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            seen = True
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
            if not isinstance(obj, dict):
                raise DataError(
                    f"{path}:{lineno}: expected a JSON object, got {_KINDS.get(type(obj), 'a value')}"
                )
            yield lineno, obj
    if not seen:
        raise DataError(f"{path}: the file is empty (no JSON lines)")


def jsonl_rows(
    relative: str, explicit: Path | str | None = None, hub: tuple[str, str | None, str] | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """("file:line", row) for each row of a JSONL benchmark file (see `data_file`). Where neither
    the data folder nor ponder has it and `hub` names the same data on the Hugging Face hub
    (dataset, config, split), rows come from there when `datasets` is installed and the hub is
    reachable."""
    try:
        path = data_file(relative, explicit)
    except DataError as missing:
        if hub is None:
            raise
        rows = hub_rows(*hub, missing)
        return ((f"{hub[0]}[{hub[2]}] row {i}", row) for i, row in enumerate(rows, 1))
    return ((f"{path}:{lineno}", row) for lineno, row in read_jsonl(path))


def hub_rows(name: str, config: str | None, split: str, missing: DataError) -> list[dict[str, Any]]:
    how = HUB_HOW_TO.format(name=name)
    try:
        import datasets
    except ImportError:
        raise DataError(f"{missing}, {how}") from None
    try:
        with _quiet("huggingface_hub", "datasets"):  # their retry warnings are not ponder's one-line error
            return [dict(r) for r in datasets.load_dataset(name, config, split=split)]
    except Exception as e:  # any failure of the hub: say both ways to get the data
        raise DataError(
            f"{missing}; fetching {name} from the hub failed too ({type(e).__name__}: {str(e)[:200]})"
        ) from None


@contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """The named loggers at ERROR level while the block runs."""
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
