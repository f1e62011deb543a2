"""`ponder rescore`: a run's stored outputs read again with today's answer extraction and scoring,
without any model (none is built).

Rescoring run R writes a new run of kind "rescore": the same model, strategy, task and options as
R, its config naming R (`rescore.source_run`) and the extraction version it read with. Its results
are R's results with new answers, correctness and reasoning, and the same calls and compute; R
itself is not touched. Each rescore is a new run (a view at one moment of the extractor's code);
none is ever resumed.

How an item's answer is found again, per strategy:
- one chain (direct, cot, chain-of-draft): the answer of its chain;
- a vote over chains (self-consistency, weighted-vote, adaptive-consistency): every chain's answer
  read again, then the strategy's own vote (`tally`), whose winning chain becomes the reasoning; the
  weighted vote's weights come from the stored logprobs. Adaptive consistency votes over the
  chains it drew: its stopping rule is not replayed (stopping later would need chains never drawn);
- a verifier's choice (best-of-n, beam search): the chosen chain is kept (the choice comes from the
  verifier's outputs) and its answer read again; best-of-n's per-chain answers are read again too;
- several attempts (ARC, pass@2): each attempt read again alone (its calls start at each generate
  call without an assistant prefix), correct when any attempt is. Best-of-n and beam search keep no
  chosen chain for later attempts, so they are not rescored with several attempts.

A chain's answer: where zero-shot chain-of-thought made Kojima's extraction call, from that call's
reply after the trigger it was given (as stored); a chain whose call is missing was cut by the
budget and is read as truncated. Otherwise from the chain, read as truncated when it stopped at
its token limit. Errored items, items without calls, and items whose calls cannot be told apart
into attempts are copied as stored. Faithfulness probes are not rescored: what they measure is more
than an answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ponder.details import (
    AttemptsDetails,
    BeamSearchDetails,
    BestOfNDetails,
    ChainDetails,
    SelfConsistencyDetails,
    WeightedVoteDetails,
)
from ponder.errors import ConfigError
from ponder.store import Store
from ponder.strategies.adaptive import AdaptiveConsistency
from ponder.strategies.registry import PROMPTS, STRATEGIES
from ponder.strategies.self_consistency import Chains, SelfConsistency, WeightedVote, winning_chain
from ponder.tasks.answers import EXTRACTION_VERSION, Extracted, extract, same_answer
from ponder.types import Details, ModelCall, Result, Task

RESCORE_KIND = "rescore"
VOTERS = ("self-consistency", "weighted-vote", "adaptive-consistency")
CHOSEN = ("best-of-n", "beam-search")


@dataclass(frozen=True)
class Change:
    task_id: str
    old_answer: str | None
    new_answer: str | None
    old_correct: bool | None
    new_correct: bool | None


@dataclass(frozen=True)
class Rescore:
    """One run rescored: `run_id` is the new run; `kept` the items copied as stored."""

    source: int
    run_id: int
    items: int
    changes: tuple[Change, ...]
    kept: tuple[str, ...]
    correct_before: int
    correct_after: int


@dataclass(frozen=True)
class Item:
    task: Task
    calls: tuple[ModelCall, ...]
    details: Details
    reasoning: str


@dataclass(frozen=True)
class Found:
    answer: str | None
    reasoning: str
    details: Details


def rescore_runs(store_path: Path | str | None, run_ids: Sequence[int]) -> list[Rescore]:
    """Rescore each run. Every run is read again before any is written, so a run that cannot be
    rescored stops them all with nothing written."""
    with Store(store_path) as store:
        views = [_view(store, _source(store, run_id)) for run_id in run_ids]
        return [_write(store, view) for view in views]


def rescore(store: Store, run_id: int) -> Rescore:
    """The run `run_id`'s outputs read again, stored as a new run (see the module's docstring)."""
    return _write(store, _view(store, _source(store, run_id)))


def _source(store: Store, run_id: int) -> dict[str, Any]:
    run = store.run(run_id)
    if run is None:
        raise ConfigError(f"run {run_id} is not in the store {store.path}")
    strategy = run["strategy"] or ""
    if strategy not in STRATEGIES:
        raise ConfigError(
            f"run {run_id} ({run['kind']}, {strategy or 'no strategy'}): only runs of the "
            f"strategies {', '.join(STRATEGIES)} can be rescored"
        )
    return run


@dataclass(frozen=True)
class _View:
    run: dict[str, Any]
    config: dict[str, Any]
    results: list[Result]
    summary: Rescore


def _view(store: Store, run: dict[str, Any]) -> _View:
    """The new run's config and results, and what changed (`summary.run_id` is 0: not written)."""
    strategy, config = run["strategy"], json.loads(run["config"])
    kojima = _kojima(strategy, config)
    results, changes, kept = [], [], []
    before = after = 0
    for result in store.results(run["id"]):
        item = Item(result.task, result.calls, result.details, result.reasoning)
        read = None if result.error is not None else _read(strategy, kojima, item, run["id"])
        before += bool(result.correct)
        if read is None:
            kept.append(result.task.id)
            results.append(result)
            after += bool(result.correct)
            continue
        found, correct = read
        after += bool(correct)
        if found.answer != result.answer or correct != result.correct:
            changes.append(Change(result.task.id, result.answer, found.answer, result.correct, correct))
        results.append(
            replace(
                result, answer=found.answer, correct=correct, reasoning=found.reasoning, details=found.details
            )
        )
    options = config.get("options", {k: v for k, v in config.items() if k != "task"})
    new_config = {
        "options": options,
        **{k: config[k] for k in ("task", "resolved", "tasks_sha256") if k in config},
        "rescore": {"source_run": run["id"], "extraction_version": EXTRACTION_VERSION},
    }
    return _View(
        run,
        new_config,
        results,
        Rescore(run["id"], 0, len(results), tuple(changes), tuple(kept), before, after),
    )


