"""Bad input through the CLI: one `error:` line on stderr naming what was wrong and where, exit
status 2, no traceback, and no run left in the store. The model spec is `scripted` with an empty
script, so any model call would fail loudly instead of being refused up front."""

from __future__ import annotations

import math
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ponder.cli import app
from ponder.errors import ConfigError
from ponder.eval.limits import parse_max_errors
from ponder.store import Store
from ponder.strategies.options import Bounds

runner = CliRunner()
M = ["-m", "scripted"]
EVAL = ["eval", "gsm8k", *M]
BATTLE = ["arena", "battle", "gsm8k", "--players", "direct,cot", *M]
VOTE = ["arena", "vote", "gsm8k", "--players", "direct,cot", *M]

# (flag as typed, command before it, bad values); every numeric flag of `eval` (the strategy flags
# and the run flags), of `faithfulness` and of the arena commands
FLAG_CASES = [
    ("-k", EVAL, ["0", "-4"]),
    ("--temperature", EVAL, ["-1", "nan", "inf", "-inf"]),
    ("--seed", EVAL, ["-1"]),
    ("--max-tokens", EVAL, ["0", "-1"]),
    ("--per-call-budget", EVAL, ["0"]),
    ("--per-task-budget", EVAL, ["-3"]),
    ("--width", EVAL, ["0"]),
    ("--expand", EVAL, ["0"]),
    ("--keep-fraction", EVAL, ["0", "1.5", "nan"]),
    ("--max-steps", EVAL, ["0"]),
    ("--step-tokens", EVAL, ["0"]),
    ("--rollouts", EVAL, ["0"]),
    ("--batch", EVAL, ["0"]),
    ("--max-turns", EVAL, ["0"]),
    ("--max-round", EVAL, ["0"]),
    ("--passages", EVAL, ["-1"]),
    ("--threshold", EVAL, ["0", "1", "2", "nan"]),
    ("--limit", EVAL, ["0", "-5"]),
    ("-n", EVAL, ["-5"]),
    ("-c", EVAL, ["-2", "0"]),
    ("--count", ["eval", "last-letter", *M], ["0"]),
    ("--timeout", EVAL, ["0", "-1", "nan", "inf"]),
    ("--connect-timeout", EVAL, ["0", "inf"]),
    ("--max-errors", EVAL, ["-1", "abc", "101%", "5%%", "1.5", ""]),
    ("--max-tokens", ["faithfulness", "gsm8k", *M], ["0"]),
    ("--seed", ["faithfulness", "gsm8k", *M], ["-1"]),
    ("--fraction", ["faithfulness", "gsm8k", *M], ["0", "1.1", "nan"]),
    ("--limit", ["faithfulness", "gsm8k", *M], ["0"]),
    ("--judge-max-tokens", BATTLE, ["0"]),
    ("--pairs", BATTLE, ["0"]),
    ("--seed", BATTLE, ["-1"]),
    ("--limit", BATTLE, ["0"]),
    ("--concurrency", BATTLE, ["0"]),
    ("--rounds", ["arena", "ratings"], ["0"]),
    ("--seed", ["arena", "ratings"], ["-1"]),
    ("--k", ["arena", "ratings"], ["0", "-4", "nan", "inf"]),
    ("--limit", VOTE, ["0"]),
    ("--port", VOTE, ["0", "70000"]),
    ("--seed", VOTE, ["-2"]),
    ("--port", ["view"], ["0", "70000"]),
    ("--games", ["agents", "run", "chess", *M], ["0"]),
    ("--max-plies", ["agents", "run", "chess", *M], ["0"]),
    ("--attempts", ["agents", "run", "chess", *M], ["-1"]),
    ("--limit", ["agents", "run", "math", *M], ["0"]),
]
# the solve command takes the strategy flags too
FLAG_CASES += [(flag, ["solve", "2+3?", *M], values) for flag, command, values in FLAG_CASES[:17]]

BRACKETS = [
    ("self-consistency[k=-3]", "self-consistency[k=-3]: k must be at least 1, got -3"),
    ("self-consistency[k=0,prompt=direct]", "k must be at least 1, got 0"),
    ("self-consistency[temperature=nan]", "temperature must be a finite number"),
    ("self-consistency[temperature=-0.5]", "temperature must be at least 0, got -0.5"),
    ("cot[max-tokens=0]", "max_tokens must be at least 1"),
    ("cot[max_tokens=2.5]", "max_tokens='2.5' is not a whole number"),
    ("cot[seed=-1]", "seed must be at least 0"),
    ("cot[per_task_budget=0]", "per_task_budget must be at least 1"),
    ("beam-search[keep_fraction=0]", "keep_fraction must be more than 0 and at most 1, got 0"),
    ("beam-search[width=0]", "width must be at least 1"),
    ("adaptive-consistency[threshold=1]", "threshold must be more than 0 and less than 1, got 1"),
    ("adaptive-consistency[batch=inf]", "batch='inf' is not a whole number"),
    ("weighted-vote[k=abc]", "k='abc' is not a whole number"),
    ("cot[extract_call=maybe]", "extract_call='maybe' is not true or false"),
]


