"""How long the Bradley-Terry bootstrap takes: resampling the battles one by one and fitting each
resample (`bootstrap(outcomes, bradley_terry)`) against `bt_bootstrap` (the same draws counted into
win matrices, fitted at once), side by side on the same random battles; the intervals must agree.

    .venv/bin/python benchmarks/ratings_speed.py [--battles 10000] [--players 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from ponder.arena.ratings import bootstrap, bradley_terry, bt_bootstrap


def timed(fn, repeats: int) -> tuple[float, dict]:
    """The median seconds of `repeats` calls of `fn`, and its last result."""
    times, result = [], {}
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--battles", type=int, default=10_000)
    parser.add_argument("--players", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    draw = random.Random(0)
    players = [f"p{i}" for i in range(args.players)]
    outcomes = [(*draw.sample(players, 2), draw.choice([0.0, 0.5, 1.0])) for _ in range(args.battles)]
    print(f"{args.battles} battles between {args.players} players; median of {args.repeats}")
    print(
        f"{'rounds':>6}  {'one by one s':>12}  {'counted s':>9}  {'ratio':>5}  largest difference of a bound"
    )
    for rounds in (200, 1000):
        plain_s, plain = timed(lambda r=rounds: bootstrap(outcomes, bradley_terry, rounds=r), args.repeats)
        counted_s, counted = timed(lambda r=rounds: bt_bootstrap(outcomes, rounds=r), args.repeats)
        gap = max(abs(a - b) for p in plain for a, b in zip(plain[p], counted[p]))
        print(f"{rounds:>6}  {plain_s:>12.3f}  {counted_s:>9.3f}  {plain_s / counted_s:>5.0f}  {gap:.1e}")


if __name__ == "__main__":
    main()
