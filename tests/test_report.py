"""Reports from the store alone: the files exist and hold the measured numbers."""

import csv
import json

import pytest

from ponder.eval.metrics import maj_at_k
from ponder.eval.runner import RunSpec, open_run, run_tasks
from ponder.models.scripted import ScriptedModel, Step
from ponder.report.write import write_report
from ponder.store import Store
from ponder.strategies.registry import build_strategy
from ponder.types import Task

TASKS = [
    Task(f"t{i}", " ".join(["word"] * (3 + 4 * i)) + f" What is {i} + {i}?", str(2 * i)) for i in range(10)
]
SAMPLES = [
    ["The answer is 0."] * 3,
    ["The answer is 2.", "The answer is 3.", "The answer is 3."],
    ["The answer is 4.", "no idea", "The answer is 4."],
] + [["The answer is 1."] * 3] * 7


async def fill(store_path):
    with Store(store_path) as store:
        direct = open_run(store, RunSpec("scripted", "toy", "direct", {}))
        texts = ["0", "2", "5"] + ["1"] * 7
        await run_tasks(
            build_strategy("direct"), ScriptedModel([Step([t]) for t in texts]), TASKS, store, direct
        )
        store.finish_run(direct)
        sc = open_run(store, RunSpec("scripted", "toy", "self-consistency", {"k": 3, "prompt": "direct"}))
        await run_tasks(
            build_strategy("self-consistency", k=3, prompt="direct"),
            ScriptedModel([Step(s) for s in SAMPLES]),
            TASKS,
            store,
            sc,
        )
        store.finish_run(sc)
        return direct, sc


@pytest.fixture
async def report(tmp_path):
    store = tmp_path / "s.sqlite"
    direct, sc = await fill(store)
    return write_report(store, [direct, sc], tmp_path / "report"), direct, sc


async def test_the_table_files_hold_the_measured_numbers(report):
    written, direct, sc = report
    rows = list(csv.DictReader(open(written.csv)))
    assert [int(r["run"]) for r in rows] == [direct, sc]
    assert float(rows[0]["accuracy"]) == pytest.approx(0.2)  # t0 and t1 right
    assert float(rows[1]["accuracy"]) == pytest.approx(0.2)  # t0 unanimous, t1 votes 3, t2 votes 4
    assert float(rows[1]["ci_low"]) <= 0.2 <= float(rows[1]["ci_high"])
    assert float(rows[0]["parse_failure_rate"]) == 0.0
    assert float(rows[0]["calls_per_item"]) == 1.0
    with Store(written.html.parent.parent / "s.sqlite") as s:
        results = s.result_rows(direct)
    assert float(rows[0]["completion_tokens_per_item"]) == pytest.approx(
        sum(r["completion_tokens"] for r in results) / 10
    )
    doc = json.loads(written.json.read_text())
    maj = doc["runs"][1]["maj_at_k"]
    assert len(maj) == 3
    expected_k2 = (1 + maj_at_k(["2", "3", "3"], "2", 2) + maj_at_k(["4", None, "4"], "4", 2)) / 10
    assert maj[1] == pytest.approx(expected_k2)
    assert doc["runs"][0]["maj_at_k"] is None
    assert [b["items"] for b in doc["runs"][0]["length_buckets"]] == [2, 2, 2, 2, 2]


async def test_the_html_page_embeds_the_plots_and_the_table(report):
    written, direct, sc = report
    html = written.html.read_text()
    assert html.count("data:image/png;base64,") == 3
    assert {p.name for p in written.figures} == {"accuracy_vs_tokens.png", "maj_at_k.png", "overthinking.png"}
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in written.figures)
    assert "self-consistency [k=3, prompt=direct]" in html and "20.0%" in html


async def test_a_missing_run_is_named(tmp_path):
    from ponder.errors import ConfigError

    Store(tmp_path / "s.sqlite").close()
    with pytest.raises(ConfigError, match="run 7"):
        write_report(tmp_path / "s.sqlite", [7], tmp_path / "r")


@pytest.mark.browser
async def test_the_html_report_opens_in_headless_chromium_with_its_plots_visible(report):
    from playwright.async_api import async_playwright

    from servers import launch_chromium

    written, _, _ = report
    async with async_playwright() as p:
        browser = await launch_chromium(p)
        try:
            page = await browser.new_page()
            await page.goto(written.html.resolve().as_uri())
            sizes = await page.eval_on_selector_all(
                "figure img",
                "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.getBoundingClientRect().height])",
            )
            assert len(sizes) == 3
            assert all(done and width > 300 and height > 100 for done, width, height in sizes)
            assert await page.locator("#summary tbody tr").count() == 2
            assert "20.0%" in await page.locator("#summary").inner_text()
        finally:
            await browser.close()


def test_a_registered_section_adds_its_columns_record_figures_and_html(tmp_path):
    import asyncio

    from ponder.report.sections import SECTIONS, SectionFigure, SectionSummary, register_section

    store = tmp_path / "s.sqlite"
    direct, _ = asyncio.run(fill(store))
    png = b"\x89PNG\r\n\x1a\n"
    register_section(
        "count",
        summarise=lambda run: SectionSummary({"count_items": len(run.items)}, {"count": {"n": run.n}}),
        figures=lambda runs: [SectionFigure("count_plot", "Items counted.", png)],
        html=lambda runs: '<h2 id="counted">Counted</h2>',
    )
    try:
        written = write_report(store, [direct], tmp_path / "r")
    finally:
        del SECTIONS["count"]
    [row] = list(csv.DictReader(written.csv.open()))
    assert row["count_items"] == "10"
    assert json.loads(written.json.read_text())["runs"][0]["count"] == {"n": 10}
    assert (tmp_path / "r" / "count_plot.png").read_bytes() == png
    assert '<h2 id="counted">Counted</h2>' in written.html.read_text()
    assert "count_plot" not in write_report(store, [direct], tmp_path / "r2").html.read_text()


def test_the_report_command_shows_the_probes_section_of_a_faithfulness_run(tmp_path, data_dir):
    """`ponder report` in a process of its own: the command line imports the feature that registers
    the probes' section, the report itself imports no feature."""
    import subprocess
    import sys

    script = f"""
import asyncio
import ponder.eval.evaluate as ev
from ponder.eval.session import Session
from ponder.faithfulness.registry import ALLOWED, build_probe
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store
m = ScriptedModel([Step(["She has 9 eggs.\\nSo 18 dollars."]), Step([" 7."]), Step([" 18."]), Step([" 18."])])
session = Session(m, Store({str(tmp_path / "s.sqlite")!r}), owns_store=True)
asyncio.run(ev.evaluate(session, "gsm8k", [ev.Plan("early", {{}})], limit=1,
            data_dir={str(data_dir)!r}, build=build_probe, allowed=ALLOWED, kind="faithfulness"))
session.store.close()
"""
    run = [sys.executable, "-c"]
    subprocess.run([*run, script], check=True, timeout=120, capture_output=True)
    report = "from ponder.cli import app; app()"
    args = ["report", "1", "--store", str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "r")]
    done = subprocess.run([*run, report, *args], timeout=120, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'id="probes"' in (tmp_path / "r" / "report.html").read_text()
    assert (tmp_path / "r" / "early_answering.png").exists()
