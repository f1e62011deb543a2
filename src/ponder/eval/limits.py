"""How many errored items a run tolerates (`--max-errors`): a count, or a share of its items.
Pure and light, so the command line checks the flag with the same rule the runner applies."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ponder.errors import ConfigError


@dataclass(frozen=True)
class ErrorLimit:
    """How many errored items a run tolerates: a count, or a share of the run's items."""

    count: int | None = None
    share: float | None = None
    text: str = ""

    def of(self, total: int) -> int:
        """The most errored items allowed in a run of `total` items (a share is rounded up)."""
        if self.count is not None:
            return self.count
        return math.ceil((self.share or 0.0) * total - 1e-9)


DEFAULT_MAX_ERRORS = "10%"
_MAX_ERRORS = re.compile(r"\s*(\d+)\s*|\s*(\d+(?:\.\d+)?)\s*%\s*")


def parse_max_errors(text: str | int) -> ErrorLimit:
    """`20` (items) or `10%` (of the run's items) → ErrorLimit; anything else is a ConfigError
    naming --max-errors."""
    m = _MAX_ERRORS.fullmatch(str(text))
    if m is None or (m.group(2) is not None and float(m.group(2)) > 100):
        raise ConfigError(
            f"--max-errors {text!r}: expected a number of items (e.g. 20) or a "
            "percentage of the run's items from 0% to 100% (e.g. 10%)"
        )
    if m.group(1) is not None:
        return ErrorLimit(count=int(m.group(1)), text=str(text).strip())
    return ErrorLimit(share=float(m.group(2)) / 100, text=str(text).strip())
