"""The permissively licensed benchmarks ship inside ponder, with their licences: a fresh clone (or an
installed wheel) runs them with no data folder. A data folder given with --data-dir or
PONDER_DATA_DIR overrides them file by file. GSM-Symbolic does not ship: a data folder or the hub."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import types
import zipfile
from pathlib import Path

import pytest

from ponder.arena.judges import JUDGE_PROMPTS, load_judge_prompts
from ponder.errors import DataError
from ponder.tasks import (
    aqua,
    arc,
    bigbench,
    code_problems,
    exemplars,
    gsm8k,
    math500,
    mt_bench,
    rag_questions,
    svamp,
)
from ponder.tasks.data import HOW_TO, data_file, shipped, shipped_dir
from ponder.tasks.exemplars import load_exemplars
from ponder.tasks.registry import load_tasks

REPO = Path(__file__).resolve().parents[1]
# Items per benchmark, as docs/evaluation.md's table gives them.
COUNTS = {
    "gsm8k": 1319,
    "gsm8k:train": 7473,
    "svamp": 1000,
    "aqua": 254,
    "aqua:dev": 254,
    "date": 369,
    "sports": 1000,
    "strategyqa": 2290,
    "math500": 500,
    "arc-agi-1": 419,
    "arc-agi-1:train": 416,
    "arc-agi-2": 167,
    "arc-agi-2:train": 1076,
    "mt-bench": 80,
    "ponder-rag": 20,
    "ponder-code": 12,
}
SHOTS = {"gsm8k": 8, "date_understanding": 3, "sports_understanding": 3, "aqua_dev": 4}
# Every file a loader names, relative to a data folder.
READ = sorted(
    {
        *gsm8k.FILES.values(),
        svamp.FILE,
        *aqua.FILES.values(),
        *bigbench.FILES.values(),
        math500.FILE,
        mt_bench.QUESTIONS,
        mt_bench.REFERENCES,
        *arc.FILES.values(),
        *exemplars.SETS.values(),
        JUDGE_PROMPTS,
        rag_questions.FILE,
        *(f"{rag_questions.DOCS}/{p.name}" for p in (shipped_dir() / rag_questions.DOCS).glob("*.md")),
        code_problems.FILE,
    }
)


@pytest.fixture
def no_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("PONDER_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)


def test_every_shipped_benchmark_loads_with_no_data_folder(no_data_folder):
    for spec, count in COUNTS.items():
        assert len(load_tasks(spec)) == count, spec
    for name, count in SHOTS.items():
        assert len(load_exemplars(name)) == count, name
    assert {"pair-v2", "pair-math-v1"} <= set(load_judge_prompts())
    assert sum("reference" in t.meta for t in load_tasks("mt-bench")) == 30
    assert data_file("gsm8k/test.jsonl") == shipped_dir() / "gsm8k" / "test.jsonl"


def test_the_shipped_files_are_the_ones_the_loaders_read_each_with_its_licence():
    root = shipped_dir()
    sums = dict(line.split("  ")[::-1] for line in (root / "SHA256SUMS").read_text().splitlines())
    assert sorted(sums) == READ  # exactly the files the loaders read
    for relative, digest in sums.items():
        path = shipped(relative)
        assert path is not None and hashlib.sha256(path.read_bytes()).hexdigest() == digest, relative
        assert list(path.parent.glob("LICENSE*")), f"{relative}: no licence file beside it"
    assert not (root / "gsm_symbolic").exists()  # CC BY-NC-ND: not shipped


def test_a_data_folder_overrides_the_shipped_copy_file_by_file(tmp_path, monkeypatch, no_data_folder):
    folder = tmp_path / "data"
    (folder / "gsm8k").mkdir(parents=True)
    (folder / "gsm8k" / "test.jsonl").write_text('{"question": "What is 2 + 2?", "answer": "#### 4"}\n')
    [mine] = load_tasks("gsm8k", data_dir=folder)
    assert mine.answer == "4" and mine.question == "What is 2 + 2?"
    assert len(load_tasks("gsm8k:train", data_dir=folder)) == 7473  # the folder lacks it: the shipped copy
    assert len(load_tasks("svamp", data_dir=folder)) == 1000
    monkeypatch.setenv("PONDER_DATA_DIR", str(folder))
    assert [t.answer for t in load_tasks("gsm8k")] == ["4"]
    with pytest.raises(DataError, match=r"data folder .*nowhere does not exist"):
        load_tasks("gsm8k", data_dir=tmp_path / "nowhere")
    (folder / "svamp" / "SVAMP.json").mkdir(parents=True)
    with pytest.raises(DataError, match="SVAMP.json is a folder, not a file"):
        load_tasks("svamp")


def test_mt_bench_references_come_from_where_its_questions_came_from(tmp_path, no_data_folder):
    folder = tmp_path / "data"
    (folder / "mt_bench").mkdir(parents=True)
    (folder / "mt_bench" / "question.jsonl").write_text(
        json.dumps({"question_id": 81, "category": "writing", "turns": ["Write a haiku.", "Shorter."]}) + "\n"
    )
    [task] = load_tasks("mt-bench", data_dir=folder)
    assert "reference" not in task.meta  # the shipped references belong to the shipped questions
    (folder / "mt_bench" / "reference_answer_gpt-4.jsonl").write_text(
        json.dumps({"question_id": 81, "choices": [{"turns": ["Leaves fall.", "Fall."]}]}) + "\n"
    )
    [task] = load_tasks("mt-bench", data_dir=folder)
    assert task.meta["references"] == ["Leaves fall.", "Fall."]


def test_gsm_symbolic_without_a_folder_names_both_ways_and_no_ci(no_data_folder, monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # not installed
    with pytest.raises(DataError) as got:
        load_tasks("gsm-symbolic")
    message = str(got.value)
    assert "--data-dir" in message and "PONDER_DATA_DIR" in message and "gsm_symbolic/templates" in message
    assert "install `datasets`" in message and "apple/GSM-Symbolic" in message and "hub" in message
    assert "CI" not in message and "shared" not in message and "CI" not in HOW_TO


def _fake_datasets(monkeypatch, rows):
    asked = []

    def load_dataset(name, config, split):
        asked.append((name, config, split))
        return rows

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    return asked


def test_gsm_symbolic_comes_from_the_hub_without_a_folder(no_data_folder, monkeypatch):
    rows = [
        {
            "id": t,
            "instance": j,
            "question": f"Ada has {t + j} apples. How many apples does Ada have?",
            "answer": f"She has {t + j}.\n#### {t + j}",
            "original_id": 100 + t,
            "original_question": f"Tom has {t} pears. How many?",
            "original_answer": f"#### {t}",
        }
        for t in (1, 0)
        for j in (2, 0, 1)
    ]
    asked = _fake_datasets(monkeypatch, rows)
    tasks = load_tasks("gsm-symbolic", count=2)
    assert asked == [("apple/GSM-Symbolic", "main", "test")]
    assert [t.id for t in tasks] == [
        f"gsm-symbolic/symbolic/000{t}/{j}" for t in (0, 1) for j in ("original", "hub-0", "hub-1")
    ]
    assert [t.answer for t in tasks] == ["0", "0", "1", "1", "1", "2"]
    assert tasks[4].meta == {
        "template": "0001",
        "original_id": 101,
        "instance": 0,
        "source": "apple/GSM-Symbolic",
    }
    noop = load_tasks("gsm-symbolic:noop", count=2)
    assert [t.answer for t in noop] == [t.answer for t in tasks]
    assert noop[1].question != tasks[1].question and noop[1].question.endswith(
        "How many apples does Ada have?"
    )
    with pytest.raises(DataError, match=r"template 0 has 3 instances, fewer than the 4 asked for"):
        load_tasks("gsm-symbolic:p1", count=4)
    _fake_datasets(monkeypatch, [{**rows[0], "answer": "no number"}])
    with pytest.raises(DataError, match=r"apple/GSM-Symbolic\[p2\] row 1: field 'answer' has no number"):
        load_tasks("gsm-symbolic:p2", count=1)


def test_gsm_symbolic_from_the_hub_reads_apples_released_rows(symbolic_data_dir, no_data_folder, monkeypatch):
    from ponder.tasks.data import read_jsonl

    rows = [row for _, row in read_jsonl(symbolic_data_dir / "gsm_symbolic" / "GSM_p2.jsonl")]
    _fake_datasets(monkeypatch, rows)
    tasks = load_tasks("gsm-symbolic:p2", count=3)
    assert len(tasks) == 50 * 4
    gsm = load_tasks("gsm8k")
    for t in tasks:
        if t.meta["instance"] == "original":
            assert (
                t.question == gsm[t.meta["original_id"]].question
                and t.answer == gsm[t.meta["original_id"]].answer
            )
        else:
            assert t.answer is not None and t.question


def _site_packages(python: Path | str) -> str:
    return subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


LOAD_ALL = """
import json, sys
import ponder
from ponder.arena.judges import load_judge_prompts
from ponder.errors import DataError
from ponder.tasks.data import data_file
from ponder.tasks.exemplars import load_exemplars
from ponder.tasks.registry import load_tasks
sys.modules["datasets"] = None
counts = {spec: len(load_tasks(spec)) for spec in json.loads(sys.argv[1])}
shots = {name: len(load_exemplars(name)) for name in json.loads(sys.argv[2])}
try:
    load_tasks("gsm-symbolic")
    symbolic = None
