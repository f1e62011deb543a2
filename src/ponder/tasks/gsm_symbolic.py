"""GSM-Symbolic: new instances of GSM8K problems from the templates of Mirzadeh et al. 2024.

Variants: `symbolic` (100 templates), `p1` and `p2` (harder templates: one or two more clauses),
and `noop`: the symbolic instances with one plausible but irrelevant clause inserted before the
question (in the spirit of the paper's GSM-NoOp, which was not released; the clauses are ours).

Per template: the original GSM8K problem (instance "original") and `count` instances (default
10), instance j drawn with a generator seeded by (template folder, template, j), so `noop` instance j is
`symbolic` instance j plus its clause. Instance j of every
template forms set j; the report gives accuracy per set (mean and spread over sets) and the drop
from the originals. A template whose conditions no draw satisfies within the try limit is left
out, and the loader says which.
"""

from __future__ import annotations

import logging
import random
import re
from functools import lru_cache
from pathlib import Path

from ponder.errors import DataError
from ponder.tasks.answers import normalise_number
from ponder.tasks.data import data_dir as resolve_data_dir
from ponder.tasks.data import HOW_TO, read_json
from ponder.tasks.symbolic_template import TemplateError, draw, parse, render
from ponder.tasks.symbolic_vocab import NAMES, VOCAB
from ponder.types import Task

log = logging.getLogger(__name__)
FOLDERS = {"symbolic": "symbolic", "p1": "p1", "p2": "p2", "noop": "symbolic"}
DEFAULT_COUNT = 10
NOOP_CLAUSES = (
    "Note that {k} of them are a bit smaller than average.",
    "{k} years ago, prices at the same place were {p}% lower.",
    "{name} remembers that {k} of them were bought on a rainy day.",
    "The day before, a different store had sold {k} similar items.",
    "It took {name} {k} minutes to get there.",
    "{k} of them happen to be {color}.",
    "{name}'s neighbour owns {k} of the same kind, but keeps them elsewhere.",
    "The place first opened {k} years ago.",
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def noop(question: str, rng: random.Random, env: dict) -> str:
    """The question with one irrelevant clause inserted before its final question sentence."""
    names = [v for v in env.values() if isinstance(v, str) and v in NAMES]
    clause = rng.choice(NOOP_CLAUSES).format(k=rng.randint(2, 9), p=rng.choice((5, 10, 15, 20)),
                                             name=names[0] if names else rng.choice(NAMES),
                                             color=rng.choice(VOCAB["colors"]))
    text = question.strip()
    ends = list(_SENTENCE_END.finditer(text))
    if not ends:
        return f"{clause} {text}"
    cut = ends[-1]
    return f"{text[:cut.start()]} {clause} {text[cut.end():]}"


def load_benchmark(name: str, variant: str | None, data_dir: Path | str | None = None,
                   count: int = DEFAULT_COUNT) -> list[Task]:
    variant = variant or "symbolic"
    folder = resolve_data_dir(data_dir) / "gsm_symbolic" / "templates" / FOLDERS[variant]
    if not folder.is_dir():
        raise DataError(f"{folder} is missing from the data folder: {HOW_TO}")
    return list(_instances(str(folder), variant, count))


@lru_cache(maxsize=8)
def _instances(folder: str, variant: str, count: int) -> tuple[Task, ...]:
    tasks: list[Task] = []
    skipped = []
    for path in sorted(Path(folder).glob("*.json")):
        tid = path.stem
        doc = read_json(path)
        if not isinstance(doc, dict):
            raise DataError(f"{path}: expected a JSON object with fields question, answer, question_annotated")
        for field in ("question", "answer", "question_annotated"):
            if not isinstance(doc.get(field), str):
                raise DataError(f"{path}: field {field!r} is missing or not text")
        try:
            template = parse(doc["question_annotated"], f"{path}: field 'question_annotated'")
        except TemplateError as e:
            raise DataError(str(e)) from None
        gold = normalise_number(doc["answer"].rsplit("####", 1)[-1])
        if gold is None:
            raise DataError(f"{path}: field 'answer' has no number after '####'")
        made = []
        for j in range(count):
            rng = random.Random(f"gsm-symbolic/{FOLDERS[variant]}/{tid}/{j}")
            try:
                got = draw(template, rng)
            except TemplateError as e:
                raise DataError(f"{path}: field 'question_annotated': {e}") from None
            if got is None:
                break
            env, answer = got
            try:
                question = render(template, env)
            except TemplateError as e:
                raise DataError(f"{path}: field 'question_annotated': {e}") from None
            if variant == "noop":
                question = noop(question, random.Random(f"gsm-symbolic/noop/{tid}/{j}"), env)
            made.append(Task(f"gsm-symbolic/{variant}/{tid}/{j}", question, answer, "number",
                             meta={"template": tid, "instance": j, "original_id": doc.get("id_orig")}))
        if len(made) < count:
            skipped.append(tid)
            continue
        original = doc["question"].strip()
        tasks.append(Task(f"gsm-symbolic/{variant}/{tid}/original", original, gold, "number",
                          meta={"template": tid, "instance": "original", "original_id": doc.get("id_orig")}))
        tasks.extend(made)
    if skipped:
        log.warning("gsm-symbolic %s: left out template(s) %s: no draw met their conditions", variant,
                    ", ".join(skipped))
    return tuple(tasks)


def set_accuracy(items: list[tuple[dict, bool]]) -> dict | None:
    """From (task meta, correct) pairs: accuracy of the originals, of each instance set, their
    mean, standard deviation, min and max, and the drop of the mean from the originals."""
    import numpy as np

    originals = [c for m, c in items if m.get("instance") == "original"]
    sets: dict[int, list[bool]] = {}
    for m, c in items:
        if isinstance(m.get("instance"), int):
            sets.setdefault(m["instance"], []).append(c)
    if not sets:
        return None
    per_set = [float(np.mean(v)) for _, v in sorted(sets.items())]
    mean = float(np.mean(per_set))
    out = {"sets": len(per_set), "per_set": per_set, "mean": mean,
           "std": float(np.std(per_set, ddof=1)) if len(per_set) > 1 else 0.0,
           "min": min(per_set), "max": max(per_set),
           "original": float(np.mean(originals)) if originals else None}
    out["drop"] = None if out["original"] is None else out["original"] - mean
    return out
