"""The eval runner: results stored as they finish, runs found again and resumed, failures kept."""

import json

import pytest

from ponder.errors import ScriptMismatch
from ponder.eval.evaluate import Plan, evaluate
from ponder.eval.runner import RunSpec, find_run, open_run, run_tasks
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store
from ponder.strategies.chain import Direct
from ponder.tasks.registry import load_tasks
from ponder.types import Task

TASKS = [Task(f"t{i}", f"What is {i} + {i}?", str(2 * i)) for i in range(5)]


def replies(*texts):
    return [Step([t]) for t in texts]


async def test_every_result_is_stored_with_its_calls_and_totals_add_up(tmp_path):
    model = ScriptedModel(replies("0", "2", "5", "The answer is 6.", "nothing"))
    with Store(tmp_path / "s.sqlite") as store:
        run = open_run(store, RunSpec("scripted", "toy", "direct", {}))
        seen = []
        progress = await run_tasks(Direct(), model, TASKS, store, run, on_result=lambda p: seen.append(p.done))
        rows = store.results(run)
        assert [r["task_id"] for r in rows] == ["t0", "t1", "t2", "t3", "t4"]
        assert [r["correct"] for r in rows] == [1, 1, 0, 1, 0]
        assert [r["answer"] for r in rows] == ["0", "2", "5", "6", None]
        assert {c["task_id"] for c in store.calls(run)} == {"t0", "t1", "t2", "t3", "t4"}
    assert seen == [0, 1, 2, 3, 4, 5]
    assert (progress.done, progress.correct, progress.accuracy) == (5, 3, 0.6)
    assert progress.tokens == sum(r["prompt_tokens"] + r["completion_tokens"] for r in rows)
    model.assert_done()


