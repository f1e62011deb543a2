"""k samples of one ~300-token prompt on the embedded model: one n=k request vs k separate requests.

Modes, each run --rounds times (medians reported):
  n=k request        one request; the prompt is evaluated once and the k samples decoded as one batch
  k sequential       k requests of n=1, one after another (what a backend without `n` does); each
                     shares the prompt's cells kept from the one before
  k seq, no sharing  the same with prefix sharing off: the prompt evaluated k times
  k concurrent       k requests of n=1 in flight at once (decoded together, prompt evaluated k times)
  server n=k / k seq the same against the native llama-server on loopback, where it is built
Sample i uses seed s+i in every mode, so the texts (and token counts) match across modes.

    .venv/bin/python benchmarks/shared_prompt.py [--k 8] [--max-tokens 128] [--rounds 3] [--model local]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from ponder.models import get_model  # noqa: E402
from ponder.types import GenerationRequest  # noqa: E402
from servers import free_port, llama_server_binary, native_server_argv, serving  # noqa: E402

QUESTION = (
    "A school is organising a trip. There are 4 classes: class A has 27 students, class B has 31, "
    "class C has 24 and class D has 30. Each bus holds 40 passengers, and every bus must also carry "
    "2 teachers, who count as passengers. Tickets for the museum cost $12 per student and $8 per "
    "teacher, and the school gets a 10% discount on the total if it buys more than 100 tickets. "
    "Lunch costs $6.50 per person and is paid separately, without discount. The bus company charges "
    "$180 per bus for the day, plus $2.25 per kilometre per bus, and the museum is 38 km away (each "
    "way). The parents' association has promised to pay for a quarter of the lunch costs. Question: "
    "how many buses are needed, and what is the total cost of the trip for the school after the "
    "discount and the parents' contribution? Show the calculation for the buses, the tickets, the "
    "lunch and the transport separately, then add them up. Think carefully step by step before you "
    "answer, checking every multiplication, and write the final answer as 'The answer is N.'"
)


def question(seed: int) -> str:
    """The question of one round: its case number makes the prompt new to both engines' caches, so
    each evaluates it once per round (the server keeps prompts between requests)."""
    return f"Case {seed}. {QUESTION}"


async def run_local(model, k: int, max_tokens: int, mode: str, seed: int):
    stats = model.engine.stats
    model.engine.forget()  # every mode starts without cells kept from earlier requests
    before = stats.prompt_tokens_evaluated
    base = GenerationRequest.chat(question(seed), temperature=0.7, max_tokens=max_tokens)
    t0 = time.perf_counter()
    model.engine.share_prefixes = "no sharing" not in mode
    if mode == "n=k request":
        out = await model.generate(replace(base, n=k, seed=seed))
    else:
        singles = [replace(base, seed=seed + i) for i in range(k)]
        if mode.startswith("k seq"):
            out = [(await model.generate(r))[0] for r in singles]
        else:
            out = [o[0] for o in await asyncio.gather(*(model.generate(r) for r in singles))]
    wall = time.perf_counter() - t0
    model.engine.share_prefixes = True
    return wall, stats.prompt_tokens_evaluated - before, sum(c.usage.completion_tokens for c in out)


async def run_http(model, k: int, max_tokens: int, mode: str, seed: int):
    base = GenerationRequest.chat(question(seed), temperature=0.7, max_tokens=max_tokens)
    t0 = time.perf_counter()
    if mode == "server n=k":
        out = await model.generate(replace(base, n=k, seed=seed))
    else:
        out = [(await model.generate(replace(base, seed=seed + i)))[0] for i in range(k)]
    wall = time.perf_counter() - t0
    evaluated = sum(c.usage.prompt_tokens_evaluated for c in out)
    return wall, evaluated, sum(c.usage.completion_tokens for c in out)


def table(rows: dict, k: int, prompt_tokens: int) -> None:
    print(f"{'mode':<20}{'wall s (median)':>16}{'prompt tok evaluated':>22}{'completion tok':>16}")
    for mode, runs in rows.items():
        wall = statistics.median(r[0] for r in runs)
        ev = statistics.median(r[1] for r in runs)
        ct = statistics.median(r[2] for r in runs)
        print(f"{mode:<20}{wall:>16.2f}{ev:>22.0f}{ct:>16.0f}")


async def measure(model, args) -> dict[str, list]:
    modes = ["n=k request", "k sequential", "k seq, no sharing", "k concurrent"]
    rows: dict[str, list] = {m: [] for m in modes}
    await run_local(model, 2, 8, "n=k request", 0)  # warm-up
    for r in range(args.rounds):
        for mode in modes:
            rows[mode].append(await run_local(model, args.k, args.max_tokens, mode, 1000 + 100 * r))
    binary = None if args.no_server else llama_server_binary()
    if binary is None:
        return rows
    port = free_port()
    argv = native_server_argv(binary, model.path, port) + ["-np", str(args.k), "-c", "16384"]
    with serving(argv, port, Path("/tmp/ponder-bench-llama-server.log")) as url:
        http = get_model(f"openai:local@{url}")
        await run_http(http, 2, 8, "server n=k", 0)  # warm-up
        for r in range(args.rounds):
            for mode in ("server n=k", "server k seq"):
                rows.setdefault(mode, []).append(
                    await run_http(http, args.k, args.max_tokens, mode, 1000 + 100 * r)
                )
        await http.aclose()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--model", default="local")
    ap.add_argument("--no-server", action="store_true")
    args = ap.parse_args()
    model = get_model(args.model)
    prompt_tokens = len(model.prompt_tokens(GenerationRequest.chat(QUESTION)))
    print(
        f"model {model.model_id}, prompt {prompt_tokens} tokens, k={args.k}, "
        f"max_tokens={args.max_tokens}, T=0.7, {args.rounds} rounds, threads {model.engine.n_threads}"
    )
    rows = asyncio.run(measure(model, args))
    table(rows, args.k, prompt_tokens)
    med = {m: statistics.median(r[0] for r in runs) for m, runs in rows.items()}
    ev = {m: statistics.median(r[1] for r in runs) for m, runs in rows.items()}
    print(
        f"prompt tokens, n=k request / one sample: {ev['n=k request'] / prompt_tokens:.2f} (target <= 1.15)"
    )
    print(
        f"wall, n=k request / k sequential without prefix sharing: "
        f"{med['n=k request'] / med['k seq, no sharing']:.2f} (target <= 0.5)"
    )
    print(
        f"wall, n=k request / k sequential (prompt shared from kept cells): "
        f"{med['n=k request'] / med['k sequential']:.2f}"
    )
    print(f"wall, n=k request / k concurrent: {med['n=k request'] / med['k concurrent']:.2f}")
    if "server n=k" in med:
        print(f"wall, server n=k / server k seq: {med['server n=k'] / med['server k seq']:.2f}")
        print(f"wall, in-process n=k / server n=k: {med['n=k request'] / med['server n=k']:.2f}")


if __name__ == "__main__":
    main()
