"""Rescoring: stored outputs read again with the current extractor, as a new run, without a model."""

import json
import math

import pytest
from typer.testing import CliRunner

from ponder.cli import app
from ponder.errors import ConfigError
from ponder.eval.evaluate import Plan, evaluate
from ponder.eval.rescore import rescore_runs
from ponder.eval.runner import RunSpec, open_run, run_tasks
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store
from ponder.strategies.attempts import Attempts
from ponder.strategies.registry import build_strategy
from ponder.tasks.answers import EXTRACTION_VERSION, extract
from ponder.types import Task

runner = CliRunner()
TASKS = [Task("t0", "What is 9 + 9?", "18"), Task("t1", "What is 2 + 2?", "4")]


def no_model(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("rescoring built a model")

    monkeypatch.setattr("ponder.models.get_model", refuse)


def reading(monkeypatch, changes):
    """The extractor as rescoring sees it, with the reply texts in `changes` read as other answers."""

    def changed(text, kind="number", truncated=False):
        found = extract(text, kind, truncated)
        if text.strip() in changes:
            return type(found)(changes[text.strip()], None, True)
        return found

    monkeypatch.setattr("ponder.eval.rescore.extract", changed)


async def stored_run(tmp_path, name, options, steps, tasks=TASKS, attempts=1, resolved=True):
    """A run of strategy `name` over `tasks`, answered by the scripted `steps`; `resolved=False`:
    stored as runs were before their configuration was resolved (options only)."""
    strategy = build_strategy(name, **options)
    if attempts > 1:
        strategy = Attempts(strategy, attempts)
    model = ScriptedModel(steps)
    with Store(tmp_path / "s.sqlite") as store:
        spec = RunSpec("scripted", "toy", name, options, resolved=strategy.config() if resolved else None)
        run = open_run(store, spec)
        await run_tasks(strategy, model, tasks, store, run)
        store.finish_run(run)
    model.assert_done()
    return run


def snapshot(path, run):
    with Store(path) as store:
        return store.result_rows(run), store.calls(run)


async def test_rescore_calls_no_model_keeps_the_source_and_reports_what_changed(
    tmp_path, monkeypatch, session_of, data_dir
):
    model = ScriptedModel([Step(["The answer is 18."]), Step(["The answer is 4."]), Step(["11"])])
    store = tmp_path / "s.sqlite"
    async with session_of(model, store=store) as session:
        [outcome] = await evaluate(session, "gsm8k", [Plan("direct", {})], limit=3, data_dir=data_dir)
    assert outcome.progress.correct == 1
    before = snapshot(store, outcome.run_id)
    no_model(monkeypatch)
    reading(monkeypatch, {"The answer is 4.": "3"})

    res = runner.invoke(app, ["rescore", str(outcome.run_id), "--store", str(store)])
    assert res.exit_code == 0, res.output
    assert f"run {outcome.run_id} rescored as run 2: 3 items, 1 changed, correct 1 → 2" in res.output
    assert "gsm8k/test/1" in res.output and "4 → 3" in res.output and "no → yes" in res.output
    assert snapshot(store, outcome.run_id) == before

    with Store(store) as s:
        run = s.run(2)
        config = json.loads(run["config"])
        assert (run["kind"], run["model"], run["strategy"], run["status"]) == (
            "rescore",
            "scripted",
            "direct",
            "done",
        )
        assert run["identity"] is None
        assert config["rescore"] == {"source_run": outcome.run_id, "extraction_version": EXTRACTION_VERSION}
        assert (
            config["task"] == "gsm8k:test"
            and config["resolved"] == json.loads(s.run(1)["config"])["resolved"]
        )
        new, old = s.result_rows(2), before[0]
        assert [r["answer"] for r in new] == ["18", "3", "11"] and [r["correct"] for r in new] == [1, 1, 0]
        for a, b in zip(new, old):
            assert json.loads(a["data"])["trace"] == json.loads(b["data"])["trace"]
            assert a["prompt_tokens"] == b["prompt_tokens"] and a["calls"] == b["calls"]
        assert s.calls(2) == []


async def test_rescoring_with_the_same_extractor_changes_nothing(tmp_path):
    run = await stored_run(tmp_path, "direct", {}, [Step(["18"]), Step(["5"])])
    [result] = rescore_runs(tmp_path / "s.sqlite", [run])
    assert (result.items, result.changes, result.correct_before, result.correct_after) == (2, (), 1, 1)


async def test_self_consistency_votes_again_over_every_chain(tmp_path, monkeypatch):
    run = await stored_run(
        tmp_path,
        "self-consistency",
        {"k": 3, "prompt": "direct"},
        [Step(["7", "7", "18"]), Step(["4", "4", "4"])],
    )
    reading(monkeypatch, {"7": None})
    [result] = rescore_runs(tmp_path / "s.sqlite", [run])
    assert [(c.task_id, c.old_answer, c.new_answer) for c in result.changes] == [("t0", "7", "18")]
    with Store(tmp_path / "s.sqlite") as s:
        row = s.result_rows(result.run_id)[0]
        meta = s.results(result.run_id)[0].details
    assert (row["answer"], row["correct"], row["reasoning"]) == ("18", 1, "18")
    assert meta.votes == {"18": 1} and meta.voters == 1 and list(meta.answers) == [None, None, "18"]


async def test_the_weighted_vote_weighs_the_chains_again_from_their_logprobs(tmp_path, monkeypatch):
    lp = [[("7", math.log(0.9))], [("18", math.log(0.5))], [("19", math.log(0.45))]]
    run = await stored_run(
        tmp_path,
        "weighted-vote",
        {"k": 3, "prompt": "direct"},
        [Step(["7", "18", "19"], logprobs=lp)],
        tasks=TASKS[:1],
    )
    reading(monkeypatch, {"19": "18"})
    [result] = rescore_runs(tmp_path / "s.sqlite", [run])
    assert [(c.old_answer, c.new_answer, c.new_correct) for c in result.changes] == [("7", "18", True)]
    with Store(tmp_path / "s.sqlite") as s:
        meta = s.results(result.run_id)[0].details
    assert meta.votes == pytest.approx({"7": 0.9, "18": 0.95}) and meta.confidence == "sequence"


async def test_adaptive_consistency_votes_over_the_chains_it_drew(tmp_path, monkeypatch):
    run = await stored_run(
        tmp_path,
        "adaptive-consistency",
        {"k": 4, "batch": 2, "prompt": "direct"},
        [Step(["7", "18"]), Step(["7", "18"])],
        tasks=TASKS[:1],
    )
    reading(monkeypatch, {"7": "18"})
    [result] = rescore_runs(tmp_path / "s.sqlite", [run])
    with Store(tmp_path / "s.sqlite") as s:
        row = s.result_rows(result.run_id)[0]
        meta = s.results(result.run_id)[0].details
    assert row["answer"] == "18" and meta.votes == {"18": 4}


@pytest.mark.parametrize("resolved", [True, False])
async def test_zero_shot_chain_of_thought_is_read_from_its_extraction_call(tmp_path, monkeypatch, resolved):
    run = await stored_run(
        tmp_path,
        "cot",
        {},
        [Step(["9 plus 9 makes 18, not 17"]), Step(["18."])],
        tasks=TASKS[:1],
        resolved=resolved,
    )
    [same] = rescore_runs(tmp_path / "s.sqlite", [run])
    assert same.changes == () and same.correct_after == 1
    reading(monkeypatch, {"Therefore, the answer (arabic numerals) is 18.": "17"})
    [result] = rescore_runs(tmp_path / "s.sqlite", [run])
    assert [(c.old_answer, c.new_answer) for c in result.changes] == [("18", "17")]


async def test_best_of_n_keeps_the_chosen_chain_and_reads_its_answer_again(tmp_path, monkeypatch):
    judge = [
        Step(["Yes"], logprobs=[[("Yes", math.log(p), (("Yes", math.log(p)), ("No", math.log(1 - p))))]])
        for p in (0.2, 0.9)
    ]
    run = await stored_run(
        tmp_path, "best-of-n", {"k": 2, "prompt": "direct"}, [Step(["17", "20"]), *judge], tasks=TASKS[:1]
    )
    reading(monkeypatch, {"20": "18", "17": "18"})
    [result] = rescore_runs(tmp_path / "s.sqlite", [run])
    with Store(tmp_path / "s.sqlite") as s:
        row = s.result_rows(result.run_id)[0]
        meta = s.results(result.run_id)[0].details
    assert (row["answer"], row["reasoning"], meta.chosen, list(meta.answers)) == ("18", "20", 1, ["18", "18"])


async def test_beam_search_keeps_the_chosen_beam_and_reads_its_answer_again(tmp_path, monkeypatch):
    judge = Step(
        ["Yes"], logprobs=[[("Yes", math.log(0.9), (("Yes", math.log(0.9)), ("No", math.log(0.1))))]]
    )
    run = await stored_run(
        tmp_path,
        "beam-search",
        {"width": 1, "expand": 1, "max_steps": 2, "prompt": "direct"},
        [Step(["9 + 9"]), judge, Step(["The answer is 17."]), judge],
        tasks=TASKS[:1],
    )
    reading(monkeypatch, {"9 + 9\n\nThe answer is 17.": "18"})
    [result] = rescore_runs(tmp_path / "s.sqlite", [run])
    assert [(c.old_answer, c.new_answer, c.new_correct) for c in result.changes] == [("17", "18", True)]
    with Store(tmp_path / "s.sqlite") as s:
        assert s.result_rows(result.run_id)[0]["reasoning"] == "9 + 9\n\nThe answer is 17."


async def test_each_attempt_is_read_again_and_any_right_one_counts(tmp_path, monkeypatch):
    run = await stored_run(tmp_path, "direct", {}, [Step(["17"]), Step(["16"])], tasks=TASKS[:1], attempts=2)
    reading(monkeypatch, {"16": "18"})
    [result] = rescore_runs(tmp_path / "s.sqlite", [run])
    assert [(c.old_answer, c.new_answer, c.old_correct, c.new_correct) for c in result.changes] == [
        ("17", "17", False, True)
    ]
    with Store(tmp_path / "s.sqlite") as s:
        meta = s.results(result.run_id)[0].details
    assert list(meta.attempts) == ["17", "18"] and list(meta.attempt_correct) == [False, True]


async def test_best_of_n_with_several_attempts_is_refused_before_any_run_is_written(tmp_path):
    judge = Step(
        ["Yes"], logprobs=[[("Yes", math.log(0.9), (("Yes", math.log(0.9)), ("No", math.log(0.1))))]]
    )
    direct = await stored_run(tmp_path, "direct", {}, [Step(["18"]), Step(["4"])])
    best = await stored_run(
        tmp_path,
        "best-of-n",
        {"k": 1, "prompt": "direct"},
        [Step(["17"]), judge, Step(["18"]), judge],
        tasks=TASKS[:1],
        attempts=2,
    )
    with pytest.raises(ConfigError, match="several attempts"):
        rescore_runs(tmp_path / "s.sqlite", [direct, best])
    with Store(tmp_path / "s.sqlite") as s:
        assert [r["kind"] for r in s.runs()] == ["eval", "eval"]


async def test_errored_items_are_copied_as_stored(tmp_path):
    from ponder.errors import TransientModelError
    from ponder.eval.limits import parse_max_errors

    strategy = build_strategy("direct")
    model = ScriptedModel([Step(["18"]), Step(error=TransientModelError("gave up"))])
    with Store(tmp_path / "s.sqlite") as store:
        run = open_run(store, RunSpec("scripted", "toy", "direct", {}, resolved=strategy.config()))
        await run_tasks(strategy, model, TASKS, store, run, max_errors=parse_max_errors("1"))
    [result] = rescore_runs(tmp_path / "s.sqlite", [run])
    assert result.kept == ("t1",) and result.changes == ()
    with Store(tmp_path / "s.sqlite") as s:
        assert s.result_rows(result.run_id)[1]["error"] == "gave up"


async def test_probe_runs_and_unknown_runs_are_refused_before_anything_is_written(tmp_path):
    run = await stored_run(tmp_path, "direct", {}, [Step(["18"]), Step(["4"])])
    with Store(tmp_path / "s.sqlite") as s:
        probe = s.start_run("faithfulness", "scripted", "early", {"task": "toy"})
    with pytest.raises(ConfigError, match="only runs of the strategies"):
        rescore_runs(tmp_path / "s.sqlite", [run, probe])
    with pytest.raises(ConfigError, match="run 42 is not in the store"):
        rescore_runs(tmp_path / "s.sqlite", [run, 42])
    with Store(tmp_path / "s.sqlite") as s:
        assert [r["kind"] for r in s.runs()] == ["eval", "faithfulness"]
    res = runner.invoke(app, ["rescore", "42", "--store", str(tmp_path / "s.sqlite")])
    assert res.exit_code == 2 and "run 42 is not in the store" in res.output
