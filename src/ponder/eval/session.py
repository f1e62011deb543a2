"""The objects one piece of work runs on: the solving model, the judge, the store and whether the
cache is read. `evaluate`, `solve`, `play` and the probes take a `Session`; the command line
turns its flags into one with `Session.open`, tests build one from a `ScriptedModel` directly.

A session closes what it holds (every model, opened or given, and a store it opened) once, in
`aclose` or at the end of `async with`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError
from ponder.models import Closable, Model, default_spec, get_model
from ponder.models.cached import CachedModel
from ponder.redact import redact_spec
from ponder.store import Store

HTTP_KINDS = ("openai",)

Opener = Callable[..., Model]


def _is_http(spec: str) -> bool:
    return spec.strip().partition(":")[0] in HTTP_KINDS


class Session:
    """`model`: the model that answers; `judge`: the verifier or judge model (None: the strategies
    that need one use `model`); `store`: where runs, results and calls go; `cache`: whether stored
    completions of identical requests are reused. `models` are the other models the work may use
    by spec (an arena's players), opened on first use with `opener` and `model_options`."""

    def __init__(
        self,
        model: Model,
        store: Store,
        judge: Model | None = None,
        cache: bool = True,
        *,
        model_options: Mapping[str, Any] | None = None,
        opener: Opener = get_model,
        owns_store: bool = False,
    ) -> None:
        self.model = model
        self.judge = judge
        self.store = store
        self.cache = cache
        self._options = {k: v for k, v in (model_options or {}).items() if v is not None}
        self._opener = opener
        self._owns_store = owns_store
        self._models: dict[str, Model] = {}
        self._closed = False

    @classmethod
    def open(
        cls,
        model: str | None = None,
        store: Path | str | None = None,
        judge: str | None = None,
        cache: bool = True,
        model_options: Mapping[str, Any] | None = None,
        opener: Opener = get_model,
    ) -> Session:
        """A session from specs: `model` (default: $PONDER_MODEL or the embedded model), `judge`,
        the store at `store` (default: $PONDER_STORE or the user's store). `model_options` (the
        HTTP backends' timeouts) go to every HTTP model and are refused when none is one."""
        options = {k: v for k, v in (model_options or {}).items() if v is not None}
        specs = [model or default_spec()] + ([judge] if judge else [])
        if options and not any(_is_http(s) for s in specs):
            flags = ", ".join("--" + k.replace("_", "-") for k in sorted(options))
            raise ConfigError(f"{flags} apply to openai:MODEL@URL models, not {redact_spec(specs[0])!r}")
        opened = [opener(spec, **(options if _is_http(spec) else {})) for spec in specs]
        db = Store(store)
        session = cls(
            opened[0],
            db,
            opened[1] if judge else None,
            cache,
            model_options=options,
            opener=opener,
            owns_store=True,
        )
        session._models[specs[0]] = opened[0]
        return session

    def model_for(self, spec: str | None) -> Model:
        """The model named by `spec` (None: the session's model), opened once per session."""
        if spec is None:
            return self.model
        if spec not in self._models:
            self._models[spec] = self._opener(spec, **(self._options if _is_http(spec) else {}))
        return self._models[spec]

    def cached(self, model: Model | None = None) -> CachedModel:
        """`model` (default: the session's model) behind the store's cache of completions."""
        return CachedModel(model or self.model, self.store, read=self.cache)

    def cached_judge(self) -> CachedModel | None:
        return None if self.judge is None else self.cached(self.judge)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        held = [self.model, self.judge, *self._models.values()]
        try:
            for m in {id(m): m for m in held if m is not None}.values():
                if isinstance(m, Closable):
                    await m.aclose()
        finally:
            if self._owns_store:
                self.store.close()

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
