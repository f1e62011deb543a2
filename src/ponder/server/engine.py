"""What answers a request: the route's model (opened once per spec), the strategy or the call
passed through, and the store.

Every request is an item of a stored run, one run per route (kind "serve"; the same route on the
same store keeps its run across restarts). The item's id is the request's trace id; each model
call is written under it as it finishes, and the result (answer, trace, compute) when the request
ends, answered or failed, before the reply is sent. `GET /v1/traces/{id}` and `ponder view` read it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from ponder.contract import Delta
from ponder.eval.session import Session
from ponder.models import STREAM, Model, Streaming, default_spec
from ponder.server.config import ServeConfig
from ponder.server.routing import Backends, Route
from ponder.strategies.base import Recorder, TraceSink
from ponder.strategies.registry import ALLOWED, build_strategy
from ponder.types import (
    Completion,
    Compute,
    Event,
    FinishReason,
    GenerationRequest,
    Message,
    ModelCall,
    Result,
    Task,
    Usage,
)

PASS_THROUGH = "pass-through"
DEFAULT_KIND = "number"


@dataclass(frozen=True)
class Answered:
    """A finished request: its trace id, run, route and stored result, and the choices of the
    reply (a strategy's: one, its content per the route's `reply`)."""

    trace_id: str
    run_id: int
    route: Route
    result: Result
    choices: tuple[Completion, ...]


class Kept:
    """A trace sink that passes each event on and keeps it in `rec`'s trace too, so a request that
    fails is stored with the calls it made."""

    def __init__(self, sink: TraceSink, rec: Recorder) -> None:
        self.sink = sink
        self.rec = rec

    def emit(self, event: Event) -> None:
        self.rec.events.append(event)
        self.sink.emit(event)


def new_trace_id() -> str:
    return uuid.uuid4().hex[:24]


class Engine:
    def __init__(self, session: Session, config: ServeConfig) -> None:
        self.session = session
        self.config = config
        default = config.model or default_spec()
        self.backends = Backends(default, tuple(config.backends), dict(config.aliases))
        self._runs: dict[str, int] = {}

    def model(self, spec: str) -> Model:
        return self.session.model_for(spec)

    def _run_id(self, route: Route, model: Model) -> int:
        key = f"{route.name}\0{model.model_id}"
        if key not in self._runs:
            config: dict[str, Any] = {"route": route.name, "options": route.options}
            if route.strategy is not None:
                config |= {"kind": self.kind(route), "reply": self.reply(route)}
            self._runs[key] = self.session.store.find_or_start_run(
                "serve", model.model_id, route.strategy or PASS_THROUGH, config
            )
        return self._runs[key]

    def kind(self, route: Route) -> str:
        return route.kind or DEFAULT_KIND

    def reply(self, route: Route) -> str:
        return route.reply or self.config.reply

    def close(self) -> None:
        """Mark every run this server wrote to as done."""
        for run_id in self._runs.values():
            self.session.store.finish_run(run_id)

    def _store(self, run_id: int, result: Result) -> None:
        self.session.store.add_result(run_id, result)

    def _failed(self, task: Task, strategy: str, rec: Recorder, error: BaseException) -> Result:
        return Result(
            task,
            strategy,
            None,
            "",
            None,
            rec.trace,
            Compute.of(rec.events, time.perf_counter() - rec.started),
            model=rec.model.model_id,
            error=f"{type(error).__name__}: {error}",
        )

    async def _guarded(self, run_id: int, task: Task, strategy: str, rec: Recorder, work: Any) -> Result:
        """`work`'s result, stored; on failure or timeout an errored result is stored, then the
        error raised."""
        try:
            result: Result = await asyncio.wait_for(work, self.config.limits.timeout_s)
        except BaseException as e:
            self._store(run_id, self._failed(task, strategy, rec, e))
            raise
        result = replace(result, model=rec.model.model_id)
        self._store(run_id, result)
        return result

    def _task(
        self, trace_id: str, question: str, route: Route, context: tuple[Message, ...], meta: dict[str, Any]
    ) -> Task:
        meta = dict(meta)
        if context:
            meta["context"] = [{"role": m.role, "content": m.content} for m in context]
        return Task(trace_id, question, None, self.kind(route), meta)

    async def solve(
        self,
        route: Route,
        question: str,
        context: tuple[Message, ...],
        options: dict[str, Any],
        meta: dict[str, Any],
        trace_id: str,
    ) -> Answered:
        """The route's strategy on the question (in its conversation), stored."""
        assert route.strategy is not None
        model = self.model(route.backend)
        run_id = self._run_id(route, model)
        task = self._task(trace_id, question, route, context, meta)
        if "verifier_model" in ALLOWED[route.strategy] and self.session.judge is not None:
            options = {**options, "verifier_model": self.session.cached_judge()}
        strategy = build_strategy(route.strategy, **options)
        served = self.session.cached(model) if self.config.cache else model
        rec = Recorder(model)
        sink = Kept(self.session.store.call_sink(run_id, trace_id), rec)
        result = await self._guarded(run_id, task, route.strategy, rec, strategy.run(task, served, sink))
        content = (result.answer or "") if self.reply(route) == "answer" else result.reasoning
        finish: FinishReason = "length" if result.budget is not None and result.budget.hit else "stop"
        return Answered(trace_id, run_id, route, result, (Completion(content, finish, Usage()),))

    async def generate(
        self, route: Route, request: GenerationRequest, question: str, meta: dict[str, Any], trace_id: str
    ) -> Answered:
        """One call passed through, stored."""
        model = self.model(route.backend)
        run_id = self._run_id(route, model)
        task = self._task(trace_id, question, route, (), meta)
        served = self.session.cached(model) if self.config.cache else model
        rec = Recorder(model, None, self.session.store.call_sink(run_id, trace_id))

        async def work() -> Result:
            completions = await rec.generate(request, model=served)
            text = completions[0].text
            return rec.result(task, PASS_THROUGH, text, text)

        result = await self._guarded(run_id, task, PASS_THROUGH, rec, work())
        return Answered(trace_id, run_id, route, result, result.calls[-1].completions)

    async def stream(
        self, route: Route, request: GenerationRequest, question: str, meta: dict[str, Any], trace_id: str
    ) -> AsyncIterator[Delta | Answered]:
        """One n=1 call passed through, its pieces as they come, then the stored Answered."""
        model = self.model(route.backend)
        run_id = self._run_id(route, model)
        task = self._task(trace_id, question, route, (), meta)
        rec = Recorder(model, None, self.session.store.call_sink(run_id, trace_id))
        if STREAM not in model.abilities or not isinstance(model, Streaming) or request.n != 1:
            yield await self.generate(route, request, question, meta, trace_id)
            return
        t0 = time.perf_counter()
        done: Completion | None = None
        deadline = time.monotonic() + self.config.limits.timeout_s
        pieces = model.stream(request)
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError()
                try:
                    piece = await asyncio.wait_for(anext(pieces), left)
                except StopAsyncIteration:
                    break
                if isinstance(piece, Completion):
                    done = piece
                else:
                    yield piece
        except BaseException as e:
            await pieces.aclose()  # type: ignore[attr-defined]
            self._store(run_id, self._failed(task, PASS_THROUGH, rec, e))
            raise
        assert done is not None, "a stream ends with its completion"
        rec.record(ModelCall(request, (done,), time.perf_counter() - t0, "generate", model.model_id))
        result = replace(rec.result(task, PASS_THROUGH, done.text, done.text), model=model.model_id)
        self._store(run_id, result)
        yield Answered(trace_id, run_id, route, result, (done,))

    def trace(self, trace_id: str) -> tuple[int, Result] | None:
        return self.session.store.result_of_item(trace_id, "serve")
