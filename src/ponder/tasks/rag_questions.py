"""ponder-rag: questions about ponder's own small corpus of documents (the handbook of a fictional
valley rail cooperative, `ponder/data/rag_corpus/docs/`), each with a short answer (a number or
one word) stated in one document, its `source`. The model cannot know the answers without reading
the documents, so the benchmark measures retrieval-augmented answering."""

from __future__ import annotations

from pathlib import Path

from ponder.errors import DataError
from ponder.tasks.data import jsonl_rows
from ponder.types import Task

FILE = "rag_corpus/questions.jsonl"
DOCS = "rag_corpus/docs"
KINDS = ("number", "text")


def load_benchmark(name: str, variant: str | None, data_dir: Path | str | None = None) -> list[Task]:
    """The questions, in file order: `ponder-rag/<id>`, the source document in `meta["source"]`.
    A row with a missing or empty field, an unknown kind or a repeated id is a DataError naming
    the file, the line and the field."""
    tasks = []
    seen: set[str] = set()
    for where, row in jsonl_rows(FILE, data_dir):
        for field in ("id", "question", "answer", "kind", "source"):
            value = row.get(field)
            if not isinstance(value, str) or not value.strip():
                raise DataError(f"{where}: field {field!r} is missing or not a non-empty string")
        if row["kind"] not in KINDS:
            raise DataError(f"{where}: field 'kind' must be one of {', '.join(KINDS)}, got {row['kind']!r}")
        if row["id"] in seen:
            raise DataError(f"{where}: field 'id' repeats {row['id']!r}")
        seen.add(row["id"])
        tasks.append(
            Task(
                id=f"ponder-rag/{row['id']}",
                question=row["question"].strip(),
                answer=row["answer"].strip(),
                kind=row["kind"],
                meta={"source": row["source"].strip()},
            )
        )
    return tasks
