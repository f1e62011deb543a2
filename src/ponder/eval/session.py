"""The objects one piece of work runs on: the solving model, the judge, the store and whether the
cache is read. `evaluate`, `solve`, `play` and the probes take a `Session`; the command line
turns its flags into one with `Session.open`, tests build one from a `ScriptedModel` directly.

A session opened from specs opens each model on first use (an arena whose players name their
own models never loads the default one). It closes what it holds (every model, opened or given,
and a store it opened) once, in `aclose` or at the end of `async with`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError
from ponder.models import Closable, Model, default_spec
from ponder.models.cached import CachedModel
from ponder.redact import redact_spec
from ponder.store import Store

HTTP_KINDS = ("openai",)

Opener = Callable[..., Model]


def _is_http(spec: str) -> bool:
    return spec.strip().partition(":")[0] in HTTP_KINDS


def _get_model(spec: str, **options: Any) -> Model:
    from ponder.models import get_model

    return get_model(spec, **options)


class Session:
    """`model`: the model that answers; `judge`: the verifier or judge model (None: the strategies
    that need one use `model`, the arena judges by correctness); `store`: where runs, results and
    calls go; `cache`: whether stored completions of identical requests are reused. Other models
    the work names by spec (an arena's players) come from `model_for`, opened once each with
    `opener` and `model_options` (the HTTP backends' timeouts, given to HTTP models only)."""

    def __init__(
        self,
        model: Model | None,
        store: Store,
        judge: Model | None = None,
        cache: bool = True,
        *,
        model_spec: str | None = None,
        judge_spec: str | None = None,
        model_options: Mapping[str, Any] | None = None,
        opener: Opener | None = None,
        owns_store: bool = False,
    ) -> None:
        self._model = model
        self._judge = judge
        self._model_spec = model_spec
        self._judge_spec = judge_spec
        self.store = store
        self.cache = cache
        self.model_options = {k: v for k, v in (model_options or {}).items() if v is not None}
        self._opener = opener or _get_model
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
        opener: Opener | None = None,
    ) -> Session:
        """A session from specs: `model` (default: $PONDER_MODEL or the embedded model), `judge`,
        the store at `store` (default: $PONDER_STORE or the user's store). `model_options` (the
        HTTP backends' timeouts) go to every HTTP model and are refused when none is one."""
        options = {k: v for k, v in (model_options or {}).items() if v is not None}
        specs = [model or default_spec()] + ([judge] if judge else [])
        if options and not any(_is_http(s) for s in specs):
            flags = ", ".join("--" + k.replace("_", "-") for k in sorted(options))
            raise ConfigError(f"{flags} apply to openai:MODEL@URL models, not {redact_spec(specs[0])!r}")
        return cls(
            None,
            Store(store),
            None,
            cache,
            model_spec=specs[0],
            judge_spec=judge,
            model_options=options,
            opener=opener,
            owns_store=True,
        )

    @property
    def model(self) -> Model:
        if self._model is None:
            self._model = self.model_for(self._model_spec or default_spec())
        return self._model

    @property
    def judge(self) -> Model | None:
        if self._judge is None and self._judge_spec:
            self._judge = self.model_for(self._judge_spec)
        return self._judge

    def model_for(self, spec: str | None) -> Model:
        """The model named by `spec` (None: the session's model), opened once per session."""
        if spec is None:
            return self.model
        if spec not in self._models:
            if self._closed:
                raise ConfigError("this session is closed")
            self._models[spec] = self._opener(spec, **(self.model_options if _is_http(spec) else {}))
        return self._models[spec]

    def using(self, model: Model, judge: Model | None = None) -> Session:
        """The same store and cache setting with `model` answering and `judge` (default: none)
        judging; the view closes nothing (this session does)."""
        view = Session(model, self.store, judge, self.cache)
        view._closed = True
        return view

    def cached(self, model: Model | None = None) -> CachedModel:
        """`model` (default: the session's model) behind the store's cache of completions."""
        return CachedModel(model or self.model, self.store, read=self.cache)

    def cached_judge(self) -> CachedModel | None:
        judge = self.judge
        return None if judge is None else self.cached(judge)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        held = [self._model, self._judge, *self._models.values()]
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
