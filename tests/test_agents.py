"""Two-agent conversations on the scripted model: turns and every stopping rule, tools (a
result, an exception and a malformed call all go back to the model), code executed in the
sandbox, a person typing at the terminal (stdin fed), the shared budget never overshot, and each
agent's cost."""

from __future__ import annotations

import io

import pytest

from ponder.agents import Agent, ChatBudget, ChatMessage, initiate_chat
from ponder.errors import ConfigError
from ponder.models.scripted import ScriptedModel, Step
from ponder.sandbox import Limits, Sandbox
from ponder.types import CodeExecution, ToolCall, Utterance


def replies(*texts: str) -> list[Step]:
    return [Step([t]) for t in texts]


async def test_two_agents_take_turns_until_max_turns_and_each_pays_for_its_own_calls():
    a = Agent("alice", model=ScriptedModel(replies("a1", "a2")))
    b = Agent("bob", model=ScriptedModel(replies("b1", "b2")))
    result = await initiate_chat(a, b, "hello", max_turns=2)
    assert [(m.speaker, m.content) for m in result.messages] == [
        ("alice", "hello"),
        ("bob", "b1"),
        ("alice", "a1"),
        ("bob", "b2"),
    ]
    assert result.stopped_by == "max turns"
    costs = {c.agent: c for c in result.costs}
    assert costs["alice"].calls == 1 and costs["bob"].calls == 2
    bob_requests = b.model.requests
    assert [m.role for m in bob_requests[1].messages] == ["system", "user", "assistant", "user"]
    assert bob_requests[1].messages[-1].content == "a1"
    assert [type(e).__name__ for e in result.events] == [
        "Utterance", "ModelCall", "Utterance", "ModelCall", "Utterance", "ModelCall", "Utterance"
    ]  # fmt: skip
    assert result.events[0] == Utterance("alice", "hello") and result.events[-1] == Utterance("bob", "b2")


async def test_a_termination_message_ends_the_chat_unless_a_person_replies():
    a = Agent("alice", model=ScriptedModel(replies("thanks")))
    b = Agent("bob", model=ScriptedModel(replies("The answer is 4. TERMINATE")))
    result = await initiate_chat(a, b, "2+2?")
    assert result.stopped_by == "termination message" and len(result.messages) == 2
    typed = iter(["one more: 3+3?", ""])
    person = Agent("you", human_input_mode="terminate", ask=lambda prompt: next(typed))
    helper = Agent("bob", model=ScriptedModel(replies("4. TERMINATE", "6. TERMINATE")))
    chat = await initiate_chat(person, helper, "2+2?")
    assert [m.content for m in chat.messages] == ["2+2?", "4. TERMINATE", "one more: 3+3?", "6. TERMINATE"]
    assert chat.stopped_by == "termination message"


async def test_a_person_types_at_the_terminal(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("use 7 apples\nexit\n"))
    person = Agent("you", human_input_mode="always")
    helper = Agent("bob", model=ScriptedModel(replies("How many apples?", "7 apples it is.")))
    result = await initiate_chat(person, helper, "count apples")
    assert [m.content for m in result.messages] == [
        "count apples",
        "How many apples?",
        "use 7 apples",
        "7 apples it is.",
    ]
    assert result.stopped_by == "human exit"


async def test_a_predicate_and_no_reply_stop_the_chat():
    a = Agent("alice", reply_function=lambda history, me: "done" if len(history) > 2 else "go on")
    b = Agent("bob", model=ScriptedModel(replies("step 1", "step 2")))
    result = await initiate_chat(a, b, "start", is_termination=lambda m: m.content == "done")
    assert [m.content for m in result.messages] == ["start", "step 1", "go on", "step 2", "done"]
    assert result.stopped_by == "termination message"
    silent = await initiate_chat(Agent("x", reply_function=lambda h, me: "hi"), Agent("y"), "hello")
    assert silent.stopped_by == "no reply" and len(silent.messages) == 1
    nudged = await initiate_chat(
        Agent("proxy", default_reply="Write the code block."),
        Agent("bob", model=ScriptedModel(replies("thinking...", "```python\nprint(1)"))),
        "solve",
        max_turns=2,
    )
    assert [m.content for m in nudged.messages][1:3] == ["thinking...", "Write the code block."]


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def divide(a: float, b: float) -> float:
    """Divide a by b."""
    return a / b


