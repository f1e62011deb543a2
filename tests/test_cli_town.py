"""`ponder town run|interview|tell` on a one-agent town and the scripted model and embedder: a
run is stored and resumed, an interview answers from the last step without changing the run, an
inner-voice thought goes into the agent's memory; bad input is one line, exit 2."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.test_town_simulate import PLAN, town  # noqa: F401  (the one-agent town fixture)
from typer.testing import CliRunner

from ponder.cli import app
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store, StoredMemories, StoredMemory, StoredSteps

runner = CliRunner()
LAST = datetime(2025, 2, 14, 7, 20)


def test_run_resume_interview_and_tell(tmp_path, cli_models, town):  # noqa: F811
    folder = str(tmp_path / "tiny")
    store = tmp_path / "s.sqlite"
    common = ["--town", folder, "--store", str(store), "--embedder", "scripted"]
    cli_models(ScriptedModel([Step(["3"]), Step([PLAN]), Step(["4"])]))
    res = runner.invoke(app, ["town", "run", "--hours", str(10 / 60), *common])
    assert res.exit_code == 0, res.output
    assert "run 1: 1 steps, at 2025-02-14 07:10" in res.output and "stopped: done" in res.output

    cli_models(ScriptedModel([Step(["5"])]))
    res = runner.invoke(app, ["town", "run", "--hours", str(20 / 60), "--resume", "1", *common])
    assert res.exit_code == 0, res.output
    assert "run 1: 2 steps, at 2025-02-14 07:20" in res.output
    res = runner.invoke(app, ["town", "costs", "1", "--store", str(store)])
    assert res.exit_code == 0, res.output
    row = res.output.splitlines()[1].split()  # hour, steps, wall (N s), calls, cached, tokens
    assert row[:3] == ["Fri", "07:00", "2"] and row[4:7] == ["s", "4", "0"]
    assert "1 simulated hours, 2 steps" in res.output and "4 calls (0 from the cache)" in res.output

    with Store(store, readonly=True) as s:
        before = [(m.number, m.last_accessed) for m in StoredMemories(s).memories(1, "Ana")]
    cli_models(
        ScriptedModel(
            [
                Step(
                    ["I bake bread and sell it today."],
                    expect=lambda r: "Is anyone selling bread?" in r.messages[0].content,
                )
            ]
        )
    )
    res = runner.invoke(app, ["town", "interview", "1", "Ana", "Is anyone selling bread?", *common])
    assert res.exit_code == 0, res.output
    assert "[Fri 07:20] Ana: I bake bread and sell it today." in res.output
    with Store(store, readonly=True) as s:
        assert [(m.number, m.last_accessed) for m in StoredMemories(s).memories(1, "Ana")] == before

    with Store(store) as s:  # a step killed after it made a memory
        StoredMemories(s).add_memory(
            1, StoredMemory("Ana", 6, "observation", "half a step", LAST, LAST, 2, (), (0.0,) * 64)
        )
    cli_models(ScriptedModel([]))
    res = runner.invoke(app, ["town", "tell", "1", "Ana", "I should invite Ben", "--inner-voice", *common])
    assert res.exit_code == 0, res.output
    with Store(store, readonly=True) as s:
        kept = StoredMemories(s).memories(1, "Ana")
        assert (kept[-1].text, kept[-1].importance, kept[-1].created) == (
            "Ana thinks: I should invite Ben",
            8,
            LAST - timedelta(seconds=1),
        )
        assert "half a step" not in [m.text for m in kept]
        assert len(StoredSteps(s).steps(1)) == 2


def test_bad_town_input_is_one_line_and_exit_2(tmp_path, cli_models, town):  # noqa: F811
    cli_models(ScriptedModel([]))
    common = [
        "--town",
        str(tmp_path / "tiny"),
        "--store",
        str(tmp_path / "s.sqlite"),
        "--embedder",
        "scripted",
    ]
    res = runner.invoke(app, ["town", "interview", "7", "Ana", "hi?", *common])
    assert res.exit_code == 2 and "run 7 is not a town run" in res.output
    res = runner.invoke(app, ["town", "costs", "7", "--store", str(tmp_path / "s.sqlite")])
    assert res.exit_code == 2 and "run 7 is not a town run" in res.output
    res = runner.invoke(
        app, ["town", "run", "--town", str(tmp_path / "nowhere"), "--store", str(tmp_path / "s.sqlite")]
    )
    assert res.exit_code == 2 and "nowhere" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["town", "run", "--hours", "0", *common])
    assert res.exit_code == 2 and "--hours" in res.output


def test_run_measures_at_fixed_times_and_measures_lists_them(tmp_path, cli_models, town):  # noqa: F811
    store = tmp_path / "s.sqlite"
    common = ["--town", str(tmp_path / "tiny"), "--store", str(store), "--embedder", "scripted"]
    cli_models(
        ScriptedModel([Step(["3"]), Step([PLAN]), Step(["4"]), Step(["5"])])
    )  # one agent: no interview to make
    res = runner.invoke(
        app, ["town", "run", "--hours", str(20 / 60), "--measure-every", str(10 / 60), *common]
    )
    assert res.exit_code == 0, res.output
    with Store(store, readonly=True) as s:
        measured = [r for r in s.runs() if r["kind"] == "town-measure"]
    assert len(measured) == 2
    res = runner.invoke(
        app, ["town", "measures", "1", "--town", str(tmp_path / "tiny"), "--store", str(store)]
    )
    assert res.exit_code == 0, res.output
    assert res.output.splitlines() == ["Fri 07:10  bread 100%", "Fri 07:20  bread 100%"]
    res = runner.invoke(
        app, ["town", "measures", "2", "--town", str(tmp_path / "tiny"), "--store", str(store)]
    )
    assert res.exit_code == 2 and "run 2 is not a town run" in res.output
