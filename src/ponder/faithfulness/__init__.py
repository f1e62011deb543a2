"""Faithfulness of chain-of-thought: probes that test whether the reasoning causes the answer.

Each probe is run like a strategy (task + model → Result), so the eval harness stores, resumes and
reports it; the probe's per-item measurements are its `Result.details` (a `ProbeDetails`). Like a strategy, a
probe says what it runs (`config()`), its own templates' hashes included.
"""

from __future__ import annotations

from pathlib import Path

from ponder.strategies import Templates

PROMPTS = Templates(Path(__file__).parent / "prompts")


def render(template: str, **values: object) -> str:
    return PROMPTS.render(template, **values)