async def test_tools_are_called_and_errors_go_back_to_the_model():
    model = ScriptedModel(
        [
            Step([""], tool_calls=[[("add", '{"a": 2, "b": 3}'), ("divide", '{"a": 1, "b": 0}')]]),
            Step([""], tool_calls=[[("add", '{"a": "x"')]]),  # malformed: not JSON
            Step([""], tool_calls=[[("missing", "{}")]]),
            Step(["2 + 3 is 5; 1/0 is undefined. TERMINATE"]),
        ]
    )
    helper = Agent("bob", model=model, tools=[add, divide])
    result = await initiate_chat(Agent("alice"), helper, "compute")
    assert result.summary == "2 + 3 is 5; 1/0 is undefined. TERMINATE"
    assert [t.name for t in model.requests[0].tools] == ["add", "divide"]
    tool_replies = [m for m in model.requests[1].messages if m.role == "tool"]
    assert tool_replies[0].content == "5" and tool_replies[1].content.startswith("Error: ZeroDivisionError")
    malformed = [m for m in model.requests[2].messages if m.role == "tool"][-1]
    assert malformed.content.startswith("Error:")
    unknown = [m for m in model.requests[3].messages if m.role == "tool"][-1]
    assert "missing" in unknown.content and unknown.content.startswith("Error:")
    calls = [e for e in result.events if isinstance(e, ToolCall)]
    assert [(c.name, c.result, c.error is None) for c in calls][:2] == [
        ("add", 5, True),
        ("divide", None, False),
    ]
    assert {c.agent: c.tool_calls for c in result.costs} == {"alice": 0, "bob": 4}


@pytest.mark.sandbox
async def test_the_user_proxy_runs_code_blocks_and_returns_their_output():
    with Sandbox(Limits(wall_s=5)) as box:
        proxy = Agent("user_proxy", code_execution=box)
        writer = Agent(
            "assistant",
            model=ScriptedModel(replies("```python\nprint(sum(range(10)))\n```", "The sum is 45. TERMINATE")),
        )
        result = await initiate_chat(proxy, writer, "sum 0..9 with code")
    assert result.messages[2].speaker == "user_proxy"
    assert "exit code: 0" in result.messages[2].content and "45" in result.messages[2].content
    runs = [e for e in result.events if isinstance(e, CodeExecution)]
    assert len(runs) == 1 and runs[0].stdout == "45\n" and runs[0].exit_code == 0
    assert {c.agent: c.executions for c in result.costs} == {"user_proxy": 1, "assistant": 0}


async def test_the_token_budget_is_never_overshot():
    model = ScriptedModel(
        [
            Step(["one two three"], expect={"max_tokens": 5}),
            Step(["four five"], expect={"max_tokens": 2}),
        ]
    )
    a = Agent("alice", reply_function=lambda h, me: "more")
    b = Agent("bob", model=model, max_tokens=5)
    result = await initiate_chat(a, b, "go", budget=ChatBudget(tokens=5))
    assert result.stopped_by == "budget: tokens"
    assert sum(c.completion_tokens for c in result.costs) == 5
    calls = await initiate_chat(
        Agent("alice", reply_function=lambda h, me: "more"),
        Agent("bob", model=ScriptedModel(replies("x"))),
        "go",
        budget=ChatBudget(calls=1),
    )
    assert calls.stopped_by == "budget: calls" and len(calls.messages) == 3


def test_an_unknown_human_mode_and_a_bad_budget_are_refused():
    with pytest.raises(ConfigError, match="human_input_mode must be one of"):
        Agent("x", human_input_mode="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="tokens must be positive"):
        ChatBudget(tokens=0)
    assert ChatMessage("a", "b").speaker == "a"


async def test_a_call_written_as_text_is_taken_as_the_call():
    model = ScriptedModel(replies('{"name": "add", "arguments": {"a": 1, "b": 2}}', "It is 3. TERMINATE"))
    helper = Agent("bob", model=model, tools=[add])
    result = await initiate_chat(Agent("alice"), helper, "1+2?")
    assert result.summary == "It is 3. TERMINATE"
    sent = model.requests[1].messages
    assert sent[-2].role == "assistant" and sent[-2].tool_calls[0].name == "add"
    assert sent[-1].role == "tool" and sent[-1].content == "3"
    plain = Agent("x", tools=[add])
    assert plain.written_calls('{"name": "sub", "arguments": {}}') == ()
    assert plain.written_calls('The call is {"name": "add", "arguments": {}}') == ()
    assert plain.written_calls('{"name": "add", "arguments": {"a": "x", "b": 1}}')[0].error is not None


async def test_a_reply_function_may_be_async():
    import asyncio

    async def later(history, me):
        await asyncio.sleep(0)
        return f"heard {history[-1].content}. TERMINATE"

    result = await initiate_chat(Agent("alice"), Agent("bob", reply_function=later), "hello")
    assert result.summary == "heard hello. TERMINATE" and result.stopped_by == "termination message"
