"""Tools on a backend without tool calls: described in the system message, each reply held to
"call a tool or reply" where the backend holds replies to a schema, read for a written call where
it does not; results and errors go back as user turns and the conversation goes on."""

from __future__ import annotations

import json

from ponder.agents import Agent, initiate_chat
from ponder.agents.tool_fallback import call_or_reply, read_reply, tools_prompt, written_call
from ponder.contract import Tool
from ponder.models import JSON_SCHEMA
from ponder.models.scripted import ScriptedModel, Step
from ponder.types import ToolCall


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def divide(a: float, b: float) -> float:
    """Divide a by b."""
    return a / b


TOOLS = (Tool.from_function(add), Tool.from_function(divide))


def test_the_held_format_takes_a_call_that_fits_its_tool_or_a_reply_and_nothing_else():
    held = call_or_reply(TOOLS)
    assert held.errors('{"name": "add", "arguments": {"a": 1, "b": 2}}') is None
    assert held.errors('{"reply": "It is 3."}') is None
    assert held.errors('{"name": "add", "arguments": {"a": "one", "b": 2}}') is not None
    assert held.errors('{"name": "sub", "arguments": {}}') is not None
    assert held.errors('{"reply": "x", "name": "add"}') is not None
    assert held.errors("It is 3.") is not None


def test_a_reply_is_read_as_words_or_as_a_call():
    assert read_reply('{"reply": "It is 3."}', TOOLS) == ("It is 3.", None)
    words, call = read_reply('{"name": "add", "arguments": {"a": 1, "b": 2}}', TOOLS)
    assert words == "" and call is not None and call.arguments == {"a": 1, "b": 2} and call.error is None
    assert read_reply('{"reply": "cut sho', TOOLS) == ('{"reply": "cut sho', None)  # cut short: as it came
    assert read_reply("plain words", TOOLS) == ("plain words", None)
    assert written_call('{"name": "add", "arguments": {"a": "x", "b": 1}}', TOOLS).error is not None
    assert written_call('{"name": "nope", "arguments": {}}', TOOLS) is None
    prompt = tools_prompt(TOOLS, constrained=True)
    assert "- add: Add two integers." in prompt and '{"reply": YOUR ANSWER}' in prompt
    assert '"reply"' not in tools_prompt(TOOLS, constrained=False)


async def test_a_schema_holding_backend_without_tools_calls_them_through_the_held_format():
    def held(request):
        assert request.tools == () and request.response_format is not None
        assert request.response_format.name == "call_or_reply"
        assert "- add: Add two integers." in request.messages[0].content
        return True

    model = ScriptedModel(
        [
            Step(['{"name": "add", "arguments": {"a": 2, "b": 3}}'], expect=held),
            Step(['{"name": "divide", "arguments": {"a": 1, "b": 0}}'], expect=held),
            Step(['{"reply": "2 + 3 is 5 and 1/0 has no value. TERMINATE"}'], expect=held),
        ],
        abilities=frozenset({JSON_SCHEMA}),
    )
    helper = Agent("bob", model=model, tools=[add, divide])
    result = await initiate_chat(Agent("alice"), helper, "compute")
    assert result.summary == "2 + 3 is 5 and 1/0 has no value. TERMINATE"
    assert result.stopped_by == "termination message"
    second = model.requests[1].messages
    assert second[-2].role == "assistant" and json.loads(second[-2].content)["name"] == "add"
    assert second[-1].role == "user" and second[-1].content == "Result of add: 5"
    third = model.requests[2].messages[-1]
    assert third.content.startswith("Result of divide: Error: ZeroDivisionError")
    calls = [e for e in result.events if isinstance(e, ToolCall)]
    assert [(c.name, c.result, c.error is None) for c in calls] == [("add", 5, True), ("divide", None, False)]
    assert {c.agent: c.tool_calls for c in result.costs} == {"alice": 0, "bob": 2}


async def test_a_plain_text_backend_gets_the_tools_in_words_and_its_written_calls_are_made():
    def plain(request):
        assert request.tools == () and request.response_format is None
        assert 'reply with only {"name": TOOL' in request.messages[0].content
        return True

    model = ScriptedModel(
        [
            Step(['{"name": "add", "arguments": {"a": 4, "b": 5}}'], expect=plain),
            Step(["It is 9. TERMINATE"], expect=plain),
        ],
        abilities=frozenset(),
    )
    helper = Agent("bob", model=model, tools=[add])
    result = await initiate_chat(Agent("alice"), helper, "4+5?")
    assert result.summary == "It is 9. TERMINATE"
    assert model.requests[1].messages[-1].content == "Result of add: 9"
    model.assert_done()


async def test_an_agent_without_tools_on_such_a_backend_asks_in_plain_text():
    model = ScriptedModel(
        [Step(["Hello. TERMINATE"], expect=lambda r: r.response_format is None and r.tools == ())],
        abilities=frozenset(),
    )
    result = await initiate_chat(Agent("alice"), Agent("bob", model=model), "hi")
    assert result.summary == "Hello. TERMINATE"
    assert model.requests[0].messages[0].content == "You are a helpful AI assistant."
