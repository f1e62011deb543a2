"""A conversation kept in the store and shown by `ponder view`: one run of one result whose trace
holds every message among the calls, its model calls in the calls table, and a page with the
speakers coloured, the calls, tool calls and code results folded, and each agent's cost."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from ponder.agents import Agent, initiate_chat
from ponder.agents.stored import stored_chat
from ponder.details import ChatDetails
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store
from ponder.types import ToolCall, Utterance
from ponder.view.app import create_app

EVIL = "<script>alert(1)</script>"


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


async def test_a_conversation_is_stored_and_shown_with_each_agents_cost(tmp_path):
    path = tmp_path / "ponder.sqlite"
    helper_model = ScriptedModel(
        [Step([""], tool_calls=[[("add", '{"a": 2, "b": 2}')]]), Step([f"It is 4 {EVIL}. TERMINATE"])]
    )
    asker = Agent("asker", reply_function=lambda h, me: "thanks")
    helper = Agent("helper", model=helper_model, tools=[add])
    with Store(path) as store:
        run_id, chat = await stored_chat(
            store,
            "two-agent",
            "scripted",
            {"agents": ["asker", "helper"]},
            "What is 2+2?",
            lambda sink: initiate_chat(asker, helper, "What is 2+2?", sink=sink),
        )
        (result,) = store.results(run_id)
        assert store.run(run_id)["status"] == "done" and store.run(run_id)["kind"] == "chat"
        assert len(store.calls(run_id)) == 2  # both model calls logged as they happened
    assert [e for e in result.trace if isinstance(e, Utterance)] == [
        Utterance("asker", "What is 2+2?"),
        Utterance("helper", f"It is 4 {EVIL}. TERMINATE"),
    ]
    assert [type(e).__name__ for e in result.trace] == [
        "Utterance",
        "ModelCall",
        "ToolCall",
        "ModelCall",
        "Utterance",
    ]
    assert isinstance(result.details, ChatDetails) and result.details.stopped_by == "termination message"
    assert {c.agent: (c.calls, c.tool_calls) for c in result.details.costs} == {
        "asker": (0, 0),
        "helper": (2, 1),
    }
    assert any(isinstance(e, ToolCall) and e.result == 4 for e in result.trace)

    html = TestClient(create_app(path)).get(f"/runs/{run_id}/samples/chat/{run_id}").text
    conversation = html[html.index('<div id="conversation">') :]
    speakers = re.findall(r'<div class="message speaker-(\d)"><p class="speaker">(\w+)</p>', conversation)
    assert speakers == [("0", "asker"), ("1", "helper")]
    assert "tool call add</summary>" in conversation and "model call (reply" in conversation
    assert "It is 4 &lt;script&gt;" in conversation and "<script>alert" not in html
    costs = html[html.index('<table id="costs">') :]
    assert re.search(r"<td>helper</td><td class=\"num\">2</td>", costs)


async def test_a_conversation_that_raises_leaves_a_failed_run(tmp_path):
    path = tmp_path / "ponder.sqlite"

    async def broken(sink):
        raise RuntimeError("the backend went away")

    with Store(path) as store:
        with pytest.raises(RuntimeError, match="went away"):
            await stored_chat(store, "two-agent", "scripted", {}, "hi", broken)
        (run,) = store.runs()
        assert run["status"] == "failed" and store.results(run["id"]) == []
