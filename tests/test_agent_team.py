"""`agent-team` through the evaluation harness on the scripted model: the planner, the solver and
the critic speak in the order the graph and the manager choose, the manager's selection calls are
scripted and counted as its cost, the critic's approval ends the chat, the round limit and the task
budget end it otherwise, and the answer comes from the last explicit statement."""

from __future__ import annotations

import pytest

from ponder.agents.agent import ChatMessage
from ponder.agents.team import AgentTeam, approves, team_answer
from ponder.details import ChatDetails
from ponder.errors import ConfigError
from ponder.eval.evaluate import Plan, evaluate
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store
from ponder.types import ModelCall, Task, Utterance

PLAN = "1. Subtract the eggs she eats and bakes from the eggs laid. 2. Multiply the rest by the price."
WRONG = "16 - 3 = 13 eggs left. 13 * 2 = 26. The answer is 26."
ERROR = "The solver forgot the four eggs used for muffins: 16 - 3 - 4 eggs are sold."
RIGHT = "16 - 3 - 4 = 9 eggs. 9 * 2 = 18. The answer is 18."


def reply(role: str, text: str, max_tokens: int = 256) -> Step:
    """An agent's turn: the request carries the role's system prompt and no response format."""
    return Step(
        [text],
        expect=lambda r: (
            f"You are the {role}" in r.messages[0].content
            and r.response_format is None
            and r.max_tokens == max_tokens
        ),
    )


def select(choice: str) -> Step:
    """A manager's selection call after the critic: held to planner or solver."""
    return Step(
        [f'"{choice}"'],
        expect=lambda r: (
            r.response_format is not None and r.response_format.schema["enum"] == ["planner", "solver"]
        ),
    )


def stored(path, outcome):
    with Store(path, readonly=True) as s:
        (result,) = s.results(outcome.run_id)
        calls = s.calls(outcome.run_id)
    return result, calls


async def test_the_critic_sends_the_solver_back_then_approves(tmp_path, session_of, data_dir):
    model = ScriptedModel(
        [
            reply("planner", PLAN),
            reply("solver", WRONG),
            reply("critic", ERROR),
            select("solver"),
            reply("solver", RIGHT),
            reply("critic", "APPROVED. The answer is 18."),
        ]
    )
    path = tmp_path / "s.sqlite"
    async with session_of(model, store=path) as session:
        (outcome,) = await evaluate(session, "gsm8k", [Plan("agent-team", {})], limit=1, data_dir=data_dir)
    model.assert_done()
    assert outcome.progress.correct == 1
    result, calls = stored(path, outcome)
    assert result.answer == "18" and result.correct is True
    said = [e.speaker for e in result.trace if isinstance(e, Utterance)]
    assert said == ["user", "planner", "solver", "critic", "solver", "critic"]
    assert "Janet" in next(e for e in result.trace if isinstance(e, Utterance)).content
    assert isinstance(result.details, ChatDetails) and result.details.stopped_by == "termination message"
    costs = {c.agent: c.calls for c in result.details.costs}
    assert costs == {"user": 0, "planner": 1, "solver": 2, "critic": 2, "manager": 1}
    purposes = [e.purpose for e in result.trace if isinstance(e, ModelCall)]
    assert purposes.count("select-speaker") == 1
    assert result.compute.calls == 6 == len(calls) == len(model.requests)
    assert result.reasoning.startswith("planner: 1.") and "critic: APPROVED" in result.reasoning


async def test_without_approval_the_round_limit_ends_it_and_the_solver_answers(
    tmp_path, session_of, data_dir
):
    model = ScriptedModel(
        [
            reply("planner", PLAN),
            reply("solver", WRONG),
            reply("critic", ERROR + " The answer is 18."),
            select("solver"),
            reply("solver", "16 - 3 - 4 = 9 eggs. 9 * 3 = 27. The answer is 27."),
            reply("critic", "Wrong price: eggs sell for $2. The answer is 18."),
        ]
    )
    path = tmp_path / "s.sqlite"
    async with session_of(model, store=path) as session:
        (outcome,) = await evaluate(session, "gsm8k", [Plan("agent-team", {})], limit=1, data_dir=data_dir)
    model.assert_done()
    result, _ = stored(path, outcome)
    assert result.details.stopped_by == "max round" and result.details.messages == 6
    assert result.answer == "27" and result.correct is False


