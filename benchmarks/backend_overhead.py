"""ponder's HTTP backend vs a bare async httpx loop, against the same instant loopback stub.

Both sides send the same chat body with the same concurrency; rounds alternate between them and
the table reports medians. Target: ponder's requests/s ≥ 0.9 × the bare loop's.

    .venv/bin/python benchmarks/backend_overhead.py [--requests 2000] [--concurrency 16] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from ponder.models.openai_compat import OpenAICompatModel  # noqa: E402
from ponder.types import GenerationRequest  # noqa: E402
from servers import free_port  # noqa: E402


async def bare(url: str, n: int, concurrency: int) -> float:
    body = {
        "model": "stub",
        "messages": [{"role": "user", "content": "q"}],
        "max_tokens": 16,
        "temperature": 0.0,
        "top_p": 1.0,
    }
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def one():
            async with sem:
                r = await client.post("/chat/completions", json=body)
                r.json()

        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return n / (time.perf_counter() - t0)


async def ponder(url: str, n: int, concurrency: int) -> float:
    model = OpenAICompatModel("stub", url, max_concurrency=concurrency)
    req = GenerationRequest.chat("q", max_tokens=16)
    t0 = time.perf_counter()
    await asyncio.gather(*(model.generate(req) for _ in range(n)))
    rate = n / (time.perf_counter() - t0)
    await model.aclose()
    return rate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, str(Path(__file__).with_name("stub_server.py")), str(port)])
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(100):
            try:
                httpx.post(url + "/chat/completions", json={}, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        asyncio.run(bare(url, 200, args.concurrency))  # warm-up
        rates = {"bare httpx": [], "ponder backend": []}
        for _ in range(args.rounds):
            rates["bare httpx"].append(asyncio.run(bare(url, args.requests, args.concurrency)))
            rates["ponder backend"].append(asyncio.run(ponder(url, args.requests, args.concurrency)))
    finally:
        server.terminate()
        server.wait()
    print(f"{args.requests} requests x {args.rounds} rounds, concurrency {args.concurrency}, loopback stub")
    print(f"{'client':<16}{'median req/s':>14}{'min':>10}{'max':>10}")
    for name, values in rates.items():
        print(f"{name:<16}{statistics.median(values):>14.0f}{min(values):>10.0f}{max(values):>10.0f}")
    ratio = statistics.median(rates["ponder backend"]) / statistics.median(rates["bare httpx"])
    print(f"ratio ponder/bare: {ratio:.2f} (target >= 0.9)")


if __name__ == "__main__":
    main()