def _cases(tmp: Path) -> list[tuple[str, list[str], str]]:
    """(id, argv, text the error line must contain)."""
    cases = []
    for flag, command, values in FLAG_CASES:
        for value in values:
            cases.append(
                (
                    f"{command[0]} {flag} {value}",
                    [
                        *command,
                        f"{flag}={value}" if flag.startswith("--") else flag,
                        *([] if flag.startswith("--") else [value]),
                    ],
                    flag,
                )
            )
    for item, message in BRACKETS:
        cases.append((f"compare {item}", ["compare", "gsm8k", "--strategies", f"direct,{item}", *M], message))
    cases.append(
        (
            "arena player bracket",
            [*BATTLE[:4], "direct,self-consistency[k=0]", *M],
            "self-consistency[k=0]: k must be at least 1, got 0",
        )
    )
    cases.append(("brackets without =", ["compare", "gsm8k", "--strategies", "cot[k]", *M], "'k'"))
    cases += [
        ("unknown strategy", [*EVAL, "-s", "tree-of-thought"], "unknown strategy 'tree-of-thought'"),
        (
            "unknown strategy in a list",
            ["compare", "gsm8k", "--strategies", "cot,nope", *M],
            "unknown strategy 'nope'",
        ),
        ("markup in a strategy", [*EVAL, "-s", "cot[/x]"], "unknown strategy 'cot[/x]'"),
        ("markup in a bracket", ["compare", "gsm8k", "--strategies", "cot[/x]", *M], "cot[/x]"),
        ("option the strategy does not take", [*EVAL, "-s", "cot", "--width", "3"], "width"),
        ("malformed model spec", ["eval", "gsm8k", "-m", "banana:x"], "unknown model spec 'banana:x'"),
        ("model spec without url", ["eval", "gsm8k", "-m", "openai:gpt"], "openai:gpt"),
        ("model spec with markup", ["solve", "hi", "-m", "openai:m@[/x]"], "base URL '[/x]'"),
        ("unknown task", ["eval", "nope", *M], "unknown task 'nope'"),
        ("unknown task variant", ["eval", "gsm8k:dev", *M], "'dev'"),
        (
            "non-UTF-8 JSONL",
            ["eval", f"jsonl:{tmp / 'latin1.jsonl'}", *M],
            f"{tmp / 'latin1.jsonl'}:2: not UTF-8 (byte 0xe9 at column 18)",
        ),
        (
            "non-UTF-8 JSONL, markup in its path",
            ["eval", f"jsonl:{tmp}/[/b]x.jsonl", *M],
            f"{tmp}/[/b]x.jsonl:1: not UTF-8 (byte 0xff at column 1)",
        ),
        (
            "empty JSONL",
            ["eval", f"jsonl:{tmp / 'empty.jsonl'}", *M],
            f"{tmp / 'empty.jsonl'}: the file is empty",
        ),
        (
            "blank JSONL",
            ["eval", f"jsonl:{tmp / 'blank.jsonl'}", *M],
            f"{tmp / 'blank.jsonl'}: the file is empty",
        ),
        (
            "JSONL array line",
            ["eval", f"jsonl:{tmp / 'array.jsonl'}", *M],
            f"{tmp / 'array.jsonl'}:2: expected a JSON object, got an array",
        ),
        (
            "JSONL string line",
            ["eval", f"jsonl:{tmp / 'string.jsonl'}", *M],
            f"{tmp / 'string.jsonl'}:1: expected a JSON object, got a string",
        ),
        (
            "JSONL folder",
            ["eval", f"jsonl:{tmp / 'folder.jsonl'}", *M],
            f"{tmp / 'folder.jsonl'} is a folder",
        ),
        (
            "missing JSONL",
            ["eval", f"jsonl:{tmp / 'missing.jsonl'}", *M],
            f"{tmp / 'missing.jsonl'} does not exist",
        ),
        (
            "missing data file",
            ["eval", "gsm-symbolic", *M, "--data-dir", str(tmp / "data")],
            f"{tmp / 'data' / 'gsm_symbolic' / 'templates' / 'symbolic'} is missing",
        ),
        (
            "non-UTF-8 data file",
            ["eval", "svamp", *M, "--data-dir", str(tmp / "data")],
            f"{tmp / 'data' / 'svamp' / 'SVAMP.json'}:3: not UTF-8 (byte 0xfe at column 4)",
        ),
        (
            "data folder is a file",
            [*EVAL, "--data-dir", str(tmp / "plain.txt")],
            f"data folder {tmp / 'plain.txt'}",
        ),
        (
            "report --out under a file",
            ["report", "1", "--out", str(tmp / "plain.txt" / "sub")],
            str(tmp / "plain.txt" / "sub"),
        ),
        ("report of an unknown run", ["report", "99", "--out", str(tmp / "r")], "run 99 is not in the store"),
        ("view of a missing store", ["view", "--store", str(tmp / "none.sqlite")], f"no store at {tmp}"),
        ("view of a file that is not a store", ["view", "--store", str(tmp / "plain.txt")], "plain.txt"),
        ("unknown option", [*EVAL, "--bogus"], "--bogus"),
        ("missing argument", ["eval"], "Missing argument"),
        ("not an integer", [*EVAL, "-k", "abc"], "-k"),
        ("not a number", [*EVAL, "--temperature", "warm"], "--temperature"),
        ("unknown command", ["evaluate"], "evaluate"),
        ("ratings method", ["arena", "ratings", "--method", "[/x]"], "--method '[/x]'"),
        ("timeout on a local model", [*EVAL, "--timeout", "5"], "--timeout"),
        (
            "non-UTF-8 exemplars",
            [*EVAL, "-s", "cot", "--exemplars", str(tmp / "shots.json")],
            f"{tmp / 'shots.json'}:1: not UTF-8 (byte 0xff at column 2)",
        ),
        (
            "non-UTF-8 exemplars of a sampler",
            ["compare", "gsm8k", "--strategies", f"self-consistency[exemplars={tmp / 'shots.json'}]", *M],
            f"{tmp / 'shots.json'}:1: not UTF-8",
        ),
    ]
    return cases


