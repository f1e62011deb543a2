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
        progress = await run_tasks(
            Direct(), model, TASKS, store, run, on_result=lambda p: seen.append(p.done)
        )
        rows = store.result_rows(run)
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
        assert len(store.result_rows(run)) == 5


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
        assert sorted(r["task_id"] for r in store.result_rows(run)) == [t.id for t in TASKS]
    assert progress.done == 5 and progress.correct == 1


async def test_an_error_keeps_the_results_already_written(tmp_path):
    model = ScriptedModel(replies("0", "2"))  # the third task's call finds the script exhausted
    with Store(tmp_path / "s.sqlite") as store:
        run = open_run(store, RunSpec("scripted", "toy", "direct", {}))
        with pytest.raises(ScriptMismatch):
            await run_tasks(Direct(), model, TASKS, store, run)
        assert [r["task_id"] for r in store.result_rows(run)] == ["t0", "t1"]


async def test_evaluate_runs_plans_on_the_same_items_and_marks_runs(tmp_path, session_of, data_dir):
    script = replies("The answer is 18.", "The answer is 3.") + [
        Step(["The answer is 18."] * 3),
        Step(["The answer is 3."] * 3),
    ]
    model = ScriptedModel(script)
    store = tmp_path / "s.sqlite"
    plans = [Plan("direct", {}), Plan("self-consistency", {"k": 3, "prompt": "direct"}, "sc3")]
    async with session_of(model, store=store) as session:
        outcomes = await evaluate(session, "gsm8k", plans, limit=2, data_dir=data_dir)
    model.assert_done()
    assert [o.label for o in outcomes] == ["direct", "sc3"]
    assert [o.progress.correct for o in outcomes] == [2, 2]
    with Store(store) as s:
        runs = s.runs()
        assert [r["status"] for r in runs] == ["done", "done"]
        assert [r["planned"] for r in runs] == [2, 2]  # the items asked for: the view's "done of planned"
        assert all(r["config"].startswith('{"options"') for r in runs)
        assert {r["task_id"] for r in s.result_rows(runs[1]["id"])} == {"gsm8k/test/0", "gsm8k/test/1"}


async def test_a_bad_option_fails_before_any_model_call(session_of, data_dir):
    model = ScriptedModel([])
    from ponder.errors import ConfigError

    async with session_of(model) as session:
        with pytest.raises(ConfigError, match="width"):
            await evaluate(
                session, "gsm8k", [Plan("direct", {}), Plan("cot", {"width": 2})], limit=2, data_dir=data_dir
            )
        assert session.store.runs() == []
    assert model.requests == []


async def test_an_item_too_long_for_the_context_is_stored_unanswered_and_the_run_goes_on(tmp_path):
    from ponder.errors import ContextOverflow

    model = ScriptedModel(
        [Step(["0"]), Step(error=ContextOverflow("prompt of 20000 tokens exceeds 16384")), Step(["4"])]
    )
    with Store(tmp_path / "s.sqlite") as store:
        run = open_run(store, RunSpec("scripted", "toy", "direct", {}))
        progress = await run_tasks(Direct(), model, TASKS[:3], store, run)
        rows = store.result_rows(run)
        assert [r["answer"] for r in rows] == ["0", None, "4"] and [r["correct"] for r in rows] == [1, 0, 1]
        assert "20000 tokens" in store.results(run)[1].details.error
    assert progress.done == 3 and progress.correct == 2


async def test_arc_items_get_two_attempts_and_pass_when_either_is_right(tmp_path, session_of, data_dir):
    [first] = load_tasks("arc-agi-1", 1, data_dir)
    wrong = "Output:\n" + "\n".join("0" * 6 for _ in range(6))
    right = "Output:\n" + first.answer
    model = ScriptedModel(
        [
            Step([wrong], expect={"temperature": 0.0, "seed": 0, "max_tokens": 1024}),
            Step([right], expect={"temperature": 0.7, "seed": 1, "max_tokens": 1024}),
        ]
    )
    async with session_of(model) as session:
        [outcome] = await evaluate(session, "arc-agi-1", [Plan("direct", {})], limit=1, data_dir=data_dir)
    model.assert_done()
    assert outcome.progress.correct == 1
    with Store(tmp_path / "s.sqlite") as s:
        [row] = s.result_rows(outcome.run_id)
        [result] = s.results(outcome.run_id)
        data = json.loads(row["data"])
        assert list(result.details.attempts) == ["0" * 6 + ("\n" + "0" * 6) * 5, first.answer]
        assert list(result.details.attempt_correct) == [False, True] and row["calls"] == 2
        assert data["task_meta"]["test_input"] == [[3, 2], [7, 8]]
    from ponder.report.write import write_report

    html = write_report(tmp_path / "s.sqlite", [outcome.run_id], tmp_path / "r").html.read_text()
    assert "arc-agi-1/eval/00576224/0 solved" in html
    assert html.count('class="grid"') == 4 + 1 + 2 + 1  # two examples, test input, attempts, answer


