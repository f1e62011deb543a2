"""`ponder serve`'s web app: OpenAI's chat completions, completions and models endpoints, answered
by a strategy or passed through, plus `/v1/traces/{id}` and `/health`.

    create_app(session, config)   the app over a session (its store, its models) and a config
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException

from ponder import details as details_codec
from ponder.eval.session import Session
from ponder.server import reply
from ponder.server.config import ServeConfig
from ponder.server.engine import Answered, Engine, new_trace_id
from ponder.server.errors import RESPONSES, APIError, bad_request, from_exception
from ponder.server.guards import BodyLimit, Gate, check_key, over_limit
from ponder.server.routing import Route, route_for
from ponder.server.schema import (
    ChatChunk,
    ChatCompletion,
    ChatRequest,
    CompletionRequest,
    Health,
    ModelList,
    TextChunk,
    TextCompletion,
    TraceOut,
    event_schema,
)
from ponder.server.translate import messages_of, pass_through, prompt_of, strategy_task
from ponder.store.codec import event_to_json
from ponder.strategies.registry import STRATEGIES

KEEP_ALIVE_S = 10.0


def streamed(chunk: type[BaseModel]) -> dict[str, Any]:
    return {"text/event-stream": {"schema": event_schema(chunk)}}


def error_response(e: APIError) -> JSONResponse:
    return JSONResponse(e.body(), status_code=e.status, headers=e.headers)


def create_app(session: Session, config: ServeConfig) -> FastAPI:
    engine = Engine(session, config)
    gate = Gate(config.limits.concurrency, config.limits.retry_after_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.close()

    app = FastAPI(
        lifespan=lifespan,
        title="ponder serve",
        version="1",
        description="An OpenAI-compatible endpoint that answers with ponder's reasoning strategies.",
        responses=RESPONSES,
    )
    app.state.engine = engine
    app.state.gate = gate

    @app.exception_handler(APIError)
    async def _api_error(request: Request, e: APIError) -> JSONResponse:
        return error_response(e)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        err = e.errors()[0] if e.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        param = ".".join(loc) or None
        return error_response(bad_request(f"{param or 'body'}: {err.get('msg', 'invalid')}", param=param))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, e: HTTPException) -> JSONResponse:
        if over_limit(e):
            return error_response(
                APIError(
                    413,
                    f"the request body is over {config.limits.max_body_bytes} bytes",
                    code="body_too_large",
                )
            )
        kind = "not_found_error" if e.status_code == 404 else "invalid_request_error"
        return error_response(APIError(e.status_code, str(e.detail), kind, headers=dict(e.headers or {})))

    @app.exception_handler(Exception)
    async def _crash(request: Request, e: Exception) -> JSONResponse:
        return error_response(from_exception(e))

    def authorised(request: Request) -> None:
        check_key(request.headers.get("authorization"), config.api_keys)

    @app.get("/health", response_model=Health)
    async def health() -> dict[str, Any]:
        return {"status": "ok", "in_flight": gate.in_flight, "limit": gate.limit}

    @app.get("/v1/models", response_model=ModelList, dependencies=[Depends(authorised)])
    async def models() -> dict[str, Any]:
        b = engine.backends
        names = [Route(s).name for s in (b.default, *b.allowed)]
        names += list(b.aliases)
        names += [f"{s}@{Route(b.default).name}" for s in STRATEGIES]
        created = int(time.time())
        return {
            "object": "list",
            "data": [
                {"id": n, "object": "model", "created": created, "owned_by": "ponder"}
                for n in dict.fromkeys(names)
            ],
        }

    @app.get("/v1/traces/{trace_id}", response_model=TraceOut, dependencies=[Depends(authorised)])
    async def trace(trace_id: str) -> dict[str, Any]:
        found = engine.trace(trace_id) if len(trace_id) <= 64 else None
        if found is None:
            raise APIError(
                404,
                f"no trace {trace_id!r} in this server's store",
                "not_found_error",
                param="trace_id",
                code="trace_not_found",
            )
        run_id, r = found
        return {
            "trace_id": trace_id,
            "run_id": run_id,
            "strategy": r.strategy,
            "model": r.model,
            "question": r.task.question,
            "context": r.task.meta.get("context", []),
            "answer": r.answer,
            "reasoning": r.reasoning,
            "error": r.error,
            "compute": dataclasses.asdict(r.compute),
            "details": details_codec.to_json(r.details),
            "trace": [event_to_json(e) for e in r.trace],
        }

    async def answer(body: ChatRequest | CompletionRequest) -> Response:
        """The reply to a request; every failure as an API error (never a raw 500 with a traceback)."""
        try:
            return await answer_or_raise(body)
        except APIError:
            raise
        except Exception as e:
            raise from_exception(e) from e

    async def answer_or_raise(body: ChatRequest | CompletionRequest) -> Response:
        chat = isinstance(body, ChatRequest)
        route = route_for(body.model, body.ponder, engine.backends)
        created = int(time.time())
        trace_id = new_trace_id()
        meta: dict[str, Any] = {"endpoint": "chat" if chat else "completions"}
        if body.user:
            meta["user"] = body.user
        if route.strategy is None:
            request = pass_through(body, config.limits)
            question = _question(body)
        else:
            question, context, options = strategy_task(body, route, config.limits)
        engine.model(route.backend)  # a backend that cannot be opened fails here, before a stream begins
        slot = Slot(gate)
        if body.stream:
            if route.strategy is None:
                pieces = engine.stream(route, request, question, meta, trace_id)
            else:
                pieces = _decided(lambda: engine.solve(route, question, context, options, meta, trace_id))
            return _stream(pieces, chat, body, created, trace_id, slot)
        try:
            if route.strategy is None:
                done = await engine.generate(route, request, question, meta, trace_id)
            else:
                done = await engine.solve(route, question, context, options, meta, trace_id)
        finally:
            slot.release()
        shaped = reply.chat_completion if chat else reply.text_completion
        return JSONResponse(shaped(done, body.model, created))

    @app.post(
        "/v1/chat/completions",
        dependencies=[Depends(authorised)],
        responses={200: {"model": ChatCompletion, "content": streamed(ChatChunk)}},
    )
    async def chat_completions(body: ChatRequest) -> Response:
        return await answer(body)

    @app.post(
        "/v1/completions",
        dependencies=[Depends(authorised)],
        responses={200: {"model": TextCompletion, "content": streamed(TextChunk)}},
    )
    async def completions(body: CompletionRequest) -> Response:
        return await answer(body)

    app.add_middleware(BodyLimit, max_bytes=config.limits.max_body_bytes)
    return app


def _question(body: ChatRequest | CompletionRequest) -> str:
    if isinstance(body, CompletionRequest):
        return prompt_of(body)
    users = [m for m in messages_of(body) if m.role == "user"]
    return users[-1].content if users else ""


class Slot:
    """One request's place in the gate, taken when made and given back once."""

    def __init__(self, gate: Gate) -> None:
        gate.enter()
        self.gate = gate
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.gate.leave()


