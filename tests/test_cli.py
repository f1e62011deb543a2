import pytest
from typer.testing import CliRunner

from ponder.cli import app
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store

runner = CliRunner()


def test_solve_prints_reasoning_answer_and_compute_and_stores_the_run(cli_models, tmp_path):
    scripted = ScriptedModel([Step(["3 + 4 = 7 apples."]), Step([" 7."])])
    cli_models(scripted)
    store = tmp_path / "s.sqlite"
    res = runner.invoke(app, ["solve", "Tom has 3 apples and gets 4 more. How many?", "--store", str(store)])
    assert res.exit_code == 0, res.output
    assert "3 + 4 = 7 apples." in res.output
    assert "answer: 7" in res.output
    assert "2 calls" in res.output and "completion tokens" in res.output
    scripted.assert_done()
    with Store(store) as s:
        [run] = s.runs()
        assert run["kind"] == "solve" and run["status"] == "done" and run["strategy"] == "cot"
        [row] = s.result_rows(run["id"])
        assert row["answer"] == "7" and row["calls"] == 2
        assert [c["purpose"] for c in s.calls(run["id"])] == ["generate", "extract"]


def test_solve_reruns_come_from_the_cache(cli_models, tmp_path):
    scripted = ScriptedModel([Step(["2 + 3 = 5."]), Step([" 5."])])
    cli_models(scripted)
    args = ["solve", "2+3?", "--store", str(tmp_path / "s.sqlite")]
    assert runner.invoke(app, args).exit_code == 0
    res = runner.invoke(app, args)  # a second model call would raise: the script is exhausted
    assert res.exit_code == 0 and "2 from cache" in res.output


