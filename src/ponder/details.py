"""The details each strategy and probe gives beside its answer, and their one JSON form.

Every kind of details is a frozen dataclass registered under a type name (`register`); the store
keeps details as `{"type": NAME, **fields}` (`to_json`) and reads them back with `from_json`.
A type name that is not registered, or fields that no longer fit their type, read as
`GenericDetails` (the name and the fields as stored): reading never fails on details.
Results stored before details had types kept a `meta` dict; `from_meta` reads it into the typed
details of the strategy or probe that wrote it (`GenericDetails` where it does not fit).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from ponder.types import BudgetUse, Details

D = TypeVar("D", bound=type[Details])
T = TypeVar("T")

DETAILS: dict[str, type[Details]] = {}
_NAMES: dict[type[Details], str] = {}


def register(name: str) -> Callable[[D], D]:
    """Register a details dataclass under `name`, the type name the store writes with it."""

    def add(cls: D) -> D:
        if name in DETAILS and DETAILS[name] is not cls:
            raise ValueError(f"details type {name!r} is already registered to {DETAILS[name].__name__}")
        DETAILS[name] = cls
        _NAMES[cls] = name
        return cls

    return add


register("none")(Details)


@register("generic")
@dataclass(frozen=True)
class GenericDetails(Details):
    """Details whose type is unknown to this version: `source` names what wrote them (a type name
    or, for an old result, its strategy), `data` holds the fields as stored."""

    source: str = ""
    data: dict[str, Any] = field(default_factory=dict, hash=False)


@register("unanswered")
@dataclass(frozen=True)
class UnansweredDetails(Details):
    """An item that was not asked (too long for the model's context): why."""

    error: str = ""


@register("chain")
@dataclass(frozen=True)
class ChainDetails(Details):
    """One chain: whether it stopped at its token limit and stated its answer explicitly (None: the
    budget left no call to make)."""

    truncated: bool | None = None
    explicit: bool | None = None


@register("conversation")
@dataclass(frozen=True)
class ConversationDetails(Details):
    """A conversation of several turns: the reply to each turn."""

    turns: tuple[str, ...] = ()


@register("self-consistency")
@dataclass(frozen=True)
class SelfConsistencyDetails(Details):
    """A vote over `k` chains: answer → votes (or summed weight) in order of first appearance, the
    chains that voted, every chain's answer, and the prompt's name."""

    votes: dict[str, float] = field(default_factory=dict, hash=False)
    voters: int = 0
    k: int = 0
    answers: tuple[str | None, ...] = ()
    prompt: str | None = None


@register("weighted-vote")
@dataclass(frozen=True)
class WeightedVoteDetails(SelfConsistencyDetails):
    """A vote weighted by each chain's confidence (`sequence` or `answer`)."""

    weights: tuple[float, ...] = ()
    confidence: str = "sequence"


@register("adaptive-consistency")
@dataclass(frozen=True)
class AdaptiveDetails(SelfConsistencyDetails):
    """A vote that stopped sampling when its rule was met: the tally after every batch too."""

    stopped_by_rule: bool = False
    rule: str = "beta"
    threshold: float = 0.95
    history: tuple[dict[str, int], ...] = ()


@register("best-of-n")
@dataclass(frozen=True)
class BestOfNDetails(Details):
    """The verifier's score of each chain (None: the budget left none), each chain's answer, and
    the chain chosen."""

    scores: tuple[float | None, ...] = ()
    answers: tuple[str | None, ...] = ()
    chosen: int | None = None
    verifier: str | None = None
    prompt: str | None = None


@dataclass(frozen=True)
class BeamRound:
    """One round of a beam search: the candidates scored and the scores of those kept."""

    candidates: int
    kept: tuple[float, ...] = ()


@dataclass(frozen=True)
class BeamNode:
    """One scored candidate of a beam search: the node it extends (None: the question), its round
    (from 1), the step it adds ("" when it ends its parent as it was), the aggregated score of its
    steps, whether it was kept for the next round, and whether it finished."""

    parent: int | None
    depth: int
    step: str
    score: float
    kept: bool = False
    finished: bool = False


@register("beam-search")
@dataclass(frozen=True)
class BeamSearchDetails(Details):
    """The rounds, whether the best beam finished, its score and step scores (None and empty when
    no beam was kept), and the search tree: every scored candidate (`tree`, parents before their
    children) and the node of the answer's beam (`best`)."""

    rounds: tuple[BeamRound, ...] = ()
    finished: bool = False
    score: float | None = None
    step_scores: tuple[float, ...] = ()
    verifier: str | None = None
    aggregation: str | None = None
    tree: tuple[BeamNode, ...] = ()
    best: int | None = None


@dataclass(frozen=True)
class AgentCost:
    """What one agent spent in a conversation: its model calls, tokens, tool calls, code
    executions and the seconds they took."""

    agent: str
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tool_calls: int = 0
    executions: int = 0
    seconds: float = 0.0


@register("chat")
@dataclass(frozen=True)
class ChatDetails(Details):
    """A conversation between agents: why it stopped, how many messages it had, each agent's cost."""

    stopped_by: str = ""
    messages: int = 0
    costs: tuple[AgentCost, ...] = ()


@register("rag-chat")
@dataclass(frozen=True)
class RagDetails(ChatDetails):
    """A retrieval-augmented conversation: the passages retrieved (ids, in the order given), the
    passages the answer cites, the document the gold answer comes from, and whether a citation
    names it (None without a gold source)."""

    retrieved: tuple[str, ...] = ()
    cited: tuple[str, ...] = ()
    source: str | None = None
    cited_source: bool | None = None


@register("coding-chat")
@dataclass(frozen=True)
class CodingDetails(ChatDetails):
    """A coding conversation: how many of the problem's unit tests the final code passed, how many
    times the reviewer sent it back, and the test run's report."""

    tests_passed: int = 0
    tests_total: int = 0
    reviews: int = 0
    test_report: str = ""


@register("chess-game")
@dataclass(frozen=True)
class ChessDetails(ChatDetails):
    """A game of chess between two agents: the result ("1-0", "0-1", "1/2-1/2" or "*" when
    unfinished), why it ended, the moves in SAN, the game as PGN, and each player's illegal or
    unreadable moves that were rejected and asked again."""

    result: str = "*"
    termination: str = ""
    moves: tuple[str, ...] = ()
    pgn: str = ""
    illegal: tuple[tuple[str, int], ...] = ()


@register("attempts")
@dataclass(frozen=True)
class AttemptsDetails(Details):
    """Several attempts at one task: the first attempt's details, and each attempt's answer and
    correctness."""

    first: Details = field(default_factory=Details)
    attempts: tuple[str | None, ...] = ()
    attempt_correct: tuple[bool | None, ...] = ()


@dataclass(frozen=True)
class ProbeDetails(Details):
    """What a faithfulness probe measured on one item (`metrics`, averaged by the report) and the
    text it probed the model with."""

    metrics: dict[str, float] = field(default_factory=dict, hash=False)
    probed_text: str = ""


@register("step-labels")
@dataclass(frozen=True)
class StepLabelDetails(Details):
    """Monte-Carlo step labels of an item's sampled chains: each chain's steps, the share of the
    rollouts from the end of each step that reached the gold answer (`soft`), whether the chain's
    own answer was right, and the rollouts made."""

    steps: tuple[tuple[str, ...], ...] = ()
    soft: tuple[tuple[float, ...], ...] = ()
    correct: tuple[bool, ...] = ()
    rollouts: int = 0


@register("backtrack")
@dataclass(frozen=True)
class BacktrackDetails(Details):
    """A depth-first search over steps: the trace as written (rejected steps and the connectives
    after them included), each visited step as (depth, step, score, accepted), the backtracks, and
    whether the search reached an answer."""

    trace: str = ""
    visited: tuple[tuple[int, str, float, bool], ...] = ()
    rejected: int = 0
    backtracks: int = 0
    finished: bool = False


@register("early")
@dataclass(frozen=True)
class EarlyAnsweringDetails(ProbeDetails):
    steps: int = 0
    answers: tuple[str | None, ...] = ()
    agreement: tuple[bool, ...] = ()


@register("mistakes")
@dataclass(frozen=True)
class MistakeDetails(ProbeDetails):
    """`changed` is None where the chain had no step to corrupt."""

    changed: bool | None = None
    step: int | None = None
    steps: int | None = None
    original_step: str | None = None
    proposed_step: str | None = None
    corrupted_step: str | None = None
    edit: str | None = None
    answer_original: str | None = None
    answer_probed: str | None = None


@register("filler")
@dataclass(frozen=True)
class FillerDetails(ProbeDetails):
    filler_copies: int = 0
    answer_filler: str | None = None
    answer_no_cot: str | None = None


@register("paraphrase")
@dataclass(frozen=True)
class ParaphraseDetails(ProbeDetails):
    """`changed` is None where the chain had nothing to paraphrase."""

    changed: bool | None = None
    steps: int | None = None
    steps_paraphrased: int | None = None
    paraphrase: str | None = None
    answer_original: str | None = None
    answer_probed: str | None = None


@register("suggested")
@dataclass(frozen=True)
class SuggestedAnswerDetails(ProbeDetails):
    suggestion: str | None = None
    answer_biased: str | None = None


@register("always-a")
@dataclass(frozen=True)
class AlwaysADetails(ProbeDetails):
    answer_biased: str | None = None


@register("ablations")
@dataclass(frozen=True)
class AblationDetails(ProbeDetails):
    answers: dict[str, str | None] = field(default_factory=dict, hash=False)
    texts: dict[str, str] = field(default_factory=dict, hash=False)


def type_name(details: Details) -> str:
    try:
        return _NAMES[type(details)]
    except KeyError:
        raise TypeError(f"details type {type(details).__name__} is not registered") from None


def to_json(details: Details) -> dict[str, Any]:
    """`{"type": NAME, **fields}`, every value plain JSON (details inside details as their own)."""
    if isinstance(details, GenericDetails):
        return {"type": "generic", "source": details.source, "data": _plain(details.data)}
    body = {f.name: _plain(getattr(details, f.name)) for f in dataclasses.fields(details)}
    return {"type": type_name(details), **body}


def from_json(value: Any) -> Details:
    """The details written by `to_json`; GenericDetails for an unknown type or a shape that no
    longer fits."""
    if not isinstance(value, Mapping):
        return GenericDetails("", {"value": value})
    body = {str(k): v for k, v in value.items() if k != "type"}
    name = str(value.get("type", ""))
    cls = DETAILS.get(name)
    if cls is GenericDetails:
        data = body.get("data")
        return GenericDetails(str(body.get("source", "")), dict(data) if isinstance(data, Mapping) else {})
    if cls is None:
        return GenericDetails(name, body)
    built = _build(cls, body)
    return built if built is not None else GenericDetails(name, body)


# What each strategy and probe wrote into `meta` before details had types.
_LEGACY: dict[str, type[Details]] = {
    "direct": ChainDetails,
    "cot": ChainDetails,
    "chain-of-draft": ChainDetails,
    "chain": ChainDetails,
    "self-consistency": SelfConsistencyDetails,
    "weighted-vote": WeightedVoteDetails,
    "adaptive-consistency": AdaptiveDetails,
    "best-of-n": BestOfNDetails,
    "beam-search": BeamSearchDetails,
    "early": EarlyAnsweringDetails,
    "mistakes": MistakeDetails,
    "filler": FillerDetails,
    "paraphrase": ParaphraseDetails,
    "suggested": SuggestedAnswerDetails,
    "always-a": AlwaysADetails,
    "ablations": AblationDetails,
}


def from_meta(strategy: str, meta: Mapping[str, Any]) -> tuple[Details, BudgetUse | None, str | None]:
    """(details, budget use, model) of a result stored with an untyped `meta` dict by `strategy`."""
    rest = dict(meta)
    budget = _budget(rest.pop("budget", None))
    model = rest.pop("model", None)
    return _legacy(strategy, rest), budget, model if isinstance(model, str) else None


def _legacy(strategy: str, meta: dict[str, Any]) -> Details:
    if not meta:
        return Details()
    if isinstance(meta.get("attempts"), list):
        rest = {k: v for k, v in meta.items() if k not in ("attempts", "attempt_correct")}
        attempts = _build(
            AttemptsDetails,
            {"attempts": meta["attempts"], "attempt_correct": meta.get("attempt_correct") or ()},
        )
        if attempts is not None:
            return dataclasses.replace(attempts, first=_legacy(strategy, rest))
    if set(meta) == {"error"} and isinstance(meta["error"], str):
        return UnansweredDetails(meta["error"])
    cls = _LEGACY.get(strategy)
    if cls is ChainDetails and "turns" in meta:
        cls = ConversationDetails
    built: Details | None = None
    if cls is not None and issubclass(cls, ProbeDetails):
        body = meta.get("probe")
        if isinstance(body, Mapping) and set(meta) == {"probe"}:
            built = _build(cls, dict(body))
    elif cls is not None and set(meta) <= _field_names(cls):
        built = _build(cls, meta)
    return built if built is not None else GenericDetails(strategy, _plain(meta))


def _budget(value: Any) -> BudgetUse | None:
    if not isinstance(value, Mapping):
        return None
    return _build(BudgetUse, dict(value))


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(cls: type[Any]) -> TypeAdapter[Any]:
    if cls not in _ADAPTERS:
        _ADAPTERS[cls] = TypeAdapter(cls)
    return _ADAPTERS[cls]


def _field_names(cls: type[Details]) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls))


def _build(cls: type[T], body: dict[str, Any]) -> T | None:
    """`cls` from its fields as JSON (a field typed `Details` read with `from_json`), or None when
    they do not fit."""
    hints = typing.get_type_hints(cls)
    body = {
        k: from_json(v) if hints.get(k) is Details and isinstance(v, Mapping) else v for k, v in body.items()
    }
    try:
        value = _adapter(cls).validate_python(body)
    except ValidationError:
        return None
    return value if isinstance(value, cls) else None


def _plain(value: Any) -> Any:
    if isinstance(value, Details):
        return to_json(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
