"""The layers declared in pyproject.toml ([tool.importlinter]) hold: import-linter checks every
import of the package against them."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def lint_imports(config: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("lint-imports")
    command = [str(exe) if exe.exists() else shutil.which("lint-imports") or "lint-imports"]
    return subprocess.run(
        [*command, "--config", str(config), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_declared_layers_hold():
    res = lint_imports(ROOT / "pyproject.toml")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Contracts: 1 kept, 0 broken." in res.stdout


def test_an_import_against_the_layers_is_caught(tmp_path):
    config = tmp_path / "layers.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "ponder"\n\n[[tool.importlinter.contracts]]\n'
        'name = "strategies below the store"\ntype = "layers"\n'
        'layers = ["ponder.store", "ponder.strategies"]\n',
        encoding="utf-8",
    )
    res = lint_imports(config)  # nothing in the store imports strategies: kept
    assert res.returncode == 0, res.stdout
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            '["ponder.store", "ponder.strategies"]', '["ponder.types", "ponder.strategies"]'
        )
    )
    res = lint_imports(config)  # strategies import types: a layer below may not import one above
    assert res.returncode == 1 and "ponder.strategies" in res.stdout and "ponder.types" in res.stdout
