"""`ponder eval` against a clean and a fault-injecting loopback server, side by side.

The same self-consistency eval runs against tests/fault_server.py with no faults and with a share
of every request failing (500, 503, 429 with and without Retry-After, timeouts, resets mid-body,
truncated and wrong-shape JSON, replies without choices). Rounds alternate clean and faulty runs,
each in a fresh store; the table gives the median wall time, HTTP requests, and whether the
answers equal the clean run's.

    .venv/bin/python benchmarks/fault_run.py [--items 200] [--fault-rate 0.3] [--rounds 3] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from servers import free_port, serving  # noqa: E402


def one_run(tmp: Path, name: str, items: int, rate: float, args: argparse.Namespace) -> dict:
    port = free_port()
    log = tmp / f"{name}.requests.jsonl"
    config = tmp / f"{name}.json"
    config.write_text(
        json.dumps({"fault_rate": rate, "seed": args.seed, "slow_s": 3 * args.timeout, "log": str(log)}),
        encoding="utf-8",
    )
    store = tmp / f"{name}.sqlite"
    argv_server = [sys.executable, str(ROOT / "tests" / "fault_server.py"), str(port), str(config)]
    with serving(argv_server, port, tmp / f"{name}.log", timeout_s=30) as base:
        spec = f"openai:stub@{base}[timeout={args.timeout},retries={args.retries},backoff={args.backoff}]"
        argv = [
            sys.executable,
            "-m",
            "ponder.cli",
            "eval",
            "gsm8k",
            "-s",
            "self-consistency",
            "-k",
            "5",
            "--prompt",
            "direct",
            "--exemplars",
            "none",
            "-c",
            str(args.concurrency),
            "--limit",
            str(items),
            "--model",
            spec,
            "--store",
            str(store),
            "--data-dir",
            str(args.data_dir),
        ]
        t0 = time.perf_counter()
        done = subprocess.run(
            argv, capture_output=True, text=True, env={**os.environ, "PONDER_STORE": str(store)}
        )
        seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{name} run failed ({done.returncode}): {done.stderr[-2000:]}")
    with sqlite3.connect(store) as db:
        answers = db.execute("SELECT task_id, answer, error FROM results ORDER BY task_id").fetchall()
    return {
        "seconds": seconds,
        "requests": len(log.read_text(encoding="utf-8").splitlines()),
        "answers": answers,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=200)
    ap.add_argument("--fault-rate", type=float, default=0.3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument(
        "--timeout", type=float, default=1.0, help="client read timeout (s); slow replies take 3x"
    )
    ap.add_argument("--retries", type=int, default=12)
    ap.add_argument("--backoff", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("PONDER_DATA_DIR") or ROOT.parent / "shared" / "data"),
    )
    args = ap.parse_args()
    rows: dict[str, list[dict]] = {"clean": [], "faulty": []}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for r in range(args.rounds):
            rows["clean"].append(one_run(tmp, f"clean{r}", args.items, 0.0, args))
            rows["faulty"].append(one_run(tmp, f"faulty{r}", args.items, args.fault_rate, args))
    reference = rows["clean"][0]["answers"]
    print(
        f"ponder eval gsm8k, self-consistency k=5, {args.items} items, concurrency {args.concurrency}, "
        f"read timeout {args.timeout} s, {args.rounds} rounds; medians"
    )
    print(f"{'server':<16}{'wall s':>9}{'requests':>10}{'errored':>9}  answers = clean run")
    for name, label in (("clean", "clean"), ("faulty", f"{args.fault_rate:.0%} faults")):
        runs = rows[name]
        errored = max(sum(1 for *_, e in r["answers"] if e is not None) for r in runs)
        same = all(r["answers"] == reference for r in runs)
        print(
            f"{label:<16}{statistics.median(r['seconds'] for r in runs):>9.2f}"
            f"{statistics.median(r['requests'] for r in runs):>10.0f}{errored:>9}  {'yes' if same else 'NO'}"
        )
    ratio = statistics.median(r["seconds"] for r in rows["faulty"]) / statistics.median(
        r["seconds"] for r in rows["clean"]
    )
    print(f"wall time faulty / clean: {ratio:.2f}")


if __name__ == "__main__":
    main()
