from typer.testing import CliRunner

from ponder.cli import app
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store

runner = CliRunner()


def test_solve_prints_reasoning_answer_and_compute_and_stores_the_run(monkeypatch, tmp_path):
    scripted = ScriptedModel([Step(["3 + 4 = 7 apples."]), Step([" 7."])])
    monkeypatch.setattr("ponder.solve.get_model", lambda spec: scripted)
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
        [row] = s.results(run["id"])
        assert row["answer"] == "7" and row["calls"] == 2
        assert [c["purpose"] for c in s.calls(run["id"])] == ["generate", "extract"]


def test_solve_reruns_come_from_the_cache(monkeypatch, tmp_path):
    scripted = ScriptedModel([Step(["2 + 3 = 5."]), Step([" 5."])])
    monkeypatch.setattr("ponder.solve.get_model", lambda spec: scripted)
    args = ["solve", "2+3?", "--store", str(tmp_path / "s.sqlite")]
    assert runner.invoke(app, args).exit_code == 0
    res = runner.invoke(app, args)  # a second model call would raise: the script is exhausted
    assert res.exit_code == 0 and "2 from cache" in res.output


def test_solve_with_a_sampling_strategy_prints_votes_and_the_verifier_share(monkeypatch, tmp_path):
    scripted = ScriptedModel([Step(["The answer is 5.", "The answer is 6.", "The answer is 5."],
                                   expect={"n": 3, "temperature": 0.5})])
    monkeypatch.setattr("ponder.solve.get_model", lambda spec: scripted)
    res = runner.invoke(app, ["solve", "2+3?", "--strategy", "self-consistency", "-k", "3", "--temperature", "0.5",
                              "--no-extract-call", "--store", str(tmp_path / "s.sqlite")])
    assert res.exit_code == 0, res.output
    assert "answer: 5" in res.output and "votes: 5: 2, 6: 1" in res.output
    scripted.assert_done()


def test_solve_with_best_of_n_reports_the_verifier_share(monkeypatch, tmp_path):
    import math

    judge = [Step(["Yes"], logprobs=[[("Yes", math.log(p), (("Yes", math.log(p)), ("No", math.log(1 - p))))]])
             for p in (0.2, 0.9)]
    scripted = ScriptedModel([Step(["The answer is 6.", "The answer is 5."])] + judge)
    monkeypatch.setattr("ponder.solve.get_model", lambda spec: scripted)
    res = runner.invoke(app, ["solve", "2+3?", "-s", "best-of-n", "-k", "2", "--exemplars", "none",
                              "--no-extract-call", "--store", str(tmp_path / "s.sqlite")])
    assert res.exit_code == 0, res.output
    assert "answer: 5" in res.output and "verifier 2 calls" in res.output


def test_an_option_the_strategy_does_not_take_is_named(monkeypatch):
    monkeypatch.setattr("ponder.solve.get_model", lambda spec: ScriptedModel([]))
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
    if "needs a missing package" in res.output:  # llama-cpp-python not installed here
        return
    assert res.exit_code == 2 and str(missing) in res.output and "Traceback" not in res.output


def test_unknown_local_model_name_lists_the_known_ones():
    res = runner.invoke(app, ["solve", "hi", "--model", "local:llama-9000"])
    assert res.exit_code == 2
    assert "unknown local model 'llama-9000'" in res.output or "needs a missing package" in res.output


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
