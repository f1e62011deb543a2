"""The arena on the embedded model: two players answer one GSM8K item, the model judges the pair
in both orders, the battle (or the undecided count) is stored, and a rerun asks nothing."""

import json

import pytest
from typer.testing import CliRunner

from ponder.cli import app
from ponder.store import Store

pytestmark = pytest.mark.live


def test_arena_battle_with_the_embedded_model_as_judge(tmp_path, data_dir):
    runner = CliRunner()
    store = tmp_path / "s.sqlite"
    args = [
        "arena",
        "battle",
        "gsm8k",
        "--players",
        "direct,chain-of-draft",
        "--judge",
        "local",
        "--judge-max-tokens",
        "96",
        "--limit",
        "1",
        "--store",
        str(store),
        "--data-dir",
        str(data_dir),
    ]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    with Store(store) as s:
        calls = s.calls()
        judged = [c for c in calls if c["purpose"] == "judge"]
        battles = s.battles("gsm8k:test")
    assert len(judged) == 2  # both orders
    a, b = (json.loads(c["request"])["messages"][-1]["content"] for c in judged)
    assert "[The Start of Reference Answer]" in a and a != b
    decided = len(battles)
    said = " ".join(r.output.split())
    assert f"{decided} new battles" in said and f"{1 - decided} undecided" in said
    if battles:
        assert battles[0].judge == "llm:" + calls[0]["model"] and len(battles[0].data["replies"]) == 2
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    with Store(store) as s:
        assert all(c["cached"] for c in s.calls()[len(calls) :])  # nothing asked of the model again
