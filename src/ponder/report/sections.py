"""Where a feature adds its part to the report of runs, so that the report imports no feature.

A feature registers one `Section` by name when its module is imported (`register_section`); whoever
writes a report imports the features whose sections it wants (the command line imports them all).
A section may give, for each run, columns for the runs' table and fields for its JSON record
(`summarise`); figures (`figures`); and HTML for the page (`html`, "" when it has nothing to show).
Sections appear in the order they were registered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

if TYPE_CHECKING:
    from ponder.report.data import RunSummary


@dataclass(frozen=True)
class SectionSummary:
    """What a section adds about one run: `columns` to its table row (CSV and JSON), `record` to its
    JSON record only."""

    columns: dict[str, Any] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SectionFigure:
    name: str
    caption: str
    png: bytes


def _no_summary(run: RunSummary) -> SectionSummary | None:
    return None


def _no_figures(runs: Sequence[RunSummary]) -> list[SectionFigure]:
    return []


def _no_html(runs: Sequence[RunSummary]) -> str:
    return ""


@dataclass(frozen=True)
class Section:
    name: str
    summarise: Callable[[RunSummary], SectionSummary | None] = _no_summary
    figures: Callable[[Sequence[RunSummary]], list[SectionFigure]] = _no_figures
    html: Callable[[Sequence[RunSummary]], str] = _no_html


SECTIONS: dict[str, Section] = {}


def register_section(
    name: str,
    summarise: Callable[[RunSummary], SectionSummary | None] = _no_summary,
    figures: Callable[[Sequence[RunSummary]], list[SectionFigure]] = _no_figures,
    html: Callable[[Sequence[RunSummary]], str] = _no_html,
) -> Section:
    """Add a section to every report written from now on (one under the same name is replaced)."""
    section = Section(name, summarise, figures, html)
    SECTIONS[name] = section
    return section


_ENVIRONMENTS: dict[Path, jinja2.Environment] = {}


def render(folder: Path, template: str, **values: Any) -> str:
    """A section's HTML from a template in `folder` (HTML-escaped, every name must be given)."""
    if folder not in _ENVIRONMENTS:
        _ENVIRONMENTS[folder] = jinja2.Environment(
            loader=jinja2.FileSystemLoader(folder), autoescape=True, undefined=jinja2.StrictUndefined
        )
    return _ENVIRONMENTS[folder].get_template(template).render(**values)


def sections() -> list[Section]:
    """The registered sections, in the order they were first registered."""
    return list(SECTIONS.values())
