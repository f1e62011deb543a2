"""Few-shot exemplar sets: data, not code. A named set is read from the data folder where it has
the file, else from the copy that ships with ponder.

A set is named (`gsm8k`, `date_understanding`, `sports_understanding`, or `aqua_dev`: the first
AQuA-RAT dev problems with their rationales) or given as a path to a
JSON file `{"exemplars": [{"question": …, "target": …, "answer": …}]}` or an lm-eval task YAML
(`fewshot_config.samples` with `input`/`target`). `target` is the worked answer the model sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ponder.errors import DataError
from ponder.tasks.data import data_file, read_json, read_text

SETS = {
    "gsm8k": "cot_exemplars/wei2022_gsm8k_8shot.json",
    "date_understanding": "cot_exemplars/bbh_cot_fewshot_date_understanding.lm_eval-0.4.13.yaml",
    "sports_understanding": "cot_exemplars/bbh_cot_fewshot_sports_understanding.lm_eval-0.4.13.yaml",
}


@dataclass(frozen=True)
class Exemplar:
    question: str
    target: str
    answer: str | None = None


AQUA_DEV_SHOTS = 4
_ANSWER_LINE = re.compile(
    r"(?i)[\s,;:-]*\b(?:the\s+)?(?:correct\s+)?(?:answer|option|ans)\b[^\n]{0,20}?\b[A-E]\b\W*$"
)


def aqua_dev(data_dir: Path | str | None = None) -> tuple[Exemplar, ...]:
    """The first AQuA-RAT dev problems as worked examples: question with its options, the
    dataset's rationale, then "The answer is (X)."."""
    from ponder.tasks.aqua import load_benchmark

    shots = []
    for task in load_benchmark("aqua", "dev", data_dir=data_dir)[:AQUA_DEV_SHOTS]:
        lines = (task.meta.get("rationale") or "").strip().splitlines()
        while lines and _ANSWER_LINE.search(lines[-1]):  # the dataset's own "Answer: C"; replaced below
            lines[-1] = _ANSWER_LINE.sub("", lines[-1]).rstrip()
            if not lines[-1]:
                lines.pop()
        rationale = "\n".join(lines).strip()
        shots.append(Exemplar(task.question, f"{rationale}\nThe answer is ({task.answer}).", task.answer))
    return tuple(shots)


BUILT = {"aqua_dev": aqua_dev}


def load_exemplars(name: str, data_dir: Path | str | None = None) -> tuple[Exemplar, ...]:
    if name in BUILT:
        return BUILT[name](data_dir)
    path = data_file(SETS[name], data_dir) if name in SETS else Path(name).expanduser()
    if name not in SETS and path.is_dir():
        raise DataError(f"exemplar set {path} is a folder, not a .json or .yaml file")
    if name not in SETS and not path.is_file():
        raise DataError(
            f"unknown exemplar set {name!r}: expected one of {', '.join([*SETS, *BUILT])} "
            "or the path of a .json or .yaml file"
        )
    rows: Any
    if path.suffix in (".yaml", ".yml"):
        rows = _yaml_rows(path)
    else:
        doc = read_json(path)
        rows = doc.get("exemplars") if isinstance(doc, dict) else doc
    if not isinstance(rows, list) or not rows:
        raise DataError(f"{path}: expected a non-empty list of exemplars")
    out = []
    for i, row in enumerate(rows):
        q, t = (row.get("question"), row.get("target")) if isinstance(row, dict) else (None, None)
        if not isinstance(q, str) or not isinstance(t, str):
            raise DataError(f"{path}: exemplar {i} needs string fields 'question' and 'target'")
        out.append(Exemplar(q.strip(), t.strip(), row.get("answer")))
    return tuple(out)


def _yaml_rows(path: Path) -> list[dict]:
    import yaml

    try:
        doc = yaml.safe_load(read_text(path))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise DataError(f"{path}{where}: not valid YAML") from None
    config = doc.get("fewshot_config") if isinstance(doc, dict) else None
    samples = config.get("samples") if isinstance(config, dict) else None
    if not isinstance(samples, list):
        raise DataError(f"{path}: expected fewshot_config.samples (an lm-eval task file)")
    return [
        {"question": s.get("input"), "target": s.get("target")} if isinstance(s, dict) else {}
        for s in samples
    ]
