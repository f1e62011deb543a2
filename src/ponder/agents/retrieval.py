"""Retrieval over a folder of documents: split into passages, embedded once, searched by cosine.

- `split_passages(doc_id, text, max_words)` cuts one document into passages of at most
  `max_words` words: by paragraphs (blank lines), short neighbours merged, a long paragraph cut
  between sentences (a sentence longer than `max_words` between words). Passage ids are
  `DOC#N`, N counting from 1 (`fares.md#2`).
- `Corpus.from_folder(folder, embedder)` reads every `.md` and `.txt` file of the folder (sorted by
  name; the file name is the document id) and embeds the passages on the first search, once.
  `search(query, k, skip)` gives the `k` passages most similar to the query after the `skip`
  best (the embedders' vectors are unit length, so the dot product is the cosine); ties keep the
  corpus's order.
- `citations(text)` reads the passage ids a reply cites in square brackets (`[fares.md#2]`, or
  several in one pair: `[fares.md#2, lines.md#1]`).
- `recall_at_k(corpus, questions, k)`: the share of (question, source document) pairs whose
  source has a passage among the question's top `k`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ponder.embeddings import get_embedder
from ponder.errors import ConfigError, DataError, FatalModelError
from ponder.models import Embedder
from ponder.tasks.data import read_text

SUFFIXES = (".md", ".txt")
MAX_WORDS = 120

_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_BRACKETS = re.compile(r"\[([^\[\]]+)\]")
_PASSAGE_ID = re.compile(r"[\w.\-/]+#\d+")


@dataclass(frozen=True)
class Passage:
    """One piece of a document: its id (`DOC#N`), the document's id, and its text."""

    id: str
    doc: str
    text: str


def _words(text: str) -> int:
    return len(text.split())


def _pieces(paragraph: str, max_words: int) -> list[str]:
    """A paragraph as pieces of at most `max_words` words, cut between sentences where it can."""
    if _words(paragraph) <= max_words:
        return [paragraph]
    units: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        words = sentence.split()
        units.extend(" ".join(words[i : i + max_words]) for i in range(0, len(words), max_words))
    return _pack(units, max_words, " ")


def _pack(units: Sequence[str], max_words: int, joiner: str) -> list[str]:
    """Neighbouring units joined while the result stays within `max_words` words."""
    out: list[str] = []
    size = 0
    for unit in units:
        n = _words(unit)
        if out and size + n <= max_words:
            out[-1] = f"{out[-1]}{joiner}{unit}"
            size += n
        else:
            out.append(unit)
            size = n
    return out


def split_passages(doc_id: str, text: str, max_words: int = MAX_WORDS) -> list[Passage]:
    """The document's passages (see the module's docstring); none for a blank text."""
    if max_words < 1:
        raise ConfigError(f"max_words must be at least 1, got {max_words}")
    paragraphs = [" ".join(p.split()) for p in _PARAGRAPH.split(text.replace("\r\n", "\n"))]
    pieces = [piece for p in paragraphs if p for piece in _pieces(p, max_words)]
    return [Passage(f"{doc_id}#{i}", doc_id, t) for i, t in enumerate(_pack(pieces, max_words, "\n\n"), 1)]


def citations(text: str) -> tuple[str, ...]:
    """The passage ids cited in square brackets, in order of first citation, each once."""
    found: dict[str, None] = {}
    for inside in _BRACKETS.findall(text):
        for pid in _PASSAGE_ID.findall(inside):
            found.setdefault(pid, None)
    return tuple(found)


def doc_of(passage_id: str) -> str:
    """The document id of a passage id (`fares.md#2` → `fares.md`)."""
    return passage_id.rpartition("#")[0] or passage_id


def read_documents(folder: Path | str) -> dict[str, str]:
    """Document id (file name) → text of each `.md`/`.txt` file in `folder`, sorted by name. A
    missing folder, one without such files, and a file that is empty or not UTF-8 are a
    DataError naming the path."""
    path = Path(folder)
    if not path.is_dir():
        raise DataError(f"{path}: no such folder of documents")
    files = sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() in SUFFIXES)
    if not files:
        raise DataError(f"{path}: the folder holds no documents ({' or '.join(SUFFIXES)} files)")
    return {f.name: read_text(f) for f in files}


class Corpus:
    """Passages and the embedder that searches them; the passages are embedded on first use."""

    def __init__(self, passages: Sequence[Passage], embedder: Embedder) -> None:
        if not passages:
            raise DataError("the corpus has no passages")
        self.passages = tuple(passages)
        self.embedder = embedder
        self._matrix: np.ndarray | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_folder(
        cls, folder: Path | str, embedder: Embedder | str | None = "local", max_words: int = MAX_WORDS
    ) -> Corpus:
        """The corpus of a folder's documents (`read_documents`); `embedder` an object or a spec
        (`ponder.embeddings.get_embedder`; None: the default spec)."""
        documents = read_documents(folder)
        passages = [p for doc, text in documents.items() for p in split_passages(doc, text, max_words)]
        chosen = (
            embedder if embedder is not None and not isinstance(embedder, str) else get_embedder(embedder)
        )
        return cls(passages, chosen)

    def __len__(self) -> int:
        return len(self.passages)

    async def _embed(self, texts: Sequence[str]) -> np.ndarray:
        got = await self.embedder.embed(texts)
        if len(got.vectors) != len(texts):
            raise FatalModelError(
                f"{self.embedder.model_id} returned {len(got.vectors)} vectors for {len(texts)} texts"
            )
        return np.asarray(got.vectors, dtype=np.float64)

    async def matrix(self) -> np.ndarray:
        """The passages' vectors, one row each (embedded on the first call)."""
        async with self._lock:
            if self._matrix is None:
                self._matrix = await self._embed([p.text for p in self.passages])
        return self._matrix

    async def search(self, query: str, k: int, skip: int = 0) -> list[tuple[Passage, float]]:
        """The passages ranked `skip + 1` to `skip + k` by cosine to the query, with the cosine."""
        if k < 0 or skip < 0:
            raise ConfigError(f"search needs k >= 0 and skip >= 0, got k={k}, skip={skip}")
        matrix = await self.matrix()
        (query_row,) = await self._embed([query])
        scores = matrix @ query_row
        order = np.argsort(-scores, kind="stable")[skip : skip + k]
        return [(self.passages[i], float(scores[i])) for i in order]


async def recall_at_k(corpus: Corpus, questions: Sequence[tuple[str, str]], k: int) -> float:
    """The share of (question, source document id) pairs whose source document has a passage
    among the question's top `k` (0.0 for no questions)."""
    if not questions:
        return 0.0
    hits = 0
    for question, source in questions:
        found = await corpus.search(question, k)
        hits += any(p.doc == source for p, _ in found)
    return hits / len(questions)
