"""What the eval harness itself costs, with a model that answers at once (the scripted model).

1. Store overhead per result: the same 1,319 GSM8K items answered by `direct` on the scripted
   model, (a) strategy calls alone, no store, vs (b) through the eval runner, which logs every
   call, writes and commits every result as it finishes.
2. Rerun of the finished 1,319-item run, in the library and as the `ponder eval` command: the
   scripted model is empty, so any call would raise; the rerun must make 0 calls. Target: < 3 s.

    .venv/bin/python benchmarks/eval_overhead.py [--rounds 5] [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ponder.eval.evaluate import Plan, evaluate
from ponder.eval.session import Session
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store
from ponder.strategies.registry import build_strategy
from ponder.tasks.registry import load_tasks

console = Console(width=140)


def script(tasks) -> ScriptedModel:
    return ScriptedModel([Step([f"The answer is {t.answer}."]) for t in tasks])


async def bare(tasks) -> float:
    strategy, model = build_strategy("direct"), script(tasks)
    t0 = time.perf_counter()
    for task in tasks:
        await strategy.run(task, model)
    return time.perf_counter() - t0


async def through_runner(tasks, store: Path, data_dir) -> tuple[float, float, float, int]:
    model = script(tasks)
    t0 = time.perf_counter()
    async with Session(model, Store(store), owns_store=True) as session:
        [first] = await evaluate(session, "gsm8k", [Plan("direct", {})], data_dir=data_dir)
    fresh = time.perf_counter() - t0
    assert first.progress.done == len(tasks) and not model.steps
    empty = ScriptedModel([])
    t0 = time.perf_counter()
    async with Session(empty, Store(store), owns_store=True) as session:
        [again] = await evaluate(session, "gsm8k", [Plan("direct", {})], data_dir=data_dir)
    rerun = time.perf_counter() - t0
    assert again.progress.resumed == len(tasks)
    argv = [
        str(Path(sys.executable).parent / "ponder"),
        "eval",
        "gsm8k",
        "-s",
        "direct",
        "--model",
        "scripted",
        "--store",
        str(store),
    ] + (["--data-dir", str(data_dir)] if data_dir else [])
    t0 = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    command = time.perf_counter() - t0
    assert done.returncode == 0 and f"{len(tasks)} already in the store" in done.stdout, done.stderr
    return fresh, rerun, command, len(empty.requests)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    tasks = load_tasks("gsm8k", data_dir=args.data_dir)
    bares, fresh, reruns, commands, calls = [], [], [], [], []
    for _ in range(args.rounds):
        bares.append(await bare(tasks))
        with tempfile.TemporaryDirectory() as tmp:
            f, r, cmd, c = await through_runner(tasks, Path(tmp) / "s.sqlite", args.data_dir)
        fresh.append(f)
        reruns.append(r)
        commands.append(cmd)
        calls.append(c)
    n = len(tasks)
    table = Table(title=f"eval harness overhead, {n} GSM8K items, scripted model, median of {args.rounds}")
    for col in ("measure", "median s", "per item ms", "all rounds s"):
        table.add_column(col)
    for name, xs in (
        ("strategy alone, no store", bares),
        ("eval runner, stored", fresh),
        ("rerun of the finished run (library)", reruns),
        ("rerun as `ponder eval` (process start included)", commands),
    ):
        table.add_row(
            name,
            f"{statistics.median(xs):.2f}",
            f"{statistics.median(xs) / n * 1000:.2f}",
            " ".join(f"{x:.2f}" for x in xs),
        )
    console.print(table)
    overhead = (statistics.median(fresh) - statistics.median(bares)) / n * 1000
    console.print(
        f"store overhead per result: {overhead:.2f} ms (runner / bare = "
        f"{statistics.median(fresh) / statistics.median(bares):.1f}x)"
    )
    console.print(
        f"rerun: {statistics.median(reruns):.2f} s in the library, {statistics.median(commands):.2f} s "
        f"as a command (target < 3 s); model calls made: {max(calls)}"
    )


if __name__ == "__main__":
    asyncio.run(main())
