"""Agents on the embedded model: a code-writing assistant and a user proxy that runs its code in
the sandbox, with a tool-using assistant; the conversation is stored with every call, its messages
and each agent's cost, and the shared token budget is never overshot."""

from __future__ import annotations

import pytest

from ponder.agents import Agent, ChatBudget, initiate_chat
from ponder.models import get_model
from ponder.sandbox import Limits, Sandbox
from ponder.types import CodeExecution, ModelCall

pytestmark = [pytest.mark.live, pytest.mark.sandbox]

ASK = (
    "Write one ```python code block that prints the value of 17 * 23. I will run it and show you the output."
)


@pytest.fixture(scope="module")
def model():
    return get_model("local")


async def test_the_assistant_writes_code_that_the_proxy_runs(model):
    with Sandbox(Limits(wall_s=10)) as box:
        proxy = Agent("user_proxy", code_execution=box, default_reply="Write the python code block.")
        assistant = Agent("assistant", "You write short Python programs.", model=model, max_tokens=96)
        result = await initiate_chat(proxy, assistant, ASK, max_turns=2, budget=ChatBudget(tokens=400))
    speakers = [m.speaker for m in result.messages]
    assert speakers[:2] == ["user_proxy", "assistant"]
    calls = [e for e in result.events if isinstance(e, ModelCall)]
    assert calls and all(c.request.max_tokens <= 96 for c in calls)
    assert sum(c.usage.completion_tokens for c in calls) <= 400
    runs = [e for e in result.events if isinstance(e, CodeExecution)]
    assert runs and runs[0].exit_code == 0 and runs[0].stdout == "391\n"
    assert result.messages[2].speaker == "user_proxy" and "exit code: 0" in result.messages[2].content
    costs = {c.agent: c for c in result.costs}
    assert costs["assistant"].calls == len(calls) and costs["user_proxy"].calls == 0
    assert costs["user_proxy"].executions == len(runs)


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


async def test_the_assistant_calls_a_tool(model):
    asker = Agent("asker", reply_function=lambda history, me: "Thanks. TERMINATE")
    helper = Agent(
        "helper", "Use the multiply tool for arithmetic.", model=model, tools=[multiply], max_tokens=96
    )
    result = await initiate_chat(asker, helper, "What is 17 times 23? Use the tool.", max_turns=2)
    tool_calls = [e for e in result.events if e.__class__.__name__ == "ToolCall"]
    assert tool_calls and tool_calls[0].name == "multiply" and tool_calls[0].result == 391
    assert {c.agent: c.tool_calls for c in result.costs}["helper"] == len(tool_calls)
    assert result.stopped_by in ("termination message", "max turns")


class WithoutTools:
    """The embedded model as a backend without native tool calls (it still holds replies to a schema)."""

    def __init__(self, model):
        self.model = model
        self.model_id = model.model_id
        self.abilities = model.abilities - {"tools"}

    async def generate(self, request):
        return await self.model.generate(request)


async def test_a_backend_without_tool_calls_calls_the_tool_through_the_held_format(model):
    asker = Agent("asker", reply_function=lambda history, me: "Thanks. TERMINATE")
    helper = Agent(
        "helper",
        "Use the multiply tool for arithmetic.",
        model=WithoutTools(model),
        tools=[multiply],
        max_tokens=96,
    )
    result = await initiate_chat(asker, helper, "What is 17 times 23? Use the tool.", max_turns=2)
    requests = [e.request for e in result.events if isinstance(e, ModelCall)]
    assert requests and all(r.tools == () and r.response_format is not None for r in requests)
    tool_calls = [e for e in result.events if e.__class__.__name__ == "ToolCall"]
    assert tool_calls and tool_calls[0].name == "multiply" and tool_calls[0].result == 391
    assert not result.messages[1].content.lstrip().startswith("{")  # the words, not the held JSON
