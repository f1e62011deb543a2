"""The embedded backend: llama.cpp in-process, with batched sampling (see batch_engine.py).

`local` is the default registry model, `local:NAME` a registry model, `local:/path/x.gguf` any file.
Chat requests are rendered with the chat template stored in the GGUF (local_tools.py), tools and
tool turns included when the template has a tools section; an assistant prefix is appended after
the generation prompt, so the model continues it. A reply to a request that offers tools is read
back into function calls and the text outside them. A request that forces a call, or gives a
response format, holds each sample to a grammar (grammar.py) in its own sampler. `stream` yields
an n=1 reply's text as it is made; closing the stream cancels the generation. One engine per
model file is shared by every caller in the process.

`concurrency` is the number of items an evaluation keeps in flight by default: the engine's
sequence slots, since concurrent requests are decoded together (`benchmarks/eval_concurrency.py`:
`ponder eval gsm8k -s cot -n 16` ran 1.78x faster at 16 items in flight than at 1).
"""

from __future__ import annotations

import asyncio
import atexit
import dataclasses
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from ponder.contract import Delta
from ponder.errors import ModelUnavailable, RequestError, UnsupportedAbility
from ponder.models import (
    JSON_SCHEMA,
    LOGPROBS,
    PREFIX,
    SHARED_SAMPLES,
    STREAM,
    TOOLS,
    check_abilities,
    registry,
    weights,
)
from ponder.models.batch_engine import BatchEngine, JobSpec
from ponder.models.grammar import request_grammar
from ponder.models.local_tools import CallTextFilter, ChatTemplate, split_calls, unsupported_tools_message
from ponder.types import Completion, GenerationRequest

_ENGINES: dict[tuple[Any, ...], BatchEngine] = {}
_ENGINES_LOCK = threading.Lock()


@atexit.register
def _close_engines() -> None:
    with _ENGINES_LOCK:
        for engine in _ENGINES.values():
            engine.close()
        _ENGINES.clear()


def engine_for(path: Path, **options: Any) -> BatchEngine:
    key = (str(path), tuple(sorted(options.items())))
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = BatchEngine(str(path), **options)
        return engine


