"""`agent-coding` and the ponder-code problems: every reference solution passes its tests in the
sandbox and a wrong one fails; the unit-test runner survives code that is wrong, does not parse,
loops forever or floods its output; the writer, executor and reviewer converse through the
harness, the final code is scored by the hidden tests and stored with `CodingDetails`."""

from __future__ import annotations

import json

import pytest

from ponder.agents.coding import AgentCoding, approves, final_code
from ponder.agents.unit_tests import build_script, read_summary, run_tests
from ponder.details import CodingDetails
from ponder.errors import ConfigError, DataError
from ponder.eval.evaluate import Plan, evaluate
from ponder.models.scripted import ScriptedModel, Step
from ponder.sandbox import Execution, Limits
from ponder.store import Store
from ponder.tasks.code_problems import FILE, load_benchmark
from ponder.tasks.data import jsonl_rows
from ponder.tasks.registry import load_tasks
from ponder.types import CodeExecution, Task, Utterance

ADD = "def add(a: int, b: int) -> int:\n    return a + b\n"
ADD_TESTS = ["assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert add(0, 0) == 0"]
FAST = Limits(wall_s=5, cpu_s=2)


def fenced(code: str) -> str:
    return f"Here is the function.\n\n```python\n{code}```"


def test_the_problems_load_with_their_tests_and_the_reference_as_gold(data_dir):
    tasks = load_tasks("ponder-code", data_dir=data_dir)
    assert len(tasks) == 12 and len({t.id for t in tasks}) == 12
    for task in tasks:
        assert task.id.startswith("ponder-code/") and task.kind == "open"
        entry = task.meta["entry_point"]
        assert f"def {entry}(" in task.question and "```python" in task.question
        assert task.answer is not None and task.answer.startswith(f"def {entry}(")
        assert 5 <= len(task.meta["tests"]) <= 8 and task.meta["examples"]
        assert all(line.startswith(f"assert {entry}(") for line in task.meta["tests"])
        assert ">>>" in task.question


@pytest.mark.sandbox
def test_every_reference_solution_passes_and_a_wrong_one_fails(data_dir):
    rows = [row for _, row in jsonl_rows(FILE, data_dir)]
    assert len(rows) == 12
    for row in rows:
        checks = row["examples"] + row["tests"]
        good = run_tests(row["prompt"] + row["solution"], checks)
        assert good.passed == good.total == len(checks), (row["id"], good.report)
        wrong = run_tests(row["prompt"] + "    return None\n", row["tests"])
        assert wrong.passed < wrong.total, row["id"]


def test_a_malformed_row_names_its_file_line_and_field(tmp_path):
    folder = tmp_path / "data"
    (folder / "code_problems").mkdir(parents=True)
    good = {
        "id": "inc",
        "prompt": 'def inc(x: int) -> int:\n    """Add one."""\n',
        "entry_point": "inc",
        "examples": ["assert inc(1) == 2"],
        "tests": ["assert inc(2) == 3"],
        "solution": "    return x + 1\n",
    }
    path = folder / FILE
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "b", "tests": []}) + "\n")
    with pytest.raises(DataError, match=r"problems\.jsonl:2: field 'tests'"):
        load_benchmark("ponder-code", None, folder)
    path.write_text(json.dumps({**good, "entry_point": "dec"}) + "\n")
    with pytest.raises(DataError, match=r"problems\.jsonl:1: field 'prompt' does not define dec"):
        load_benchmark("ponder-code", None, folder)
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(DataError, match=r"problems\.jsonl:2: field 'id': 'inc' appears twice"):
        load_benchmark("ponder-code", None, folder)
    path.write_text(json.dumps(good) + "\n")
    (task,) = load_benchmark("ponder-code", None, folder)
    assert task.answer == good["prompt"] + good["solution"] and task.meta["tests"] == good["tests"]


def test_the_summary_is_read_from_the_marker_and_garbage_reads_as_nothing_passed():
    mark = "@@m@@"
    script = build_script(ADD, ADD_TESTS, mark)
    compile(script, "script.py", "exec")
    summary = {"defined": True, "error": None, "passed": 2, "failures": [{"test": "t", "error": "E"}]}
    ran = read_summary(
        Execution("python", script, 0, f"noise\n{mark}{json.dumps(summary)}\n", "", 0.1), 3, mark
    )
    assert (ran.passed, ran.total) == (2, 3) and ran.report == "passed 2 of 3 tests\nFAILED t: E"
    assert ran.execution is not None and ran.execution.code == script
    for stdout in ("no marker at all", f"{mark}not json", f"{mark}[1, 2]", f'{mark}{{"defined": true}}'):
        bad = read_summary(Execution("python", script, 0, stdout, "oops", 0.1), 3, mark)
        assert (
            bad.passed == 0
            and "ended before its summary (exit code 0)" in bad.report
            and "oops" in bad.report
        )


@pytest.mark.sandbox
def test_the_runner_scores_a_correct_and_a_wrong_solution():
    right = run_tests(ADD, ADD_TESTS)
    assert (right.passed, right.total, right.all_passed) == (3, 3, True)
    wrong = run_tests("def add(a, b):\n    print('adding')\n    return a - b\n", ADD_TESTS)
    assert (wrong.passed, wrong.total) == (1, 3)
    assert "FAILED assert add(1, 2) == 3: AssertionError (got -1)" in wrong.report
    assert isinstance(wrong.execution, CodeExecution) and "adding" in wrong.execution.stderr


