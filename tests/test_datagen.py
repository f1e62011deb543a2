"""Reasoning data (`ponder.datagen`, `ponder data`): rejection sampling against the strict scripted
model, the row formats and their provenance, and the JSONL file."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ponder.cli import app
from ponder.datagen.rejection import Chain, reject, select_chains
from ponder.datagen.rows import provenance_of, stepwise_row, write_jsonl
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store

runner = CliRunner()


def chain(text: str, tokens: int, correct: bool, item: str = "a") -> Chain:
    return Chain(item, "q", text, tokens, "1" if correct else "2", correct)


def test_select_keeps_the_shortest_correct_chain_or_every_distinct_correct_one():
    chains = [
        chain("long right", 30, True),
        chain("wrong", 5, False),
        chain("short right", 10, True),
        chain("short  right", 10, True),
        chain("tie right", 10, True),
    ]
    assert [c.text for c in select_chains(chains, "shortest")] == ["short right"]
    assert [c.text for c in select_chains(chains, "all")] == ["long right", "short right", "tie right"]
    assert select_chains([chain("wrong", 5, False)]) == []
    with pytest.raises(ValueError, match="select must be one of shortest, all"):
        select_chains(chains, "longest")


def write_tasks(tmp_path):
    path = tmp_path / "train.jsonl"
    rows = [
        {"question": "Tom has 3 apples and gets 4 more. How many?", "answer": "7"},
        {"question": "What is 10 minus 4?", "answer": "6"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_reject_writes_the_shortest_correct_chain_per_item_with_provenance(cli_models, tmp_path):
    tasks = write_tasks(tmp_path)
    first = ["3 + 4 = 7. The answer is 7.", "So 3 + 4 is 8. The answer is 8.", "The answer is 7."]
    second = ["10 - 4 = 5. The answer is 5.", "The answer is 4."]
    scripted = ScriptedModel(
        [Step(first, expect={"n": 3, "temperature": 0.8}), Step(second + ["Maybe it is 9"])]
    )
    cli_models(scripted)
    out, store = tmp_path / "sft.jsonl", tmp_path / "s.sqlite"
    args = [
        "data",
        "reject",
        f"jsonl:{tasks}",
        "--k",
        "3",
        "--out",
        str(out),
        "--store",
        str(store),
        "-c",
        "1",
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    scripted.assert_done()
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 1  # the second item has no correct chain
    [row] = rows
    assert row["messages"] == [
        {
            "role": "user",
            "content": "Tom has 3 apples and gets 4 more. How many?\n\nLet's think step by step.",
        },
        {"role": "assistant", "content": "The answer is 7."},
    ]
    with Store(store) as s:
        [run] = s.runs()
    assert run["kind"] == "data-reject"
    prov = row["provenance"]
    assert prov["item"].endswith("/1") and prov["run"] == run["id"] and prov["model"] == "scripted"
    assert prov["seed"] == 0 and len(prov["config_sha256"]) == 64
    assert "2 items, 6 chains, 2 correct; 1 items kept a chain (mean yield 33.3%); 1 rows" in res.output
    assert (tmp_path / "sft.lengths.png").read_bytes()[:4] == b"\x89PNG"

    # a rerun is the same stored run: no model call, the same rows
    cli_models(ScriptedModel([]))
    again = runner.invoke(app, [*args, "--select", "all"])
    assert again.exit_code == 0, again.output
    texts = [json.loads(line)["messages"][1]["content"] for line in out.read_text().splitlines()]
    assert texts == ["3 + 4 = 7. The answer is 7.", "The answer is 7."]


def test_reject_refuses_bad_flags_by_name(cli_models, tmp_path):
    cli_models(ScriptedModel([]))
    res = runner.invoke(app, ["data", "reject", "--select", "longest"])
    assert res.exit_code == 2 and "--select 'longest': expected one of shortest, all" in res.output
    res = runner.invoke(app, ["data", "reject", "--prompt", "direct"])
    assert res.exit_code == 2 and "--prompt 'direct'" in res.output
    res = runner.invoke(app, ["data", "reject", "--k", "0"])
    assert res.exit_code == 2 and "--k" in res.output


def test_report_counts_yield_and_lengths_over_answered_items():
    from ponder.types import Completion, Compute, GenerationRequest, ModelCall, Result, Task, Trace, Usage

    def result(task, texts, tokens):
        call = ModelCall(
            GenerationRequest.chat(task.question, n=len(texts)),
            tuple(Completion(t, "stop", Usage(5, n)) for t, n in zip(texts, tokens)),
            0.1,
        )
        return Result(task, "self-consistency", None, "", None, Trace((call,)), Compute())

    a, b = Task("a", "1+1?", "2"), Task("b", "2+2?", "4")
    kept, report = reject(
        [result(a, ["2", "3", "The answer is 2."], [4, 6, 8]), result(b, ["5", "6"], [3, 3])]
    )
    assert [(c.item, c.text) for c in kept] == [("a", "2")]
    assert (
        report.yields == (2 / 3, 0.0)
        and report.all_lengths == (4, 6, 8, 3, 3)
        and report.kept_lengths == (4,)
    )
    s = report.summary()
    assert (
        s["items_with_a_kept_chain"] == 1
        and s["kept_lengths"]["max"] == 4
        and s["all_lengths"]["median"] == 4
    )


def test_rows_and_the_jsonl_file(tmp_path):
    run = {"id": 3, "model": "m", "config": json.dumps({"resolved": {"seed": 5, "k": 2}})}
    prov = provenance_of(run, "gsm8k/train/1")
    assert prov.seed == 5 and prov.run == 3 and prov.item == "gsm8k/train/1"
    row = stepwise_row("q", ["s1", "s2"], [True, False], [0.75, 0.0], prov)
    assert row["completions"] == ["s1", "s2"] and row["labels"] == [True, False]
    with pytest.raises(ValueError, match="2 steps but 1 labels"):
        stepwise_row("q", ["s1", "s2"], [True], [0.5], prov)
    path = tmp_path / "deep" / "rows.jsonl"
    assert write_jsonl(path, [row, {"x": "é"}]) == 2
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()][1] == {"x": "é"}

    def broken():
        yield row
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        write_jsonl(path, broken())
    assert len(path.read_text().splitlines()) == 2  # the old file stands whole
    assert [p.name for p in path.parent.iterdir()] == ["rows.jsonl"]


def test_an_unwritable_out_is_named(cli_models, tmp_path):
    tasks = write_tasks(tmp_path)
    cli_models(ScriptedModel([Step(["The answer is 7."]), Step(["The answer is 6."])]))
    blocker = tmp_path / "file"
    blocker.write_text("")
    res = runner.invoke(
        app,
        [
            "data",
            "reject",
            f"jsonl:{tasks}",
            "--k",
            "1",
            "--out",
            str(blocker / "x.jsonl"),
            "--store",
            str(tmp_path / "s.sqlite"),
        ],
    )
    assert res.exit_code == 2 and f"--out {blocker / 'x.jsonl'}" in res.output


CHAIN = "She has 16 - 3 - 4 = 9 eggs left.\nShe sells them at $2 each.\nSo she makes 9 * 2 = 18 dollars."
EGGS = {
    "question": "Janet has 16 eggs, eats 3 and bakes with 4, and sells the rest at $2. How much?",
    "answer": "18",
}


def test_step_labels_are_shares_of_rollouts_reaching_the_gold_answer():
    import asyncio

    from ponder.datagen.step_labels import StepLabeller, hard_labels, soft_label
    from ponder.types import Task

    assert soft_label(["18", "18.0", None, "20"], "18") == 0.5
    assert hard_labels([0.0, 0.25, 1.0]) == [False, True, True]
    assert hard_labels([0.0, 0.25, 1.0], threshold=0.5) == [False, False, True]
    with pytest.raises(ValueError, match="at least one rollout"):
        soft_label([], "18")

    task = Task("t", EGGS["question"], "18")
    first = "She has 16 - 3 - 4 = 9 eggs left."
    two = "She has 16 - 3 - 4 = 9 eggs left.\nShe sells them at $2 each."
    model = ScriptedModel(
        [
            Step([CHAIN], expect={"n": 1, "temperature": 0.7}),
            Step(
                [" 9 * 2 = 18.", " 9 + 2 = 11."], expect={"n": 2, "assistant_prefix": first, "max_tokens": 64}
            ),
            Step([" So 18.", " So 18."], expect={"n": 2, "assistant_prefix": two}),
        ]
    )
    result = asyncio.run(StepLabeller(chains=1, m=2, rollout_tokens=64).run(task, model))
    model.assert_done()
    d = result.details
    assert d.steps == ((first, "She sells them at $2 each.", "So she makes 9 * 2 = 18 dollars."),)
    assert d.soft == ((0.5, 1.0, 1.0),) and d.correct == (True,) and d.rollouts == 4
    assert result.answer == "18" and result.correct is True


def test_steps_command_writes_stepwise_rows_and_resumes(cli_models, tmp_path):
    tasks = tmp_path / "t.jsonl"
    tasks.write_text(json.dumps(EGGS) + "\n")
    wrong = "She has 16 - 3 = 13 eggs.\nSo 13 * 2 = 26."
    cli_models(
        ScriptedModel(
            [
                Step([CHAIN, wrong]),
                Step([" 9 * 2 = 18.", " 20."]),  # CHAIN, after step 1
                Step([" 18.", " 18."]),  # CHAIN, after step 2
                Step([" 26.", " 26."]),  # wrong, after step 1
            ]
        )
    )
    out, store = tmp_path / "steps.jsonl", tmp_path / "s.sqlite"
    args = ["data", "steps", f"jsonl:{tasks}", "--m", "2", "--out", str(out), "--store", str(store)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["labels"] for r in rows] == [[True, True, True], [False, False]]
    assert rows[0]["soft_labels"] == [0.5, 1.0, 1.0] and rows[0]["prompt"] == EGGS["question"]
    assert rows[1]["completions"] == ["She has 16 - 3 = 13 eggs.", "So 13 * 2 = 26."]
    assert "5 steps (60% good); 6 rollouts made" in res.output

    cli_models(ScriptedModel([]))
    again = runner.invoke(app, [*args, "--threshold", "0.5"])
    assert again.exit_code == 0, again.output
    assert "0 rollouts made" in again.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0]["labels"] == [False, True, True]


def _search(model, **kw):
    import asyncio

    from ponder.datagen.backtrack import BacktrackSearch
    from ponder.types import Task

    options = {"expand": 2, "rollouts": 2, **kw}
    return asyncio.run(BacktrackSearch(**options).run(Task("t", EGGS["question"], "18"), model))


def test_search_keeps_a_rejected_step_then_its_correction():
    import re

    from ponder.datagen.backtrack import REJECT, RETRY

    wrong, right = "16 - 3 = 13 eggs left.", "16 - 3 - 4 = 9 eggs left."
    bad_end, good_end = "So 9 * 3 = 27. The answer is 27.", "So 9 * 2 = 18. The answer is 18."
    model = ScriptedModel(
        [
            Step([wrong, right], expect={"n": 2, "stop": ("\n",), "assistant_prefix": ""}),
            Step([" 13 * 2 = 26.", " 26."], expect={"n": 2, "assistant_prefix": wrong + "\n"}),
            Step([" 9 * 2 = 18.", " 18."], expect={"assistant_prefix": right + "\n"}),
            Step([bad_end, good_end], expect={"assistant_prefix": right + "\n"}),
            Step(["", ""], expect={"assistant_prefix": f"{right}\n{bad_end}\n"}),
            Step(["", ""], expect={"assistant_prefix": f"{right}\n{good_end}\n"}),
        ]
    )
    result = _search(model)
    model.assert_done()
    d = result.details
    lines = d.trace.split("\n")
    assert lines[0] == wrong and lines[2] == right and lines[3] == bad_end and lines[5] == good_end
    fix = re.compile("(" + "|".join(map(re.escape, REJECT)) + ") (" + "|".join(map(re.escape, RETRY)) + ")")
    assert fix.fullmatch(lines[1]) and fix.fullmatch(lines[4])
    assert [(n[0], n[2], n[3]) for n in d.visited] == [
        (0, 0.0, False),
        (0, 1.0, True),
        (1, 0.0, False),
        (1, 1.0, True),
    ]
    assert d.rejected == 2 and d.backtracks == 0 and d.finished
    assert result.answer == "18" and result.correct is True
    assert result.reasoning == d.trace


def test_search_backtracks_when_every_next_step_is_rejected():
    from ponder.datagen.backtrack import RESTART

    first, second = "16 - 7 = 8 eggs left.", "16 - 7 = 9 eggs left."
    end = "9 * 2 = 18. The answer is 18."
    model = ScriptedModel(
        [
            Step([first, second]),
            Step([" 18.", " 18."]),  # first: looks fine to the rollouts
            Step(["8 * 2 = 16.", "8 + 8 = 16."]),  # both next steps of the wrong branch
            Step([" 16.", " 16."]),
            Step([" 16.", " 16."]),
            Step([" 18.", " 18."]),  # second
            Step([end, end]),
            Step(["", ""]),
        ]
    )
    result = _search(model, threshold=0.5)
    model.assert_done()
    d = result.details
    assert d.backtracks == 1 and d.rejected == 2 and d.finished
    lines = d.trace.split("\n")
    assert lines[0] == first and lines[1] == "8 * 2 = 16." and lines[3] == "8 + 8 = 16."
    assert lines[5] in RESTART and lines[6] == second and lines[7] == end
    assert result.correct is True


def test_backtrack_command_writes_the_traces_that_reach_the_answer(cli_models, tmp_path):
    tasks = tmp_path / "t.jsonl"
    tasks.write_text(json.dumps(EGGS) + "\n")
    wrong, right = "16 - 3 = 13 eggs left.", "16 - 3 - 4 = 9 eggs, so 9 * 2 = 18. The answer is 18."
    cli_models(ScriptedModel([Step([wrong, right]), Step([" 26.", " 26."]), Step(["", ""])]))
    out = tmp_path / "bt.jsonl"
    args = ["data", "backtrack", f"jsonl:{tasks}", "--expand", "2", "--rollouts", "2", "--out", str(out)]
    res = runner.invoke(app, [*args, "--store", str(tmp_path / "s.sqlite")])
    assert res.exit_code == 0, res.output
    [row] = [json.loads(line) for line in out.read_text().splitlines()]
    text = row["messages"][1]["content"]
    assert text.startswith(wrong + "\n") and text.endswith("\n" + right)
    assert row["rejected_steps"] == 1 and row["backtracks"] == 0
    assert (
        "1 items: 1 reached the gold answer, 1 with a rejected step, 0 backtracks; wrote 1 rows" in res.output
    )
    res = runner.invoke(app, [*args, "--verifier", "oracle"])
    assert res.exit_code == 2 and "--verifier 'oracle'" in res.output