except DataError as e:
    symbolic = str(e)
print(json.dumps({"ponder": ponder.__file__, "file": str(data_file("gsm8k/test.jsonl")), "counts": counts,
                  "shots": shots, "judges": sorted(load_judge_prompts()), "symbolic": symbolic}))
"""


def test_the_wheel_carries_the_data_and_its_licences_and_runs_them_installed(tmp_path):
    source = tmp_path / "source"  # a clean copy: no build/ or egg-info left over from other builds
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        (source / name).write_bytes((REPO / name).read_bytes())
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    env = {k: v for k, v in os.environ.items() if k not in ("PONDER_DATA_DIR", "PYTHONPATH")}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        check=True,
        env=env,
        timeout=300,
    )
    [wheel] = (tmp_path / "dist").glob("ponder-*.whl")
    assert wheel.stat().st_size < 15 * 2**20, wheel.stat().st_size
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped_names = {
        f"ponder/data/{p.relative_to(shipped_dir()).as_posix()}"
        for p in shipped_dir().rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert shipped_names <= names, shipped_names - names
    assert {f"ponder/data/{r}" for r in READ} <= names
    for licence in (
        "gsm8k/LICENSE",
        "svamp/LICENSE",
        "aqua_rat/LICENSE",
        "bigbench/LICENSE-BIG-bench-Apache-2.0",
        "bigbench/LICENSE-StrategyQA-MIT",
        "math500/LICENSE-prm800k-MIT",
        "mt_bench/LICENSE-FastChat-Apache-2.0",
        "cot_exemplars/LICENSE-lm-eval-MIT.md",
        "arc_agi/LICENSE-ARC-AGI-1",
        "arc_agi/LICENSE-ARC-AGI-2",
        "rag_corpus/LICENSE",
        "rag_corpus/docs/LICENSE",
        "code_problems/LICENSE",
    ):
        assert f"ponder/data/{licence}" in names, licence
    assert not any("gsm_symbolic" in n for n in names if n.startswith("ponder/data/"))

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True, env=env, timeout=300
    )
    # ponder's dependencies from this checkout's environment, after the fresh venv's own packages (a
    # .pth line is appended to sys.path, and the editable ponder there is not activated by it).
    (Path(_site_packages(python)) / "ponder_test_deps.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    run_in = tmp_path / "elsewhere"
    run_in.mkdir()
    done = subprocess.run(
        [str(python), "-c", LOAD_ALL, json.dumps(list(COUNTS)), json.dumps(list(SHOTS))],
        capture_output=True,
        text=True,
        cwd=run_in,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout)
    assert Path(got["ponder"]).is_relative_to(venv) and Path(got["file"]).is_relative_to(venv), got
    assert got["counts"] == COUNTS and got["shots"] == SHOTS
    assert {"pair-v2", "pair-math-v1"} <= set(got["judges"])
    assert "PONDER_DATA_DIR" in got["symbolic"] and "apple/GSM-Symbolic" in got["symbolic"]
