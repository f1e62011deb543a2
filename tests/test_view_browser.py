"""`ponder view` in a real browser: Playwright drives Debian's chromium against the app served by
uvicorn on loopback: the runs list, a filter, a run, a sample and one of its calls expanded, two
runs compared, and a running run's counts changing as results are written, without a reload."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ponder.store import Store
from ponder.types import (
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

pytestmark = pytest.mark.browser

QUESTIONS = [f"A farmer has {i + 2} cows and buys {i} more. How many cows now?" for i in range(12)]


def result(i: int, answer: str | None, strategy: str) -> Result:
    """Item i, answered `answer`, with one call whose request holds a system turn and an exemplar."""
    gold = str(2 * i + 2)
    request = GenerationRequest(
        messages=(
            Message("system", "Solve the problem. End with 'The answer is N.'"),
            Message("user", "Q: 1 cow and 1 more?"),
            Message("assistant", "1 + 1 = 2. The answer is 2."),
            Message("user", QUESTIONS[i]),
        )
    )
    text = f"{i + 2} + {i} = {answer}. The answer is {answer}." if answer else "I am not sure."
    call = ModelCall(request, (Completion(text, "stop", Usage(60, 14), latency_s=0.4),), 0.4, "generate")
    return Result(
        Task(f"gsm8k/{i:02d}", QUESTIONS[i], gold),
        strategy,
        answer,
        text,
        None if answer is None else answer == gold,
        Trace((call,)),
        Compute(prompt_tokens=60, prompt_tokens_evaluated=60, completion_tokens=14, calls=1, seconds=0.4),
    )


def fill(path: Path) -> None:
    """Run 1 (direct) right on even items; run 2 (cot) right on all but two; run 3 (svamp);
    run 4 (cot, another model) still running with two of its six items."""
    with Store(path) as s:
        direct = s.start_run("eval", "local:tiny", "direct", {"task": "gsm8k:test", "options": {}})
        cot = s.start_run("eval", "local:tiny", "cot", {"task": "gsm8k:test", "options": {}})
        for i in range(12):
            s.add_result(direct, result(i, str(2 * i + 2) if i % 2 == 0 else str(i + 1), "direct"))
            s.add_result(cot, result(i, None if i == 5 else str(2 * i + 2 + (i == 7)), "cot"))
        s.finish_run(direct)
        s.finish_run(cot)
        other = s.start_run("eval", "local:tiny", "direct", {"task": "svamp", "options": {}})
        s.add_result(other, result(0, "2", "direct"))
        s.finish_run(other)
        live = s.start_run("eval", "local:other", "cot", {"task": "gsm8k:test", "options": {}})
        s.plan_run(live, 6)
        for i in range(2):
            s.add_result(live, result(i, str(2 * i + 2), "cot"))


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where the screenshots go: $PONDER_VIEW_SCREENSHOTS when set, else a temporary folder."""
    folder = Path(os.environ.get("PONDER_VIEW_SCREENSHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def test_runs_filter_sample_call_compare_and_live_counts_in_chromium(tmp_path, shots):
    from playwright.async_api import async_playwright, expect

    from ponder.view.app import create_app
    from servers import launch_chromium, served

    path = tmp_path / "ponder.sqlite"
    fill(path)
    async with served(create_app(path)) as base:
        async with async_playwright() as p:
            browser = await launch_chromium(p)
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 800})

                await page.goto(base + "/")
                rows = page.locator("#runs-rows tr")
                await expect(rows).to_have_count(4)
                await page.screenshot(path=shots / "runs.png", full_page=True)
                await page.select_option("select[name=task]", "svamp")
                await page.get_by_role("button", name="Filter").click()
                await expect(rows).to_have_count(1)
                assert "svamp" in await rows.first.inner_text()

                await page.goto(base + "/runs/1")
                await expect(page.locator("#items-done")).to_have_text("12")
                await expect(page.locator("#accuracy")).to_have_text("50.0%")
                await page.get_by_role("link", name="wrong (6)").click()
                await expect(page.locator("#samples tbody tr")).to_have_count(6)
                await page.screenshot(path=shots / "run.png", full_page=True)
                await page.get_by_role("link", name="gsm8k/03").click()
                await expect(page.locator("h1")).to_have_text("gsm8k/03")
                await expect(page.locator("#status")).to_have_text("wrong")
                earlier = page.locator("#call-1 details.earlier")
                exemplar = earlier.locator("pre").nth(1)
                assert not await exemplar.is_visible()
                await earlier.locator("summary").click()
                await expect(exemplar).to_be_visible()
                await expect(exemplar).to_have_text("Q: 1 cow and 1 more?")
                await expect(page.locator("#call-1 mark")).to_have_text("4")
                await page.screenshot(path=shots / "sample.png", full_page=True)

                await page.goto(base + "/")
                await page.get_by_label("compare run 1", exact=True).check()
                await page.get_by_label("compare run 2", exact=True).check()
                await page.get_by_role("button", name="Compare the ticked runs").click()
                await expect(page.locator("h1")).to_have_text("Runs 1, 2 on gsm8k:test")
                await expect(page.locator("#items tbody tr")).to_have_count(12)
                await page.get_by_role("link", name="answers differ (6)").click()
                await expect(page.locator("#items tbody tr")).to_have_count(6)
                await expect(page.locator("#paired")).to_contain_text("only run 2 right 4")
                await page.screenshot(path=shots / "compare.png", full_page=True)

                await page.goto(base + "/runs/4")
                await expect(page.locator("#items-done")).to_have_text("2")
                listing = await browser.new_page()
                await listing.goto(base + "/?sort=id")
                live_row = listing.locator("#runs-rows tr").last
                await expect(live_row.locator("td").nth(7)).to_have_text("2 / 6")
                with Store(path) as s:
                    for i in range(2, 5):
                        s.add_result(4, result(i, "0", "cot"))
                await expect(page.locator("#items-done")).to_have_text("5", timeout=10_000)
                await expect(page.locator("#accuracy")).to_have_text("40.0%")
                await expect(page.locator("#progress")).to_have_text("5 of 6 items")
                await expect(page.locator("#new-samples")).to_contain_text("3 new samples")
                await expect(live_row.locator("td").nth(7)).to_have_text("5 / 6", timeout=10_000)
                await page.screenshot(path=shots / "live.png", full_page=True)
                with Store(path) as s:
                    s.finish_run(4)
                await expect(page.locator("#status-text")).to_have_text("done", timeout=10_000)
                await expect(live_row.locator("td.status")).to_have_text("done", timeout=10_000)
            finally:
                await browser.close()
    for name in ("runs", "run", "sample", "compare", "live"):
        assert (shots / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
