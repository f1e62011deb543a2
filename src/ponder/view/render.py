"""The templates (autoescaped: every stored string renders as text) and the helpers they use:
links with query strings, sample links with the task id quoted, numbers and times as text."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def link(path: str, **params: Any) -> str:
    """`path` with the parameters that are set as its query string."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return path + (f"?{urlencode(kept)}" if kept else "")


def sample_link(run_id: int, task_id: str) -> str:
    """The sample page of one item of a run (the task id's `/` kept, anything else quoted)."""
    return f"/runs/{run_id}/samples/{quote(task_id, safe='/')}"


def when(timestamp: float | None) -> str:
    """A UNIX time as `YYYY-MM-DD HH:MM:SS` UTC; empty when None."""
    if timestamp is None:
        return ""
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")


def percent(value: float | None) -> str:
    """A share as a percentage with one decimal; a dash when None."""
    return "-" if value is None else f"{value:.1%}"


TEMPLATES.globals.update(link=link, sample_link=sample_link)
TEMPLATES.filters.update(when=when, percent=percent)


def render(name: str, **context: Any) -> str:
    """The page `name` of the templates folder, rendered with `context`."""
    return TEMPLATES.get_template(name).render(**context)