class LocalModel:
    def __init__(self, path: Path, name: str, identity: str, **engine_options: Any) -> None:
        self.path = path
        self.name = name
        self.model_id = f"local:{name}@{identity}"
        self.engine = engine_for(path, **engine_options)
        self.concurrency: int = self.engine.n_seq_max
        source = self.engine.metadata("tokenizer.chat_template")
        self._chat = ChatTemplate(source) if source else None
        self.abilities = abilities_for(self._chat)
        vocab = self.engine.vocab
        import llama_cpp as L

        self._bos = self.engine.special_token_text(L.llama_vocab_bos(vocab))
        self._eos = self.engine.special_token_text(L.llama_vocab_eos(vocab))

    def render(self, request: GenerationRequest) -> tuple[str, bool]:
        """The prompt text, and whether the tokenizer should add special tokens (BOS) itself."""
        if request.prompt is not None:
            return request.prompt + request.assistant_prefix, True
        if self._chat is None:
            raise UnsupportedAbility(f"{self.name} has no chat template in its GGUF: send a raw prompt")
        text = self._chat.render(request, self._bos, self._eos)
        return text + request.assistant_prefix, False

    def prompt_tokens(self, request: GenerationRequest) -> list[int]:
        text, add_special = self.render(request)
        return self.engine.tokenize(text, add_special)

    def check(self, request: GenerationRequest) -> None:
        """Refuse a request this model cannot serve as asked, naming the model."""
        if request.tools and TOOLS not in self.abilities:
            raise UnsupportedAbility(unsupported_tools_message(f"local:{self.name}"))
        check_abilities(f"local:{self.name}", self.abilities, request)

    def job(self, request: GenerationRequest, on_text: Callable[[int, str], None] | None = None) -> JobSpec:
        """The engine job for `request`: its prompt tokens, sampling, and grammar."""
        self.check(request)
        return JobSpec(
            prompt_tokens=self.prompt_tokens(request),
            n=request.n,
            temperature=request.temperature,
            top_p=request.top_p,
            max_tokens=request.max_tokens,
            stop=request.stop,
            seed=request.seed,
            logprobs=request.logprobs,
            top_logprobs=request.top_logprobs,
            grammar=request_grammar(request),
            on_text=on_text,
        )

    async def generate(self, request: GenerationRequest) -> list[Completion]:
        done = await asyncio.wrap_future(self.engine.submit(self.job(request)))
        return [read_reply(c, request) for c in done]

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Delta | Completion]:
        """An n=1 reply in pieces as it is made (the text outside tool calls, then each call's
        name and arguments), then the whole completion. Closing the iterator before the end
        cancels the generation and frees its sequence."""
        if request.n != 1:
            raise RequestError(f"stream takes n=1 requests, got n={request.n}")
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[str | None] = asyncio.Queue()

        def put(item: str | None) -> None:
            """Hand an item to the stream's loop (dropped once the loop is closed)."""
            try:
                loop.call_soon_threadsafe(pieces.put_nowait, item)
            except RuntimeError:
                pass

        future = self.engine.submit(self.job(request, lambda _index, text: put(text)))
        future.add_done_callback(lambda _f: put(None))
        shown = CallTextFilter() if offers_tools(request) else None
        try:
            while (piece := await pieces.get()) is not None:
                text = shown.feed(piece) if shown is not None else piece
                if text:
                    yield Delta(text)
            [done] = future.result()
            if shown is not None and (rest := shown.finish()):
                yield Delta(rest)
            final = read_reply(done, request)
            for k, call in enumerate(final.tool_calls):
                yield Delta(tool_index=k, tool_name=call.name)
                yield Delta(tool_index=k, tool_arguments=call.raw)
            yield final
        finally:
            if not future.done():
                future.cancel()


def abilities_for(chat: ChatTemplate | None) -> frozenset[str]:
    """What a model with this chat template can do: tools only when the template has a tools
    section that writes `<tool_call>` blocks."""
    abilities = {LOGPROBS, PREFIX, SHARED_SAMPLES, JSON_SCHEMA, STREAM}
    if chat is not None and chat.supports_tools:
        abilities.add(TOOLS)
    return frozenset(abilities)


def offers_tools(request: GenerationRequest) -> bool:
    """Whether the model sees the request's tools (so its reply is read for calls)."""
    return bool(request.tools) and request.tool_choice != "none"


def read_reply(done: Completion, request: GenerationRequest) -> Completion:
    """The completion as the caller gets it: for a request that offers tools, the calls in its
    text read out (finish reason "tool_calls" when there are any) and the text outside them."""
    if not offers_tools(request):
        return done
    text, calls = split_calls(done.text, request.tools)
    if not calls:
        return dataclasses.replace(done, text=text)
    return dataclasses.replace(done, text=text, tool_calls=calls, finish_reason="tool_calls")


def resolve_path(rest: str) -> tuple[Path, str, str]:
    """(file, display name, identity) for the part of a spec after `local:`."""
    if not rest:
        rest = registry.DEFAULT_LOCAL
    if rest.endswith(".gguf") or "/" in rest or rest.startswith("."):
        path = Path(rest).expanduser()
        if not path.is_file():
            raise ModelUnavailable(f"model file {path} does not exist (spec 'local:{rest}')")
        st = path.stat()
        return path, path.name, f"{path.resolve()}:{st.st_size}:{int(st.st_mtime)}"
    entry = registry.lookup(rest)
    path = weights.assemble(entry)
    return path, entry.name, f"sha256:{(entry.sha256 or 'unpinned')[:16]}"


def from_spec(rest: str, **options: Any) -> LocalModel:
    path, name, identity = resolve_path(rest)
    return LocalModel(path, name, identity, **options)
