"""What the sandbox costs per program: the same small programs run directly (python3 / sh under the
same rlimits, `Sandbox(unsafe=True)` without bubblewrap) and in bubblewrap, side by side; median
wall seconds of each.

    .venv/bin/python benchmarks/sandbox_overhead.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import time
from unittest import mock

from ponder.sandbox import Sandbox, executor

PROGRAMS = [
    ("python: print", "python", "print(1)"),
    ("python: sum of a million", "python", "print(sum(range(1_000_000)))"),
    ("sh: echo", "sh", "echo 1"),
]


def median_s(box: Sandbox, language: str, code: str, repeats: int) -> float:
    box.run(code, language)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = box.run(code, language)
        times.append(time.perf_counter() - start)
        assert result.ok, result
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with Sandbox() as sandboxed:
        inside = [median_s(sandboxed, lang, code, args.repeats) for _, lang, code in PROGRAMS]
    with mock.patch.object(executor, "bwrap_path", lambda: None), contextlib.redirect_stderr(io.StringIO()):
        with Sandbox(unsafe=True) as direct:
            outside = [median_s(direct, lang, code, args.repeats) for _, lang, code in PROGRAMS]
    width = max(len(name) for name, _, _ in PROGRAMS)
    print(f"{'program':<{width}}  direct ms  bubblewrap ms  added ms  ratio")
    for (name, _, _), d, b in zip(PROGRAMS, outside, inside):
        print(f"{name:<{width}}  {d * 1000:9.1f}  {b * 1000:13.1f}  {(b - d) * 1000:8.1f}  {b / d:5.2f}")


if __name__ == "__main__":
    main()
