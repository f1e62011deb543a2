"""Rejection sampling (STaR, Zelikman et al. 2022; RFT, Yuan et al. 2023): sample k chains per
training item, keep the correct ones. `select="shortest"` keeps the shortest correct chain of each
item (in tokens; the first sampled among equals), so the student does not learn to over-think;
`select="all"` keeps every correct chain once (chains equal up to whitespace are one).

The chains are the completions of a stored sampling run's generation calls (purpose "generate");
a chain is correct when the answer its own text states, read by ponder's extraction, equals the
item's gold answer (a chain cut at max_tokens states none)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ponder.datagen.rows import provenance_of, sft_row
from ponder.tasks.answers import extract, same_answer
from ponder.types import Result

SELECT = ("shortest", "all")


@dataclass(frozen=True)
class Chain:
    item: str
    prompt: str
    text: str
    tokens: int
    answer: str | None
    correct: bool


def chains_of(result: Result) -> list[Chain]:
    """Every sampled chain of a stored result, in sample order."""
    task = result.task
    out = []
    for call in result.calls:
        if call.purpose != "generate":
            continue
        users = [m.content for m in call.request.messages if m.role == "user"]
        prompt = users[-1] if users else call.request.prompt or task.question
        for c in call.completions:
            found = extract(c.text, task.kind, truncated=c.finish_reason == "length").value
            ok = task.answer is not None and same_answer(found, task.answer, task.kind)
            out.append(Chain(task.id, str(prompt), c.text, c.usage.completion_tokens, found, ok))
    return out


def select_chains(chains: Sequence[Chain], select: str = "shortest") -> list[Chain]:
    """The chains of one item to keep (`SELECT`)."""
    if select not in SELECT:
        raise ValueError(f"select must be one of {', '.join(SELECT)}, got {select!r}")
    correct = [c for c in chains if c.correct and c.text.strip()]
    if not correct:
        return []
    if select == "shortest":
        return [min(correct, key=lambda c: c.tokens)]
    seen: set[str] = set()
    kept = []
    for c in correct:
        key = " ".join(c.text.split())
        if key not in seen:
            seen.add(key)
            kept.append(c)
    return kept


@dataclass(frozen=True)
class Report:
    """What a rejection-sampling pass kept: per item the share of its chains that were correct
    (`yields`), and the token lengths of all chains and of the kept ones."""

    items: int
    chains: int
    correct: int
    kept: int
    yields: tuple[float, ...]
    all_lengths: tuple[int, ...]
    kept_lengths: tuple[int, ...]

    @property
    def items_with_a_kept_chain(self) -> int:
        return sum(1 for y in self.yields if y > 0)

    def summary(self) -> dict[str, Any]:
        def spread(xs: Sequence[int]) -> dict[str, float] | None:
            if not xs:
                return None
            q = statistics.quantiles(xs, n=4) if len(xs) > 1 else [xs[0]] * 3
            return {"mean": statistics.fmean(xs), "p25": q[0], "median": q[1], "p75": q[2], "max": max(xs)}

        return {
            "items": self.items,
            "chains": self.chains,
            "correct": self.correct,
            "kept": self.kept,
            "items_with_a_kept_chain": self.items_with_a_kept_chain,
            "mean_yield": statistics.fmean(self.yields) if self.yields else 0.0,
            "all_lengths": spread(self.all_lengths),
            "kept_lengths": spread(self.kept_lengths),
        }


def reject(results: Iterable[Result], select: str = "shortest") -> tuple[list[Chain], Report]:
    """The kept chains of every answered result, and the report."""
    kept: list[Chain] = []
    yields: list[float] = []
    all_lengths: list[int] = []
    n_chains = n_correct = 0
    for result in results:
        if result.error is not None:
            continue
        chains = chains_of(result)
        if not chains:
            continue
        chosen = select_chains(chains, select)
        kept.extend(chosen)
        good = sum(c.correct for c in chains)
        yields.append(good / len(chains))
        all_lengths.extend(c.tokens for c in chains)
        n_chains += len(chains)
        n_correct += good
    report = Report(
        len(yields),
        n_chains,
        n_correct,
        len(kept),
        tuple(yields),
        tuple(all_lengths),
        tuple(c.tokens for c in kept),
    )
    return kept, report


def sft_rows(kept: Iterable[Chain], run: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The kept chains as conversational SFT rows with their provenance (`run`: the store's row)."""
    return [sft_row(c.prompt, c.text, provenance_of(run, c.item)) for c in kept]