def _write(store: Store, view: _View) -> Rescore:
    run_id = store.add_finished_run(
        RESCORE_KIND, view.run["model"], view.run["strategy"], view.config, view.results
    )
    return replace(view.summary, run_id=run_id)


def _kojima(strategy: str, config: dict[str, Any]) -> bool:
    """Whether the run's prompt is zero-shot chain-of-thought that makes Kojima's extraction call:
    from the resolved configuration where the run has one, else from its options."""
    resolved = config.get("resolved")
    if isinstance(resolved, dict):
        inner = resolved.get("inner", resolved)  # several attempts
        prompt = inner.get("prompt", inner)
        return prompt.get("extract_call") is True and prompt.get("exemplars_sha256") is None
    options = config.get("options") or {}
    prompt = strategy if strategy in PROMPTS else options.get("prompt", "cot")
    return (
        prompt == "cot"
        and options.get("exemplars") in (None, "none")
        and options.get("extract_call", True) is not False
    )


def _read(strategy: str, kojima: bool, item: Item, run_id: int) -> tuple[Found, bool | None] | None:
    """The item's answer read again and whether it is correct; None where it cannot be read."""
    if not item.calls:
        return None
    kojima = kojima or any(c.purpose == "extract" for c in item.calls)
    attempts = item.details
    if not isinstance(attempts, AttemptsDetails):
        found = _strategy_answer(strategy, kojima, item)
        return None if found is None else (found, _correct(item.task, found.answer))
    if strategy in CHOSEN:
        raise ConfigError(
            f"run {run_id}: {strategy} with several attempts per item cannot be rescored "
            "(only the first attempt's chosen chain is stored)"
        )
    parts = _attempts(item.calls, len(attempts.attempts))
    if parts is None:
        return None
    first = Item(item.task, parts[0], attempts.first, item.reasoning)
    each = [_strategy_answer(strategy, kojima, first)] + [
        _strategy_answer(strategy, kojima, Item(item.task, calls, Details(), "")) for calls in parts[1:]
    ]
    answers = [f.answer if f is not None else None for f in each]
    right = [_correct(item.task, a) for a in answers]
    head = each[0] or Found(None, item.reasoning, first.details)
    details = AttemptsDetails(head.details, tuple(answers), tuple(right))
    correct = None if item.task.answer is None else any(bool(r) for r in right)
    return Found(answers[0], head.reasoning, details), correct


def _attempts(calls: tuple[ModelCall, ...], count: int) -> list[tuple[ModelCall, ...]] | None:
    """The calls of each attempt: each begins with a generate call without an assistant prefix."""
    starts = [i for i, c in enumerate(calls) if c.purpose == "generate" and not c.request.assistant_prefix]
    if len(starts) != count or starts[0] != 0:
        return None
    return [calls[a:b] for a, b in zip(starts, starts[1:] + [len(calls)])]