@pytest.mark.sandbox
def test_code_that_does_not_parse_loops_or_floods_passes_nothing_and_says_why():
    broken = run_tests("def add(a, b)\n    return a + b\n", ADD_TESTS)
    assert broken.passed == 0 and "the code did not run: SyntaxError" in broken.report
    looping = run_tests("def add(a, b):\n    while True:\n        pass\n", ADD_TESTS, FAST)
    assert looping.passed == 0 and looping.total == 3 and "cpu limit" in looping.report
    flood = run_tests("print('x' * 100_000_000)\n" + ADD, ADD_TESTS, FAST)
    assert flood.passed == 0 and "output limit" in flood.report
    exits = run_tests("import os\nos._exit(0)\n", ADD_TESTS, FAST)
    assert exits.passed == 0 and "ended before its summary" in exits.report


def test_approval_and_the_final_code():
    assert approves("APPROVE") and approves("Looks right. APPROVED.")
    assert not approves("I do not APPROVE: it fails on empty input")
    assert not approves("Problems: 1. wrong result") and not approves("approve")
    first, second = fenced("def f():\n    return 1\n"), fenced("def f():\n    return 2\n")
    usage = "```python\nprint(f())\n```"
    assert final_code([first, second + "\n" + usage], "f") == "def f():\n    return 2\n"
    assert final_code([usage], "f") == "print(f())\n"
    assert final_code(["no code here"], "f") is None


async def test_a_task_without_tests_is_refused():
    with pytest.raises(ConfigError, match="needs a task with unit tests"):
        await AgentCoding().run(Task("gsm8k/1", "What is 2 + 2?", "4"), ScriptedModel([]))


def writes(code: str) -> Step:
    return Step([fenced(code)], expect=lambda r: "Python programmer" in r.messages[0].content)


@pytest.mark.sandbox
async def test_the_reviewer_sends_wrong_code_back_and_approves_the_fix(tmp_path, session_of, data_dir):
    task = load_tasks("ponder-code", data_dir=data_dir)[0]
    wrong = "def count_vowels(text: str) -> int:\n    return sum(ch in 'aeiou' for ch in text)\n"
    right = "def count_vowels(text: str) -> int:\n    return sum(ch in 'aeiou' for ch in text.lower())\n"

    def reviews_the_fix(request):
        said = request.messages[-1].content
        return "code reviewer" in request.messages[0].content and "executor:" in said and "FAILED" not in said

    model = ScriptedModel(
        [
            Step([fenced(wrong)], expect=lambda r: task.meta["examples"][0] in r.messages[-1].content),
            Step(
                ["It ignores upper-case vowels."], expect=lambda r: "passed 2 of 2" in r.messages[-1].content
            ),
            Step([fenced(right)], expect=lambda r: "reviewer: It ignores" in r.messages[-1].content),
            Step(["APPROVE"], expect=reviews_the_fix),
        ]
    )
    store = tmp_path / "s.sqlite"
    async with session_of(model, store=store) as session:
        (outcome,) = await evaluate(
            session, "ponder-code", [Plan("agent-coding", {})], limit=1, data_dir=data_dir
        )
    model.assert_done()
    assert outcome.progress.correct == 1
    with Store(store, readonly=True) as s:
        (result,) = s.results(outcome.run_id)
    assert result.correct is True and result.answer == right
    details = result.details
    assert isinstance(details, CodingDetails)
    assert (details.tests_passed, details.tests_total, details.reviews) == (6, 6, 1)
    assert details.stopped_by == "termination message" and details.test_report == "passed 6 of 6 tests"
    said = [e.speaker for e in result.trace if isinstance(e, Utterance)]
    assert said == ["user_proxy", "writer", "executor", "reviewer", "writer", "executor", "reviewer"]
    runs = [e for e in result.trace if isinstance(e, CodeExecution)]
    assert len(runs) == 3 and 'assert count_vowels("AEIOU") == 5' in runs[-1].code
    costs = {c.agent: c for c in details.costs}
    assert costs["writer"].calls == 2 and costs["reviewer"].calls == 2 and costs["executor"].executions == 2
    assert result.compute.calls == 4


@pytest.mark.sandbox
async def test_without_a_reviewer_the_writer_answers_once(tmp_path, session_of):
    wrong = "def count_vowels(text: str) -> int:\n    return 0\n"
    model = ScriptedModel([writes(wrong)])
    async with session_of(model, store=tmp_path / "s.sqlite") as session:
        (outcome,) = await evaluate(
            session, "ponder-code", [Plan("agent-coding", {"reviewer": False})], limit=1
        )
    model.assert_done()
    with Store(tmp_path / "s.sqlite", readonly=True) as s:
        (result,) = s.results(outcome.run_id)
    assert len(model.requests) == 1 and result.correct is False
    details = result.details
    assert isinstance(details, CodingDetails) and details.reviews == 0
    assert (details.tests_passed, details.tests_total) == (2, 6) and details.stopped_by == "max turns"
    assert [e.speaker for e in result.trace if isinstance(e, Utterance)] == ["user_proxy", "writer"]


@pytest.mark.live
@pytest.mark.sandbox
async def test_the_embedded_model_writes_code_that_is_tested(tmp_path, data_dir):
    from ponder.models import get_model

    task = load_tasks("ponder-code", data_dir=data_dir)[0]
    result = await AgentCoding(reviewer=False, max_tokens=200).run(task, get_model("local"))
    details = result.details
    assert isinstance(details, CodingDetails) and details.tests_total == len(task.meta["tests"])
    assert any(isinstance(e, CodeExecution) for e in result.trace), details.test_report