async def test_a_rerun_answers_only_the_missing_tasks_and_a_finished_run_makes_no_call(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        spec = RunSpec("scripted", "toy", "direct", {"max_tokens": 32})
        run = open_run(store, spec)
        await run_tasks(Direct(), ScriptedModel(replies("0", "2")), TASKS[:2], store, run)
        again = open_run(store, spec)
        assert again == run
        model = ScriptedModel(replies("4", "6", "8"))
        progress = await run_tasks(Direct(), model, TASKS, store, again)
        model.assert_done()
        assert progress.resumed == 2 and progress.done == 5 and progress.correct == 5
        empty = ScriptedModel([])  # any call would raise ScriptMismatch
        progress = await run_tasks(Direct(), empty, TASKS, store, again)
        assert empty.requests == [] and progress.resumed == 5
        assert len(store.results(run)) == 5


async def test_runs_differ_by_options_model_and_task_but_not_by_limit(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        a = open_run(store, RunSpec("scripted", "gsm8k:test", "cot", {"k": None, "max_tokens": 64}))
        assert find_run(store, RunSpec("scripted", "gsm8k:test", "cot", {"max_tokens": 64})) == a
        assert find_run(store, RunSpec("scripted", "gsm8k:test", "cot", {"max_tokens": 65})) is None
        assert find_run(store, RunSpec("other", "gsm8k:test", "cot", {"max_tokens": 64})) is None
        assert find_run(store, RunSpec("scripted", "gsm8k:train", "cot", {"max_tokens": 64})) is None


async def test_concurrent_items_are_all_stored_once(tmp_path):
    model = ScriptedModel(replies(*["The answer is 4."] * 5))
    with Store(tmp_path / "s.sqlite") as store:
        run = open_run(store, RunSpec("scripted", "toy", "direct", {}))
        progress = await run_tasks(Direct(), model, TASKS, store, run, concurrency=3)
        assert sorted(r["task_id"] for r in store.results(run)) == [t.id for t in TASKS]
    assert progress.done == 5 and progress.correct == 1


async def test_an_error_keeps_the_results_already_written(tmp_path):
    model = ScriptedModel(replies("0", "2"))  # the third task's call finds the script exhausted
    with Store(tmp_path / "s.sqlite") as store:
        run = open_run(store, RunSpec("scripted", "toy", "direct", {}))
        with pytest.raises(ScriptMismatch):
            await run_tasks(Direct(), model, TASKS, store, run)
        assert [r["task_id"] for r in store.results(run)] == ["t0", "t1"]


async def test_evaluate_runs_plans_on_the_same_items_and_marks_runs(tmp_path, monkeypatch, data_dir):
    script = replies("The answer is 18.", "The answer is 3.") + [Step(["The answer is 18."] * 3),
                                                                  Step(["The answer is 3."] * 3)]
    model = ScriptedModel(script)
    monkeypatch.setattr("ponder.eval.evaluate.get_model", lambda spec: model)
    store = tmp_path / "s.sqlite"
    plans = [Plan("direct", {}), Plan("self-consistency", {"k": 3, "prompt": "direct"}, "sc3")]
    outcomes = await evaluate("gsm8k", plans, "scripted", store, limit=2, data_dir=data_dir)
    model.assert_done()
    assert [o.label for o in outcomes] == ["direct", "sc3"]
    assert [o.progress.correct for o in outcomes] == [2, 2]
    with Store(store) as s:
        runs = s.runs()
        assert [r["status"] for r in runs] == ["done", "done"]
        assert all(r["config"].startswith('{"options"') for r in runs)
        assert {r["task_id"] for r in s.results(runs[1]["id"])} == {"gsm8k/test/0", "gsm8k/test/1"}


async def test_a_bad_option_fails_before_any_model_call(tmp_path, monkeypatch, data_dir):
    model = ScriptedModel([])
    monkeypatch.setattr("ponder.eval.evaluate.get_model", lambda spec: model)
    from ponder.errors import ConfigError

    with pytest.raises(ConfigError, match="width"):
        await evaluate("gsm8k", [Plan("direct", {}), Plan("cot", {"width": 2})], "scripted",
                       tmp_path / "s.sqlite", limit=2, data_dir=data_dir)
    assert model.requests == []



async def test_an_item_too_long_for_the_context_is_stored_unanswered_and_the_run_goes_on(tmp_path):
    from ponder.errors import ContextOverflow

    model = ScriptedModel([Step(["0"]), Step(error=ContextOverflow("prompt of 20000 tokens exceeds 16384")),
                           Step(["4"])])
    with Store(tmp_path / "s.sqlite") as store:
        run = open_run(store, RunSpec("scripted", "toy", "direct", {}))
        progress = await run_tasks(Direct(), model, TASKS[:3], store, run)
        rows = store.results(run)
        assert [r["answer"] for r in rows] == ["0", None, "4"] and [r["correct"] for r in rows] == [1, 0, 1]
        assert "20000 tokens" in json.loads(rows[1]["data"])["meta"]["error"]
    assert progress.done == 3 and progress.correct == 2


async def test_arc_items_get_two_attempts_and_pass_when_either_is_right(tmp_path, monkeypatch, data_dir):
    [first] = load_tasks("arc-agi-1", 1, data_dir)
    wrong = "Output:\n" + "\n".join("0" * 6 for _ in range(6))
    right = "Output:\n" + first.answer
    model = ScriptedModel([Step([wrong], expect={"temperature": 0.0, "seed": 0, "max_tokens": 1024}),
                           Step([right], expect={"temperature": 0.7, "seed": 1, "max_tokens": 1024})])
    monkeypatch.setattr("ponder.eval.evaluate.get_model", lambda spec: model)
    [outcome] = await evaluate("arc-agi-1", [Plan("direct", {})], "scripted", tmp_path / "s.sqlite", limit=1,
                               data_dir=data_dir)
    model.assert_done()
    assert outcome.progress.correct == 1
    with Store(tmp_path / "s.sqlite") as s:
        [row] = s.results(outcome.run_id)
        data = json.loads(row["data"])
        assert data["meta"]["attempts"] == ["0" * 6 + ("\n" + "0" * 6) * 5, first.answer]
        assert data["meta"]["attempt_correct"] == [False, True] and row["calls"] == 2
        assert data["task_meta"]["test_input"] == [[3, 2], [7, 8]]
    from ponder.report.write import write_report

    html = write_report(tmp_path / "s.sqlite", [outcome.run_id], tmp_path / "r").html.read_text()
    assert "arc-agi-1/eval/00576224/0 solved" in html
    assert html.count('class="grid"') == 4 + 1 + 2 + 1  # two examples, test input, attempts, answer
