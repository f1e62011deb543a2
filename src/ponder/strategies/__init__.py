"""Strategies: how to reason. Each turns a task into model calls and returns a Result."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import jinja2

from ponder.types import Result, Task

_PROMPTS = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "prompts"),
                              keep_trailing_newline=False, undefined=jinja2.StrictUndefined)


def render(template: str, **values: object) -> str:
    return _PROMPTS.get_template(template).render(**values).strip()


class Strategy(Protocol):
    name: str

    async def run(self, task: Task, model) -> Result: ...
