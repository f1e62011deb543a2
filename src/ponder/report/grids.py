"""ARC-AGI pictures for the report: task examples, the attempts and the answer as coloured grids (a
report section that every report has)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from ponder.report.data import RunSummary
from ponder.report.sections import register_section, render
from ponder.tasks.answers import parse_grid

# The ARC palette (0 black, 1 blue, 2 red, 3 green, 4 yellow, 5 grey, 6 magenta, 7 orange, 8 azure, 9 maroon).
PALETTE = (
    "#000000",
    "#0074D9",
    "#FF4136",
    "#2ECC40",
    "#FFDC00",
    "#AAAAAA",
    "#F012BE",
    "#FF851B",
    "#7FDBFF",
    "#870C25",
)
MOST_ITEMS = 20


def grid_html(grid: list[list[int]] | None) -> Markup:
    if not grid:
        return Markup('<p class="note">(no grid)</p>')
    cols = max(len(r) for r in grid)
    cells = "".join(
        f'<div style="background:{PALETTE[v % 10]}"></div>'
        for row in grid
        for v in (list(row) + [0] * (cols - len(row)))
    )
    return Markup(f'<div class="grid" style="grid-template-columns:repeat({cols},10px)">{cells}</div>')


def arc_sections(runs: Sequence[RunSummary]) -> list[dict[str, Any]]:
    out = []
    for r in runs:
        for item in [i for i in r.items if i.kind == "grid"][:MOST_ITEMS]:
            task = item.task_meta
            grids = []
            for n, pair in enumerate(task.get("train", [])[:3]):
                grids.append({"caption": f"example {n + 1} input", "html": grid_html(pair.get("input"))})
                grids.append({"caption": f"example {n + 1} output", "html": grid_html(pair.get("output"))})
            grids.append({"caption": "test input", "html": grid_html(task.get("test_input"))})
            for n, attempt in enumerate(item.attempts or [item.answer]):
                grids.append({"caption": f"attempt {n + 1}", "html": grid_html(parse_grid(attempt))})
            grids.append({"caption": "answer", "html": grid_html(parse_grid(item.gold))})
            out.append(
                {"label": escape(r.label), "task_id": item.task_id, "correct": item.correct, "grids": grids}
            )
    return out


def html(runs: Sequence[RunSummary]) -> str:
    arc = arc_sections(runs)
    return render(Path(__file__).parent / "templates", "arc.html.j2", arc=arc) if arc else ""


def register() -> None:
    register_section("arc-agi", html=html)
