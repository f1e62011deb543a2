"""Faithfulness of chain-of-thought: probes that test whether the reasoning causes the answer.

Each probe is run like a strategy (task + model → Result), so the eval harness stores, resumes and
reports it; the probe's per-item measurements are in `Result.meta["probe"]`.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

_PROMPTS = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "prompts"),
                              keep_trailing_newline=False, undefined=jinja2.StrictUndefined)


def render(template: str, **values: object) -> str:
    return _PROMPTS.get_template(template).render(**values).strip()
