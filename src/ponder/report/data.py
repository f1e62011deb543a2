"""What a report shows, computed from the store alone (no model is ever called here)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from ponder.details import AttemptsDetails, BestOfNDetails, SelfConsistencyDetails
from ponder.errors import ConfigError
from ponder.eval.metrics import bootstrap_ci, maj_curve, pass_curve, quantile_buckets
from ponder.report.sections import SectionSummary, sections
from ponder.store import Store
from ponder.tasks.answers import same_answer
from ponder.tasks.gsm_symbolic import set_accuracy
from ponder.types import Details, Result

LENGTH_BUCKETS = 5
DEFAULTS_HIDDEN = {"data_dir"}


@dataclass
class Item:
    task_id: str
    correct: bool
    answered: bool
    prompt_tokens: int
    prompt_tokens_evaluated: int
    completion_tokens: int
    calls: int
    seconds: float
    question: str
    kind: str
    gold: str | None
    answer: str | None
    samples: list[str | None] | None  # per-sample answers of sampling strategies
    details: Details = field(default_factory=Details)
    task_meta: dict[str, Any] = field(default_factory=dict)
    reasoning: str = ""

    @property
    def attempts(self) -> list[str | None] | None:
        """Each attempt's answer, where the task was attempted several times."""
        return list(self.details.attempts) if isinstance(self.details, AttemptsDetails) else None


def samples_of(details: Details) -> list[str | None] | None:
    """The answer of each sampled chain, for the strategies that sample (of the first attempt)."""
    if isinstance(details, AttemptsDetails):
        details = details.first
    if isinstance(details, (SelfConsistencyDetails, BestOfNDetails)):
        return list(details.answers)
    return None


def item_of(r: Result) -> Item:
    c = r.compute
    return Item(
        r.task.id,
        bool(r.correct),
        r.answer is not None,
        c.prompt_tokens,
        c.prompt_tokens_evaluated,
        c.completion_tokens,
        c.calls,
        c.seconds,
        r.task.question,
        r.task.kind,
        r.task.answer,
        r.answer,
        samples_of(r.details),
        r.details,
        r.task.meta,
        r.reasoning,
    )


@dataclass
class RunSummary:
    run_id: int
    label: str
    strategy: str
    model: str
    task: str
    status: str
    items: list[Item]
    n: int = 0
    accuracy: float = 0.0
    ci: tuple[float, float] = (0.0, 0.0)
    parse_failure: float = 0.0
    prompt_tokens: float = 0.0
    prompt_tokens_evaluated: float = 0.0
    completion_tokens: float = 0.0
    tokens: float = 0.0
    calls: float = 0.0
    seconds: float = 0.0
    maj: list[float] | None = None
    pass_k: list[float] | None = None
    length_buckets: list[dict[str, float]] = field(default_factory=list)
    symbolic: dict[str, Any] | None = None  # GSM-Symbolic: accuracy per instance set, drop
    sections: dict[str, SectionSummary] = field(default_factory=dict)  # what each report section adds

    def row(self) -> dict[str, Any]:
        """The table row (also the CSV and JSON record)."""
        return {
            "run": self.run_id,
            "strategy": self.label,
            "task": self.task,
            "model": self.model,
            "n": self.n,
            "accuracy": self.accuracy,
            "ci_low": self.ci[0],
            "ci_high": self.ci[1],
            "parse_failure_rate": self.parse_failure,
            "prompt_tokens_per_item": self.prompt_tokens,
            "prompt_tokens_evaluated_per_item": self.prompt_tokens_evaluated,
            "completion_tokens_per_item": self.completion_tokens,
            "tokens_per_item": self.tokens,
            "calls_per_item": self.calls,
            "seconds_per_item": self.seconds,
            "status": self.status,
            **(
                {}
                if not self.symbolic
                else {
                    "symbolic_original_accuracy": self.symbolic["original"],
                    "symbolic_mean_accuracy": self.symbolic["mean"],
                    "symbolic_std": self.symbolic["std"],
                    "symbolic_drop": self.symbolic["drop"],
                }
            ),
            **{k: v for summary in self.sections.values() for k, v in summary.columns.items()},
        }

    def record(self) -> dict[str, Any]:
        """The run's JSON record: its row, its curves and what each report section adds."""
        return {
            **self.row(),
            "maj_at_k": self.maj,
            "pass_at_k": self.pass_k,
            "length_buckets": self.length_buckets,
            "symbolic": self.symbolic,
            **{k: v for summary in self.sections.values() for k, v in summary.record.items()},
        }


