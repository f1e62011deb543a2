"""A run's samples exported: records, JSONL, CSV and a pandas DataFrame hold what was stored, in
the order written, read in batches; filtered by status and search; served by `ponder view` as
downloads and written by `ponder runs export`."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import sys
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ponder import details as details_codec
from ponder.cli import app as cli_app
from ponder.details import SelfConsistencyDetails
from ponder.errors import ConfigError
from ponder.store import Store, sample_records, samples_frame
from ponder.store import samples as samples_module
from ponder.store.browse import STATUSES, Browse, SampleQuery
from ponder.store.codec import event_to_json
from ponder.store.samples import SAMPLE_COLUMNS, csv_chunks, jsonl_chunks
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
from ponder.view.sample import status_of

runner = CliRunner()
EVIL = "<script>alert(1)</script>"
QUOTED = 'He said "3, or 4",\nthen left'
LEGACY = Path(__file__).parent / "data" / "legacy_results.json"


def result(
    task_id: str,
    question: str = "What is 2+2?",
    answer: str | None = "4",
    correct: bool | None = True,
    error: str | None = None,
    details: Details | None = None,
    tokens: int = 20,
) -> Result:
    """A result with one model call whose output ends with the answer."""
    output = f"Thinking about {question}: {answer}"
    call = ModelCall(
        GenerationRequest(messages=(Message("user", question),)),
        (Completion(output, "stop", Usage(tokens, 7), latency_s=0.25),),
        0.25,
    )
    return Result(
        task=Task(task_id, question, "4"),
        strategy="cot",
        answer=answer,
        reasoning=output,
        correct=correct,
        trace=Trace((call,)),
        compute=Compute(
            prompt_tokens=tokens,
            prompt_tokens_evaluated=tokens - 5,
            completion_tokens=7,
            calls=1,
            seconds=0.5,
        ),
        details=details or Details(),
        error=error,
    )


STORED = [
    result("t/correct", question="Combien de pommes ? 🍎 ½ — 四", tokens=21),
    result("t/wrong", question=QUOTED, answer="5", correct=False, tokens=22),
    result("t/noanswer", answer=None, correct=False, tokens=23),
    result("t/errored", answer=None, correct=False, error="timeout after 30 s", tokens=24),
    result("t/ungraded", question=f"Why {EVIL}?", answer=EVIL, correct=None, tokens=25),
    result(
        "t/voted",
        answer="4",
        details=SelfConsistencyDetails(votes={"4": 2.0, "5": 1.0}, voters=3, k=3, answers=("4", "5", "4")),
    ),
]


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """Run 1 holds STORED; run 2 (a solve run with no task in its config) one result; run 3 none."""
    path = tmp_path / "ponder.sqlite"
    with Store(path) as s:
        run = s.start_run("eval", "openai:alpha", "cot", {"task": "gsm8k"})
        for r in STORED:
            s.add_result(run, r)
        s.finish_run(run)
        solve = s.start_run("solve", "openai:beta")
        s.add_result(solve, result("only"))
        s.start_run("eval", "openai:alpha", "cot", {"task": "svamp"})
    return path


@pytest.fixture
def store(store_path: Path):
    with Store(store_path, readonly=True) as s:
        yield s


def expected(store: Store, run: int, full: bool = False) -> list[dict]:
    """The records of `run` as the stored Results and rows say, in SAMPLE_COLUMNS order."""
    info = store.run(run)
    assert info is not None
    task = json.loads(info["config"]).get("task", info["kind"])
    rows = store.result_rows(run)
    records = []
    for r, row in zip(store.results(run), rows):
        record = {
            "run_id": run,
            "task_id": r.task.id,
            "question": r.task.question,
            "gold": r.task.answer,
            "answer": r.answer,
            "correct": r.correct,
            "status": status_of(r),
            "error": r.error,
            "reasoning": r.reasoning,
            "prompt_tokens": r.compute.prompt_tokens,
            "prompt_tokens_evaluated": r.compute.prompt_tokens_evaluated,
            "completion_tokens": r.compute.completion_tokens,
            "calls": r.compute.calls,
            "cached_calls": r.compute.cached_calls,
            "seconds": r.compute.seconds,
            "created_at": row["created_at"],
            "model": info["model"],
            "strategy": info["strategy"],
            "task": task,
        }
        if full:
            plain = json.dumps(
                {"details": details_codec.to_json(r.details), "trace": [event_to_json(e) for e in r.trace]}
            )
            record |= json.loads(plain)
        records.append(record)
    return records


def test_records_are_the_stored_results_in_order(store):
    records = list(sample_records(store, 1))
    assert records == expected(store, 1)
    assert [list(r) for r in records] == [list(SAMPLE_COLUMNS)] * len(STORED)
    assert [r["task_id"] for r in records] == [r.task.id for r in STORED]
    assert [r["status"] for r in records] == [
        "correct",
        "wrong",
        "noanswer",
        "errored",
        "ungraded",
        "correct",
    ]
    assert records[4]["question"] == f"Why {EVIL}?" and records[4]["correct"] is None
    assert records[3]["error"] == "timeout after 30 s"
    assert list(sample_records(store, 2)) == expected(store, 2)
    assert list(sample_records(store, 2))[0]["task"] == "solve"
    assert list(sample_records(store, 2))[0]["strategy"] is None
    assert list(sample_records(store, 3)) == []


def test_full_records_add_the_details_and_trace_as_stored(store):
    records = list(sample_records(store, 1, full=True))
    assert records == expected(store, 1, full=True)
    assert records[5]["details"]["type"] == "self-consistency"
    assert records[5]["details"]["votes"] == {"4": 2.0, "5": 1.0}
    assert records[1]["trace"][0]["event"] == "model_call"
    assert records[1]["trace"][0]["completions"][0]["text"] == f"Thinking about {QUOTED}: 5"
    assert json.loads(json.dumps(records)) == records


def test_rows_of_earlier_versions_give_their_details_and_trace_in_todays_form(tmp_path):
    legacy = json.loads(LEGACY.read_text())
    path = tmp_path / "old.sqlite"
    with Store(path) as s:
        run = s.start_run("eval", "scripted", "mixed")
    with sqlite3.connect(path) as db:
        for i, row in enumerate(legacy):
            db.execute(
                """INSERT INTO results (run_id, task_id, answer, correct, reasoning, prompt_tokens,
                   prompt_tokens_evaluated, completion_tokens, calls, cached_calls, seconds, data, created_at)
                   VALUES (?, ?, ?, ?, '', 1, 1, 1, 1, 0, 0.5, ?, 0)""",
                (run, f"t{i}", row["answer"], row["correct"], json.dumps(row["data"])),
            )
    db.close()
    with Store(path, readonly=True) as s:
        records = list(sample_records(s, run, full=True))
        assert records == expected(s, run, full=True)
    assert json.loads(json.dumps(records)) == records
    assert all(e["event"] == "model_call" for r in records for e in r["trace"])
    assert any(r["details"]["type"] == "self-consistency" for r in records)


@pytest.mark.parametrize("show", STATUSES)
def test_a_status_keeps_the_samples_the_browser_counts(store, show):
    records = list(sample_records(store, 1, SampleQuery(show)))
    assert [r["status"] for r in records] == [show] * Browse(store).count(1, SampleQuery(show))
    assert records == [r for r in expected(store, 1) if r["status"] == show]


def test_a_search_keeps_what_matches_and_the_page_is_ignored(store):
    assert [r["task_id"] for r in sample_records(store, 1, SampleQuery(q="pommes"))] == ["t/correct"]
    assert [r["task_id"] for r in sample_records(store, 1, SampleQuery(q="script"))] == ["t/ungraded"]
    both = SampleQuery("wrong", "3, or 4", page=7, per_page=1)
    assert [r["task_id"] for r in sample_records(store, 1, both)] == ["t/wrong"]
    assert list(sample_records(store, 1, SampleQuery("errored", "pommes"))) == []


def test_an_unknown_run_is_refused_before_anything_is_read(store):
    with pytest.raises(ConfigError, match="run 99 is not in the store"):
        sample_records(store, 99)


def test_records_are_read_in_batches_across_their_boundaries(store_path, monkeypatch):
    with Store(store_path) as s:
        run = s.start_run("eval", "openai:alpha", "cot", {"task": "big"})
        for i in range(11):
            s.add_result(run, result(f"big/{i:02d}", answer=None if i % 3 else "4"))
    monkeypatch.setattr(samples_module, "BATCH", 4)
    with Store(store_path, readonly=True) as s:
        reads = []
        original = s._read
        monkeypatch.setattr(s, "_read", lambda sql, params=(): reads.append(params) or original(sql, params))
        records = sample_records(s, run)
        first = next(records)
        assert first["task_id"] == "big/00" and len(reads) == 2  # the run, then one batch
        rest = list(records)
        assert [r["task_id"] for r in [first, *rest]] == [f"big/{i:02d}" for i in range(11)]
        assert [p["limit"] for p in reads[1:]] == [4, 4, 4]
        assert [first, *rest] == expected(s, run)
        noanswer = [r["task_id"] for r in sample_records(s, run, SampleQuery("noanswer"))]
        assert noanswer == [f"big/{i:02d}" for i in range(11) if i % 3]
        monkeypatch.setattr(samples_module, "BATCH", 7)
        assert [r["task_id"] for r in sample_records(s, run, SampleQuery("noanswer"))] == noanswer


def test_jsonl_is_one_unescaped_object_a_line(store, monkeypatch):
    text = "".join(jsonl_chunks(sample_records(store, 1, full=True)))
    lines = text.splitlines()
    assert len(lines) == len(STORED) and text.endswith("\n")
    assert [json.loads(line) for line in lines] == expected(store, 1, full=True)
    assert "🍎" in text and "\\u" not in lines[0]
    monkeypatch.setattr(samples_module, "CHUNK_CHARS", 100)
    chunks = list(jsonl_chunks(sample_records(store, 1, full=True)))
    assert len(chunks) == len(STORED) and "".join(chunks) == text


def test_csv_round_trips_through_a_dict_reader(store, monkeypatch):
    text = "".join(csv_chunks(sample_records(store, 1, full=True)))
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(rows[0]) == list(SAMPLE_COLUMNS)
    plain = [{k: "" if v is None else str(v) for k, v in r.items()} for r in expected(store, 1)]
    assert rows == plain
    assert rows[1]["question"] == QUOTED and rows[4]["answer"] == EVIL
    assert rows[4]["correct"] == "" and rows[1]["correct"] == "False" and rows[3]["answer"] == ""
    monkeypatch.setattr(samples_module, "CHUNK_CHARS", 10)
    assert "".join(csv_chunks(sample_records(store, 1))) == text
    assert list(csv.reader(io.StringIO("".join(csv_chunks([])), newline=""))) == [list(SAMPLE_COLUMNS)]


def test_the_frame_holds_the_records_with_typed_columns(store):
    frame = samples_frame(1, store)
    records = expected(store, 1)
    assert list(frame.columns) == list(SAMPLE_COLUMNS) and len(frame) == len(records)
    dtypes = {c: str(t) for c, t in frame.dtypes.items()}
    assert dtypes["correct"] == "boolean" and dtypes["seconds"] == "float64"
    for c in (
        "run_id",
        "prompt_tokens",
        "prompt_tokens_evaluated",
        "completion_tokens",
        "calls",
        "cached_calls",
    ):
        assert dtypes[c] == "Int64", c
    for c in (
        "task_id",
        "question",
        "gold",
        "answer",
        "status",
        "error",
        "reasoning",
        "model",
        "strategy",
        "task",
    ):
        assert isinstance(frame[c].dtype, pd.StringDtype), c
    assert (
        isinstance(frame["created_at"].dtype, pd.DatetimeTZDtype) and str(frame["created_at"].dt.tz) == "UTC"
    )
    for i, record in enumerate(records):
        for c in SAMPLE_COLUMNS:
            got = frame[c].iloc[i]
            if c == "created_at":
                assert got == pd.Timestamp(record[c], unit="s", tz="UTC")
            elif record[c] is None:
                assert got is pd.NA, (c, got)
            else:
                assert got == record[c], (c, got)
    assert frame["correct"].isna().tolist() == [False, False, False, False, True, False]
    assert len(store.results(1)) == len(STORED)  # a Store passed in is left open


def test_the_frame_opens_a_path_or_the_default_store(store_path, monkeypatch):
    assert samples_frame(1, store_path)["task_id"].tolist() == [r.task.id for r in STORED]
    assert samples_frame(2, str(store_path))["task"].tolist() == ["solve"]
    monkeypatch.setenv("PONDER_STORE", str(store_path))
    empty = samples_frame(3)
    assert len(empty) == 0 and list(empty.columns) == list(SAMPLE_COLUMNS)
    assert str(empty["correct"].dtype) == "boolean" and str(empty["calls"].dtype) == "Int64"
    with pytest.raises(ConfigError, match="run 42 is not in the store"):
        samples_frame(42)


def test_the_frame_without_pandas_says_how_to_install_it(store, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ConfigError, match=r"pandas is not installed: pip install 'ponder\[frame\]'"):
        samples_frame(1, store)


@pytest.fixture
def client(store_path: Path) -> TestClient:
    return TestClient(create_app(store_path))


def test_the_jsonl_download(client, store):
    res = client.get("/runs/1/samples.jsonl")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("application/x-ndjson")
    assert res.headers["content-disposition"] == 'attachment; filename="run-1-samples.jsonl"'
    assert [json.loads(line) for line in res.text.splitlines()] == expected(store, 1, full=True)


def test_the_csv_download(client, store):
    res = client.get("/runs/1/samples.csv")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/csv")
    assert res.headers["content-disposition"] == 'attachment; filename="run-1-samples.csv"'
    rows = list(csv.DictReader(io.StringIO(res.text, newline="")))
    assert [r["task_id"] for r in rows] == [r.task.id for r in STORED]
    assert rows[1]["question"] == QUOTED


def test_the_downloads_keep_show_and_q_like_the_run_page(client):
    def ids(url: str, **params: str) -> list[str]:
        return [r["task_id"] for r in csv.DictReader(io.StringIO(client.get(url, params=params).text))]

    assert ids("/runs/1/samples.csv", show="wrong") == ["t/wrong"]
    assert ids("/runs/1/samples.csv", show="correct", q=" pommes ") == ["t/correct"]
    assert ids("/runs/1/samples.csv", show="nonsense") == [r.task.id for r in STORED]
    lines = client.get("/runs/1/samples.jsonl", params={"q": "script"}).text.splitlines()
    assert [json.loads(line)["task_id"] for line in lines] == ["t/ungraded"]
    assert client.get("/runs/3/samples.jsonl").text == ""


@pytest.mark.parametrize("url", ["/runs/99/samples.jsonl", "/runs/99/samples.csv", "/runs/x/samples.csv"])
def test_a_download_of_an_unknown_run_is_the_404_page(client, url):
    res = client.get(url)
    assert res.status_code == 404
    assert res.headers["content-type"].startswith("text/html")
    assert "no run" in res.text


def test_the_run_and_sample_pages_still_answer_beside_the_downloads(client):
    for url in ("/runs/1", "/runs/1/samples/t/wrong"):
        res = client.get(url)
        assert res.status_code == 200 and res.headers["content-type"].startswith("text/html"), url
        assert "content-disposition" not in res.headers


def test_the_command_writes_a_file(store_path, tmp_path, store):
    out = tmp_path / "wrong.csv"
    res = runner.invoke(
        cli_app,
        [
            "runs",
            "export",
            "1",
            "--format",
            "csv",
            "--show",
            "wrong",
            "--out",
            str(out),
            "--store",
            str(store_path),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "run 1: 1 samples written to" in res.output
    rows = list(csv.DictReader(out.open(newline="", encoding="utf-8")))
    assert [r["question"] for r in rows] == [QUOTED]
    jsonl = tmp_path / "all.jsonl"
    res = runner.invoke(cli_app, ["runs", "export", "1", "--out", str(jsonl), "--store", str(store_path)])
    assert res.exit_code == 0, res.output
    lines = jsonl.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == expected(store, 1, full=True)


def test_the_command_writes_to_stdout(store_path, store, monkeypatch):
    monkeypatch.setenv("PONDER_STORE", str(store_path))
    res = runner.invoke(cli_app, ["runs", "export", "2"])
    assert res.exit_code == 0, res.output
    assert [json.loads(line) for line in res.stdout.splitlines()] == expected(store, 2, full=True)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["99"], "run 99 is not in the store"),
        (["1", "--format", "xlsx"], "--format must be one of jsonl, csv, got 'xlsx'"),
        (["1", "--show", "right"], "--show must be one of errored, noanswer, correct, wrong, ungraded"),
        (["one"], "Invalid value for 'run_id'"),
    ],
)
def test_the_command_refuses_bad_input_on_one_line(store_path, tmp_path, args, named):
    out = tmp_path / "never.jsonl"
    res = runner.invoke(cli_app, ["runs", "export", *args, "--out", str(out), "--store", str(store_path)])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], res.stderr
    assert not out.exists()