def test_solve_with_a_sampling_strategy_prints_votes_and_the_verifier_share(cli_models, tmp_path):
    scripted = ScriptedModel(
        [
            Step(
                ["The answer is 5.", "The answer is 6.", "The answer is 5."],
                expect={"n": 3, "temperature": 0.5},
            )
        ]
    )
    cli_models(scripted)
    res = runner.invoke(
        app,
        [
            "solve",
            "2+3?",
            "--strategy",
            "self-consistency",
            "-k",
            "3",
            "--temperature",
            "0.5",
            "--no-extract-call",
            "--store",
            str(tmp_path / "s.sqlite"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "answer: 5" in res.output and "votes: 5: 2, 6: 1" in res.output
    scripted.assert_done()


def test_solve_with_best_of_n_reports_the_verifier_share(cli_models, tmp_path):
    import math

    judge = [
        Step(["Yes"], logprobs=[[("Yes", math.log(p), (("Yes", math.log(p)), ("No", math.log(1 - p))))]])
        for p in (0.2, 0.9)
    ]
    scripted = ScriptedModel([Step(["The answer is 6.", "The answer is 5."])] + judge)
    cli_models(scripted)
    res = runner.invoke(
        app,
        [
            "solve",
            "2+3?",
            "-s",
            "best-of-n",
            "-k",
            "2",
            "--exemplars",
            "none",
            "--no-extract-call",
            "--store",
            str(tmp_path / "s.sqlite"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "answer: 5" in res.output and "verifier 2 calls" in res.output


def test_an_option_the_strategy_does_not_take_is_named(cli_models):
    cli_models(ScriptedModel([]))
    res = runner.invoke(app, ["solve", "2+3?", "--strategy", "cot", "--width", "3"])
    assert res.exit_code == 2 and "does not take option(s) width" in res.output
    res = runner.invoke(app, ["solve", "2+3?", "--strategy", "tree-of-thought"])
    assert res.exit_code == 2 and "unknown strategy 'tree-of-thought'" in res.output


def test_unknown_model_spec_is_one_line_exit_2_no_traceback():
    res = runner.invoke(app, ["solve", "hi", "--model", "banana:x"])
    assert res.exit_code == 2
    assert "unknown model spec 'banana:x'" in res.output
    assert "Traceback" not in res.output


def test_missing_model_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.gguf"
    res = runner.invoke(app, ["solve", "hi", "--model", f"local:{missing}"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert f"model file {missing} does not exist" in res.output.replace("\n", "")


def test_unknown_local_model_name_lists_the_known_ones():
    res = runner.invoke(app, ["solve", "hi", "--model", "local:llama-9000"])
    assert res.exit_code == 2
    assert "unknown local model 'llama-9000': known models are qwen2.5-coder-0.5b" in res.output


def test_debug_shows_the_traceback():
    res = runner.invoke(app, ["--debug", "solve", "hi", "--model", "banana:x"])
    assert res.exit_code != 0 and res.exception is not None


def test_models_lists_the_registry_and_marks_the_default():
    res = runner.invoke(app, ["models"])
    assert res.exit_code == 0
    for name in ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "gemma-3-270m"):
        assert name in res.output
    assert "openai:MODEL@BASE_URL" in res.output


def test_pull_of_an_unknown_model_is_an_error():
    res = runner.invoke(app, ["models", "pull", "nope"])
    assert res.exit_code == 2 and "unknown local model 'nope'" in res.output


def test_eval_stores_results_and_a_rerun_resumes_without_calls(cli_models, tmp_path, data_dir):
    scripted = ScriptedModel([Step(["The answer is 18."]), Step(["The answer is 4."])])
    cli_models(scripted)
    store = tmp_path / "s.sqlite"
    argv = [
        "eval",
        "gsm8k",
        "-s",
        "direct",
        "--limit",
        "2",
        "--store",
        str(store),
        "--data-dir",
        str(data_dir),
    ]
    res = runner.invoke(app, argv)
    assert res.exit_code == 0, res.output
    assert "1/2 correct (50.0%)" in res.output
    scripted.assert_done()
    res = runner.invoke(app, argv)  # the script is empty now: any call would fail
    assert res.exit_code == 0, res.output
    assert "2 already in the store" in res.output
    with Store(store) as s:
        [run] = s.runs()
        assert run["kind"] == "eval" and run["status"] == "done" and len(s.results(run["id"])) == 2


def test_compare_runs_each_strategy_then_writes_the_report(cli_models, tmp_path, data_dir):
    scripted = ScriptedModel(
        [
            Step(["18"]),
            Step(["3"]),
            Step(["The answer is 18.", "The answer is 17.", "The answer is 18."]),
            Step(["The answer is 3.", "The answer is 3.", "The answer is 2."]),
        ]
    )
    cli_models(scripted)
    out_dir = tmp_path / "report"
    res = runner.invoke(
        app,
        [
            "compare",
            "gsm8k",
            "--strategies",
            "direct,self-consistency[k=3,prompt=direct]",
            "--temperature",
            "0.5",
            "-n",
            "2",
            "--store",
            str(tmp_path / "s.sqlite"),
            "--data-dir",
            str(data_dir),
            "--out",
            str(out_dir),
        ],
    )
    assert res.exit_code == 0, res.output
    scripted.assert_done()
    assert scripted.requests[2].temperature == 0.5 and scripted.requests[0].temperature == 0.0
    assert (out_dir / "report.html").exists() and (out_dir / "maj_at_k.png").exists()
    assert "self-consistency [k=3, prompt=direct, temperature=0.5]" in (out_dir / "summary.csv").read_text()
    res = runner.invoke(app, ["runs", "--store", str(tmp_path / "s.sqlite")])
    assert res.exit_code == 0 and "gsm8k:test" in res.output


def test_report_reads_only_the_store(tmp_path):
    res = runner.invoke(
        app, ["report", "3", "--store", str(tmp_path / "none.sqlite"), "--out", str(tmp_path / "r")]
    )
    assert res.exit_code == 2 and f"no store at {tmp_path / 'none.sqlite'}" in res.output
    assert not (tmp_path / "none.sqlite").exists()
    Store(tmp_path / "empty.sqlite").close()
    before = sorted(p.name for p in tmp_path.iterdir())
    res = runner.invoke(
        app, ["report", "3", "--store", str(tmp_path / "empty.sqlite"), "--out", str(tmp_path / "r")]
    )
    assert res.exit_code == 2 and "run 3 is not in the store" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_malformed_task_file_is_named_with_its_line_before_any_call(cli_models, tmp_path):
    scripted = ScriptedModel([])
    cli_models(scripted)
    path = tmp_path / "mine.jsonl"
    path.write_text('{"question": "1 + 1?", "answer": 2}\n{"question": "2 + 2?", "answer": "four"}\n')
    res = runner.invoke(app, ["eval", f"jsonl:{path}", "-s", "direct", "--store", str(tmp_path / "s.sqlite")])
    assert res.exit_code == 2
    assert f"{path}:2: field 'answer' is not a number" in res.output.replace("\n", "")
    assert scripted.requests == []


def test_a_bad_strategy_list_is_explained(tmp_path):
    res = runner.invoke(
        app, ["compare", "gsm8k", "--strategies", "cot[k]", "--store", str(tmp_path / "s.sqlite")]
    )
    assert res.exit_code == 2 and "OPTION=VALUE" in res.output


def _fake_evaluate(monkeypatch, errored=(0,)):
    """Replace evaluate with a fake that records its arguments and returns one Outcome per plan."""
    from ponder.eval.evaluate import Outcome
    from ponder.eval.runner import Progress

    seen = {}

    async def fake(session, task, plans, *args, **kwargs):
        seen.update(task=task, plans=plans, args=args, kwargs=kwargs, model_options=session.model_options)
        outcomes = []
        for i, (plan, bad) in enumerate(zip(plans, errored), 1):
            progress = Progress(total=4, done=4 - bad, correct=1, tokens=1234)
            progress.errored = bad
            outcomes.append(Outcome(i, plan.label or plan.strategy, progress))
        return outcomes

    monkeypatch.setattr("ponder.eval.evaluate.evaluate", fake)
    return seen


def test_eval_passes_the_timeouts_and_error_policy_to_evaluate(monkeypatch):
    seen = _fake_evaluate(monkeypatch)
    res = runner.invoke(
        app,
        [
            "eval",
            "gsm8k",
            "-s",
            "direct",
            "-m",
            "openai:m@http://h/v1",
            "--timeout",
            "30",
            "--connect-timeout",
            "2.5",
            "--max-errors",
            "3",
            "--no-retry-errors",
        ],
    )
    assert res.exit_code == 0, res.output
    assert seen["model_options"] == {"timeout": 30.0, "connect_timeout": 2.5}
    assert seen["kwargs"]["max_errors"] == "3" and seen["kwargs"]["retry_errors"] is False
    assert "run 1 direct: 1/4 correct (25.0%), 1,234 tokens" in res.stdout
    assert res.stderr.strip() == ""


def test_eval_defaults_give_no_model_options(monkeypatch):
    seen = _fake_evaluate(monkeypatch)
    res = runner.invoke(app, ["eval", "gsm8k", "-s", "direct", "-m", "scripted"])
    assert res.exit_code == 0, res.output
    assert seen["model_options"] == {}
    assert seen["kwargs"]["max_errors"] == "10%" and seen["kwargs"]["retry_errors"] is True


def test_errored_items_are_counted_and_the_command_exits_1(monkeypatch):
    _fake_evaluate(monkeypatch, errored=(2,))
    res = runner.invoke(app, ["eval", "gsm8k", "-s", "direct", "-m", "scripted"])
    assert res.exit_code == 1
    assert "run 1 direct: 1/2 correct (50.0%), 1,234 tokens, 2 errored (rerun to retry them)" in res.stdout
    assert res.stderr.strip() == "error: 2 item(s) errored; rerun the same command to retry them"


def test_compare_writes_the_report_before_exiting_1_on_errored_items(monkeypatch, tmp_path):
    _fake_evaluate(monkeypatch, errored=(0, 1))
    written = []
    monkeypatch.setattr("ponder.cli.eval.show_report", lambda run_ids, *rest: written.append(run_ids))
    res = runner.invoke(
        app, ["compare", "gsm8k", "--strategies", "direct,cot", "-m", "scripted", "--no-retry-errors"]
    )
    assert res.exit_code == 1 and written == [[1, 2]]
    assert (
        "run 2 cot: 1/3 correct (33.3%), 1,234 tokens, 1 errored (rerun with --retry-errors to retry them)"
        in res.stdout
    )
    assert res.stderr.strip() == (
        "error: 1 item(s) errored; rerun the same command with --retry-errors to retry them"
    )


def test_an_error_with_its_own_exit_code_keeps_it():
    import typer

    from ponder.cli.common import guard
    from ponder.errors import ConfigError, RunFailed

    def fail(e):
        def raiser():
            raise e

        return raiser

    for error, code in ((RunFailed("too many"), 1), (ConfigError("bad"), 2)):
        with pytest.raises(typer.Exit) as exited:
            guard(fail(error))
        assert exited.value.exit_code == code


def test_answers_strategy_names_and_store_text_are_printed_as_text(monkeypatch, tmp_path):
    from ponder.details import SelfConsistencyDetails
    from ponder.types import Compute, Result, Task

    async def fake_solve(*args, **kwargs):
        return Result(
            Task("t", "q"),
            "cot[/x]",
            "[/b]42[red]",
            "steps [/i] here",
            None,
            (),
            Compute(),
            SelfConsistencyDetails({"[/v]": 2}),
            model="m[/x]",
        )

    monkeypatch.setattr("ponder.solve.solve", fake_solve)
    res = runner.invoke(app, ["solve", "q", "-m", "scripted"])
    assert res.exit_code == 0, res.output
    assert "answer: [/b]42[red]" in res.stdout and "reasoning (cot[/x])" in res.stdout
    assert "steps [/i] here" in res.stdout and "votes: [/v]: 2" in res.stdout

    store = tmp_path / "s.sqlite"
    with Store(store) as s:
        s.start_run("eval", "openai:m@http://[::1]:8000/v1", "cot", {"task": "jsonl:/d/[/x].jsonl"})
    res = runner.invoke(app, ["runs", "--store", str(store)])
    assert res.exit_code == 0, res.output
    assert "[/x].jsonl" in res.stdout.replace("\n", "") or "[/x]" in res.stdout
