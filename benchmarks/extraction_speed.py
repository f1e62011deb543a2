"""Answer extraction time, per answer kind, on the inputs of the "Hardening" issue: runs of "#",
"The answer is " repeated to 70 kB, a 1 MB text mixing the adversarial patterns with ordinary
reasoning, and an ordinary 2 kB chain of thought.

The old implementation (commit 838c877, before extraction was made linear) is read from git and
run in a subprocess per case, stopped after --old-limit seconds ("> N s"); the new one is timed
in this process, the median of --repeats runs. Without git or that commit, the old column is
left out.

    .venv/bin/python benchmarks/extraction_speed.py [--repeats 5] [--old-limit 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OLD_COMMIT = "838c877"
REPO = Path(__file__).resolve().parent.parent

CHAIN = (
    "Janet's ducks lay 16 eggs per day. She eats 3 for breakfast every morning and bakes muffins for her "
    "friends every day with 4. So she uses 3 + 4 = 7 eggs each day, and 16 - 7 = 9 eggs are left.\n"
    "She sells the remainder at the farmers' market daily for $2 per fresh duck egg, so she makes "
    "9 * $2 = $18 every day.\n"
    "Let me check: 16 eggs minus 7 eggs is 9 eggs, and 9 eggs at $2 each is $18. "
    "Over a week that would be 7 * 18 = 126 dollars, but the question asks about one day only.\n"
)
CHAIN = (CHAIN * (2_000 // len(CHAIN) + 1))[:1_950].rsplit(".", 1)[0] + ".\nThe answer is 18."
ADVERSARIAL = [
    "#",
    "The answer is ",
    "\\boxed{",
    "{",
    "(A)",
    "1,234,",
    "1/",
    "0 1 2\n",
    "Answer:",
    "\\frac12",
]


def fill(pattern: str, size: int) -> str:
    return (pattern * (size // len(pattern) + 1))[:size]


def mixed(size: int = 1_000_000) -> str:
    """Chunks of each adversarial pattern between ordinary chains, ending with a chain."""
    parts, n, i = [], 0, 0
    while n < size - len(CHAIN):
        chunk = fill(ADVERSARIAL[i % len(ADVERSARIAL)], 10_000) + "\n" + CHAIN + "\n"
        parts.append(chunk)
        n += len(chunk)
        i += 1
    return "".join(parts)[: size - len(CHAIN)] + CHAIN


CASES = {
    "8,000 '#'": lambda: "#" * 8_000,
    "40,000 '#'": lambda: "#" * 40_000,
    "'The answer is ' to 70 kB": lambda: fill("The answer is ", 70_000),
    "1 MB mixed": mixed,
    "2 kB chain": lambda: CHAIN,
}


def old_source() -> str | None:
    try:
        done = subprocess.run(
            ["git", "show", f"{OLD_COMMIT}:src/ponder/tasks/answers.py"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def time_old(path: str, case: str, kind: str, limit: float) -> float | None:
    """Seconds one extraction takes with the old implementation, or None past `limit`."""
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--time-old", path, case, kind],
            capture_output=True,
            text=True,
            timeout=limit + 2,
        )
    except subprocess.TimeoutExpired:
        return None
    seconds = float(done.stdout.strip() or "inf")
    return seconds if seconds <= limit else None


def time_one_old(path: str, case: str, kind: str) -> None:
    spec = importlib.util.spec_from_file_location("old_answers", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_answers"] = module
    spec.loader.exec_module(module)
    text = CASES[case]()
    t0 = time.perf_counter()
    module.extract(text, kind)
    print(time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--old-limit", type=float, default=5.0, help="seconds before an old run is stopped")
    ap.add_argument("--time-old", nargs=3, metavar=("PATH", "CASE", "KIND"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.time_old:
        time_one_old(*args.time_old)
        return

    from ponder.tasks.answers import KINDS, extract

    source = old_source()
    with tempfile.TemporaryDirectory() as tmp:
        path = None
        if source is None:
            print(f"old implementation not available (git show {OLD_COMMIT} failed): old column left out")
        else:
            path = str(Path(tmp) / "old_answers.py")
            Path(path).write_text(source, encoding="utf-8")
        print(f"new: median of {args.repeats} runs; old: one run, stopped after {args.old_limit:g} s")
        print(f"{'case':<28}{'kind':<8}{'chars':>10}{'old s':>10}{'new ms':>10}{'old / new':>12}")
        for case, make in CASES.items():
            text = make()
            for kind in KINDS:
                runs = []
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    extract(text, kind)
                    runs.append(time.perf_counter() - t0)
                new = statistics.median(runs)
                if path is None:
                    old_cell, ratio = "-", "-"
                else:
                    old = time_old(path, case, kind, args.old_limit)
                    old_cell = f"> {args.old_limit:g}" if old is None else f"{old:.3f}"
                    r = (args.old_limit if old is None else old) / max(new, 1e-9)
                    ratio = ("> " if old is None else "") + (f"{r:,.0f}x" if r >= 10 else f"{r:.2g}x")
                print(f"{case:<28}{kind:<8}{len(text):>10,}{old_cell:>10}{new * 1000:>10.2f}{ratio:>12}")


if __name__ == "__main__":
    main()
