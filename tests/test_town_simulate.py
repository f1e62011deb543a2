"""The town's loop on a one-room town with one agent and the scripted model: the persona's facts
and the scenario's seed become memories, each step perceives (new things only), plans the day,
walks to the place the action names and sets the object's state there; each step is stored, and
a run stopped after a step resumes from it with the same state and memories; the token budget
stops a run at the end of a step."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from tests.town_files import agent, agents, write_town

from ponder.embeddings import get_embedder
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store, StoredSteps
from ponder.town.load import load_town
from ponder.town.memory import MemoryStream
from ponder.town.simulate import Simulation, TownBudget, start_town_run

MAP = "#########\n#aaaaaab#\n#aaaaaaa#\n#########\n"
AGENTS = agents(agent("Ana"))
SCENARIO = """name: Baking day
start: "2025-02-14 07:00"
facts:
  - id: bread
    agent: Ana
    text: Ana will sell bread today.
    question: Is anyone selling bread?
"""
PLAN = json.dumps(
    {
        "wake": "07:00",
        "sleep": "07:45",
        "chunks": [{"at": f"07:{m}0", "action": "bake bread", "where": "stove"} for m in range(5)],
    }
)


@pytest.fixture
def town(tmp_path):
    return load_town(write_town(tmp_path / "tiny", MAP, AGENTS, SCENARIO))


def purposes(store: Store, run_id: int) -> list[str]:
    return [c["purpose"] for c in store.calls(run_id)]


async def test_a_step_perceives_plans_walks_and_is_stored_and_a_stopped_run_resumes(tmp_path, town):
    model = ScriptedModel([Step(["3"]), Step([PLAN]), Step(["4"])])  # the stove is out of sight at first
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        run_id = start_town_run(store, "tiny", model, {})
        sim = Simulation(town, model, get_embedder("scripted"), store, run_id)
        first = await sim.run(10 / 60)
    model.assert_done()
    assert (first.steps, first.stopped_by, first.time) == (1, "done", datetime(2025, 2, 14, 7, 10))
    with Store(path, readonly=True) as store:
        assert purposes(store, run_id) == ["memory-importance", "town-plan-day", "memory-importance"]
        (step,) = StoredSteps(store).steps(run_id)
    ana = step.state["agents"]["Ana"]
    assert ana["tile"] == [7, 1] and ana["target"] == "Ana house:kitchen:stove"
    assert ana["action"] == "bake bread" and step.state["objects"]["Ana house:kitchen:stove"] == "bake bread"
    assert len(ana["plan"]["chunks"]) == 5

    with Store(path) as store:  # a step killed after it made a memory
        stream = MemoryStream("Ana", get_embedder("scripted"), ScriptedModel([]), store=store, run_id=run_id)
        await stream.add("half a step", "observation", datetime(2025, 2, 14, 7, 10), importance=2)
    again = ScriptedModel([Step(["5"])])  # at the stove, Ana sees its new state
    with Store(path) as store:
        sim = Simulation(town, again, get_embedder("scripted"), store, run_id)
        assert sim.step == 1 and sim.residents["Ana"].tile == (7, 1)
        assert [m.text for m in sim.residents["Ana"].memories.records][:2] == [
            "Ana bakes bread.", "Ana will sell bread today."
        ]  # fmt: skip
        second = await sim.run(20 / 60)
        assert [s.step for s in StoredSteps(store).steps(run_id)] == [1, 2]
    again.assert_done()
    assert second.steps == 2 and second.time == datetime(2025, 2, 14, 7, 20)
    notes = [m.text for m in sim.residents["Ana"].memories.records if m.kind == "observation"]
    assert notes[-1] == "Ana house:kitchen:stove is bake bread"
    assert "half a step" not in notes


async def test_the_token_budget_stops_the_run_at_the_end_of_a_step(tmp_path, town):
    model = ScriptedModel([Step(["3"]), Step([PLAN]), Step(["4"])])
    with Store(tmp_path / "s.sqlite") as store:
        run_id = start_town_run(store, "tiny", model, {})
        sim = Simulation(town, model, get_embedder("scripted"), store, run_id)
        done = await sim.run(5, budget=TownBudget(tokens=10))
        assert done.stopped_by == "budget: tokens" and done.steps == 1
        assert len(StoredSteps(store).steps(run_id)) == 1


def test_a_plans_place_is_the_known_address_that_names_it_best():
    from ponder.town.resident import place_for

    known = [
        "Ana house",
        "Ana house:kitchen",
        "Ana house:kitchen:stove",
        "Lantern Cafe",
        "Lantern Cafe:counter",
    ]
    assert place_for("the stove", known, "Ana house") == "Ana house:kitchen:stove"
    assert place_for("Lantern Cafe", known, "Ana house") == "Lantern Cafe"
    assert place_for("cafe counter", known, "Ana house") == "Lantern Cafe:counter"
    assert place_for("the moon", known, "Ana house") == "Ana house"


def test_an_agent_knows_the_towns_places_and_its_own_home_but_not_the_others_rooms():
    from ponder.town.load import default_town
    from ponder.town.simulate import known_at_start

    town = default_town()
    known = known_at_start(town, town.personas["Rosa Delgado"].home)
    assert "Lantern Cafe" in known and "Delgado house:kitchen:stove" in known
    assert "Okafor house" in known and not any(k.startswith("Okafor house:") for k in known)


@pytest.mark.live
async def test_a_step_of_the_tiny_town_on_the_embedded_model(tmp_path, town):
    from ponder.models import get_model

    model = get_model("local")
    with Store(tmp_path / "s.sqlite") as store:
        run_id = start_town_run(store, "tiny", model, {})
        sim = Simulation(town, model, get_embedder("local"), store, run_id)
        done = await sim.run(10 / 60)
        (step,) = StoredSteps(store).steps(run_id)
        kinds = [m.kind for m in sim.residents["Ana"].memories.records]
        assert "town-plan-day" in purposes(store, run_id)
    assert done.steps == 1 and done.tokens > 0
    assert kinds[:2] == ["observation", "observation"] and "plan" in kinds  # facts, seed, the day's plan
    assert 5 <= len(step.state["agents"]["Ana"]["plan"]["chunks"]) <= 8


async def test_an_idle_object_is_rated_without_a_call(tmp_path):
    from tests.town_files import write_town

    near = "#########\n#abbbbbb#\n#aaaaaaa#\n#########\n"  # Ana starts in the kitchen, the stove in sight
    town = load_town(write_town(tmp_path / "near", near, AGENTS.replace("[1, 1]", "[5, 1]"), SCENARIO))
    model = ScriptedModel([Step(["3"]), Step([PLAN]), Step(["4"])])  # the fact, the plan, the plan's note
    with Store(tmp_path / "s.sqlite") as store:
        run_id = start_town_run(store, "near", model, {})
        sim = Simulation(town, model, get_embedder("scripted"), store, run_id)
        await sim.run(10 / 60)
    model.assert_done()
    idle = [m for m in sim.residents["Ana"].memories.records if m.text == "Ana house:kitchen:stove is idle"]
    assert len(idle) == 1 and idle[0].importance == 1


async def test_only_agents_awake_and_in_sight_of_each_other_decide_whether_to_talk(tmp_path):
    from ponder.town.schedule import PlanItem

    two = agents(agent("Ana"), agent("Ben", "[2, 1]"))
    town = load_town(write_town(tmp_path / "two", MAP, two, SCENARIO))
    now = datetime(2025, 2, 14, 9)
    decide = Step(
        [json.dumps({"reason": "Ben is reading", "talk": False})],
        expect=lambda r: "Ana is bake bread. Ana sees Ben. Ben is read." in r.messages[-1].content,
    )
    model = ScriptedModel([decide])
    with Store(tmp_path / "s.sqlite") as store:
        sim = Simulation(
            town, model, get_embedder("scripted"), store, start_town_run(store, "two", model, {})
        )
        ana, ben = sim.residents["Ana"], sim.residents["Ben"]
        await sim.talk(now)  # no plans: both asleep
        ana.chunks = [PlanItem(now, 60, "bake bread", "stove")]
        ben.chunks = [PlanItem(now, 60, "sleep", "bed")]
        await sim.talk(now)  # Ben asleep
        ben.chunks = [PlanItem(now, 60, "read", "home")]
        await sim.talk(now)
        model.assert_done()
        assert purposes(store, sim.run_id) == ["town-talk-decide"] and ana.said == ben.said == []


async def test_a_rerun_through_the_cache_takes_the_same_steps_without_calling_the_model(tmp_path, town):
    from ponder.models.cached import CachedModel

    def steps_and_memories(store: Store, sim: Simulation) -> tuple[list, list]:
        steps = [(s.step, s.time, s.state) for s in StoredSteps(store).steps(sim.run_id)]
        ana = sim.residents["Ana"].memories.records
        return steps, [(m.text, m.kind, m.importance, m.created) for m in ana]

    first = ScriptedModel([Step(["3"]), Step([PLAN]), Step(["4"]), Step(["5"])])
    with Store(tmp_path / "s.sqlite") as store:
        runs = []
        for model in (first, ScriptedModel([])):  # the second answers nothing: every call is a hit
            cached = CachedModel(model, store)
            sim = Simulation(
                town, cached, get_embedder("scripted"), store, start_town_run(store, "tiny", cached, {})
            )
            await sim.run(20 / 60)
            runs.append(steps_and_memories(store, sim))
        first.assert_done()
        hits = [c["cached"] for c in store.calls(sim.run_id)]
    assert runs[0] == runs[1] and len(runs[0][0]) == 2
    assert hits == [1, 1, 1, 1]


async def test_what_an_agent_is_told_between_steps_is_reacted_to_at_the_next_step(tmp_path, town):
    from ponder.town.interview import tell

    path = tmp_path / "s.sqlite"
    model = ScriptedModel([Step(["3"]), Step([PLAN]), Step(["4"])])
    with Store(path) as store:
        run_id = start_town_run(store, "tiny", model, {})
        await Simulation(town, model, get_embedder("scripted"), store, run_id).run(10 / 60)
        stream = MemoryStream("Ana", get_embedder("scripted"), model, store=store, run_id=run_id)
        await tell(
            stream, "I should sell bread at the market", datetime(2025, 2, 14, 7, 9, 59), inner_voice=True
        )
    market = {"chunks": [{"at": "07:10", "action": "sell bread", "where": "market"}]}
    again = ScriptedModel(
        [
            Step(["5"]),  # the stove's new state
            Step(
                [json.dumps({"why": "Ana wants to sell bread", "react": True})],
                expect=lambda r: "Ana thinks: I should sell bread at the market" in r.messages[-1].content,
            ),
            Step([json.dumps(market)]),
            Step(["6"]),  # the new plan's note
        ]
    )
    with Store(path) as store:
        sim = Simulation(town, again, get_embedder("scripted"), store, run_id)
        await sim.run(30 / 60)  # two more steps: the thought is reacted to once
        again.assert_done()
        assert purposes(store, run_id)[3:] == [
            "memory-importance",
            "town-react",
            "town-replan",
            "memory-importance",
        ]
    ana = sim.residents["Ana"]
    assert ana.activity(datetime(2025, 2, 14, 7, 20)) == "sell bread"
    assert "changed plans at 07:10 because Ana wants to sell bread" in ana.memories.records[-1].text


async def test_agents_pair_off_to_talk_and_each_pair_holds_its_own_conversation(tmp_path):
    from ponder.town.schedule import PlanItem

    four = agents(*(agent(name, f"[{x}, 1]") for x, name in enumerate(("Ana", "Ben", "Cal", "Dee"), 1)))
    town = load_town(write_town(tmp_path / "four", MAP, four, SCENARIO))
    now = datetime(2025, 2, 14, 9)

    def said(text: str, end: bool) -> list[Step]:  # an utterance, then its rating in both streams
        return [
            Step([json.dumps({"thought": "say hello", "utterance": text, "end": end})]),
            Step(["4"]),
            Step(["4"]),
        ]

    def chat(a: str, b: str) -> list[Step]:
        keep_on = json.dumps({"why": "nothing changes", "react": False})
        return [*said(f"Hi {b}!", False), *said(f"Bye {a}.", True), Step([keep_on]), Step([keep_on])]

    yes = json.dumps({"reason": "a neighbour", "talk": True})
    model = ScriptedModel(
        [
            Step([yes], expect=lambda r: "Ana sees Ben" in r.messages[-1].content),
            Step([yes], expect=lambda r: "Cal sees Dee" in r.messages[-1].content),  # Ana and Ben are busy
            *chat("Ana", "Ben"),
            *chat("Cal", "Dee"),
        ]
    )
    with Store(tmp_path / "s.sqlite") as store:
        sim = Simulation(
            town, model, get_embedder("scripted"), store, start_town_run(store, "four", model, {})
        )
        for r in sim.residents.values():
            r.chunks = [PlanItem(now, 60, "read", "home")]
        await sim.talk(now)
        model.assert_done()
        no = json.dumps({"reason": "busy", "talk": False})
        sim.model = later = ScriptedModel(
            [
                Step([no], expect=lambda r, pair=pair: f"{pair[0]} sees {pair[1]}" in r.messages[-1].content)
                for pair in (("Ana", "Cal"), ("Ana", "Dee"), ("Ben", "Cal"), ("Ben", "Dee"))
            ]
        )  # within the hour the pairs that talked do not ask again; the others do
        await sim.talk(now + timedelta(minutes=30))
        later.assert_done()
    r = sim.residents
    assert (r["Ana"].said, r["Ben"].said, r["Cal"].said, r["Dee"].said) == (
        ["Hi Ben!"], ["Bye Ana."], ["Hi Dee!"], ["Bye Cal."]
    )  # fmt: skip
    assert r["Ana"].last_talk == {"Ben": now} and r["Dee"].last_talk == {"Cal": now}
    assert [m.text for m in r["Ben"].memories.records] == ["Ana said: Hi Ben!", "Ben said to Ana: Bye Ana."]


async def test_the_first_step_seeds_facts_acquaintances_and_the_scenario(tmp_path):
    town = load_town(
        write_town(
            tmp_path / "two",
            MAP,
            agents(agent("Ana", relationships="{Ben: her brother}"), agent("Ben")),
            SCENARIO,
        )
    )
    model = ScriptedModel(
        [
            Step(["3"]),
            Step(["6"], expect=lambda r: "Ana knows Ben: her brother" in r.messages[-1].content),
            Step(["2"]),
        ]
    )
    with Store(tmp_path / "s.sqlite") as store:
        sim = Simulation(
            town, model, get_embedder("scripted"), store, start_town_run(store, "two", model, {})
        )
        await sim.seed()
    model.assert_done()
    ana = [(m.text, m.importance) for m in sim.residents["Ana"].memories.records]
    assert ana == [
        ("Ana bakes bread.", 3),
        ("Ana knows Ben: her brother", 6),
        ("Ana will sell bread today.", 8),
    ]
    assert [m.text for m in sim.residents["Ben"].memories.records] == ["Ben bakes bread."]
