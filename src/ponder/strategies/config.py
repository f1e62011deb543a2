"""What a strategy runs, resolved: the configuration a run is identified by.

`config()` of a strategy (or probe) is a plain JSON dict of every field with its value, the
defaults included; nested parts (a sampler's prompt, a verifier) resolved the same way; a model
given as an object by its `model_id`; the sha256 of every prompt template the strategy renders
(`templates`) and of the exemplars it shows (`exemplars_sha256`, from the loaded exemplars, so it
holds wherever the file came from); and `extraction`, the version of the answer extraction
(`ponder.tasks.answers.EXTRACTION_VERSION`).

Left out: where the data was read from (`data_dir`: the exemplars' content is hashed instead), a
shot rewriter (its effect is in the exemplars' hash), and how a reward model is reached (timeout,
retries, transport).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from ponder.tasks.answers import EXTRACTION_VERSION


def canonical_sha256(value: Any) -> str:
    """sha256 of the canonical JSON of `value` (sorted keys, no whitespace)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def exemplars_sha256(shots: Sequence[Any]) -> str | None:
    """sha256 of the exemplars as shown (question, worked answer, answer); None for none."""
    if not shots:
        return None
    return canonical_sha256([[s.question, s.target, s.answer] for s in shots])


def resolve(value: Any) -> Any:
    """`value` as plain JSON: configured parts by their settings, models by `model_id`."""
    if isinstance(value, Configured):
        return value.settings()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(getattr(value, "model_id", None), str):
        return value.model_id
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: resolve(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [resolve(v) for v in value]
    if isinstance(value, dict):
        return {str(k): resolve(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} has no plain configuration")


class Configured:
    """Mixin of the strategy, prompt, verifier and probe dataclasses: `config()` as above.

    Subclasses say which templates they render (`templates`) and which parts they build from
    their fields (`parts`, e.g. a probe's chain-of-thought prompt)."""

    OMITTED: frozenset[str] = frozenset({"data_dir", "rewrite_shots"})

    def templates(self) -> dict[str, str]:
        """Template name → sha256 of each prompt template this renders."""
        return {}

    def parts(self) -> dict[str, Any]:
        """Parts built from the fields, resolved beside them."""
        return {}

    def settings(self) -> dict[str, Any]:
        """Every field (but the OMITTED), the parts and the templates, resolved."""
        assert is_dataclass(self)
        out = {f.name: resolve(getattr(self, f.name)) for f in fields(self) if f.name not in self.OMITTED}
        out.update({name: resolve(part) for name, part in self.parts().items()})
        if templates := self.templates():
            out["templates"] = templates
        return out

    def config(self) -> dict[str, Any]:
        """The settings and the version of the answer extraction."""
        return {**self.settings(), "extraction": EXTRACTION_VERSION}
