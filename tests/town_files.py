"""Small towns for tests, written as the four files a town folder holds."""

from __future__ import annotations

from pathlib import Path

AREAS = """town: Tiny
areas:
  - name: Ana house
    code: a
    areas:
      - name: kitchen
        code: b
        objects:
          - {name: stove, at: [7, 1]}
"""


def agent(name: str, start: str = "[1, 1]", relationships: str = "{}") -> str:
    """One agent of agents.yaml living in Ana house, who bakes bread and wakes at 7:00."""
    return f"""  - name: {name}
    age: 30
    traits: calm
    facts: [{name} bakes bread.]
    lifestyle: {name} wakes at 7:00.
    home: Ana house
    start: {start}
    relationships: {relationships}
"""


def agents(*items: str) -> str:
    """agents.yaml holding these agents (each from `agent`)."""
    return "agents:\n" + "".join(items)


def write_town(folder: Path, map_text: str, agents: str, scenario: str, areas: str = AREAS) -> Path:
    """A town folder with these files (the map drawn for AREAS unless others are given)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (
        ("map.txt", map_text),
        ("areas.yaml", areas),
        ("agents.yaml", agents),
        ("scenario.yaml", scenario),
    ):
        (folder / name).write_text(text, encoding="utf-8")
    return folder
