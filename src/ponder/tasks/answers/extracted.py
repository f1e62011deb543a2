"""What an extractor returns: the answer it found (`Extracted`), or none (`NONE`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Extracted:
    """The answer found in a text. `span` is its (start, end) in the original text."""

    value: str | None
    span: tuple[int, int] | None = None
    explicit: bool = False


NONE = Extracted(None)
