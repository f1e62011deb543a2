"""Benchmarks by spec string: `NAME` or `NAME:VARIANT`, e.g. `gsm8k`, `gsm8k:train`, `aqua:dev`,
`last-letter:4`, `coin-flip:2`, `arc-agi-1:eval`, `jsonl:PATH`.

Every loader reads and checks the whole file (a malformed line fails with the file, line and
field named) before returning, so a bad file stops a run before any model call.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError
from ponder.types import Task


@dataclass(frozen=True)
class Benchmark:
    name: str
    module: str
    default: str | None  # default variant (split, size)
    variants: tuple[str, ...] | None  # None: any variant (a size, a path)
    about: str
    attempts: int = 1  # answers scored per item (pass@attempts)
    defaults: tuple[tuple[str, Any], ...] = ()  # strategy options unless given (where they apply)


BENCHMARKS = {
    b.name: b
    for b in (
        Benchmark(
            "gsm8k", "ponder.tasks.gsm8k", "test", ("test", "train"), "grade-school maths, numeric answers"
        ),
        Benchmark("svamp", "ponder.tasks.svamp", None, None, "varied one-step maths word problems"),
        Benchmark(
            "aqua", "ponder.tasks.aqua", "test", ("test", "dev"), "AQuA-RAT algebra, multiple choice A-E"
        ),
        Benchmark(
            "date", "ponder.tasks.bigbench", None, None, "BIG-bench date understanding, multiple choice"
        ),
        Benchmark("sports", "ponder.tasks.bigbench", None, None, "BIG-bench sports understanding, yes/no"),
        Benchmark("strategyqa", "ponder.tasks.bigbench", None, None, "StrategyQA (BIG-bench), yes/no"),
        Benchmark("math500", "ponder.tasks.math500", None, None, "MATH-500, boxed answers"),
        Benchmark(
            "last-letter",
            "ponder.tasks.generated",
            "2",
            None,
            "last-letter concatenation, generated (VARIANT = words; 2 in-domain, 4 out-of-domain)",
        ),
        Benchmark(
            "coin-flip",
            "ponder.tasks.generated",
            "2",
            None,
            "coin flip state tracking, generated (VARIANT = flips; 2 in-domain, 4 out-of-domain)",
        ),
        Benchmark(
            "gsm-symbolic",
            "ponder.tasks.gsm_symbolic",
            "symbolic",
            ("symbolic", "p1", "p2", "noop"),
            "GSM-Symbolic instances from the templates (--count per template) and the originals",
        ),
        Benchmark(
            "arc-agi-1",
            "ponder.tasks.arc",
            "eval",
            ("eval", "train"),
            "ARC-AGI-1 grids, exact match, two attempts (pass@2)",
            2,
            (("max_tokens", 1024),),
        ),
        Benchmark(
            "arc-agi-2",
            "ponder.tasks.arc",
            "eval",
            ("eval", "train"),
            "ARC-AGI-2 grids, exact match, two attempts (pass@2)",
            2,
            (("max_tokens", 1024),),
        ),
        Benchmark(
            "mt-bench",
            "ponder.tasks.mt_bench",
            None,
            None,
            "MT-Bench's 80 open-ended questions (first turn), no gold answer: for the arena",
            defaults=(("max_tokens", 512),),
        ),
        Benchmark(
            "ponder-rag",
            "ponder.tasks.rag_questions",
            None,
            None,
            "questions about ponder's own small document corpus (retrieval-augmented chat), short answers",
        ),
        Benchmark(
            "ponder-code",
            "ponder.tasks.code_problems",
            None,
            None,
            "small HumanEval-style Python problems written for ponder, scored by their unit tests",
        ),
        Benchmark("jsonl", "ponder.tasks.custom", None, None, "your JSONL file: jsonl:PATH"),
    )
}


def parse_spec(spec: str) -> tuple[Benchmark, str | None]:
    name, _, given = spec.strip().partition(":")
    bench = BENCHMARKS.get(name)
    if bench is None:
        raise ConfigError(
            f"unknown task {spec!r}: expected one of {', '.join(BENCHMARKS)} (optionally NAME:VARIANT)"
        )
    variant = given or bench.default
    if bench.variants is not None and variant not in bench.variants:
        raise ConfigError(
            f"task {name!r} has no variant {variant!r}: expected one of {', '.join(bench.variants)}"
        )
    if name == "jsonl" and not variant:
        raise ConfigError("task jsonl needs a path: jsonl:PATH")
    return bench, variant


def canonical_spec(spec: str) -> str:
    """The spec with its default variant spelled out (so `gsm8k` and `gsm8k:test` are one run)."""
    bench, variant = parse_spec(spec)
    if bench.name == "jsonl" and variant:
        return f"jsonl:{Path(variant).expanduser().resolve()}"
    return f"{bench.name}:{variant}" if variant else bench.name


def load_tasks(
    spec: str, limit: int | None = None, data_dir: Path | str | None = None, **options: Any
) -> list[Task]:
    """The tasks of a benchmark, first `limit` of them. `options` go to the loader (the JSONL
    field names and scorer, generated tasks' count and seed)."""
    bench, variant = parse_spec(spec)
    module = importlib.import_module(bench.module)
    tasks = module.load_benchmark(bench.name, variant, data_dir=data_dir, **options)
    return tasks if limit is None else tasks[:limit]
