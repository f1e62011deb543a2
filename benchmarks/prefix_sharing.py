"""Early answering's workload on the embedded model: one chain of thought truncated after each of
its m steps, each truncation followed by the answer cue and answered (greedy, 16 tokens), all m
requests in flight at once, as the early-answering probe sends them. The prompts share the
question and the chain up to each cut.

Modes, each run --rounds times (medians reported):
  shared      in flight together; each prompt shares the cells of the prefix it has in common with a
              running sequence (the default)
  not shared  in flight together, every prompt evaluated in full (sharing switched off)
  sequential  one after another; each prompt shares the cells kept from the finished ones
Every mode starts with no cells kept from earlier requests.
The script lists the replies that differ between modes (batches of different shapes can round
differently in the last bits, which can flip a greedy choice).

    .venv/bin/python benchmarks/prefix_sharing.py [--rounds 3] [--model local]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from ponder.models import get_model
from ponder.strategies.steps import split_steps
from ponder.types import GenerationRequest

QUESTION = (
    "Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins "
    "for her friends every day with four. She sells the remainder at the farmers' market daily for "
    "$2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?\n\n"
    "Let's think step by step."
)
CHAIN = (
    "Janet's ducks lay 16 eggs per day.\nShe eats 3 eggs for breakfast every morning.\n"
    "She uses 4 eggs to bake muffins every day.\nSo she uses 3 + 4 = 7 eggs each day.\n"
    "The eggs left are 16 - 7 = 9.\nShe sells each egg for $2.\nSo she makes 9 * 2 = $18 per day.\n"
    "Let me check: 16 eggs minus 7 eggs is 9 eggs, and 9 eggs at $2 each is $18.\n"
    "Therefore Janet makes $18 every day at the farmers' market."
)
CUE = "Therefore, the answer (arabic numerals) is"


def requests() -> list[GenerationRequest]:
    cuts = [0] + split_steps(CHAIN)
    return [
        GenerationRequest.chat(
            QUESTION,
            max_tokens=16,
            temperature=0.0,
            assistant_prefix=(CHAIN[:c].rstrip() + "\n" + CUE) if c else CUE,
        )
        for c in cuts
    ]


async def run(model, mode: str):
    engine = model.engine
    engine.forget()  # every mode starts without cells kept from earlier requests
    engine.share_prefixes = mode != "not shared"
    before = engine.stats.prompt_tokens_evaluated
    reqs = requests()
    t0 = time.perf_counter()
    if mode == "sequential":
        out = [(await model.generate(r))[0] for r in reqs]
    else:
        out = [o[0] for o in await asyncio.gather(*(model.generate(r) for r in reqs))]
    wall = time.perf_counter() - t0
    engine.share_prefixes = True
    return wall, engine.stats.prompt_tokens_evaluated - before, [c.text for c in out]


async def measure(model, rounds: int) -> dict[str, list]:
    modes = ("shared", "not shared", "sequential")
    rows: dict[str, list] = {m: [] for m in modes}
    await run(model, "shared")  # warm-up
    for _ in range(rounds):
        for mode in modes:
            rows[mode].append(await run(model, mode))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--model", default="local")
    args = ap.parse_args()
    model = get_model(args.model)
    reqs = requests()
    prompt = sum(len(model.prompt_tokens(r)) for r in reqs)
    print(
        f"model {model.model_id}, {len(reqs)} truncations, {prompt} prompt tokens in all, "
        f"{args.rounds} rounds, threads {model.engine.n_threads}"
    )
    rows = asyncio.run(measure(model, args.rounds))
    print(f"{'mode':<14}{'wall s (median)':>16}{'prompt tok evaluated':>22}")
    med = {}
    for mode, runs in rows.items():
        med[mode] = statistics.median(r[0] for r in runs)
        print(f"{mode:<14}{med[mode]:>16.2f}{statistics.median(r[1] for r in runs):>22.0f}")
    answers = {mode: runs[0][2] for mode, runs in rows.items()}
    for mode in ("not shared", "sequential"):
        differ = [i for i, (x, y) in enumerate(zip(answers["shared"], answers[mode])) if x != y]
        print(f"replies differing, shared vs {mode}: {len(differ)} of {len(reqs)}")
        for i in differ:
            print(f"  truncation {i}: {answers['shared'][i]!r} vs {answers[mode][i]!r}")
    print(f"wall, shared / not shared: {med['shared'] / med['not shared']:.2f}")
    print(f"wall, shared / sequential: {med['shared'] / med['sequential']:.2f}")
    ev = {m: statistics.median(r[1] for r in runs) for m, runs in rows.items()}
    print(f"prompt tokens evaluated, shared / not shared: {ev['shared'] / ev['not shared']:.2f}")


if __name__ == "__main__":
    main()