def label_of(strategy: str, options: dict[str, Any]) -> str:
    shown = [f"{k}={v}" for k, v in sorted(options.items()) if k not in DEFAULTS_HIDDEN and v is not None]
    return strategy + (f" [{', '.join(shown)}]" if shown else "")


def load_run(store: Store, run_id: int) -> RunSummary:
    run = store.run(run_id)
    if run is None:
        raise ConfigError(f"run {run_id} is not in the store {store.path}")
    config = json.loads(run["config"])
    options = config.get("options", {k: v for k, v in config.items() if k != "task"})
    items = [item_of(r) for r in store.results(run_id)]
    summary = RunSummary(
        run_id,
        label_of(run["strategy"] or run["kind"], options),
        run["strategy"] or "",
        run["model"],
        config.get("task", run["kind"]),
        run["status"],
        items,
    )
    return summarise(summary)


def summarise(s: RunSummary) -> RunSummary:
    items = s.items
    s.n = len(items)
    if not items:
        return s
    correct = [float(i.correct) for i in items]
    s.accuracy = float(np.mean(correct))
    s.ci = bootstrap_ci(correct)
    s.parse_failure = float(np.mean([not i.answered for i in items]))
    s.prompt_tokens = float(np.mean([i.prompt_tokens for i in items]))
    s.prompt_tokens_evaluated = float(np.mean([i.prompt_tokens_evaluated for i in items]))
    s.completion_tokens = float(np.mean([i.completion_tokens for i in items]))
    s.tokens = s.prompt_tokens_evaluated + s.completion_tokens
    s.calls = float(np.mean([i.calls for i in items]))
    s.seconds = float(np.mean([i.seconds for i in items]))
    sampled = [(i, i.samples) for i in items if i.samples]
    if sampled and len(sampled) == len(items):
        k = min(len(samples) for _, samples in sampled)
        curves = [maj_curve(samples[:k], i.gold, _same(i.kind)) for i, samples in sampled]
        s.maj = [float(np.mean([c[j] for c in curves])) for j in range(k)]
        passes = [pass_curve(samples[:k], i.gold, _same(i.kind)) for i, samples in sampled]
        s.pass_k = [float(np.mean([c[j] for c in passes])) for j in range(k)]
    if any(i.task_id.startswith("gsm-symbolic/") for i in items):
        s.symbolic = set_accuracy([(i.task_meta, i.correct) for i in items])
    lengths = [len(i.question.split()) for i in items]
    buckets = quantile_buckets(lengths, LENGTH_BUCKETS) if len(items) >= LENGTH_BUCKETS else []
    for b in range(LENGTH_BUCKETS if buckets else 0):
        members = [i for i, x in zip(items, buckets) if x == b]
        words = [len(i.question.split()) for i in members]
        s.length_buckets.append(
            {
                "bucket": b + 1,
                "items": len(members),
                "question_words_min": min(words),
                "question_words_max": max(words),
                "completion_tokens": float(np.mean([i.completion_tokens for i in members])),
                "accuracy": float(np.mean([i.correct for i in members])),
            }
        )
    for section in sections():
        summary = section.summarise(s)
        if summary is not None:
            s.sections[section.name] = summary
    return s


@lru_cache(maxsize=1 << 16)
def _same_answer(answer: str, gold: str, kind: str) -> bool:
    """`same_answer`, remembered: maj@k and pass@k ask it of the same few answers again and again."""
    return same_answer(answer, gold, kind)


def _same(kind: str):
    return lambda a, g: _same_answer(a, g, kind)


def load_runs(store: Store, run_ids: list[int]) -> list[RunSummary]:
    return [load_run(store, r) for r in run_ids]
