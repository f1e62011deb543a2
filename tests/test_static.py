"""Static checks over the whole code base, configured in pyproject.toml: ruff (lint and format) on
src, tests and benchmarks; mypy, strict on the core layers and checked on the rest."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["src", "tests", "benchmarks"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_ruff_lint_passes():
    res = run("ruff", "check", "--no-cache", *PATHS)
    assert res.returncode == 0, res.stdout + res.stderr


def test_ruff_format_holds():
    res = run("ruff", "format", "--check", "--no-cache", *PATHS)
    assert res.returncode == 0, res.stdout + res.stderr


def test_mypy_passes(tmp_path):
    res = run("mypy", "--cache-dir", str(tmp_path / "cache"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Success: no issues found" in res.stdout


def test_mypy_is_strict_on_the_core(tmp_path):
    """An unannotated function is an error in a strict module (ponder.eval.*) and not in a checked one."""
    pkg = tmp_path / "ponder"
    (pkg / "eval").mkdir(parents=True)
    (pkg / "cli").mkdir()
    for init in (pkg / "__init__.py", pkg / "eval" / "__init__.py", pkg / "cli" / "__init__.py"):
        init.write_text("", encoding="utf-8")
    loose = "def double(x):\n    return 2 * x\n"
    (pkg / "eval" / "loose.py").write_text(loose, encoding="utf-8")
    (pkg / "cli" / "loose.py").write_text(loose, encoding="utf-8")
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "cache"),
            "-p",
            "ponder",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={"MYPYPATH": str(tmp_path), "PATH": ""},
    )
    assert "ponder/eval/loose.py:1: error: Function is missing a type annotation" in res.stdout, res.stdout
    assert "cli/loose.py" not in res.stdout
