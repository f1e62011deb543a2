"""Grammar-held replies against plain ones on the embedded model: how often a small model's reply
is valid, and how long a reply takes.

Two workloads, --prompts each (50 by default):
  rating    "rate this from 1 to 10" with a JSON object reply {"rating": <1..10>}
  speaker   "who speaks next" among four names, the reply one name in JSON quotes
each asked two ways: "exact" spells out the reply's form with an example, "bare" only asks the
question. Each prompt is sent twice, one request at a time and alternating, so load on the machine falls on
both alike: held (the request's response_format, so the engine decodes under its grammar) and
plain (the same instruction, no response_format). Every reply is read with
`ResponseFormat.errors`. Greedy decoding, --max-tokens per reply.

    .venv/bin/python benchmarks/structured_output.py [--prompts 50] [--max-tokens 24] [--model local]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import time

from ponder.contract import ResponseFormat
from ponder.models import Model, get_model
from ponder.types import GenerationRequest

RATING = ResponseFormat(
    {
        "type": "object",
        "properties": {"rating": {"type": "integer", "minimum": 1, "maximum": 10}},
        "required": ["rating"],
        "additionalProperties": False,
    },
    "rating",
)
NAMES = ("Alice", "Bob", "Carol", "Dave")
SPEAKER = ResponseFormat.choice(NAMES, "speaker")

ADJECTIVES = ("a cold", "a brand-new", "an overpriced", "a homemade", "a noisy", "a tiny", "a famous")
THINGS = ("pizza", "laptop", "hotel room", "bicycle", "concert", "umbrella", "novel", "train ride")
LINES = (
    "Alice: 'Has anyone seen my keys?'",
    "Bob: 'Carol, you were the last one in the kitchen.'",
    "Carol: 'Dave, tell them what happened.'",
    "Dave: 'I only came to return the ladder.'",
    "Alice: 'Bob, stop laughing.'",
    "Bob: 'Fine. Dave, your turn to explain.'",
    "Carol: 'Alice, the keys are in your coat.'",
)
MOODS = ("angry", "cheerful", "tired", "curious", "nervous", "bored", "excited", "confused")


def rating_prompts(count: int, exact: bool) -> list[str]:
    """`count` requests to rate something from 1 to 10 (`exact`: asking for a JSON object)."""
    things = itertools.islice(itertools.cycle(itertools.product(ADJECTIVES, THINGS)), count)
    form = ' Reply with JSON only, exactly like {"rating": 7}, and nothing else.' if exact else ""
    return [f"Rate this from 1 to 10: {adj} {thing}.{form}" for adj, thing in things]


def speaker_prompts(count: int, exact: bool) -> list[str]:
    """`count` requests to name who speaks next among four characters (`exact`: asking for the
    name as a JSON string)."""
    cases = itertools.islice(itertools.cycle(itertools.product(LINES, MOODS)), count)
    form = (
        ' Reply with one name only, in JSON double quotes, like "Alice", and nothing else.' if exact else ""
    )
    return [
        f"A play has four characters: Alice, Bob, Carol and Dave. Everyone is {mood}. "
        f"The last line was {line} Who speaks next?{form}"
        for line, mood in cases
    ]


async def one(
    model: Model, prompt: str, fmt: ResponseFormat, held: bool, max_tokens: int
) -> tuple[bool, float]:
    """Whether the reply to `prompt` is valid under `fmt`, and the seconds it took."""
    req = GenerationRequest.chat(prompt, max_tokens=max_tokens, response_format=fmt if held else None)
    start = time.perf_counter()
    [c] = await model.generate(req)
    return fmt.errors(c.text) is None, time.perf_counter() - start


async def measure(
    model: Model, prompts: list[str], fmt: ResponseFormat, max_tokens: int
) -> dict[bool, list[tuple[bool, float]]]:
    """Each prompt held and plain, alternating; per mode, (valid, seconds) per reply."""
    out: dict[bool, list[tuple[bool, float]]] = {True: [], False: []}
    for i, prompt in enumerate(prompts):
        order = (True, False) if i % 2 == 0 else (False, True)
        for held in order:
            out[held].append(await one(model, prompt, fmt, held, max_tokens))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=50)
    ap.add_argument("--max-tokens", type=int, default=24)
    ap.add_argument("--model", default="local")
    args = ap.parse_args()
    model = get_model(args.model)
    print(
        f"model {model.model_id}, {args.prompts} prompts per workload, greedy, max_tokens {args.max_tokens}"
    )
    workloads = [
        (f"{name}, {'exact' if exact else 'bare'}", make(args.prompts, exact), fmt)
        for name, make, fmt in (
            ("rating 1-10", rating_prompts, RATING),
            ("speaker of 4", speaker_prompts, SPEAKER),
        )
        for exact in (True, False)
    ]
    print(
        f"{'workload':<22}{'valid, held':>12}{'valid, plain':>14}{'median s, held':>16}{'median s, plain':>17}"
    )
    for name, prompts, fmt in workloads:
        runs = asyncio.run(measure(model, prompts, fmt, args.max_tokens))
        valid = {held: sum(ok for ok, _ in r) / len(r) for held, r in runs.items()}
        median = {held: statistics.median(s for _, s in r) for held, r in runs.items()}
        print(
            f"{name:<22}{valid[True]:>12.0%}{valid[False]:>14.0%}{median[True]:>16.2f}{median[False]:>17.2f}"
        )


if __name__ == "__main__":
    main()
