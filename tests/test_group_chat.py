"""Group chat on the scripted model: each speaker-selection method, the graph of allowed
transitions, a malformed choice asked again once then round-robin (every selection call in the
manager's cost), the no-progress guard and the round limit."""

from __future__ import annotations

import pytest

from ponder.agents import Agent
from ponder.agents.agent import ChatMessage
from ponder.agents.group import GroupChat, GroupChatManager, no_progress
from ponder.errors import ConfigError
from ponder.models.scripted import ScriptedModel, Step


def talker(name: str, *texts: str) -> Agent:
    return Agent(name, model=ScriptedModel([Step([t]) for t in texts]), description=f"the {name}")


async def test_round_robin_goes_around_in_order_until_max_round():
    agents = [talker("planner", "plan"), talker("solver", "solve"), talker("critic", "ok")]
    chat = GroupChat(agents, max_round=4, speaker_selection="round_robin")
    result = await GroupChatManager(chat).run("a problem", agents[0])
    assert [m.speaker for m in result.messages] == ["planner", "solver", "critic", "planner"]
    assert result.stopped_by == "max round" and result.messages[-1].content == "plan"


async def test_a_termination_message_on_the_last_round_is_named_as_such():
    agents = [talker("planner", "plan"), talker("solver", "solve"), talker("critic", "fine. TERMINATE")]
    chat = GroupChat(agents, max_round=3, speaker_selection="round_robin")
    result = await GroupChatManager(chat).run("a problem", agents[0])
    assert [m.speaker for m in result.messages] == ["planner", "solver", "critic"]
    assert result.stopped_by == "termination message"


async def test_auto_selection_is_held_to_the_allowed_names_and_counted():
    manager_model = ScriptedModel(
        [
            Step(['"critic"'], expect=lambda r: r.response_format.schema["enum"] == ["solver", "critic"]),
            Step(['"solver"']),
        ]
    )
    agents = [talker("planner"), talker("solver", "x = 4. TERMINATE"), talker("critic", "check the units")]
    chat = GroupChat(agents, max_round=10)
    result = await GroupChatManager(chat, manager_model).run("go", agents[0])
    assert [m.speaker for m in result.messages] == ["planner", "critic", "solver"]
    assert result.stopped_by == "termination message"
    costs = {c.agent: c for c in result.costs}
    assert costs["manager"].calls == 2 and costs["critic"].calls == 1


async def test_a_malformed_choice_is_asked_again_once_then_round_robin():
    manager_model = ScriptedModel([Step(['"nobody"']), Step(['"nobody"'])])
    agents = [talker("planner", "p. TERMINATE"), talker("solver", "s1"), talker("critic")]
    chat = GroupChat(agents, max_round=10)
    result = await GroupChatManager(chat, manager_model).run("go", agents[2])
    # after critic, two malformed answers: round-robin picks planner (the next after critic)
    assert [m.speaker for m in result.messages] == ["critic", "planner"]
    assert {c.agent: c.calls for c in result.costs}["manager"] == 2
    manager_model.assert_done()


async def test_plain_text_choices_where_the_backend_cannot_hold_a_format():
    plain = ScriptedModel([Step(["I think the solver should go."])], abilities=frozenset())
    agents = [talker("planner"), talker("solver", "done. TERMINATE"), talker("critic")]
    result = await GroupChatManager(GroupChat(agents), plain).run("go", agents[0])
    assert [m.speaker for m in result.messages] == ["planner", "solver"]
    assert plain.requests[0].response_format is None


async def test_the_graph_limits_who_may_follow_whom():
    agents = [talker("planner", "p1", "p2"), talker("solver", "s1", "s2"), talker("critic", "c1")]
    graph = {"planner": ["solver"], "solver": ["planner"], "critic": ["planner"]}
    chat = GroupChat(agents, max_round=5, speaker_selection="random", graph=graph)
    result = await GroupChatManager(chat).run("go", agents[2])
    assert [m.speaker for m in result.messages] == ["critic", "planner", "solver", "planner", "solver"]


async def test_random_selection_is_seeded():
    def run_once():
        agents = [talker(n, *[f"{n}{i}" for i in range(6)]) for n in ("a", "b", "c")]
        return GroupChatManager(GroupChat(agents, max_round=6, speaker_selection="random", seed=7)).run(
            "go", agents[0]
        )

    first, second = await run_once(), await run_once()
    assert [m.speaker for m in first.messages] == [m.speaker for m in second.messages]
    speakers = [m.speaker for m in first.messages]
    assert all(x != y for x, y in zip(speakers, speakers[1:]))  # no one follows themselves


async def test_a_chat_that_repeats_itself_is_stopped():
    agents = [talker("a", "same", "same", "same"), talker("b", "same", "same", "same")]
    chat = GroupChat(agents, max_round=20, speaker_selection="round_robin", repeats=3)
    result = await GroupChatManager(chat).run("start", agents[0])
    assert result.stopped_by == "no progress" and len(result.messages) == 6
    assert no_progress([ChatMessage("a", "x "), ChatMessage("b", "y"), ChatMessage("a", "x")], 2)
    assert not no_progress([ChatMessage("a", "x"), ChatMessage("a", "y")], 2)


def test_bad_group_chats_are_refused():
    a, b = Agent("a"), Agent("b")
    with pytest.raises(ConfigError, match="distinct names"):
        GroupChat([a, Agent("a")])
    with pytest.raises(ConfigError, match="speaker_selection must be one of"):
        GroupChat([a, b], speaker_selection="loudest")
    with pytest.raises(ConfigError, match="not in the chat: c"):
        GroupChat([a, b], graph={"a": ["c"]})
    with pytest.raises(ConfigError, match="needs the manager's model"):
        GroupChatManager(GroupChat([a, b]))