async def test_the_task_budget_ends_it_without_overshooting(tmp_path, session_of, data_dir):
    model = ScriptedModel(
        [
            reply("planner", " ".join(["step"] * 25), max_tokens=40),
            reply(
                "solver",
                "She sells 9 eggs at 2 dollars each, making 18 dollars. The answer is 18.",
                max_tokens=15,
            ),
        ]
    )
    path = tmp_path / "s.sqlite"
    options = {"per_task_budget": 40}
    async with session_of(model, store=path) as session:
        (outcome,) = await evaluate(
            session, "gsm8k", [Plan("agent-team", options)], limit=1, data_dir=data_dir
        )
    model.assert_done()
    result, _ = stored(path, outcome)
    assert result.details.stopped_by == "budget: tokens"
    assert result.compute.completion_tokens == 40 and result.compute.calls == 2
    assert result.answer == "18"


async def test_round_robin_goes_around_without_selection_calls():
    model = ScriptedModel(
        [
            reply("planner", PLAN),
            reply("solver", WRONG),
            reply("critic", ERROR),
            reply("planner", PLAN + " 3. Count the muffin eggs too."),
            reply("solver", RIGHT),
            reply("critic", "APPROVED. The answer is 18."),
        ]
    )
    task = Task("t", "Janet's ducks lay 16 eggs per day ...", "18")
    result = await AgentTeam(speaker_selection="round_robin", max_round=8).run(task, model)
    model.assert_done()
    assert all(r.response_format is None for r in model.requests)
    assert isinstance(result.details, ChatDetails)
    said = [e.speaker for e in result.trace if isinstance(e, Utterance)]
    assert said == ["user", "planner", "solver", "critic", "planner", "solver", "critic"]
    assert {c.agent: c.calls for c in result.details.costs}["manager"] == 0
    assert result.details.stopped_by == "termination message" and result.correct is True


def test_approval_and_the_answer_search():
    assert approves("APPROVED. The answer is 18.") and approves("Checked: APPROVED")
    assert (
        not approves("NOT APPROVED: 13 is wrong") and not approves("approved") and not approves("UNAPPROVED")
    )
    chat = [
        ChatMessage("user", "Answer: 5"),
        ChatMessage("solver", "so 9 * 2 = 18"),
        ChatMessage("critic", "No. The answer is 20."),
    ]
    assert team_answer(chat, "number") == "18"  # no explicit statement: the solver's last number
    chat.append(ChatMessage("critic", "APPROVED. The answer is 18."))
    chat.insert(2, ChatMessage("solver", "The answer is 26."))
    assert team_answer(chat, "number") == "18"
    assert team_answer(chat[:1], "number") is None


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="speaker_selection must be one of auto, round_robin"):
        AgentTeam(speaker_selection="random")
    with pytest.raises(ConfigError, match="max_round must be at least 2"):
        AgentTeam(max_round=1)


@pytest.mark.live
async def test_the_team_on_the_embedded_model():
    from ponder.models import get_model
    from ponder.tasks import gsm8k

    [task] = gsm8k.load("test", limit=1)
    # five messages: the first place where the manager has a choice (after the critic) is reached
    # unless the critic approves the solver's first answer
    result = await AgentTeam(max_round=5, max_tokens=96).run(task, get_model("local"))
    assert isinstance(result.details, ChatDetails)
    said = [e for e in result.trace if isinstance(e, Utterance) and e.speaker != "user"]
    assert len(said) >= 2 and [e.speaker for e in said[:2]] == ["planner", "solver"]
    selections = [e for e in result.trace if isinstance(e, ModelCall) and e.purpose == "select-speaker"]
    costs = {c.agent: c for c in result.details.costs}
    assert costs["manager"].calls == len(selections)
    if result.details.stopped_by == "max round":
        assert selections and all(c.request.response_format is not None for c in selections)
    assert all(c.request.max_tokens <= 96 for c in result.trace if isinstance(c, ModelCall))
    assert result.compute.calls == sum(c.calls for c in costs.values())