def _correct(task: Task, answer: str | None) -> bool | None:
    return None if task.answer is None else same_answer(answer, task.answer, task.kind)


def _strategy_answer(strategy: str, kojima: bool, item: Item) -> Found | None:
    chains = [c for call in item.calls if call.purpose == "generate" for c in call.completions]
    if not chains:
        return None
    details = item.details
    if strategy in VOTERS:
        read = Chains(
            chains, [_chain_answer(item, c.text, c.finish_reason == "length", kojima) for c in chains]
        )
        voter = _voter(strategy, details)
        vote = voter.tally(read)
        return Found(
            vote.winner, winning_chain(read, vote), _voted(details, voter, read, vote.tally, vote.voters)
        )
    if strategy == "best-of-n":
        if not isinstance(details, BestOfNDetails) or details.chosen is None:
            return None
        if not 0 <= details.chosen < len(chains):
            return None
        answers = [_chain_answer(item, c.text, c.finish_reason == "length", kojima).value for c in chains]
        return Found(answers[details.chosen], item.reasoning, replace(details, answers=tuple(answers)))
    if strategy == "beam-search":
        if not isinstance(details, BeamSearchDetails) or details.score is None:
            return None  # no beam was kept: nothing was answered
        found = _chain_answer(item, item.reasoning, not details.finished, kojima)
        return Found(found.value, item.reasoning, details)
    found = _chain_answer(item, chains[0].text, chains[0].finish_reason == "length", kojima)
    if isinstance(details, ChainDetails) and details.explicit is not None:
        details = replace(details, explicit=found.explicit)
    return Found(found.value, item.reasoning, details)


def _voted(
    stored: Details,
    voter: SelfConsistency | AdaptiveConsistency,
    read: Chains,
    votes: dict[str, float],
    voters: int,
) -> SelfConsistencyDetails:
    """The stored vote's details with the new tally, voters, answers (and weights)."""
    base = (
        stored if isinstance(stored, SelfConsistencyDetails) else SelfConsistencyDetails(k=len(read.answers))
    )
    new = replace(base, votes=dict(votes), voters=voters, answers=tuple(read.answers))
    if isinstance(voter, WeightedVote) and isinstance(new, WeightedVoteDetails):
        new = replace(new, weights=tuple(voter.weights(read)))
    return new


def _voter(strategy: str, details: Details) -> SelfConsistency | AdaptiveConsistency:
    """The strategy whose `tally` votes (the weighted vote with the confidence the item used)."""
    if strategy == "weighted-vote":
        confidence = details.confidence if isinstance(details, WeightedVoteDetails) else "sequence"
        return WeightedVote(confidence=confidence)
    return AdaptiveConsistency() if strategy == "adaptive-consistency" else SelfConsistency()


def _chain_answer(item: Item, text: str, truncated: bool, kojima: bool) -> Extracted:
    kind = item.task.kind
    if not kojima or kind == "open":
        return extract(text, kind, truncated=truncated)
    reply = _extraction_reply(text, item.calls)
    if reply is None:
        return extract(text, kind, truncated=True)
    trigger, said = reply
    found = extract(f"{trigger} {said}", kind)
    return Extracted(found.value, None, found.explicit)


def _extraction_reply(text: str, calls: tuple[ModelCall, ...]) -> tuple[str, str] | None:
    """(trigger, reply) of the Kojima extraction call made for the chain `text`, if one was made:
    the chain given as the assistant's prefix followed by the trigger line, or (for a backend
    without prefixes) quoted in the question with the trigger as the last line."""
    body = text.rstrip()
    for call in calls:
        if call.purpose != "extract" or not call.completions:
            continue
        reply = call.completions[0].text
        if call.request.assistant_prefix:
            head, sep, trigger = call.request.assistant_prefix.rpartition("\n")
            if sep and head == body:
                return trigger, reply
        elif call.request.messages and body:
            head, sep, trigger = call.request.messages[-1].content.rpartition("\n")
            if sep and head.rstrip().endswith("\n" + body):
                return trigger, reply
    return None