def _files(tmp: Path) -> None:
    (tmp / "latin1.jsonl").write_bytes(
        b'{"question": "1+1?", "answer": 2}\n{"question": "caf\xe9?", "answer": 1}\n'
    )
    (tmp / "[").mkdir()
    (tmp / "[" / "b]x.jsonl").write_bytes(b"\xff\n")
    (tmp / "empty.jsonl").write_bytes(b"")
    (tmp / "blank.jsonl").write_text("\n  \n")
    (tmp / "array.jsonl").write_text('{"question": "q", "answer": 1}\n[1, 2]\n')
    (tmp / "string.jsonl").write_text('"a question"\n')
    (tmp / "folder.jsonl").mkdir()
    (tmp / "plain.txt").write_text("not a folder")
    (tmp / "shots.json").write_bytes(b"[\xff]")
    (tmp / "data" / "svamp").mkdir(parents=True)
    (tmp / "data" / "svamp" / "SVAMP.json").write_bytes(b'[\n  {\n"ID\xfe": 1}\n]\n')


def _runs(store: Path) -> int:
    if not store.exists():
        return 0
    with sqlite3.connect(store) as db:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'runs'").fetchone():
            return 0
        return db.execute("SELECT count(*) FROM runs").fetchone()[0]


def _stderr(res) -> str:
    try:
        return res.stderr
    except ValueError:  # a click whose runner mixes the streams
        return res.output


@pytest.fixture
def store(tmp_path):
    """The store the commands use (PONDER_STORE), holding one finished run to report on."""
    path = Path(os.environ["PONDER_STORE"])
    with Store(path) as s:
        run_id = s.start_run("eval", "scripted", "direct", {"task": "gsm8k:test"})
        s.finish_run(run_id)
    return path


def _range_checked(name: str) -> bool:
    """Whether `eval` refuses a far too small value of the flag with its range, naming the flag."""
    flag = "--" + name.replace("_", "-")
    res = runner.invoke(app, [*EVAL, f"{flag}=-1000000"])
    return res.exit_code == 2 and flag in _stderr(res) and "must be" in _stderr(res)


def _is_number(param) -> bool:
    descriptor = getattr(param, "type_descriptor", None)  # typer >= 0.20 records the Python type
    if descriptor is not None:
        return descriptor.annotation in (int, float)
    return param.type.name in ("integer", "float")


def test_every_numeric_flag_has_a_range_and_a_case():
    params = typer.main.get_command(app).commands["eval"].params
    typed = {p.name for p in params if _is_number(p)}
    ranged = {name for name in typed if _range_checked(name)}
    assert typed <= ranged, typed - ranged
    covered = {flag.lstrip("-").replace("-", "_") for flag, _, _ in FLAG_CASES}
    assert typed - {"k", "limit", "concurrency"} <= covered
    assert {"k", "n", "c"} <= covered