async def test_an_item_whose_calls_keep_failing_is_errored_and_the_others_are_answered(tmp_path):
    from ponder.errors import TransientModelError
    from ponder.eval.limits import parse_max_errors

    gave_up = TransientModelError("http://x/v1/chat/completions: HTTP 503: busy (gave up after 5 tries)")
    model = ScriptedModel([Step(["0"]), Step(error=gave_up), Step(["4"]), Step(["6"]), Step(["8"])])
    with Store(tmp_path / "s.sqlite") as store:
        run = open_run(store, RunSpec("scripted", "toy", "direct", {}))
        progress = await run_tasks(Direct(), model, TASKS, store, run, max_errors=parse_max_errors("1"))
        rows = {r["task_id"]: r for r in store.result_rows(run)}
        assert len(rows) == 5 and rows["t1"]["answer"] is None and "HTTP 503" in rows["t1"]["error"]
        assert rows["t1"]["correct"] is None
        assert all(rows[t]["error"] is None for t in ("t0", "t2", "t3", "t4"))
        assert (progress.done, progress.errored, progress.correct) == (4, 1, 4)
        assert "HTTP 503" in progress.last_error

        # Without retrying, the errored item is counted and nothing is asked.
        kept = await run_tasks(
            Direct(),
            ScriptedModel([]),
            TASKS,
            store,
            run,
            retry_errors=False,
            max_errors=parse_max_errors("1"),
        )
        assert (kept.done, kept.errored, kept.resumed) == (4, 1, 5)

        # Retrying asks for the errored item only and replaces its row.
        again = ScriptedModel([Step(["2"], expect=lambda r: "1 + 1" in r.messages[-1].content)])
        retried = await run_tasks(Direct(), again, TASKS, store, run)
        again.assert_done()
        assert (retried.done, retried.errored, retried.correct) == (5, 0, 5)
        rows = store.result_rows(run)
        assert len(rows) == 5 and all(r["error"] is None for r in rows)


async def test_a_run_stops_once_more_items_errored_than_allowed(tmp_path):
    from ponder.errors import RunFailed, TransientModelError
    from ponder.eval.limits import parse_max_errors

    down = TransientModelError("connection dropped (gave up after 5 tries)")
    model = ScriptedModel([Step(error=down)] * 3)
    with Store(tmp_path / "s.sqlite") as store:
        run = open_run(store, RunSpec("scripted", "toy", "direct", {}))
        with pytest.raises(RunFailed, match=r"3 of 5 items errored \(--max-errors 2\).*connection dropped"):
            await run_tasks(Direct(), model, TASKS, store, run, max_errors=parse_max_errors("2"))
        model.assert_done()
        assert [r["task_id"] for r in store.result_rows(run)] == ["t0", "t1", "t2"]


async def test_an_unexpected_exception_errors_its_item_and_a_fatal_error_stops_the_run(tmp_path):
    from ponder.errors import FatalModelError
    from ponder.eval.limits import parse_max_errors

    model = ScriptedModel(
        [
            Step(["0"]),
            Step(error=KeyError("choices")),
            Step(["4"]),
            Step(error=FatalModelError("http://x/v1: HTTP 401: bad key")),
        ]
    )
    with Store(tmp_path / "s.sqlite") as store:
        run = open_run(store, RunSpec("scripted", "toy", "direct", {}))
        with pytest.raises(FatalModelError, match="401"):
            await run_tasks(Direct(), model, TASKS, store, run, max_errors=parse_max_errors("50%"))
        rows = store.result_rows(run)
        assert [r["task_id"] for r in rows] == ["t0", "t1", "t2"]
        assert rows[1]["error"] == "KeyError: 'choices'"


@pytest.mark.parametrize(
    "text, total, allowed",
    [
        ("0", 100, 0),
        ("20", 5, 20),
        ("10%", 5, 1),
        ("10%", 200, 20),
        ("10%", 201, 21),
        ("0%", 50, 0),
        ("100%", 7, 7),
        (" 12.5% ", 8, 1),
        (3, 10, 3),
    ],
)
def test_max_errors_reads_a_count_or_a_share(text, total, allowed):
    from ponder.eval.limits import parse_max_errors

    assert parse_max_errors(text).of(total) == allowed


@pytest.mark.parametrize("text", ["-1", "", "abc", "101%", "1.5", "%", "10 %%", "1e3"])
def test_a_bad_max_errors_names_the_flag(text):
    from ponder.errors import ConfigError
    from ponder.eval.limits import parse_max_errors

    with pytest.raises(ConfigError, match="--max-errors"):
        parse_max_errors(text)


def test_timeouts_for_a_model_that_is_not_served_over_http_are_refused_before_the_store_opens(tmp_path):
    from ponder.errors import ConfigError
    from ponder.eval.session import Session

    with pytest.raises(ConfigError, match="--timeout apply to openai"):
        Session.open("local", tmp_path / "s.sqlite", model_options={"timeout": 5})
    assert not (tmp_path / "s.sqlite").exists()


@pytest.mark.parametrize("declared, given, used", [(None, None, 1), (6, None, 6), (6, 2, 2), (0, None, 1)])
async def test_items_in_flight_default_to_what_the_model_serves_best(
    session_of, data_dir, monkeypatch, declared, given, used
):
    import ponder.eval.evaluate as ev

    seen = []

    async def fake_run_tasks(strategy, model, tasks, store, run_id, concurrency, *rest):
        seen.append(concurrency)
        return ev.Progress(total=len(tasks), done=len(tasks))

    monkeypatch.setattr(ev, "run_tasks", fake_run_tasks)
    model = ScriptedModel([])
    if declared is not None:
        model.concurrency = declared
    async with session_of(model) as session:
        await evaluate(session, "gsm8k", [Plan("direct", {})], limit=2, data_dir=data_dir, concurrency=given)
    assert seen == [used]
