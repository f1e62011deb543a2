"""`ponder view`'s compare page and live updates: runs on one task side by side item by item,
counted and filtered in SQL and checked against the same counts computed in Python; a running
run's fragments change as results are written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ponder.eval.metrics import mcnemar_exact
from ponder.store import Store
from ponder.store.compare import CompareQuery, Comparison
from ponder.types import Compute, Result, Task
from ponder.view.app import create_app

EVIL = "<script>alert(1)</script>"
N = 60


def answer_of(run: int, i: int) -> str | None:
    """Run 0 is right on even items; run 1 on items divisible by 3; run 2 answers like run 0
    but nothing on items divisible by 7; hostile text on item 5 of run 1."""
    if run == 2 and i % 7 == 0:
        return None
    if run == 1 and i == 5:
        return EVIL
    right = i % 2 == 0 if run in (0, 2) else i % 3 == 0
    return "4" if right else str(10 + i % 4)


def result(i: int, answer: str | None) -> Result:
    return Result(
        task=Task(f"gsm8k/{i:03d}", f"Question {i}: {'an ' + EVIL if i == 5 else 'apples'}?", "4"),
        strategy="cot",
        answer=answer,
        reasoning=f"The answer is {answer}.",
        correct=None if answer is None else answer == "4",
        trace=(),
        compute=Compute(calls=1),
    )


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """Runs 1-3 on gsm8k (run 3 lacks the last 10 items), run 4 on svamp, run 5 still running."""
    path = tmp_path / "ponder.sqlite"
    with Store(path) as s:
        for run in range(3):
            rid = s.start_run("eval", f"m{run}", "cot", {"task": "gsm8k", "options": {}})
            for i in range(N - (10 if run == 2 else 0)):
                s.add_result(rid, result(i, answer_of(run, i)))
            s.finish_run(rid)
        other = s.start_run("eval", "m0", "cot", {"task": "svamp", "options": {}})
        s.add_result(other, result(0, "4"))
        s.finish_run(other)
        s.plan_run(s.start_run("eval", "m0", "direct", {"task": "gsm8k", "options": {}}), 4)
    return path


@pytest.fixture
def client(store_path: Path) -> TestClient:
    return TestClient(create_app(store_path))


def expected(runs: list[int], items: range) -> dict[str, list[int]]:
    answers = {i: [answer_of(r, i) for r in runs] for i in items}
    right = {i: [a == "4" for a in answers[i]] for i in items}
    return {
        "disagree": [i for i in items if len(set(answers[i])) > 1],
        "split": [i for i in items if any(right[i]) and not all(right[i])],
    }


def test_counts_and_filters_equal_a_computation_in_python(store_path):
    with Store(store_path, readonly=True) as s:
        two = Comparison(s, [1, 2])
        summary = two.summary()
        ref = expected([0, 1], range(N))
        assert summary["n"] == N
        assert summary["disagree"] == len(ref["disagree"]) and summary["split"] == len(ref["split"])
        assert summary["correct"] == [sum(answer_of(r, i) == "4" for i in range(N)) for r in (0, 1)]
        both = sum(answer_of(0, i) == "4" and answer_of(1, i) == "4" for i in range(N))
        only = [
            sum(answer_of(0, i) == "4" and answer_of(1, i) != "4" for i in range(N)),
            sum(answer_of(0, i) != "4" and answer_of(1, i) == "4" for i in range(N)),
        ]
        assert (summary["both"], summary["only"]) == (both, only)
        assert summary["neither"] == N - both - sum(only)
        page = two.items(CompareQuery("disagree", page=1, per_page=1000))
        assert [int(r["task_id"].split("/")[1]) for r in page] == ref["disagree"]

        three = Comparison(s, [1, 2, 3])
        shared = range(N - 10)
        ref3 = expected([0, 1, 2], shared)
        assert three.summary()["n"] == N - 10
        assert three.count(CompareQuery("split")) == len(ref3["split"])
        assert three.count(CompareQuery("disagree")) == len(ref3["disagree"])
        assert three.missing() == [10, 10, 0]
        rows = three.items(CompareQuery("all", page=1, per_page=1000))
        assert rows[7]["runs"][2] == {"answer": None, "status": "noanswer"}
        assert rows[6]["runs"] == [{"answer": "4", "status": "correct"}] * 3
        assert rows[1]["runs"][1] == {"answer": "11", "status": "wrong"}


def test_pages_of_items_follow_the_first_runs_order_without_gaps(store_path):
    with Store(store_path, readonly=True) as s:
        comparison = Comparison(s, [2, 1])
        pages = (comparison.count(CompareQuery("disagree")) + 9) // 10
        assert pages >= 3
        seen = [
            r["task_id"]
            for p in range(1, pages + 2)
            for r in comparison.items(CompareQuery("disagree", page=p, per_page=10))
        ]
        assert seen == [r["task_id"] for r in comparison.items(CompareQuery("disagree", per_page=100))]
        assert len(seen) == comparison.count(CompareQuery("disagree"))


def test_a_comparison_takes_two_to_eight_distinct_runs(store_path):
    with Store(store_path, readonly=True) as s:
        with pytest.raises(ValueError, match="2 to 8 runs"):
            Comparison(s, [1])
        with pytest.raises(ValueError, match="each run once"):
            Comparison(s, [1, 1])


def test_the_compare_page_shows_both_answers_and_the_paired_test(client):
    res = client.get("/compare?run=1&run=2")
    assert res.status_code == 200
    html = res.text
    only = [
        sum(answer_of(0, i) == "4" and answer_of(1, i) != "4" for i in range(N)),
        sum(answer_of(0, i) != "4" and answer_of(1, i) == "4" for i in range(N)),
    ]
    assert f"only run 1 right {only[0]}" in html and f"only run 2 right {only[1]}" in html
    assert f"exact McNemar p = {mcnemar_exact(*only):.3g}" in html
    assert 'href="/runs/1/samples/gsm8k/000"' in html and 'href="/runs/2/samples/gsm8k/000"' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    disagree = client.get("/compare?run=1,2&show=disagree").text
    shown = re.findall(r"<td>gsm8k/(\d+)</td>", disagree)
    assert [int(x) for x in shown] == expected([0, 1], range(N))["disagree"]
    assert "answers differ" in disagree and 'class="on">answers differ' in disagree


def test_three_runs_list_the_items_some_lack(client):
    html = client.get("/compare?run=1&run=2&run=3&show=split").text
    assert "McNemar" not in html
    assert len(re.findall(r"<td>gsm8k/\d+</td>", html)) == len(expected([0, 1, 2], range(N - 10))["split"])
    assert "(noanswer)" in client.get("/compare?run=3&run=1").text


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("run=1", 400, "pick two or more runs"),
        ("", 400, "pick two or more runs"),
        ("run=1&run=4", 400, "different tasks cannot be compared item by item: gsm8k, svamp"),
        ("run=1&run=1", 400, "each run may be named once"),
        ("run=1&run=99", 404, "no run 99"),
        ("run=1&run=x", 404, "run ids are numbers"),
        ("run=" + ",".join(str(i) for i in range(1, 11)), 400, "at most 8 runs"),
    ],
)
def test_runs_that_cannot_be_compared_get_an_error_page(client, query, status, message):
    res = client.get(f"/compare?{query}")
    assert res.status_code == status
    assert message in res.text


def test_the_runs_list_ticks_runs_into_the_compare_form(client):
    html = client.get("/").text
    assert '<form id="compare-form" method="get" action="/compare">' in html
    assert html.count('form="compare-form"') == 5


def test_a_running_runs_fragments_change_as_results_are_written(store_path, client):
    page = client.get("/runs/5").text
    assert 'data-poll="/runs/5/live?seen=0"' in page and "data-running" in page
    before = client.get("/runs/5/live").text
    assert '<td id="items-done">0</td>' in before and "data-running" in before
    rows = client.get("/live/runs").text
    assert rows.count("data-running") == 1
    with Store(store_path) as s:
        s.add_result(5, result(0, "4"))
        s.add_result(5, result(1, "7"))
    during = client.get("/runs/5/live?seen=0").text
    assert "2 new samples since this page was loaded" in during
    assert '<span id="progress">2 of 4 items</span>' in during
    assert '<td class="num">2 / 4</td>' in client.get("/live/runs").text
    assert "new sample" not in client.get("/runs/5/live?seen=2").text
    assert "new sample" not in client.get("/runs/5/live?seen=x").text
    assert '<td id="items-done">2</td>' in during and '<td class="num" id="accuracy">50.0%</td>' in during
    assert "wrong (1)" in during
    with Store(store_path) as s:
        s.finish_run(5)
    after = client.get("/runs/5/live?show=wrong").text
    assert "data-running" not in after and 'status <span id="status-text">done</span>' in after
    assert 'class="on">wrong (1)' in after
    assert "data-running" not in client.get("/live/runs").text


def test_finished_runs_are_not_polled(client):
    assert "data-running" not in client.get("/runs/1").text
    assert client.get("/runs/99/live").status_code == 404


def test_the_page_script_is_served(client):
    res = client.get("/static/view.js")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/javascript")
    assert "data-running" in res.text


def test_the_report_page_renders_what_ponder_report_writes(client, store_path, tmp_path):
    from ponder.report.write import write_report

    res = client.get("/report?run=1&run=2")
    assert res.status_code == 200
    written = write_report(store_path, [1, 2], tmp_path / "report").html.read_text(encoding="utf-8")
    strip = lambda html: re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)  # noqa: E731
    assert strip(res.text) == strip(written)
    assert "<script>alert" not in res.text
    assert "<h1>gsm8k: 2 run(s)</h1>" in res.text
    assert 'href="/report?run=1"' in client.get("/").text
    assert 'href="/report?run=1,2"' in client.get("/compare?run=1&run=2").text
    assert 'id="report"' in client.get("/runs/1").text


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("", 400, "name the runs to report"),
        ("run=99", 404, "no run 99"),
        ("run=x", 404, "run ids are numbers"),
    ],
)
def test_a_report_of_unknown_runs_is_an_error_page(client, query, status, message):
    res = client.get(f"/report?{query}")
    assert res.status_code == status and message in res.text


def test_a_remembered_report_is_made_again_when_a_result_is_added(client, store_path):
    def items_shown(html: str) -> list[str]:
        return re.findall(
            r'<td class="name">[^<]*</td><td>(\d+)</td>', html[html.index('<table id="summary">') :]
        )[:1]

    first = client.get("/report?run=1").text
    assert items_shown(first) == [str(N)]
    assert client.get("/report?run=1").text == first
    with Store(store_path) as s:
        s.add_result(1, result(N, "4"))
    assert items_shown(client.get("/report?run=1").text) == [str(N + 1)]
