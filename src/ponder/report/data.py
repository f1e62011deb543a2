"""What a report shows, computed from the store alone (no model is ever called here)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ponder.errors import ConfigError
from ponder.eval.metrics import agreement_at, bootstrap_ci, maj_curve, pass_curve, quantile_buckets
from ponder.store import Store
from ponder.tasks.answers import same_answer
from ponder.tasks.gsm_symbolic import set_accuracy

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
    meta: dict[str, Any] = field(default_factory=dict)


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
    probe: dict[str, dict[str, float]] = field(default_factory=dict)  # faithfulness metric → mean, CI, n
    early_curve: list[tuple[float, float]] | None = None  # (fraction of the chain shown, agreement)

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
            **{f"probe_{k}": v["mean"] for k, v in self.probe.items()},
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
    items = []
    for row in store.results(run_id):
        data = json.loads(row["data"])
        meta = data.get("meta", {})
        samples = meta.get("answers") if isinstance(meta.get("answers"), list) else None
        items.append(
            Item(
                row["task_id"],
                bool(row["correct"]),
                row["answer"] is not None,
                row["prompt_tokens"],
                row["prompt_tokens_evaluated"],
                row["completion_tokens"],
                row["calls"],
                row["seconds"],
                data.get("question", ""),
                data.get("kind", "number"),
                data.get("gold"),
                row["answer"],
                samples,
                {
                    "attempts": meta.get("attempts"),
                    "task": data.get("task_meta") or {},
                    "probe": meta.get("probe"),
                    "reasoning": row["reasoning"],
                },
            )
        )
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
    sampled = [i for i in items if i.samples]
    if sampled and len(sampled) == len(items):
        k = min(len(i.samples) for i in sampled)
        curves = [maj_curve(i.samples[:k], i.gold, _same(i.kind)) for i in sampled]
        s.maj = [float(np.mean([c[j] for c in curves])) for j in range(k)]
        passes = [pass_curve(i.samples[:k], i.gold, _same(i.kind)) for i in sampled]
        s.pass_k = [float(np.mean([c[j] for c in passes])) for j in range(k)]
    summarise_probe(s)
    if any(i.task_id.startswith("gsm-symbolic/") for i in items):
        s.symbolic = set_accuracy([(i.meta.get("task") or {}, i.correct) for i in items])
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
    return s


EARLY_FRACTIONS = tuple(i / 10 for i in range(11))


def summarise_probe(s: RunSummary) -> None:
    """Faithfulness runs: each probe metric's mean with its bootstrap interval over the items that
    have it, and the early-answering curve."""
    probes = [i.meta.get("probe") for i in s.items if i.meta.get("probe")]
    if not probes:
        return
    names = sorted({k for p in probes for k in (p.get("metrics") or {})})
    for name in names:
        values = [p["metrics"][name] for p in probes if name in (p.get("metrics") or {})]
        low, high = bootstrap_ci(values)
        s.probe[name] = {"mean": float(np.mean(values)), "ci_low": low, "ci_high": high, "n": len(values)}
    curves = [p["agreement"] for p in probes if p.get("agreement")]
    if curves:
        s.early_curve = [(f, float(np.mean([agreement_at(c, f) for c in curves]))) for f in EARLY_FRACTIONS]


def _same(kind: str):
    return lambda a, g: same_answer(a, g, kind)


def load_runs(store: Store, run_ids: list[int]) -> list[RunSummary]:
    return [load_run(store, r) for r in run_ids]
