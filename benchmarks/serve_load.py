"""`ponder serve` under load, against calling the same strategy in-process, on the stub backend.

Three ways of answering the same requests, each at the same concurrency:
  - in-process: `strategy.run` on the stub model (no store, no HTTP);
  - in-process stored: the same, each result and call written to a store (what the server does);
  - served: `ponder serve --model stub` in its own process, requests over loopback HTTP by an
    httpx client (2,000 by default, 32 in flight).
For each it prints latency p50/p95/p99 and requests/s; then, one request at a time, the server's
overhead per request (served p50 minus in-process stored p50). Then the 429 path: the server with a concurrency
limit below the clients' concurrency; the table counts 429s, checks each carries Retry-After,
and that every request was either answered or refused.

Client and server share this machine's cores: the served figures include the client's cost.

    .venv/bin/python benchmarks/serve_load.py [--requests 2000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from ponder.models.stub import StubModel  # noqa: E402
from ponder.store import Store  # noqa: E402
from ponder.strategies.registry import build_strategy  # noqa: E402
from ponder.types import Task  # noqa: E402
from servers import free_port  # noqa: E402

ROUTES = {
    "pass-through": ("stub", None, {}),
    "self-consistency k=4": (
        "self-consistency[k=4,extract_call=false]",
        "self-consistency",
        {"k": 4, "extract_call": False},
    ),
}
QUESTION = "A farmer has 17 sheep and buys 25 more. How many sheep does the farmer have now?"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def in_process(
    strategy: str | None, options: dict, n: int, concurrency: int, store: Store | None
) -> list[float]:
    model = StubModel()
    sem = asyncio.Semaphore(concurrency)
    run_id = store.start_run("bench", model.model_id, strategy or "pass-through") if store else None
    latencies: list[float] = []

    async def one(i: int) -> None:
        async with sem:
            t0 = time.perf_counter()
            task = Task(f"t{i}", QUESTION)
            sink = store.call_sink(run_id, task.id) if store else None
            if strategy is None:
                from ponder.strategies.base import Recorder
                from ponder.types import GenerationRequest

                rec = Recorder(model, None, sink)
                [c] = await rec.generate(GenerationRequest.chat(QUESTION, max_tokens=64))
                result = rec.result(task, "pass-through", c.text, c.text)
            else:
                result = await build_strategy(strategy, **options).run(task, model, sink)
            if store is not None:
                store.add_result(run_id, result)
            latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(one(i) for i in range(n)))
    return latencies


async def served(url: str, model: str, n: int, concurrency: int) -> tuple[list[float], dict[int, int], int]:
    """Latencies of answered requests, the count of each status, and 429s without Retry-After."""
    body = {"model": model, "messages": [{"role": "user", "content": QUESTION}], "max_tokens": 64}
    sem = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    missing_retry_after = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def one() -> None:
            nonlocal missing_retry_after
            async with sem:
                t0 = time.perf_counter()
                r = await client.post("/v1/chat/completions", json=body)
                elapsed = time.perf_counter() - t0
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code == 200:
                    latencies.append(elapsed)
                elif r.status_code == 429 and "retry-after" not in r.headers:
                    missing_retry_after += 1

        await asyncio.gather(*(one() for _ in range(n)))
    return latencies, statuses, missing_retry_after


def start_server(folder: Path, concurrency: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "ponder.cli",
        "serve",
        "--model",
        "stub",
        "--port",
        str(port),
        "--concurrency",
        str(concurrency),
        "--store",
        str(folder / f"serve-{port}.db"),
    ]
    log = open(folder / f"serve-{port}.log", "wb")
    proc = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PONDER_MODEL": "stub"}
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((folder / f"serve-{port}.log").read_text()[-2000:])
        time.sleep(0.2)


def row(name: str, latencies: list[float], wall: float) -> str:
    ms = [x * 1000 for x in latencies]
    return (
        f"| {name} | {len(ms)} | {pct(ms, 0.5):.2f} | {pct(ms, 0.95):.2f} | {pct(ms, 0.99):.2f} | "
        f"{len(ms) / wall:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--limit", type=int, default=8, help="the server's concurrency limit for the 429 run")
    parser.add_argument("--alone", type=int, default=300, help="requests sent one at a time, per route")
    args = parser.parse_args()
    n, c = args.requests, args.concurrency
    print(f"{n} requests, {c} in flight, stub backend; latency in ms\n")
    print("| route and way | answered | p50 | p95 | p99 | requests/s |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        proc, url = start_server(folder, c)
        try:
            for name, (model, strategy, options) in ROUTES.items():
                t0 = time.perf_counter()
                bare = asyncio.run(in_process(strategy, options, n, c, None))
                print(row(f"{name}, in-process", bare, time.perf_counter() - t0))
                with Store(folder / f"bench-{strategy}.db") as store:
                    t0 = time.perf_counter()
                    stored = asyncio.run(in_process(strategy, options, n, c, store))
                print(row(f"{name}, in-process stored", stored, time.perf_counter() - t0))
                t0 = time.perf_counter()
                latencies, statuses, _ = asyncio.run(served(url, model, n, c))
                print(row(f"{name}, served", latencies, time.perf_counter() - t0))
                assert statuses == {200: n}, statuses
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        print(
            f"\nunder load ({c} in flight) the p50s are mostly queueing; one request at a time, "
            f"{args.alone} requests each:"
        )
        print("| route | in-process stored p50 | served p50 | server overhead per request |")
        print("|---|---|---|---|")
        proc, url = start_server(folder, c)
        try:
            for name, (model, strategy, options) in ROUTES.items():
                with Store(folder / f"alone-{strategy}.db") as store:
                    inproc = statistics.median(
                        asyncio.run(in_process(strategy, options, args.alone, 1, store))
                    )
                http = statistics.median(asyncio.run(served(url, model, args.alone, 1))[0])
                print(
                    f"| {name} | {1000 * inproc:.2f} ms | {1000 * http:.2f} ms | {1000 * (http - inproc):.2f} ms |"
                )
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        proc, url = start_server(folder, args.limit)
        try:
            latencies, statuses, missing = asyncio.run(served(url, "stub", n, c))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        refused = statuses.get(429, 0)
        print(
            f"\n429 path: server limit {args.limit}, {c} clients in flight, {n} requests: "
            f"{statuses.get(200, 0)} answered, {refused} refused with 429 "
            f"({missing} without Retry-After), other statuses: "
            f"{ {k: v for k, v in statuses.items() if k not in (200, 429)} or 'none' }"
        )
        assert statuses.get(200, 0) + refused == n and missing == 0


if __name__ == "__main__":
    main()
