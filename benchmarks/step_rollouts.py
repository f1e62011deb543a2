"""Monte-Carlo step labelling's rollouts on the embedded model (`ponder data steps`' workload): for
each item one chain, then m rollouts from the end of each of its steps, all of an item's rollout
requests in flight at once, the items one after another. The rollouts of a step share the question
and the chain up to it, and the steps' prefixes share each other's beginnings.

Modes, each run --rounds times (medians reported), every round from no cells kept:
  shared      the engine reuses cells of a common prefix (the default)
  not shared  every prompt evaluated in full

    .venv/bin/python benchmarks/step_rollouts.py [--items 3] [--m 4] [--rounds 2] [--model local]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from ponder.datagen.step_labels import StepLabeller
from ponder.models import get_model
from ponder.tasks.gsm8k import load


async def run(model, labeller: StepLabeller, tasks, mode: str) -> tuple[float, int, int, list]:
    engine = model.engine
    engine.forget()
    engine.share_prefixes = mode == "shared"
    before = engine.stats.prompt_tokens_evaluated
    t0 = time.perf_counter()
    soft = []
    rollouts = 0
    for task in tasks:
        result = await labeller.run(task, model)
        rollouts += result.details.rollouts
        soft.append(result.details.soft)
    wall = time.perf_counter() - t0
    engine.share_prefixes = True
    return wall, rollouts, engine.stats.prompt_tokens_evaluated - before, soft


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=3)
    ap.add_argument("--m", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--model", default="local")
    args = ap.parse_args()
    model = get_model(args.model)
    tasks = load("train", limit=args.items)
    labeller = StepLabeller(chains=1, m=args.m, max_tokens=192, rollout_tokens=128)
    print(f"model {model.model_id}, {args.items} GSM8K train items, m={args.m}, {args.rounds} rounds")
    rows: dict[str, list] = {"shared": [], "not shared": []}
    for _ in range(args.rounds):
        for mode in rows:
            rows[mode].append(asyncio.run(run(model, labeller, tasks, mode)))
    print(f"{'mode':<12}{'wall s':>10}{'rollouts':>10}{'rollouts/s':>12}{'prompt tok evaluated':>22}")
    rate = {}
    for mode, runs in rows.items():
        wall = statistics.median(r[0] for r in runs)
        n = runs[0][1]
        rate[mode] = n / wall
        print(
            f"{mode:<12}{wall:>10.1f}{n:>10}{rate[mode]:>12.2f}{statistics.median(r[2] for r in runs):>22.0f}"
        )
    same = rows["shared"][0][3] == rows["not shared"][0][3]
    print(f"rollouts/s, shared / not shared: {rate['shared'] / rate['not shared']:.2f}")
    print(f"soft labels the same in both modes: {same}")


if __name__ == "__main__":
    main()
