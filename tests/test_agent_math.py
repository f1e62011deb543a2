"""`agent-math` through the evaluation harness: the assistant's code runs in the sandbox, its last
message gives the answer, the conversation is the item's trace in the store, its cost the run's."""

from __future__ import annotations

import pytest

from ponder.details import ChatDetails
from ponder.eval.evaluate import Plan, evaluate
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store
from ponder.types import CodeExecution, Utterance

pytestmark = pytest.mark.sandbox

CODE = "```python\neggs = 16 - 3 - 4\nprint(eggs * 2)\n```"


async def test_agent_math_answers_from_the_conversation_and_stores_it(tmp_path, session_of, data_dir):
    model = ScriptedModel(
        [
            Step([CODE], expect=lambda r: "Janet" in r.messages[-1].content and r.max_tokens == 384),
            Step(["The output is 18, so the answer is 18. TERMINATE"]),
        ]
    )
    store = tmp_path / "s.sqlite"
    async with session_of(model, store=store) as session:
        (outcome,) = await evaluate(session, "gsm8k", [Plan("agent-math", {})], limit=1, data_dir=data_dir)
    model.assert_done()
    assert outcome.progress.correct == 1
    with Store(store, readonly=True) as s:
        (result,) = s.results(outcome.run_id)
        assert len(s.calls(outcome.run_id)) == 2
    assert result.answer == "18" and result.correct is True
    runs = [e for e in result.trace if isinstance(e, CodeExecution)]
    assert len(runs) == 1 and runs[0].stdout == "18\n"
    said = [e.speaker for e in result.trace if isinstance(e, Utterance)]
    assert said == ["user_proxy", "assistant", "user_proxy", "assistant"]
    assert isinstance(result.details, ChatDetails) and result.details.stopped_by == "termination message"
    assert result.compute.calls == 2


async def test_the_task_budget_ends_the_conversation_without_overshooting(tmp_path, session_of, data_dir):
    model = ScriptedModel([Step(["I will think about it " * 6], expect={"max_tokens": 30})])
    async with session_of(model, store=tmp_path / "s.sqlite") as session:
        (outcome,) = await evaluate(
            session, "gsm8k", [Plan("agent-math", {"per_task_budget": 30})], limit=1, data_dir=data_dir
        )
    with Store(tmp_path / "s.sqlite", readonly=True) as s:
        (result,) = s.results(outcome.run_id)
    assert result.details.stopped_by == "budget: tokens" and result.compute.completion_tokens <= 30
    assert result.answer is None and result.correct is False


def test_a_stated_answer_ends_the_conversation_without_terminate():
    from ponder.agents.agent import ChatMessage
    from ponder.agents.math import AgentMath
    from ponder.types import Task

    task = Task("t", "?", "18")
    ends = AgentMath().ends
    assert ends(ChatMessage("assistant", "The answer is 18."), task)
    assert ends(ChatMessage("assistant", "Done. TERMINATE"), task)
    assert not ends(ChatMessage("assistant", "The answer is 18.\n```python\nprint(18)\n```"), task)
    assert not ends(ChatMessage("user_proxy", "exit code: 0\nstdout:\nThe answer is 18."), task)
    assert not AgentMath(stop_on_answer=False).ends(ChatMessage("assistant", "The answer is 18."), task)