async def _decided(work: Callable[[], Awaitable[Answered]]) -> AsyncIterator[Any]:
    """A strategy's reply as a stream: nothing until it is decided, then the whole of it."""
    yield await work()


def _stream(
    pieces: AsyncIterator[Any],
    chat: bool,
    body: ChatRequest | CompletionRequest,
    created: int,
    trace_id: str,
    slot: Slot,
) -> StreamingResponse:
    include = bool(body.stream_options and body.stream_options.include_usage)
    chunks = reply.Chunks(chat, trace_id, body.model, created, include)

    async def events() -> AsyncIterator[bytes]:
        try:
            async for item in _with_keep_alive(pieces):
                if item is None:
                    yield reply.KEEP_ALIVE
                elif isinstance(item, Answered):
                    for chunk in _closing_chunks(chunks, item, started):
                        yield chunk
                else:
                    if not started:
                        started.append(True)
                        if (first := chunks.start()) is not None:
                            yield first
                    if item.text:
                        yield chunks.text(item.text)
            yield reply.sse("[DONE]")
        except Exception as e:  # the reply has begun: the error goes in the stream, as OpenAI's does
            yield reply.sse(from_exception(e).body())
        finally:
            slot.release()

    started: list[bool] = []
    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        background=BackgroundTask(slot.release),
    )


def _closing_chunks(chunks: reply.Chunks, done: Answered, started: list[bool]) -> list[bytes]:
    if not started:
        out = chunks.whole(done)
    else:
        c = done.choices[0]
        out = ([chunks.tool_calls(c)] if c.tool_calls and chunks.chat else []) + [chunks.finish(c, done)]
    usage = chunks.usage(done)
    return out + ([usage] if usage is not None else [])


async def _with_keep_alive(pieces: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """`pieces`, with None whenever KEEP_ALIVE_S pass without one (a comment line keeps proxies and
    clients from timing out while a strategy decides)."""
    it = pieces.__aiter__()
    pending: asyncio.Task[Any] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(it.__anext__())
            finished, _ = await asyncio.wait({pending}, timeout=KEEP_ALIVE_S)
            if not finished:
                yield None
                continue
            try:
                item = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield item
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
