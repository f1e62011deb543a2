"""Unit tests of model-written code, run in the sandbox: one script defines the code, runs each
test line on its own (an assertion or any error fails that line only) and prints a JSON summary
after a marker; the summary is read back as (passed, total, report).

Code that does not define (a syntax error, an exception at import), that never reaches the
summary (an endless loop, a flood of output, an exit of its own) or whose summary cannot be read
passes none of the tests, the reason in the report; nothing here raises for what the code does.
`build_script` and `read_summary` are pure; `run_tests` runs the script in a fresh sandbox.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ponder.sandbox import Execution, Limits, Sandbox
from ponder.types import CodeExecution

LIMITS = Limits(wall_s=10, cpu_s=10)
SHOWN = 200  # characters of an error or a value kept in the report

_SCRIPT = """\
import ast, json, sys

MARK = {mark!r}
CODE = {code!r}
TESTS = {tests!r}


def cut(text):
    return text if len(text) <= {shown} else text[:{shown}] + "..."


def describe(error, line, namespace):
    text = type(error).__name__
    try:
        text += ": " + str(error) if str(error) else ""
        if isinstance(error, AssertionError):
            node = ast.parse(line).body[0]
            if isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare):
                got = eval(compile(ast.Expression(node.test.left), "<test>", "eval"), namespace)
                text += " (got " + repr(got) + ")"
    except BaseException:
        pass
    return cut(text)


def main():
    namespace = {{"__name__": "solution"}}
    try:
        exec(compile(CODE, "solution.py", "exec"), namespace)
    except BaseException as error:
        return {{"defined": False, "error": describe(error, "", namespace), "passed": 0, "failures": []}}
    passed, failures = 0, []
    for line in TESTS:
        try:
            exec(compile(line, "<test>", "exec"), namespace)
            passed += 1
        except BaseException as error:
            failures.append({{"test": line, "error": describe(error, line, namespace)}})
    return {{"defined": True, "error": None, "passed": passed, "failures": failures}}


real_stdout, sys.stdout = sys.stdout, sys.stderr
summary = main()
sys.stdout = real_stdout
print("\\n" + MARK + json.dumps(summary), flush=True)
"""


@dataclass(frozen=True)
class UnitTestResult:
    """How many of `total` tests the code passed, the report an agent reads, and the run itself
    (None when nothing was run)."""

    passed: int
    total: int
    report: str
    execution: CodeExecution | None = None

    @property
    def all_passed(self) -> bool:
        return self.total > 0 and self.passed == self.total


def build_script(code: str, tests: Sequence[str], mark: str) -> str:
    """The Python program that defines `code`, runs each line of `tests` and prints its summary
    as one line `mark` + JSON (the code's own printing goes to stderr)."""
    return _SCRIPT.format(mark=mark, code=code, tests=list(tests), shown=SHOWN)


def read_summary(execution: Execution, total: int, mark: str) -> UnitTestResult:
    """The test run an execution of `build_script` reports; passed=0 with the reason where the
    script did not get to its summary or the summary is not one it writes."""
    ran = CodeExecution(
        execution.language,
        execution.code,
        execution.stdout,
        execution.stderr,
        execution.exit_code,
        execution.seconds,
    )
    summary = _summary(execution.stdout, mark)
    if summary is None:
        return UnitTestResult(0, total, _no_summary(execution, total), ran)
    if not summary["defined"]:
        return UnitTestResult(
            0, total, f"passed 0 of {total} tests: the code did not run: {summary['error']}", ran
        )
    passed = min(summary["passed"], total)
    lines = [f"passed {passed} of {total} tests"]
    lines += [f"FAILED {f['test']}: {f['error']}" for f in summary["failures"]]
    return UnitTestResult(passed, total, "\n".join(lines), ran)


def run_tests(code: str, tests: Sequence[str], limits: Limits = LIMITS) -> UnitTestResult:
    """Run `tests` against `code` in a fresh sandbox (see the module's docstring)."""
    mark = f"@@ponder-tests-{uuid.uuid4().hex}@@"
    with Sandbox(limits) as box:
        execution = box.run(build_script(code, tests, mark), "python")
    return read_summary(execution, len(tests), mark)


def _summary(stdout: str, mark: str) -> dict[str, Any] | None:
    """The summary after the last marker, when it has the shape the script writes."""
    at = stdout.rfind(mark)
    if at < 0:
        return None
    line = stdout[at + len(mark) :].split("\n", 1)[0]
    try:
        value = json.loads(line)
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("defined"), bool):
        return None
    passed, failures = value.get("passed"), value.get("failures")
    if not isinstance(passed, int) or isinstance(passed, bool) or not isinstance(failures, list):
        return None
    if not all(isinstance(f, dict) and isinstance(f.get("test"), str) for f in failures):
        return None
    return value


def _no_summary(execution: Execution, total: int) -> str:
    why = f"exit code {execution.exit_code}"
    if execution.limit is not None:
        why += f", stopped by the {execution.limit} limit"
    if execution.truncated:
        why += ", output truncated"
    text = f"passed 0 of {total} tests: the test run ended before its summary ({why})"
    tail = execution.stderr.strip()[-SHOWN:]
    return f"{text}\n{tail}" if tail else text
