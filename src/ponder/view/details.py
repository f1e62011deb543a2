"""What the sample page shows of a result's details: the votes of a vote, the rounds and step
scores of a beam search, and a table of every other field (all fields, for probes and the rest)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from ponder.details import BeamSearchDetails, ProbeDetails, SelfConsistencyDetails, to_json
from ponder.types import Details


@dataclass(frozen=True)
class DetailsView:
    """`kind` is votes, beam, probe, fields or none; `fields` are (name, value as text) pairs."""

    kind: str
    name: str
    votes: list[tuple[str, float]] = field(default_factory=list)
    rounds: list[tuple[int, int, str]] = field(default_factory=list)
    steps: list[tuple[int, float]] = field(default_factory=list)
    fields: list[tuple[str, str]] = field(default_factory=list)


def as_text(value: Any) -> str:
    """A field's value as text: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def plain_fields(details: Details) -> tuple[str, dict[str, Any]]:
    """The details' type name and its fields as plain JSON values."""
    try:
        body = to_json(details)
    except TypeError:
        body = {"type": type(details).__name__, **dataclasses.asdict(details)}
    return str(body.pop("type", "")), body


def details_view(details: Details) -> DetailsView:
    """The view of `details`, by what kind of details they are."""
    name, body = plain_fields(details)
    if isinstance(details, SelfConsistencyDetails):
        rest = [(k, as_text(v)) for k, v in body.items() if k != "votes"]
        votes = sorted(details.votes.items(), key=lambda kv: -kv[1])
        return DetailsView("votes", name, votes=votes, fields=rest)
    if isinstance(details, BeamSearchDetails):
        rounds = [
            (i + 1, r.candidates, ", ".join(f"{s:.3g}" for s in r.kept)) for i, r in enumerate(details.rounds)
        ]
        steps = [(i + 1, s) for i, s in enumerate(details.step_scores)]
        rest = [(k, as_text(v)) for k, v in body.items() if k not in ("rounds", "step_scores")]
        return DetailsView("beam", name, rounds=rounds, steps=steps, fields=rest)
    fields = [(k, as_text(v)) for k, v in body.items()]
    if isinstance(details, ProbeDetails):
        return DetailsView("probe", name, fields=fields)
    return DetailsView("fields" if fields else "none", name, fields=fields)
