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

The templates do not ship with ponder (CC BY-NC-ND 4.0): they are read from a data folder
(`--data-dir`/`PONDER_DATA_DIR`, `gsm_symbolic/templates/`). Without one, the instances Apple
released on the Hugging Face hub (`apple/GSM-Symbolic`, 50 per template; `noop` adds its clause to
them) are used where `datasets` is installed and the hub is reachable; their ids say `hub-J`, so
they never mix with instances drawn here.
"""

from __future__ import annotations

import logging
import random
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from ponder.errors import DataError
from ponder.tasks.answers import normalise_number
from ponder.tasks.data import given_dir, hub_rows, read_json
from ponder.tasks.symbolic_template import TemplateError, draw, parse, render
from ponder.tasks.symbolic_vocab import NAMES, VOCAB
from ponder.types import Task

log = logging.getLogger(__name__)
FOLDERS = {"symbolic": "symbolic", "p1": "p1", "p2": "p2", "noop": "symbolic"}
HUB, HUB_CONFIGS = "apple/GSM-Symbolic", {"symbolic": "main", "p1": "p1", "p2": "p2", "noop": "main"}
NOT_SHIPPED = (
    "GSM-Symbolic (CC BY-NC-ND 4.0) does not ship with ponder: pass --data-dir DIR or set "
    "PONDER_DATA_DIR to a folder holding gsm_symbolic/templates/"
)
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
    clause = rng.choice(NOOP_CLAUSES).format(
        k=rng.randint(2, 9),
        p=rng.choice((5, 10, 15, 20)),
        name=names[0] if names else rng.choice(NAMES),
        color=rng.choice(VOCAB["colors"]),
    )
    text = question.strip()
    ends = list(_SENTENCE_END.finditer(text))
    if not ends:
        return f"{clause} {text}"
    cut = ends[-1]
    return f"{text[: cut.start()]} {clause} {text[cut.end() :]}"


def load_benchmark(
    name: str, variant: str | None, data_dir: Path | str | None = None, count: int = DEFAULT_COUNT
) -> list[Task]:
    variant = variant or "symbolic"
    root = given_dir(data_dir)
    if root is None:
        missing = DataError(f"no data folder given, and {NOT_SHIPPED}")
    else:
        folder = root / "gsm_symbolic" / "templates" / FOLDERS[variant]
        if folder.is_dir():
            return list(_instances(str(folder), variant, count))
        missing = DataError(f"{folder} is missing from the data folder; {NOT_SHIPPED}")
    return list(_hub_instances(hub_rows(HUB, HUB_CONFIGS[variant], "test", missing), variant, count))


def _gold(solution: str) -> str | None:
    return normalise_number(solution.rsplit("####", 1)[-1])


def _hub_instances(rows: list[dict], variant: str, count: int) -> list[Task]:
    """Per template of Apple's released rows: the original GSM8K problem, then instances 0..count-1."""
    source = f"{HUB}[{HUB_CONFIGS[variant]}]"
    by_template: dict[int, dict[int, dict]] = {}
    for i, row in enumerate(rows, 1):
        texts = ("question", "answer", "original_question", "original_answer")
        if not (
            isinstance(row.get("id"), int)
            and isinstance(row.get("instance"), int)
            and all(isinstance(row.get(f), str) for f in texts)
        ):
            raise DataError(
                f"{source} row {i}: expected integer 'id' and 'instance' and the strings "
                "'question', 'answer', 'original_question' and 'original_answer'"
            )
        for field in ("answer", "original_answer"):
            if _gold(row[field]) is None:
                raise DataError(f"{source} row {i}: field {field!r} has no number after '####'")
        by_template.setdefault(row["id"], {})[row["instance"]] = row
    tasks = []
    for tid, instances in sorted(by_template.items()):
        if any(j not in instances for j in range(count)):
            raise DataError(
                f"{source}: template {tid} has {len(instances)} instances, fewer than the "
                f"{count} asked for (--count)"
            )
        name, first = f"{tid:04d}", instances[min(instances)]
        meta = {"template": name, "original_id": first.get("original_id")}
        tasks.append(
            Task(
                f"gsm-symbolic/{variant}/{name}/original",
                first["original_question"].strip(),
                _gold(first["original_answer"]),
                "number",
                meta={**meta, "instance": "original"},
            )
        )
        for j in range(count):
            question = instances[j]["question"].strip()
            if variant == "noop":
                names = {w: w for w in re.findall(r"[A-Z][a-z]+", question) if w in NAMES}
                question = noop(question, random.Random(f"gsm-symbolic/noop/{name}/{j}"), names)
            tasks.append(
                Task(
                    f"gsm-symbolic/{variant}/{name}/hub-{j}",
                    question,
                    _gold(instances[j]["answer"]),
                    "number",
                    meta={**meta, "instance": j, "source": HUB},
                )
            )
    return tasks


@lru_cache(maxsize=8)
def _instances(folder: str, variant: str, count: int) -> tuple[Task, ...]:
    tasks: list[Task] = []
    skipped = []
    for path in sorted(Path(folder).glob("*.json")):
        tid = path.stem
        doc = read_json(path)
        if not isinstance(doc, dict):
            raise DataError(
                f"{path}: expected a JSON object with fields question, answer, question_annotated"
            )
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
            made.append(
                Task(
                    f"gsm-symbolic/{variant}/{tid}/{j}",
                    question,
                    answer,
                    "number",
                    meta={"template": tid, "instance": j, "original_id": doc.get("id_orig")},
                )
            )
        if len(made) < count:
            skipped.append(tid)
            continue
        original = doc["question"].strip()
        tasks.append(
            Task(
                f"gsm-symbolic/{variant}/{tid}/original",
                original,
                gold,
                "number",
                meta={"template": tid, "instance": "original", "original_id": doc.get("id_orig")},
            )
        )
        tasks.extend(made)
    if skipped:
        log.warning(
            "gsm-symbolic %s: left out template(s) %s: no draw met their conditions",
            variant,
            ", ".join(skipped),
        )
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
    out: dict[str, Any] = {
        "sets": len(per_set),
        "per_set": per_set,
        "mean": mean,
        "std": float(np.std(per_set, ddof=1)) if len(per_set) > 1 else 0.0,
        "min": min(per_set),
        "max": max(per_set),
        "original": float(np.mean(originals)) if originals else None,
    }
    out["drop"] = None if out["original"] is None else out["original"] - mean
    return out
