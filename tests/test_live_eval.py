"""`ponder compare` end to end on the embedded model: two strategies, two GSM8K items, the report,
and a rerun that makes no model call."""

import csv

import pytest
from typer.testing import CliRunner

from ponder.cli import app
from ponder.store import Store

pytestmark = pytest.mark.live


def test_compare_on_the_embedded_model_writes_the_report_and_a_rerun_calls_nothing(tmp_path, data_dir):
    store, out_dir = tmp_path / "s.sqlite", tmp_path / "report"
    argv = [
        "compare",
        "gsm8k",
        "--strategies",
        "direct,self-consistency[k=2,prompt=chain-of-draft]",
        "--max-tokens",
        "96",
        "-n",
        "2",
        "--store",
        str(store),
        "--data-dir",
        str(data_dir),
        "--out",
        str(out_dir),
    ]
    res = CliRunner().invoke(app, argv)
    assert res.exit_code == 0, res.output
    with Store(store) as s:
        runs = s.runs()
        assert [r["status"] for r in runs] == ["done", "done"]
        assert all(len(s.results(r["id"])) == 2 for r in runs)
        calls = len(s.calls())
        assert calls >= 4
    rows = list(csv.DictReader(open(out_dir / "summary.csv")))
    assert [r["n"] for r in rows] == ["2", "2"]
    assert float(rows[1]["completion_tokens_per_item"]) > float(rows[0]["completion_tokens_per_item"]) > 0
    assert (out_dir / "maj_at_k.png").exists() and "data:image/png" in (out_dir / "report.html").read_text()
    res = CliRunner().invoke(app, argv)
    assert res.exit_code == 0 and res.output.count("2 already in the store") == 2, res.output
    with Store(store) as s:
        assert len(s.calls()) == calls
