"""What the sample page shows of a result's details: the votes of a vote, the rounds, step scores
and tree of a beam search, and a table of every other field (all fields, for probes and the rest)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from ponder.details import (
    AgentCost,
    BeamNode,
    BeamSearchDetails,
    ChatDetails,
    EarlyAnsweringDetails,
    MistakeDetails,
    ParaphraseDetails,
    ProbeDetails,
    SelfConsistencyDetails,
    to_json,
)
from ponder.types import Details


@dataclass(frozen=True)
class TreeNode:
    """A node of a beam search's tree as shown: its number, step, score, whether it was kept,
    finished, or lies on the path of the answer's beam, and its children."""

    number: int
    step: str
    score: float
    kept: bool
    finished: bool
    on_path: bool
    children: list[TreeNode] = field(default_factory=list)


def search_tree(nodes: tuple[BeamNode, ...], best: int | None) -> list[TreeNode]:
    """The roots of the tree of `nodes` (parents listed before their children), the path from the
    root to node `best` marked."""
    path: set[int] = set()
    at = best
    while at is not None and 0 <= at < len(nodes) and at not in path:
        path.add(at)
        at = nodes[at].parent
    made: list[TreeNode] = []
    roots: list[TreeNode] = []
    for i, n in enumerate(nodes):
        node = TreeNode(i, n.step, n.score, n.kept, n.finished, i in path)
        made.append(node)
        if n.parent is not None and 0 <= n.parent < i:
            made[n.parent].children.append(node)
        else:
            roots.append(node)
    return roots


@dataclass(frozen=True)
class DetailsView:
    """`kind` is votes, beam, probe, fields or none; `fields` are (name, value as text) pairs."""

    kind: str
    name: str
    votes: list[tuple[str, float]] = field(default_factory=list)
    rounds: list[tuple[int, int, str]] = field(default_factory=list)
    steps: list[tuple[int, float]] = field(default_factory=list)
    tree: list[TreeNode] = field(default_factory=list)
    truncations: list[tuple[int, int, str, bool]] = field(default_factory=list)
    edits: list[tuple[str, str, str]] = field(default_factory=list)
    costs: list[AgentCost] = field(default_factory=list)
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
        rest = [
            (k, as_text(v)) for k, v in body.items() if k not in ("rounds", "step_scores", "tree", "best")
        ]
        tree = search_tree(details.tree, details.best)
        return DetailsView("beam", name, rounds=rounds, steps=steps, tree=tree, fields=rest)
    if isinstance(details, ProbeDetails):
        return probe_view(details, name, body)
    if isinstance(details, ChatDetails):
        rest = [(k, as_text(v)) for k, v in body.items() if k != "costs"]
        return DetailsView("chat", name, costs=list(details.costs), fields=rest)
    fields = [(k, as_text(v)) for k, v in body.items()]
    return DetailsView("fields" if fields else "none", name, fields=fields)


def text_or_none(value: str | None) -> str:
    return "(none)" if value is None else value


def probe_view(details: ProbeDetails, name: str, body: dict[str, Any]) -> DetailsView:
    """A probe's view: for early answering the answer after each truncation of the chain (and
    whether it agrees with the full chain's); for an added mistake or a paraphrase the step or
    chain and the answer before and after the edit; every field in the table."""
    fields = [(k, as_text(v)) for k, v in body.items()]
    truncations: list[tuple[int, int, str, bool]] = []
    edits: list[tuple[str, str, str]] = []
    if isinstance(details, EarlyAnsweringDetails):
        truncations = [
            (i, details.steps, text_or_none(a), bool(agrees))
            for i, (a, agrees) in enumerate(zip(details.answers, details.agreement))
        ]
    elif isinstance(details, MistakeDetails) and details.original_step is not None:
        edits = [
            (
                f"step {(details.step or 0) + 1} of {details.steps} ({details.edit} edit)",
                details.original_step,
                text_or_none(details.corrupted_step),
            ),
            ("answer", text_or_none(details.answer_original), text_or_none(details.answer_probed)),
        ]
    elif isinstance(details, ParaphraseDetails) and details.paraphrase is not None:
        edits = [
            (
                f"chain ({details.steps_paraphrased} of {details.steps} steps paraphrased)",
                "",
                details.paraphrase,
            ),
            ("answer", text_or_none(details.answer_original), text_or_none(details.answer_probed)),
        ]
    return DetailsView("probe", name, truncations=truncations, edits=edits, fields=fields)
