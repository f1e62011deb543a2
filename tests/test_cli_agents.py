"""`ponder agents chat`: a conversation from a YAML file, run on scripted models, stored, printed
with each agent's cost; bad files fail naming the file and the field, exit 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ponder.cli import app
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store
from ponder.types import ModelCall

runner = CliRunner()

TWO = """
agents:
  - name: user_proxy
    code_execution: true
    default_reply: Write the code block.
  - name: assistant
    system_message: Solve it with a python code block, then say TERMINATE.
    model: writer
    max_tokens: 128
chat:
  max_turns: 4
budget:
  tokens: 1000
"""


@pytest.mark.sandbox
def test_a_two_agent_chat_runs_code_is_stored_and_prints_the_costs(tmp_path, cli_models):
    spec = tmp_path / "agents.yaml"
    spec.write_text(TWO, encoding="utf-8")
    writer = ScriptedModel(
        [
            Step(["```python\nprint(6 * 7)\n```"], expect={"max_tokens": 128}),
            Step(["The answer is 42. TERMINATE"]),
        ]
    )
    cli_models({"writer": writer})
    store = tmp_path / "s.sqlite"
    res = runner.invoke(
        app, ["agents", "chat", "--agents", str(spec), "-m", "What is 6*7?", "--store", str(store)]
    )
    assert res.exit_code == 0, res.output
    assert "stopped: termination message; stored as run 1" in res.output
    assert "exit code: 0" in res.output and "42" in res.output
    assert "user_proxy  0  0  0  0  1" in res.output  # one execution, no model call
    with Store(store, readonly=True) as s:
        (run,) = s.runs()
        (result,) = s.results(run["id"])
    assert (
        run["kind"] == "chat"
        and run["model"] == "writer"
        and result.reasoning == "The answer is 42. TERMINATE"
    )
    writer.assert_done()


def test_a_group_chat_from_yaml(tmp_path, cli_models):
    spec = tmp_path / "group.yaml"
    spec.write_text(
        """
agents:
  - {name: planner, model: m, max_tokens: 16}
  - {name: solver, model: m, max_tokens: 16}
