"""Strategies: how to reason. Each turns a task into model calls and returns a Result, and says
what it runs (`config()`, see `strategies.config`)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Protocol

import jinja2

from ponder.models import Model
from ponder.trace import TraceSink
from ponder.types import Result, Task


class Templates:
    """The prompt templates of one folder: `render` fills one in by name, `sha256` hashes the
    source it renders (what a run's identity holds of its prompts)."""

    def __init__(self, folder: Path) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(folder),
            keep_trailing_newline=False,
            undefined=jinja2.StrictUndefined,
        )

    def render(self, template: str, **values: object) -> str:
        return self.env.get_template(template).render(**values).strip()

    def sha256(self, template: str) -> str:
        assert self.env.loader is not None
        source, _, _ = self.env.loader.get_source(self.env, template)
        return hashlib.sha256(source.encode("utf-8")).hexdigest()

    def hashes(self, *templates: str) -> dict[str, str]:
        return {name: self.sha256(name) for name in templates}


PROMPTS = Templates(Path(__file__).parent / "prompts")


def render(template: str, **values: object) -> str:
    return PROMPTS.render(template, **values)


class Strategy(Protocol):
    """How to answer a task. `run` records every event of the task into its Recorder's trace and
    sends each to `sink` (given by whoever runs the task: the store's, for a run)."""

    @property
    def name(self) -> str: ...

    async def run(self, task: Task, model: Model, sink: TraceSink | None = None) -> Result: ...

    def config(self) -> dict[str, Any]: ...
