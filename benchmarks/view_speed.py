"""How fast `ponder view` renders its pages from a large store: two runs of 10,000 results on the
same items with several model calls each (plus a few small runs) and an arena of 10,000 battles,
each page requested through TestClient; the table reports the median of the timed requests, the
arena page's first request (its leaderboard computed), the report page and the two exports timed
once. Target: under 200 ms per page.

    .venv/bin/python benchmarks/view_speed.py [--results 10000] [--calls 4] [--repeats 5] [--battles 10000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from ponder.details import SelfConsistencyDetails
from ponder.store import Store
from ponder.types import (
    WINNERS,
    Battle,
    Completion,
    Compute,
    GenerationRequest,
    Message,
    ModelCall,
    Result,
    Task,
    Trace,
    Usage,
)
from ponder.view.app import create_app
from ponder.view.arena import ROUNDS

TARGET_MS = 200.0


def item(i: int, calls: int, shift: int = 0) -> Result:
    """The i-th result: a question of a few sentences, `calls` chains of reasoning voting (their
    answers moved by `shift`, so two runs disagree on some items)."""
    question = f"Item {i}. " + "A farmer has some apples and sells a few of them at the market. " * 3
    if i == 9_876:
        question += "The farmer's dog is called Quokka."
    answers = [str((i + k + shift * (i % 3 == 0)) % 7) for k in range(calls)]
    trace = tuple(
        ModelCall(
            GenerationRequest(
                messages=(Message("system", "Think step by step."), Message("user", question)),
                temperature=0.7,
            ),
            (
                Completion(
                    "Let me think. "
                    + "First we count the apples, then we subtract. " * 6
                    + f"The answer is {answers[k]}.",
                    "stop",
                    Usage(120, 80),
                    latency_s=0.4,
                ),
            ),
            0.4,
        )
        for k in range(calls)
    )
    votes: dict[str, float] = {}
    for a in answers:
        votes[a] = votes.get(a, 0.0) + 1
    answer = max(votes, key=lambda a: votes[a])
    return Result(
        task=Task(f"gsm8k/{i:05d}", question, str(i % 7)),
        strategy="self-consistency",
        answer=None if i % 13 == 0 else answer,
        reasoning=trace[-1].completions[0].text,
        correct=answer == str(i % 7) and i % 13 != 0,
        trace=Trace(trace),
        compute=Compute(
            prompt_tokens=120 * calls,
            prompt_tokens_evaluated=120 * calls,
            completion_tokens=80 * calls,
            calls=calls,
            seconds=0.4 * calls,
        ),
        details=SelfConsistencyDetails(votes=votes, voters=calls, k=calls, answers=tuple(answers)),
        error="timeout" if i % 97 == 0 else None,
    )


def build(path: Path, results: int, calls: int, battles_count: int) -> tuple[int, int]:
    """Write the store: three small runs, two large ones on the same items, and an arena of
    `battles_count` battles between 10 players; the large runs' ids."""
    with Store(path) as store:
        for k in range(3):
            store.add_finished_run(
                "eval", f"openai:small-{k}", "cot", {"task": "svamp"}, [item(j, 1) for j in range(20)]
            )
        first, second = (
            store.add_finished_run(
                "eval",
                f"openai:big-{shift}",
                "self-consistency",
                {"task": "gsm8k", "options": {"k": calls}},
                [item(i, calls, shift) for i in range(results)],
            )
            for shift in (0, 1)
        )
        players = [f"player-{k}" for k in range(10)]
        draw = random.Random(0)
        battles = []
        for i in range(battles_count):
            a, b = draw.sample(players, 2)
            runs = {"model_a": first, "model_b": second}
            data = {"runs": runs, "verdicts": ["A", "A"], "replies": ["[[A]]", "[[A]]"], "consistent": True}
            battles.append(
                Battle(f"gsm8k/{i % results:05d}", a, b, draw.choice(WINNERS), "openai:judge", 1, data)
            )
        store.import_battles("gsm8k:test", battles)
        return first, second


def median_ms(client: TestClient, url: str, repeats: int) -> float:
    """The median time of `repeats` requests of `url` (after one untimed), in milliseconds."""
    assert client.get(url).status_code == 200, url
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        res = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert res.status_code == 200, url
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--battles", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ponder.sqlite"
        start = time.perf_counter()
        run, other = build(path, args.results, args.calls, args.battles)
        size = path.stat().st_size / 1e6
        print(
            f"store: two runs of {args.results} results x {args.calls} calls, {args.battles} battles, {size:.0f} MB, built in {time.perf_counter() - start:.1f} s"
        )
        last = (args.results + 49) // 50
        pages = [
            ("runs list", "/"),
            ("runs list, sorted by accuracy", "/?sort=-accuracy"),
            ("run page, first page", f"/runs/{run}"),
            ("run page, last page", f"/runs/{run}?page={last}"),
            ("run page, filtered (wrong), page 20", f"/runs/{run}?show=wrong&page=20"),
            ("run page, searched (one match)", f"/runs/{run}?q=quokka"),
            ("run page, searched (every item)", f"/runs/{run}?q=apples"),
            ("sample page", f"/runs/{run}/samples/gsm8k/{args.results // 2:05d}"),
            ("run page's live fragment", f"/runs/{run}/live?seen=10"),
            ("runs list's live rows", "/live/runs"),
            ("compare two runs, first page", f"/compare?run={run},{other}"),
            (
                "compare, items that differ, last page",
                f"/compare?run={run},{other}&show=disagree&page={last // 3}",
            ),
            ("arenas list", "/arenas"),
            ("arena page (leaderboard computed before)", "/arenas/gsm8k:test"),
            ("arena page, last page of battles", f"/arenas/gsm8k:test?page={(args.battles + 49) // 50}"),
            ("battle page", f"/battles/{args.battles // 2}"),
        ]
        with TestClient(create_app(path)) as client:
            assert client.get("/arenas").status_code == 200
            start = time.perf_counter()
            assert client.get("/arenas/gsm8k:test").status_code == 200
            first = (time.perf_counter() - start) * 1000
            start = time.perf_counter()
            assert client.get(f"/report?run={run}").status_code == 200
            downloads = [
                (
                    "report page of the large run, first request (every result read)",
                    time.perf_counter() - start,
                )
            ]
            pages.append(("report page of the large run (remembered)", f"/report?run={run}"))
            rows = [(name, median_ms(client, url, args.repeats)) for name, url in pages]
            rows.append((f"arena page, first request ({ROUNDS}-round bootstrap)", first))
            for kind in ("jsonl", "csv"):
                start = time.perf_counter()
                size = len(client.get(f"/runs/{run}/samples.{kind}").content) / 1e6
                downloads.append((f"export of the run, {kind} ({size:.0f} MB)", time.perf_counter() - start))
    width = max(len(name) for name, _ in rows + downloads)
    print(f"{'page':<{width}}  median ms  (target < {TARGET_MS:.0f})")
    for name, ms in rows:
        print(f"{name:<{width}}  {ms:9.1f}  {'ok' if ms < TARGET_MS else 'SLOW'}")
    print(f"{'report and downloads (timed once)':<{width}}  seconds")
    for name, seconds in downloads:
        print(f"{name:<{width}}  {seconds:9.2f}")


if __name__ == "__main__":
    main()