@pytest.mark.parametrize("index", range(len(_cases(Path("/t")))), ids=[c[0] for c in _cases(Path("/t"))])
def test_bad_input_is_one_line_exit_2_and_leaves_no_run(index, tmp_path, store, data_dir, monkeypatch):
    monkeypatch.setenv("PONDER_DATA_DIR", str(data_dir))
    _files(tmp_path)
    _, argv, named = _cases(tmp_path)[index]
    before = _runs(store)
    res = runner.invoke(app, argv)
    err = _stderr(res)
    lines = [line for line in err.splitlines() if line.strip()]
    assert res.exit_code == 2, (res.exit_code, res.output)
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert named in lines[0], (named, lines[0])
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert _runs(store) == before


@pytest.mark.parametrize(
    "argv, named",
    [
        (["eval", "gsm8k", "-m", "scripted", "--limit", "-5"], "--limit/-n must be at least 1, got -5"),
        (
            ["compare", "gsm8k", "--strategies", "self-consistency[k=-3]", "-m", "scripted"],
            "self-consistency[k=-3]: k must be at least 1, got -3",
        ),
        (["eval", "gsm8k", "-m", "scripted", "-s", "cot[/x]"], "unknown strategy 'cot[/x]'"),
        (["eval"], "Missing argument"),
    ],
)
def test_the_installed_command_prints_one_line_too(argv, named, tmp_path, data_dir):
    env = {
        **os.environ,
        "PONDER_STORE": str(tmp_path / "s.sqlite"),
        "PONDER_DATA_DIR": str(data_dir),
        "COLUMNS": "40",
    }
    done = subprocess.run(
        [sys.executable, "-m", "ponder.cli", *argv], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == done.stderr.strip().splitlines()[0], done.stderr
    assert done.stderr.startswith("error: ") and named in done.stderr
    assert _runs(tmp_path / "s.sqlite") == 0


def test_a_long_error_is_not_wrapped():
    res = runner.invoke(app, ["eval", "gsm8k", "-m", "scripted", "-s", "x" * 300], env={"COLUMNS": "40"})
    assert res.exit_code == 2 and len(_stderr(res).strip().splitlines()) == 1


def test_server_text_is_printed_as_text_on_one_line(monkeypatch):
    from ponder.errors import FatalModelError

    async def refuse(*args, **kwargs):
        raise FatalModelError('http://h/v1: 400 {"error": "[/x] [bold]no[/bold]\nsecond line\x1b[0m"}')

    monkeypatch.setattr("ponder.solve.solve", refuse)
    res = runner.invoke(app, ["solve", "hi", "-m", "scripted"])
    assert res.exit_code == 2
    [line] = _stderr(res).splitlines()
    assert line == 'error: http://h/v1: 400 {"error": "[/x] [bold]no[/bold] second line\\x1b[0m"}'


def test_a_run_that_failed_exits_1_with_its_message(monkeypatch):
    from ponder.errors import RunFailed

    async def fail(*args, **kwargs):
        raise RunFailed("run 3: 5 of 10 items errored, more than --max-errors 10% allows")

    monkeypatch.setattr("ponder.eval.evaluate.evaluate", fail)
    res = runner.invoke(app, ["eval", "gsm8k", "-m", "scripted"])
    assert res.exit_code == 1
    assert _stderr(res).strip() == "error: run 3: 5 of 10 items errored, more than --max-errors 10% allows"


@pytest.mark.parametrize(
    "bounds, good, bad",
    [
        (Bounds(low=1), [1, 10**9], [0, -1]),
        (Bounds(low=0), [0, 0.0, 2.5], [-1, -0.001, math.nan, math.inf, -math.inf]),
        (Bounds(low=0, high=1, low_open=True), [1, 0.5, 1e-9], [0, 1.0000001, math.nan]),
        (Bounds(low=0, high=1, low_open=True, high_open=True), [0.5, 0.999], [0, 1, math.nan]),
    ],
)
def test_bounds(bounds, good, bad):
    assert all(bounds.problem(v) is None for v in good)
    assert all(bounds.problem(v) for v in bad)


@pytest.mark.parametrize(
    "text, ok",
    [
        ("0", True),
        ("10", True),
        ("10%", True),
        ("0%", True),
        ("100%", True),
        ("2.5%", True),
        (" 7 ", True),
        ("100.5%", False),
        ("-1", False),
        ("1.5", False),
        ("%", False),
        ("ten", False),
        ("", False),
    ],
)
def test_max_errors_text(text, ok):
    if ok:
        parse_max_errors(text)
    else:
        with pytest.raises(ConfigError, match="--max-errors"):
            parse_max_errors(text)
