"""The ablation: a condition hides the memories of the kinds it removes (or all of them) from
retrieval; `ponder town ablate` interviews under every condition, judges each pair of answers in
both orders in the arena, stores the battles and prints the conditions' ratings."""

from __future__ import annotations

import asyncio
from datetime import datetime

from tests.test_town_simulate import town  # noqa: F401  (the one-agent town fixture)
from typer.testing import CliRunner

from ponder.cli import app
from ponder.embeddings import get_embedder
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store
from ponder.town.ablation import CONDITIONS, QUESTIONS, AblatedMemories
from ponder.town.memory import MemoryStream

NOW = datetime(2025, 2, 14, 9, 0)


def await_add(stream: MemoryStream, text: str, kind: str) -> None:
    """Add a memory (importance given: no model call) from a test that is not async."""
    asyncio.run(stream.add(text, kind, NOW, importance=5))


async def test_a_condition_retrieves_only_the_kinds_it_keeps():
    stream = MemoryStream("Ana", get_embedder("scripted"), ScriptedModel([]))
    await stream.add("Ana bakes bread", "observation", NOW, importance=3)
    await stream.add("Ana plans to bake bread at noon", "plan", NOW, importance=5)
    await stream.add("Ana is a devoted baker of bread", "reflection", NOW, importance=7, evidence=(1,))
    kinds = {}
    for name, keep in CONDITIONS.items():
        found = await AblatedMemories(stream, keep).retrieve("bread", NOW, k=10)
        kinds[name] = sorted(s.memory.kind for s in found)
    assert kinds == {
        "full": ["observation", "plan", "reflection"],
        "no reflection": ["observation", "plan"],
        "no reflection, no planning": ["observation"],
        "no memory": [],
    }
    assert [m.kind for m in AblatedMemories(stream, CONDITIONS["no reflection"]).latest(5)] == [
        "observation",
        "plan",
    ]


def test_ponder_town_ablate_judges_every_pair_and_ranks_the_conditions(tmp_path, cli_models, town):  # noqa: F811
    store = tmp_path / "s.sqlite"
    with Store(store) as s:
        run_id = s.start_run("town", "scripted", "town", {"task": "town:Tiny"})
        stream = MemoryStream("Ana", get_embedder("scripted"), ScriptedModel([]), store=s, run_id=run_id)
        for text, kind in (
            ("Ana bakes bread", "observation"),
            ("Ana plans to sell bread", "plan"),
            ("Ana loves baking", "reflection"),
        ):
            await_add(stream, text, kind)
    interviews = [Step([f"answer {i}"]) for i in range(len(QUESTIONS) * len(CONDITIONS))]
    pairs = len(QUESTIONS) * 6
    verdicts = [
        Step([v]) for _ in range(pairs) for v in ("[[A]]", "[[B]]")
    ]  # the earlier condition wins in both orders
    model = ScriptedModel([*interviews, *verdicts])
    cli_models(model)
    res = CliRunner().invoke(
        app,
        [
            "town",
            "ablate",
            str(run_id),
            "--town",
            str(tmp_path / "tiny"),
            "--store",
            str(store),
            "--embedder",
            "scripted",
        ],
    )
    assert res.exit_code == 0, res.output
    model.assert_done()
    assert f"{pairs} battles in arena town-ablation/{run_id}" in res.output
    ranked = [line.split(":")[0] for line in res.output.splitlines() if "battles, win rate" in line]
    assert ranked == ["full", "no reflection", "no reflection, no planning", "no memory"]
    with Store(store, readonly=True) as s:
        assert len(s.battles(f"town-ablation/{run_id}")) == pairs


def test_ablating_an_agent_the_town_lacks_is_one_line_and_exit_2(tmp_path, cli_models, town):  # noqa: F811
    store = tmp_path / "s.sqlite"
    with Store(store) as s:
        run_id = s.start_run("town", "scripted", "town", {"task": "town:Tiny"})
    cli_models(ScriptedModel([]))
    args = [
        "town",
        "ablate",
        str(run_id),
        "--agent",
        "Nobody",
        "--town",
        str(tmp_path / "tiny"),
        "--store",
        str(store),
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2 and "--agent 'Nobody': no such agent; the town's are Ana" in res.output