chat: {group: true, max_round: 3, speaker_selection: round_robin}
""",
        encoding="utf-8",
    )
    cli_models(ScriptedModel([Step(["plan: add"]), Step(["sum is 5"])]))
    res = runner.invoke(
        app, ["agents", "chat", "--agents", str(spec), "-m", "2+3?", "--store", str(tmp_path / "s.db")]
    )
    assert res.exit_code == 0, res.output
    assert "stopped: max round" in res.output and "manager" in res.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("agents: []", "agents: List should have at least 2 items"),
        (
            "agents:\n  - {name: a}\n  - {name: b, colour: red}",
            "agents.1.colour: Extra inputs are not permitted",
        ),
        ("agents:\n  - {name: a}\n  - {name: a}", "two agents have the same name"),
        ("agents:\n  - {name: a}\n  - {name: b}\n  - {name: c}", "set chat.group for more"),
        ("agents:\n  - {name: 'a b'}\n  - {name: b}", "agents.0.name: String should match pattern"),
        ("agents:\n  - {name: a, human_input_mode: sometimes}\n  - {name: b}", "agents.0.human_input_mode"),
        ("agents: [", "not YAML"),
        ("budget: {tokens: 0}\nagents:\n  - {name: a}\n  - {name: b}", "budget.tokens"),
        ("agents:\n  - {name: a, tools: ['nowhere:thing']}\n  - {name: b}", "tool 'nowhere:thing'"),
    ],
)
def test_bad_agent_files_name_the_field_and_exit_2(tmp_path, text, message, cli_models):
    cli_models(ScriptedModel([]))
    spec = tmp_path / "bad.yaml"
    spec.write_text(text, encoding="utf-8")
    res = runner.invoke(
        app, ["agents", "chat", "--agents", str(spec), "-m", "hi", "--store", str(tmp_path / "s.db")]
    )
    assert res.exit_code == 2, res.output
    assert message in res.output and f"{spec}: " in res.output
    assert "Traceback" not in res.output


def test_a_missing_or_binary_agents_file_is_one_line(tmp_path):
    missing = runner.invoke(app, ["agents", "chat", "--agents", str(tmp_path / "none.yaml"), "-m", "hi"])
    assert missing.exit_code == 2 and "none.yaml: no such file" in missing.output
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00agents")
    res = runner.invoke(app, ["agents", "chat", "--agents", str(binary), "-m", "hi"])
    assert res.exit_code == 2 and "not UTF-8" in res.output


@pytest.mark.sandbox
def test_agents_run_compares_the_application_with_its_baselines_in_one_report(tmp_path, cli_models, data_dir):
    model = ScriptedModel(
        [
            Step(["16 - 3 - 4 = 9 eggs, 9 * 2 = 18."]),  # cot: the chain
            Step(["18"]),  # cot: the answer read from it
            Step(["```python\nprint((16 - 3 - 4) * 2)\n```"]),  # agent-math's assistant
            Step(["The output is 18. The answer is 18. TERMINATE"]),
        ]
    )
    cli_models(model)
    store, out = tmp_path / "s.sqlite", tmp_path / "report"
    res = runner.invoke(
        app,
        ["agents", "run", "math", "--strategies", "cot,agent-math", "--limit", "1", "--max-tokens", "64",
         "--store", str(store), "--out", str(out), "--data-dir", str(data_dir)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    model.assert_done()
    assert "run 1 cot: 1/1 correct" in res.output and "run 2 agent-math: 1/1 correct" in res.output
    assert (out / "report.html").is_file()
    with Store(store, readonly=True) as s:
        assert [r["strategy"] for r in s.runs()] == ["cot", "agent-math"]
        assert all('"task": "gsm8k:test"' in r["config"] for r in s.runs())
        (agent,) = s.results(2)
    calls = [e for e in agent.trace if isinstance(e, ModelCall)]
    assert len(calls) == 2 and all(c.request.max_tokens <= 64 for c in calls)


def test_agents_run_names_an_unknown_application_and_a_bad_strategy_list(tmp_path):
    res = runner.invoke(app, ["agents", "run", "poker", "--store", str(tmp_path / "s.sqlite")])
    assert res.exit_code == 2 and "unknown application 'poker'" in res.output
    assert "math, rag, coding, groupchat, chess" in res.output
    res = runner.invoke(
        app, ["agents", "run", "math", "--strategies", "cot,nope", "--store", str(tmp_path / "s.sqlite")]
    )
    assert res.exit_code == 2 and "unknown strategy 'nope'" in res.output


def test_agents_run_chess_plays_stored_games_and_prints_their_end(tmp_path, cli_models):
    model = ScriptedModel([Step(["e5"], expect={"max_tokens": 8}), Step(["1. e4"]), Step(["d4"])])
    cli_models(model)
    store = tmp_path / "s.sqlite"
    res = runner.invoke(
        app,
        ["agents", "run", "chess", "--max-plies", "3", "--max-tokens", "8", "--store", str(store)],
    )
    assert res.exit_code == 0, res.output
    model.assert_done()
    assert "run 1: * by move limit after 3 moves; rejected moves: white 1, black 0" in res.output
    assert res.output.count("e4") >= 1 and "d4" in res.output
    with Store(store, readonly=True) as s:
        (game,) = s.results(1)
    assert game.details.moves[0] == "e4" and game.details.illegal == (("white", 1), ("black", 0))
    res = runner.invoke(app, ["agents", "run", "chess", "--opponent", "stockfish", "--store", str(store)])
    assert res.exit_code == 2 and "unknown opponent 'stockfish'" in res.output


def test_agents_run_rag_asks_one_question_over_a_folder_and_prints_the_citations(tmp_path, cli_models):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "fares.md").write_text("A day pass costs 11 crowns in all zones.\n", encoding="utf-8")
    (docs / "trees.md").write_text("Oaks grow slowly on the northern hills.\n", encoding="utf-8")
    model = ScriptedModel(
        [
            Step(
                ["A day pass costs 11 crowns [fares.md#1]. The answer is 11."],
                expect=lambda r: "[fares.md#1]" in r.messages[-1].content,
            )
        ]
    )
    cli_models(model)
    store = tmp_path / "s.sqlite"
    res = runner.invoke(
        app,
        ["agents", "run", "rag", "-q", "How much is a day pass?", "--docs", str(docs), "--embedder", "scripted",
         "--passages", "1", "--store", str(store)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "stopped: termination message; cited: fares.md#1; stored as run 1" in res.output
    with Store(store, readonly=True) as s:
        (chat,) = s.results(1)
    assert chat.details.retrieved == ("fares.md#1",) and chat.details.cited == ("fares.md#1",)
    res = runner.invoke(
        app, ["agents", "run", "rag", "-q", "?", "--docs", str(tmp_path / "none"), "--store", str(store)]
    )
    assert res.exit_code == 2 and "none" in res.output
    res = runner.invoke(app, ["agents", "run", "coding", "-q", "?", "--store", str(store)])
    assert res.exit_code == 2 and "--question and --docs are for rag only" in res.output
