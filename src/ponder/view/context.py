"""What every page of `ponder view` reads from: the store opened read-only, its browse queries,
and the errors and query-string helpers pages share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ponder.store import Store
from ponder.store.browse import Browse


class PageError(Exception):
    """A page cannot be shown: `message` says why; answered with an error page of `status`."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(PageError):
    """The query asks for something that cannot be shown (400)."""


class NotFound(PageError):
    """What a page asked for is not in the store (404)."""

    status = 404


@dataclass(frozen=True)
class Context:
    """The store a view app serves (opened read-only), its path and its browse queries."""

    path: Path | str
    store: Store
    browse: Browse

    @classmethod
    def open(cls, path: Path | str) -> Context:
        """The context of the store at `path`, opened read-only now (a StoreError when it is
        missing or not a ponder store)."""
        store = Store(path, readonly=True)
        return cls(path, store, Browse(store))

    def run(self, text: str) -> dict[str, Any]:
        """The run whose id is `text`; NotFound when it is not a number or not in the store."""
        run = self.browse.run(run_id_of(text))
        if run is None:
            raise NotFound(f"no run {text} in the store {self.path}")
        return run


def page_number(text: str | None) -> int:
    """A page number from the query string: 1 unless it is a positive integer."""
    try:
        return max(int(text or "1"), 1)
    except ValueError:
        return 1


def run_id_of(text: str) -> int:
    """The run id in a path; NotFound when it is not a number."""
    try:
        return int(text)
    except ValueError:
        raise NotFound(f"no run {text!r}: run ids are numbers") from None
