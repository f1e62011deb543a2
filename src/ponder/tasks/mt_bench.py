"""MT-Bench (Zheng et al. 2023): 80 open-ended questions in 8 categories, two turns each, no gold
answer (kind "open"); GPT-4's reference answers (maths, reasoning, coding) go to the judge. They
come from where the questions came from (a data folder, else ponder's shipped copy), so questions
and references always belong together: a data folder with questions and no references gives none.
The item is the first turn; both turns are in `meta`."""

from __future__ import annotations

from pathlib import Path

from ponder.errors import DataError
from ponder.tasks.data import data_file, given_dir, read_jsonl, shipped
from ponder.types import Task

QUESTIONS = "mt_bench/question.jsonl"
REFERENCES = "mt_bench/reference_answer_gpt-4.jsonl"


def load_benchmark(name: str, variant: str | None, data_dir: Path | str | None = None) -> list[Task]:
    path = data_file(QUESTIONS, data_dir)
    folder = given_dir(data_dir)
    from_folder = folder is not None and path == folder / QUESTIONS
    references = _references(
        folder / REFERENCES if folder is not None and from_folder else shipped(REFERENCES)
    )
    tasks = []
    for lineno, row in read_jsonl(path):
        turns = row.get("turns")
        if "question_id" not in row:
            raise DataError(f"{path}:{lineno}: field 'question_id' is missing")
        if (
            not isinstance(turns, list)
            or not turns
            or not all(isinstance(t, str) and t.strip() for t in turns)
        ):
            raise DataError(f"{path}:{lineno}: field 'turns' must be a non-empty list of strings")
        qid = row["question_id"]
        meta = {"category": row.get("category"), "turns": turns, "question_id": qid}
        if qid in references:
            meta["reference"] = references[qid][0]
            meta["references"] = references[qid]
        tasks.append(Task(id=f"mt-bench/{qid}", question=turns[0], answer=None, kind="open", meta=meta))
    return tasks


def _references(path: Path | None) -> dict[object, list[str]]:
    if path is None or not path.is_file():
        return {}
    out = {}
    for lineno, row in read_jsonl(path):
        try:
            out[row["question_id"]] = list(row["choices"][0]["turns"])
        except (KeyError, IndexError, TypeError):
            raise DataError(f"{path}:{lineno}: expected question_id and choices[0].turns") from None
    return out
