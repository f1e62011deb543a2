"""Every strategy on the first GSM8K test problems: accuracy and what it cost, side by side.

Per row: accuracy, prompt tokens evaluated, completion tokens, calls and seconds per item (the
verifier's share included and also shown apart). One task at a time, no cache, so seconds are
real. Each result is written to a SQLite store as it finishes; a rerun with the same store skips
finished (row, task) pairs, so a stopped run resumes.

Then self-consistency k=8 sent as one n=8 request vs the same 8 samples (seeds s..s+7) sent as
8 sequential requests, on the first --compare problems: wall-time ratio (target <= 0.5).

    .venv/bin/python benchmarks/strategies.py [--limit 30] [--rows 'a;b'] [--compare 5] \
        [--store benchmarks/out/strategies.sqlite] [--model local] [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from ponder.models import get_model
from ponder.store import Store
from ponder.strategies.registry import build_strategy
from ponder.strategies.voting import answer_span_confidence, weighted_vote
from ponder.tasks import gsm8k
from ponder.tasks.answers import extract
from ponder.types import Completion

SHOTS = {"exemplars": "gsm8k"}
ROWS = {
    "direct": ("direct", {}),
    "cot 8-shot (Wei)": ("cot", {**SHOTS, "max_tokens": 256}),
    "cot 0-shot (Kojima)": ("cot", {"max_tokens": 384}),
    "cot 0-shot, task budget 160": ("cot", {"max_tokens": 384, "per_task_budget": 160}),
    "chain-of-draft": ("chain-of-draft", {"max_tokens": 256}),
    "self-consistency k=8": ("self-consistency", {**SHOTS, "k": 8, "max_tokens": 256}),
    "weighted-vote k=8": ("weighted-vote", {**SHOTS, "k": 8, "max_tokens": 256}),
    "adaptive-consistency k<=8": ("adaptive-consistency", {**SHOTS, "k": 8, "batch": 2, "max_tokens": 256}),
    "best-of-4, LLM judge": ("best-of-n", {**SHOTS, "k": 4, "max_tokens": 256}),
    "self-consistency k=8 over chain-of-draft": (
        "self-consistency",
        {"prompt": "chain-of-draft", "k": 8, "max_tokens": 256},
    ),
    "beam search 2x2, step judge": (
        "beam-search",
        {"width": 2, "expand": 2, "max_steps": 3, "step_tokens": 64, "max_tokens": 384},
    ),
}
SPAN_ROW = "weighted-vote k=8, answer-span weights"
console = Console(width=170)


def run_id_for(store: Store, model_id: str, row: str, config: dict) -> int:
    for run in store.runs():
        if run["kind"] == "benchmark" and run["model"] == model_id and run["strategy"] == row:
            if json.loads(run["config"]) == config:
                return run["id"]
    return store.start_run("benchmark", model_id, row, config)


async def run_rows(model, tasks, rows, store: Store, data_dir) -> dict[str, int]:
    runs = {}
    with Progress(console=console) as progress:
        for row in rows:
            name, options = ROWS[row]
            strategy = build_strategy(name, data_dir=data_dir, **options)
            run_id = run_id_for(store, model.model_id, row, {"strategy": name, **options})
            runs[row] = run_id
            done = {r["task_id"] for r in store.result_rows(run_id)}
            bar = progress.add_task(row, total=len(tasks), completed=len(done))
            for task in tasks:
                if task.id in done:
                    continue
                result = await strategy.run(task, model)
                store.add_result(run_id, result)
                progress.advance(bar)
            store.finish_run(run_id)
    return runs


def summarise(rows: list[dict]) -> dict:
    n = len(rows)
    return {
        "n": n,
        "accuracy": sum(r["correct"] or 0 for r in rows) / n,
        "prompt": sum(r["prompt_tokens_evaluated"] for r in rows) / n,
        "completion": sum(r["completion_tokens"] for r in rows) / n,
        "calls": sum(r["calls"] for r in rows) / n,
        "verifier_calls": sum(r["verifier_calls"] for r in rows) / n,
        "verifier_tokens": sum(r["verifier_prompt_tokens"] + r["verifier_completion_tokens"] for r in rows)
        / n,
        "seconds": sum(r["seconds"] for r in rows) / n,
    }


def span_weighted(rows: list[dict]) -> list[dict]:
    """The weighted-vote samples re-voted with answer-span confidence (same samples, same compute)."""
    out = []
    for r in rows:
        data = json.loads(r["data"])
        completions = data["trace"][0]["completions"]
        answers, weights = [], []
        for c in completions:
            found = extract(c["text"], data.get("kind", "number"), c["finish_reason"] == "length")
            lps = Completion.from_dict(c).logprobs or ()
            answers.append(found.value)
            weights.append(answer_span_confidence(lps, found.span))
        winner = weighted_vote(answers, weights).winner
        out.append({**r, "answer": winner, "correct": int(winner is not None and winner == data["gold"])})
    return out


async def compare_sc(model, tasks, data_dir, k: int = 8) -> list[dict]:
    """One n=k request vs k sequential n=1 requests with the same seeds, per problem."""
    prompt = build_strategy("cot", data_dir=data_dir, **SHOTS, max_tokens=256)
    out = []
    for task in tasks:
        request = prompt.request(task, n=k, temperature=0.7, seed=0)
        t0 = time.perf_counter()
        batched = await model.generate(request)
        one = time.perf_counter() - t0
        t0 = time.perf_counter()
        singles = [(await model.generate(replace(request, n=1, seed=i)))[0] for i in range(k)]
        seq = time.perf_counter() - t0
        out.append(
            {
                "task": task.id,
                "one_request_s": one,
                "sequential_s": seq,
                "prompt_evaluated_one": sum(c.usage.prompt_tokens_evaluated for c in batched),
                "prompt_evaluated_seq": sum(c.usage.prompt_tokens_evaluated for c in singles),
                "completion_one": sum(c.usage.completion_tokens for c in batched),
                "completion_seq": sum(c.usage.completion_tokens for c in singles),
                "same_text": sum(a.text == b.text for a, b in zip(batched, singles)),
            }
        )
        console.print(
            f"{task.id}: n={k} request {one:.1f} s, {k} sequential {seq:.1f} s, ratio {one / seq:.2f}",
            highlight=False,
        )
    return out


def print_table(summary: dict[str, dict], model_id: str) -> None:
    table = Table(title=f"strategies on GSM8K test, {model_id}")
    for col in (
        "strategy",
        "n",
        "accuracy",
        "prompt tok/item",
        "completion tok/item",
        "calls/item",
        "verifier calls/item",
        "verifier tok/item",
        "s/item",
    ):
        table.add_column(col, justify="left" if col == "strategy" else "right")
    lines = [
        "| strategy | n | accuracy | prompt tok/item (evaluated) | completion tok/item | calls/item | "
        "verifier calls/item | verifier tok/item | s/item |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row, s in summary.items():
        cells = [
            row,
            str(s["n"]),
            f"{s['accuracy']:.1%}",
            f"{s['prompt']:.0f}",
            f"{s['completion']:.0f}",
            f"{s['calls']:.1f}",
            f"{s['verifier_calls']:.1f}",
            f"{s['verifier_tokens']:.0f}",
            f"{s['seconds']:.1f}",
        ]
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    console.print(table)
    print("\n".join(lines))


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="local")
    ap.add_argument("--limit", type=int, default=30)
    ap.add_argument("--rows", default=None, help="';'-separated row names (see ROWS); default: all")
    ap.add_argument("--compare", type=int, default=5, help="problems for the n=8 vs sequential comparison")
    ap.add_argument("--store", type=Path, default=Path("benchmarks/out/strategies.sqlite"))
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    rows = [r.strip() for r in args.rows.split(";") if r.strip()] if args.rows else list(ROWS)
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        raise SystemExit(f"unknown row(s) {unknown}; known: {list(ROWS)}")
    model = get_model(args.model)
    tasks = gsm8k.load("test", limit=args.limit, data_dir=args.data_dir)
    with Store(args.store) as store:
        runs = await run_rows(model, tasks, rows, store, args.data_dir)
        summary = {}
        for row, run_id in runs.items():
            results = [r for r in store.result_rows(run_id) if r["task_id"] in {t.id for t in tasks}]
            summary[row] = summarise(results)
            if row.startswith("weighted-vote"):
                summary[SPAN_ROW] = summarise(span_weighted(results))
    print_table(summary, model.model_id)
    if args.compare:
        cmp = await compare_sc(model, tasks[: args.compare], args.data_dir)
        ratios = [c["one_request_s"] / c["sequential_s"] for c in cmp]
        total = sum(c["one_request_s"] for c in cmp) / sum(c["sequential_s"] for c in cmp)
        prompt_ratio = sum(c["prompt_evaluated_one"] for c in cmp) / sum(
            c["prompt_evaluated_seq"] for c in cmp
        )
        print(f"\nself-consistency k=8, one n=8 request vs 8 sequential requests, {len(cmp)} problems:")
        print(f"  wall-time ratio: median {statistics.median(ratios):.2f}, total {total:.2f} (target <= 0.5)")
        print(
            f"  median seconds: one request {statistics.median(c['one_request_s'] for c in cmp):.1f}, "
            f"sequential {statistics.median(c['sequential_s'] for c in cmp):.1f}"
        )
        print(
            f"  prompt tokens evaluated ratio {prompt_ratio:.3f}; completion tokens "
            f"{sum(c['completion_one'] for c in cmp)} vs {sum(c['completion_seq'] for c in cmp)}; "
            f"identical samples {sum(c['same_text'] for c in cmp)}/{8 * len(cmp)}"
        )


if __name__ == "__main__":
    asyncio.run(main())
