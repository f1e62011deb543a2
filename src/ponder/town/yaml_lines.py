"""YAML read so that errors can name lines: mappings become `Map` and lists `Seq`, each
remembering its line and the line of each key or item (1-based); a key given twice is an error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ponder.errors import DataError


class Map(dict[Any, Any]):
    """A YAML mapping that remembers its line and the line of each key (1-based)."""

    def __init__(self, line: int = 1) -> None:
        super().__init__()
        self.line = line
        self.lines: dict[Any, int] = {}


class Seq(list[Any]):
    """A YAML sequence that remembers its line and the line of each item (1-based)."""

    def __init__(self, line: int = 1) -> None:
        super().__init__()
        self.line = line
        self.lines: list[int] = []


class _LineLoader(yaml.SafeLoader):  # type: ignore[misc]
    """PyYAML's safe loader, building `Map` and `Seq` so errors can name lines."""


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> Map:
    loader.flatten_mapping(node)
    out = Map(node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in out:
            raise DataError(f"{loader.name}:{line}: the key {key!r} appears twice")
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = line
    return out


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> Seq:
    out = Seq(node.start_mark.line + 1)
    for item in node.value:
        out.append(loader.construct_object(item, deep=True))
        out.lines.append(item.start_mark.line + 1)
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


def read_text(path: Path) -> str:
    """The file's text; DataError naming it when it is missing or not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def read_yaml(path: Path) -> Any:
    """The YAML document in `path`, its mappings as `Map` and lists as `Seq`; DataError naming the
    file (and line) when it is missing, not UTF-8 or not YAML."""
    loader = _LineLoader(read_text(path))
    loader.name = str(path)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark is not None else 1
        raise DataError(f"{path}:{line}: not YAML: {e.problem or e}") from None
    except yaml.YAMLError as e:
        raise DataError(f"{path}: not YAML: {str(e).splitlines()[0]}") from None
    finally:
        loader.dispose()


def line_of(value: Any, default: int) -> int:
    """The line a parsed YAML value starts on, or `default` for a plain scalar."""
    return value.line if isinstance(value, Map | Seq) else default
