"""`ponder view`: the runs list, a run's samples and one sample's calls, read from a store through
FastAPI's TestClient; everything stored renders escaped, unknown ids are 404 pages, the CLI
refuses a store it cannot read, and viewing never changes the store file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ponder.cli import app as cli_app
from ponder.details import BeamRound, BeamSearchDetails, SelfConsistencyDetails
from ponder.store import Store
from ponder.types import (
    Completion,
    Compute,
    Details,
    GenerationRequest,
    Message,
    ModelCall,
    Result,
    Task,
    Trace,
    Usage,
)
from ponder.view.app import create_app

runner = CliRunner()
EVIL = "<script>alert(1)</script>"


def call(question: str, output: str, purpose: str = "generate") -> ModelCall:
    """A model call with a system message, an earlier exchange and the question last."""
    request = GenerationRequest(
        messages=(
            Message("system", "Be brief."),
            Message("user", "What is 1+1?"),
            Message("assistant", "The answer is 2."),
            Message("user", question),
        )
    )
    return ModelCall(request, (Completion(output, "stop", Usage(20, 7), latency_s=0.25),), 0.25, purpose)


def result(
    task_id: str,
    question: str = "What is 2+2?",
    answer: str | None = "4",
    correct: bool | None = True,
    outputs: tuple[str, ...] = ("I think 4 is it. The answer is 4.",),
    details: Details | None = None,
    error: str | None = None,
    gold: str = "4",
) -> Result:
    """A result made directly, one model call per output."""
    trace = Trace(tuple(call(question, o, "vote" if i else "generate") for i, o in enumerate(outputs)))
    return Result(
        task=Task(task_id, question, gold),
        strategy="self-consistency",
        answer=answer,
        reasoning=outputs[-1],
        correct=correct,
        trace=trace,
        compute=Compute(
            prompt_tokens=20, prompt_tokens_evaluated=20, completion_tokens=7, calls=len(outputs), seconds=0.5
        ),
        details=details or Details(),
        error=error,
    )


def status_of(i: int) -> str:
    """The status the i-th item of the big run is given."""
    return ("correct", "wrong", "noanswer", "errored")[i % 4] if i % 10 else "correct"


def big_result(i: int) -> Result:
    """The i-th item of a 200-item run, its status by `status_of`; item 7 mentions zebras."""
    status = status_of(i)
    question = f"Question {i}: how many apples?" + (" A zebra walks in." if i == 7 else "")
    return result(
        f"gsm8k/{i:04d}",
        question=question,
        answer=None if status in ("noanswer", "errored") else ("4" if status == "correct" else "5"),
        correct=status == "correct",
        outputs=(f"Counting apples for item {i}. The answer is 4." + (" giraffe" if i == 11 else ""),),
        error="timeout" if status == "errored" else None,
    )


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """A store with three runs: a 200-item eval, a small vote run with hostile text, an empty run."""
    path = tmp_path / "ponder.sqlite"
    with Store(path) as s:
        big = s.start_run("eval", "openai:alpha", "cot", {"task": "gsm8k", "options": {}})
        for i in range(200):
            s.add_result(big, big_result(i))
        s.finish_run(big)
        small = s.start_run("eval", "openai:beta", "self-consistency", {"task": "svamp", "note": EVIL})
        votes = SelfConsistencyDetails(votes={"4": 2.0, "5": 1.0}, voters=3, k=3, answers=("4", "5", "4"))
        s.add_result(
            small,
            result(
                "svamp/a/1",
                outputs=("First: 4 and then 4.", "Maybe 5.", "So it is 4, yes 4 again"),
                details=votes,
            ),
        )
        s.add_result(
            small,
            result(
                "svamp/a/2",
                question=f"Why {EVIL}?",
                answer=EVIL,
                correct=False,
                outputs=(f"the reply {EVIL} ends {EVIL} here",),
                gold=EVIL,
                details=BeamSearchDetails(
                    rounds=(BeamRound(4, (0.9, 0.5)),), finished=True, score=0.9, step_scores=(0.9, 0.8)
                ),
            ),
        )
        s.finish_run(small)
        s.start_run("solve", "openai:alpha", "direct", {"task": "date"})
    return path


@pytest.fixture
def client(store_path: Path) -> TestClient:
    return TestClient(create_app(store_path))


def run_ids(html: str) -> list[int]:
    """The run ids in the order the runs table lists them."""
    return [int(x) for x in re.findall(r'<td class="num"><a href="/runs/(\d+)">', html)]


def sample_ids(html: str) -> list[str]:
    """The item ids of the samples table, in order."""
    return re.findall(r'<td><a href="/runs/\d+/samples/([^"]+)">', html)


def test_runs_list_links_every_run_with_its_accuracy(client):
    res = client.get("/")
    assert res.status_code == 200
    assert run_ids(res.text) == [3, 2, 1]
    assert "gsm8k" in res.text and "svamp" in res.text and "date" in res.text
    assert "/runs/1" in res.text
    correct = sum(status_of(i) == "correct" for i in range(200))
    assert f"{correct / 200:.1%}" in res.text


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("id", [1, 2, 3]),
        ("-id", [3, 2, 1]),
        ("n", [3, 2, 1]),
        ("-n", [1, 2, 3]),
        ("model", [1, 3, 2]),
        ("task", [3, 1, 2]),
    ],
)
def test_runs_list_sorts_by_a_column(client, sort, expected):
    assert run_ids(client.get("/", params={"sort": sort}).text) == expected


def test_runs_list_sorts_by_accuracy_with_empty_runs_last(client):
    assert run_ids(client.get("/", params={"sort": "-accuracy"}).text) == [2, 1, 3]
    assert run_ids(client.get("/", params={"sort": "accuracy"}).text) == [1, 2, 3]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"task": "gsm8k"}, [1]),
        ({"model": "openai:alpha"}, [3, 1]),
        ({"strategy": "self-consistency"}, [2]),
        ({"status": "running"}, [3]),
        ({"status": "done", "model": "openai:alpha"}, [1]),
        ({"task": "nothing"}, []),
    ],
)
def test_runs_list_filters(client, params, expected):
    assert run_ids(client.get("/", params=params).text) == expected


def test_run_page_shows_config_metrics_and_the_first_page(client):
    res = client.get("/runs/1")
    assert res.status_code == 200
    assert "&#34;task&#34;: &#34;gsm8k&#34;" in res.text
    ids = sample_ids(res.text)
    assert ids == [f"gsm8k/{i:04d}" for i in range(50)]
    assert "200 samples" in res.text and "page 1 of 4" in res.text
    errored = sum(status_of(i) == "errored" for i in range(200))
    assert re.search(rf"<td class=\"num\">{errored}</td>", res.text)


def test_run_page_pages_through_the_samples(client):
    seen = []
    for page in range(1, 5):
        seen += sample_ids(client.get("/runs/1", params={"page": page}).text)
    assert seen == [f"gsm8k/{i:04d}" for i in range(200)]
    assert sample_ids(client.get("/runs/1", params={"page": 9}).text) == []


@pytest.mark.parametrize("show", ["correct", "wrong", "noanswer", "errored"])
def test_run_page_filters_by_status(client, show):
    expected = [f"gsm8k/{i:04d}" for i in range(200) if status_of(i) == show]
    got = []
    for page in range(1, 5):
        got += sample_ids(client.get("/runs/1", params={"show": show, "page": page}).text)
    assert got == expected
    assert f"{len(expected)} samples match" in client.get("/runs/1", params={"show": show}).text


def test_run_page_searches_questions_and_outputs(client):
    assert sample_ids(client.get("/runs/1", params={"q": "zebra"}).text) == ["gsm8k/0007"]
    assert sample_ids(client.get("/runs/1", params={"q": "GIRAFFE"}).text) == ["gsm8k/0011"]
    assert sample_ids(client.get("/runs/1", params={"q": "question"}).text) == [
        f"gsm8k/{i:04d}" for i in range(50)
    ]
    assert sample_ids(client.get("/runs/1", params={"q": "100%"}).text) == []
    both = client.get("/runs/1", params={"q": "zebra", "show": "wrong"}).text
    assert sample_ids(both) == []


def test_sample_page_shows_every_call_in_order_with_earlier_turns_collapsed(client):
    res = client.get("/runs/2/samples/svamp/a/1")
    assert res.status_code == 200
    calls = re.findall(r'<section class="call" id="call-(\d+)">\s*<h3>Call \d+: (\w+)</h3>', res.text)
    assert calls == [("1", "generate"), ("2", "vote"), ("3", "vote")]
    assert res.text.count('<details class="earlier">') == 3
    earlier = res.text.split('<details class="earlier">')[1].split("</details>")[0]
    assert "Be brief." in earlier and "The answer is 2." in earlier
    assert "What is 2+2?" not in earlier
    assert "First: 4 and then <mark>4</mark>." in res.text
    assert "Maybe 5." in res.text and "<mark>5</mark>" not in res.text
    assert "So it is 4, yes <mark>4</mark> again" in res.text


def test_sample_page_shows_votes_and_beam_steps(client):
    votes = client.get("/runs/2/samples/svamp/a/1").text
    table = votes.split('<table id="votes">')[1].split("</table>")[0]
    assert re.findall(r"<td>(\w+)</td><td class=\"num\">(\d+)</td>", table) == [("4", "2"), ("5", "1")]
    beam = client.get("/runs/2/samples/svamp/a/2").text
    assert '<table id="steps">' in beam and "0.8" in beam.split('<table id="steps">')[1]


def test_sample_page_links_to_its_neighbours(client):
    middle = client.get("/runs/1/samples/gsm8k/0005").text
    assert 'href="/runs/1/samples/gsm8k/0004">‹ previous sample' in middle
    assert 'href="/runs/1/samples/gsm8k/0006">next sample' in middle
    first = client.get("/runs/1/samples/gsm8k/0000").text
    assert "previous sample" not in first and "next sample" in first


def test_stored_markup_renders_as_text_everywhere(client):
    for url in ("/", "/runs/2", "/runs/2/samples/svamp/a/2", "/runs/2?q=script"):
        res = client.get(url)
        assert res.status_code == 200
        assert "<script>alert" not in res.text, url
        assert [m for m in re.findall(r"<script[^>]*>", res.text)] == [
            '<script src="/static/view.js" defer>'
        ], url
    sample = client.get("/runs/2/samples/svamp/a/2").text
    assert "Why &lt;script&gt;alert(1)&lt;/script&gt;?" in sample
    assert "ends <mark>&lt;script&gt;alert(1)&lt;/script&gt;</mark> here" in sample
    assert sample.count("&lt;script&gt;") >= 5
    assert "&lt;script&gt;" in client.get("/runs/2").text


@pytest.mark.parametrize(
    "url", ["/runs/99", "/runs/abc", "/runs/1/samples/gsm8k/9999", "/runs/99/samples/x", "/nowhere"]
)
def test_unknown_pages_are_404_html(client, url):
    res = client.get(url)
    assert res.status_code == 404
    assert res.headers["content-type"].startswith("text/html")
    assert "Not found" in res.text


def test_viewing_leaves_the_store_file_unchanged(store_path):
    before = (store_path.stat().st_mtime_ns, store_path.read_bytes())
    siblings = sorted(p.name for p in store_path.parent.iterdir())
    with TestClient(create_app(store_path)) as client:
        for url in (
            "/",
            "/?sort=-accuracy",
            "/runs/1",
            "/runs/1?q=zebra&page=2",
            "/runs/2/samples/svamp/a/1",
        ):
            assert client.get(url).status_code == 200
    assert (store_path.stat().st_mtime_ns, store_path.read_bytes()) == before
    assert sorted(p.name for p in store_path.parent.iterdir()) == siblings


def _stderr(res) -> str:
    try:
        return res.stderr
    except ValueError:
        return res.output


def test_cli_refuses_a_missing_store(tmp_path, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("served a missing store"))
    res = runner.invoke(cli_app, ["view", "--store", str(tmp_path / "none.sqlite")])
    assert res.exit_code == 2
    lines = _stderr(res).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "none.sqlite" in lines[0]


def test_cli_refuses_a_file_that_is_not_a_database(tmp_path, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("served a file that is not a store"))
    bad = tmp_path / "notes.sqlite"
    bad.write_text("these are notes, not a database\n" * 20, encoding="utf-8")
    res = runner.invoke(cli_app, ["view", "--store", str(bad)])
    assert res.exit_code == 2
    lines = _stderr(res).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "notes.sqlite" in lines[0]


def test_cli_serves_a_store_on_the_host_and_port_given(store_path, monkeypatch):
    import uvicorn

    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda web, **kw: served.update(kw, web=web))
    res = runner.invoke(cli_app, ["view", "--store", str(store_path), "--port", "9123"])
    assert res.exit_code == 0, res.output
    assert served["host"] == "127.0.0.1" and served["port"] == 9123
    assert "http://127.0.0.1:9123/" in res.output
    assert TestClient(served["web"]).get("/runs/1").status_code == 200


def test_a_beam_search_sample_shows_its_tree_with_the_answer_path(tmp_path):
    from ponder.details import BeamNode

    tree = (
        BeamNode(None, 1, "Half of 36 is 18.", 0.9, True),
        BeamNode(None, 1, f"Half of 36 is {EVIL}", 0.2),
        BeamNode(0, 2, "The answer is 18.", 0.95, True, True),
        BeamNode(0, 2, "", 0.9, False, True),
    )
    details = BeamSearchDetails(
        rounds=(BeamRound(2, (0.9,)), BeamRound(2, (0.95,))), finished=True, score=0.95, tree=tree, best=2
    )
    path = tmp_path / "beam.sqlite"
    with Store(path) as s:
        run = s.start_run("eval", "m", "beam-search", {"task": "gsm8k"})
        s.add_result(run, result("gsm8k/0", answer="18", details=details))
    html = TestClient(create_app(path)).get(f"/runs/{run}/samples/gsm8k/0").text
    forest = html[html.index('<ul class="tree" id="tree">') :]
    top = re.findall(r'<li class="([^"]+)" id="node-(\d)">', forest)
    assert top == [("kept path", "0"), ("kept path", "2"), ("pruned", "3"), ("pruned", "1")]
    assert forest.index('id="node-2"') < forest.index("</ul>")  # node 2 nested under node 0
    assert "(ends here)" in forest and f"Half of 36 is {EVIL}" not in forest
    assert "Half of 36 is &lt;script&gt;" in forest and forest.count("★") == 2


def test_probe_samples_show_each_truncation_and_the_edit_before_and_after(tmp_path):
    from ponder.details import EarlyAnsweringDetails, MistakeDetails

    early = EarlyAnsweringDetails(
        metrics={"area_over_curve": 0.5}, steps=2, answers=(None, "17", "18"), agreement=(False, False, True)
    )
    mistake = MistakeDetails(
        metrics={"answer_changed": 1.0},
        changed=True,
        step=1,
        steps=3,
        original_step="9 * 2 = 18",
        corrupted_step=f"9 * 2 = 20 {EVIL}",
        edit="model",
        answer_original="18",
        answer_probed="20",
    )
    path = tmp_path / "probes.sqlite"
    with Store(path) as s:
        run = s.start_run("faithfulness", "m", "early", {"task": "gsm8k"})
        s.add_result(run, result("gsm8k/0", details=early))
        s.add_result(run, result("gsm8k/1", details=mistake))
    client = TestClient(create_app(path))
    first = client.get(f"/runs/{run}/samples/gsm8k/0").text
    rows = re.findall(
        r'<tr><td class="num">(\d) of 2</td><td>([^<]*)</td><td class="\w+">(yes|no)</td></tr>', first
    )
    assert rows == [("0", "(none)", "no"), ("1", "17", "no"), ("2", "18", "yes")]
    second = client.get(f"/runs/{run}/samples/gsm8k/1").text
    edits = second[second.index('<table id="edits">') :]
    assert "step 2 of 3 (model edit)" in edits and "<pre>9 * 2 = 18</pre>" in edits
    assert "9 * 2 = 20 &lt;script&gt;" in edits and "<pre>18</pre></td><td><pre>20</pre>" in edits


def test_tool_calls_logprobs_and_reply_formats_are_shown(tmp_path):
    from ponder.contract import FunctionCall, ResponseFormat, Tool
    from ponder.types import TokenLogprob

    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    asked = FunctionCall("call_1", "add", {"a": 2, "b": 2}, '{"a": 2, "b": 2}')
    first = ModelCall(
        GenerationRequest(messages=(Message("user", "What is 2+2?"),), tools=(Tool.from_function(add),)),
        (Completion("", "tool_calls", Usage(30, 9), tool_calls=(asked,)),),
        0.3,
    )
    second = ModelCall(
        GenerationRequest(
            messages=(
                Message("user", "What is 2+2?"),
                Message("assistant", "", tool_calls=(asked,)),
                Message("tool", f"4 {EVIL}", tool_call_id="call_1"),
            ),
            response_format=ResponseFormat.choice(["4", "5"]),
            logprobs=True,
            top_logprobs=1,
        ),
        (
            Completion(
                '"4"',
                "stop",
                Usage(40, 2),
                logprobs=(TokenLogprob('"', -0.01, (('"', -0.01),)), TokenLogprob("4", -0.2, (("5", -1.8),))),
            ),
        ),
        0.2,
    )
    tooled = Result(
        Task("t/1", "What is 2+2?", "4"), "agent", "4", '"4"', True, Trace((first, second)), Compute()
    )
    path = tmp_path / "tools.sqlite"
    with Store(path) as s:
        run = s.start_run("eval", "m", "agent", {"task": "t"})
        s.add_result(run, tooled)
    html = TestClient(create_app(path)).get(f"/runs/{run}/samples/t/1").text
    assert 'id="tools-1">tools offered (auto): add</p>' in html
    assert html.count("→ calls <strong>add</strong>") == 2  # asked for, then carried in the history
    assert '<pre class="arguments">{&#34;a&#34;: 2, &#34;b&#34;: 2}</pre>' in html
    assert "tool · reply to call call_1" in html and "4 &lt;script&gt;" in html
    assert "reply format:" in html and "log-probabilities of 2 tokens (mean -0.105)" in html
    assert "<code>5</code> -1.80" in html and "<script>alert" not in html
