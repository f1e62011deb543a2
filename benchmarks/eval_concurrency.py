"""Items in flight on the embedded model: `ponder eval gsm8k -s cot -n N` at several concurrencies.

Each row is the command itself, in a process of its own, on a fresh store (no cache): wall seconds,
items per second, completion tokens per second, and the process's peak RSS (from `wait4`). The
in-process engine decodes the items in flight together, so higher concurrency trades a little
per-item latency for throughput up to the runtime's batching limit.

    .venv/bin/python benchmarks/eval_concurrency.py [--items 16] [--levels 1,4,8] [--model local]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table


def run_once(items: int, concurrency: int, model: str, folder: Path) -> dict[str, float]:
    """One `ponder eval` at `concurrency`: wall seconds, completion tokens, peak RSS in MiB."""
    store = folder / f"c{concurrency}.sqlite"
    argv = [
        str(Path(sys.executable).parent / "ponder"),
        "eval",
        "gsm8k",
        "-s",
        "cot",
        "-n",
        str(items),
        "--concurrency",
        str(concurrency),
        "--model",
        model,
        "--store",
        str(store),
    ]
    t0 = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t0
    output = child.stdout.read() if child.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"ponder eval at concurrency {concurrency} failed:\n{output}")
    with sqlite3.connect(store) as db:
        (tokens,) = db.execute("SELECT COALESCE(SUM(completion_tokens), 0) FROM results").fetchone()
        (correct,) = db.execute("SELECT COALESCE(SUM(correct), 0) FROM results").fetchone()
    return {"wall": wall, "tokens": float(tokens), "correct": float(correct), "rss": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=16)
    parser.add_argument("--levels", default="1,4,8")
    parser.add_argument("--model", default="local")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for level in levels:
            rows[level] = run_once(args.items, level, args.model, Path(tmp))
    base = rows[levels[0]]
    table = Table(title=f"ponder eval gsm8k -s cot -n {args.items} --model {args.model}, fresh store per row")
    for col in (
        "concurrency",
        "wall s",
        "items/s",
        "completion tok/s",
        "correct",
        "peak RSS MiB",
        "speed-up",
    ):
        table.add_column(col, justify="right")
    for level, r in rows.items():
        table.add_row(
            str(level),
            f"{r['wall']:.1f}",
            f"{args.items / r['wall']:.3f}",
            f"{r['tokens'] / r['wall']:.1f}",
            f"{r['correct']:.0f}/{args.items}",
            f"{r['rss']:.0f}",
            f"{base['wall'] / r['wall']:.2f}x",
        )
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
