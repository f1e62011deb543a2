"""The town's measurements: diffusion, density and attendance as pure functions on worked
examples; `ponder town measure` interviews and judges every agent (scripted), stores the
judgements as a run, and prints the figures."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.test_town_simulate import MAP, town  # noqa: F401  (the one-agent town fixture)
from tests.town_files import write_town
from typer.testing import CliRunner

from ponder.cli import app
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store, TownStep
from ponder.town.load import SeedFact, load_town
from ponder.town.measure import Judged, attendance, density, diffusion

START = datetime(2025, 2, 14, 7, 0)
PARTY = SeedFact(
    "party", "Ana", "Ana holds a party in her kitchen at 9:00.", "Any party?", "Ana house:kitchen", START
)
ELECTION = SeedFact("election", "Ben", "Ben runs for mayor.", "Anyone running for mayor?")


def j(agent: str, about: str, knows: bool) -> Judged:
    return Judged(agent, about, "?", "…", knows)


def test_diffusion_counts_the_seeder_and_the_agents_judged_to_know():
    judged = [
        j("Ben", "party", True),
        j("Cy", "party", False),
        j("Ana", "election", False),
        j("Cy", "election", True),
    ]
    shares = diffusion(judged, [PARTY, ELECTION], ["Ana", "Ben", "Cy", "Dee"])
    assert shares == {"party": 2 / 4, "election": 2 / 4}
    assert diffusion([], [PARTY], ["Ana", "Ben"]) == {"party": 0.5}


def test_density_is_the_share_of_ordered_pairs_known():
    judged = [
        j("Ana", "knows:Ben", True),
        j("Ben", "knows:Ana", False),
        j("Cy", "knows:Ana", True),
        j("Cy", "party", True),
    ]
    assert density(judged, ["Ana", "Ben", "Cy"]) == 2 / 6
    assert density([], ["Ana"]) == 0.0


def test_attendance_reads_who_stood_in_the_place_at_the_time(tmp_path, town):  # noqa: F811
    world = town.world
    steps = [
        TownStep(1, START - timedelta(minutes=10), {"agents": {"Ana": {"tile": [7, 1]}}}),
        TownStep(
            2, START + timedelta(minutes=10), {"agents": {"Ana": {"tile": [7, 1]}, "Ben": {"tile": [1, 1]}}}
        ),
    ]
    assert attendance(steps, world, "Ana house:kitchen", START, ["Ana", "Ben"]) == ["Ana"]
    assert attendance(steps, world, "Ana house:kitchen", START + timedelta(hours=1), ["Ana"]) == []


AGENTS = """agents:
  - {name: Ana, age: 30, traits: calm, facts: [Ana bakes bread.], lifestyle: Ana wakes at 7., home: Ana house, start: [1, 1], relationships: {Ben: a friend}}
  - {name: Ben, age: 31, traits: shy, facts: [Ben fixes bikes.], lifestyle: Ben wakes at 8., home: Ana house, start: [2, 1], relationships: {}}
"""
SCENARIO = """name: Two
start: "2025-02-14 07:00"
facts:
  - id: bread
    agent: Ana
    text: Ana sells bread at 8:00 in her kitchen.
    question: Is anyone selling bread?
  - id: party
    agent: Ana
    text: Ana holds a party in her kitchen tonight.
    question: Is there a party coming up?
    keys: [kitchen, Ana]
"""


def test_an_answer_knows_a_fact_with_keys_only_when_it_names_one():
    from ponder.town.measure import names_a_key

    assert names_a_key("The party is at Lantern Cafe", ["lantern", "17:00"])
    assert not names_a_key("There is a party at the school at 10:00", ["Lantern", "17:00"])
    assert names_a_key("anything", [])


def test_ponder_town_measure_interviews_judges_stores_and_prints(tmp_path, cli_models):
    folder = write_town(tmp_path / "two", MAP, AGENTS, SCENARIO)
    load_town(folder)
    store = tmp_path / "s.sqlite"
    with Store(store) as s:
        run_id = s.start_run("town", "scripted", "town", {"task": "town:Two"})
    judge = lambda r: r.response_format is not None and r.response_format.name == "verdict"  # noqa: E731
    model = ScriptedModel(
        [
            Step(["Ben? Never heard of him."]),  # Ana about Ben (the agents in turn: nothing waits)
            Step(['{"knows": false}'], expect=judge),
            Step(
                ["Ana sells bread in the morning."],
                expect=lambda r: "Is anyone selling bread?" in r.messages[0].content,
            ),
            Step(['{"knows": true}'], expect=judge),
            Step(["Yes, at the park on Sunday."]),  # Ben on the party: names no key
            Step(['{"knows": true}'], expect=judge),  # the judge passes it; the keys do not
            Step(["Ana is the baker next door."]),  # Ben about Ana
            Step(['{"knows": true}'], expect=judge),
        ]
    )
    cli_models(model)
    res = CliRunner().invoke(
        app,
        [
            "town",
            "measure",
            str(run_id),
            "--town",
            str(folder),
            "--store",
            str(store),
            "--embedder",
            "scripted",
        ],
    )
    assert res.exit_code == 0, res.output
    model.assert_done()
    assert "bread: known by 100% of the agents" in res.output
    assert (
        "party: known by 50% of the agents (the judge also passed Ben, naming none of its keys)" in res.output
    )
    assert "relationship density: 50% of ordered pairs" in res.output
    listed = CliRunner().invoke(
        app, ["town", "measures", str(run_id), "--town", str(folder), "--store", str(store)]
    )
    assert listed.output.splitlines() == ["Fri 07:00  bread 100%, party 50%, density 50%"]
    with Store(store, readonly=True) as s:
        measured = [r for r in s.runs() if r["kind"] == "town-measure"]
        results = s.results(measured[0]["id"])
    assert [(r.task.id, r.correct) for r in results] == [
        ("knows:Ben/Ana", False),
        ("bread/Ben", True),
        ("party/Ben", False),
        ("knows:Ana/Ben", True),
    ]


def test_stored_judgements_count_only_answers_that_name_a_key(tmp_path):
    from ponder.town.runs import measurements_of
    from ponder.types import Compute, Result, Task, Trace

    folder = write_town(tmp_path / "two", MAP, AGENTS, SCENARIO)
    with Store(tmp_path / "s.sqlite") as s:
        run_id = s.start_run("town", "scripted", "town", {"task": "town:Two"})
        at = "2025-02-14T09:00:00"
        measured = s.start_run(
            "town-measure", "scripted", "interview", {"task": f"town-run:{run_id}", "at": at}
        )
        for about, answer in (("bread", "Ana sells bread"), ("party", "Yes, at the park on Sunday.")):
            task = Task(f"{about}/Ben", "?", None, "open")
            s.add_result(
                measured, Result(task, "interview", answer, answer, True, Trace(()), Compute(seconds=0.0))
            )
        (m,) = measurements_of(s, run_id, folder)
        assert (m.at, m.diffusion, m.density) == (
            datetime(2025, 2, 14, 9),
            {"bread": 1.0, "party": 0.5},
            None,
        )
