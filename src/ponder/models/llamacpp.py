"""The embedded backend: llama.cpp in-process, with batched sampling (see batch_engine.py).

`local` is the default registry model, `local:NAME` a registry model, `local:/path/x.gguf` any file.
Chat requests are rendered with the chat template stored in the GGUF; an assistant prefix is
appended after the generation prompt, so the model continues it. One engine per model file is
shared by every caller in the process.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox

from ponder.errors import ModelUnavailable, UnsupportedAbility
from ponder.models import LOGPROBS, PREFIX, SHARED_SAMPLES, registry, weights
from ponder.models.batch_engine import BatchEngine, JobSpec
from ponder.types import Completion, GenerationRequest

_ENGINES: dict[tuple[Any, ...], BatchEngine] = {}
_ENGINES_LOCK = threading.Lock()


def _raise(message: str) -> None:
    raise jinja2.TemplateError(message)


def _template(source: str) -> jinja2.Template:
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
    )
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env.from_string(source)


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
        self.abilities = frozenset({LOGPROBS, PREFIX, SHARED_SAMPLES})
        self.engine = engine_for(path, **engine_options)
        source = self.engine.metadata("tokenizer.chat_template")
        self._chat = _template(source) if source else None
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
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        text = self._chat.render(
            messages=messages, add_generation_prompt=True, bos_token=self._bos, eos_token=self._eos
        )
        return text + request.assistant_prefix, False

    def prompt_tokens(self, request: GenerationRequest) -> list[int]:
        text, add_special = self.render(request)
        return self.engine.tokenize(text, add_special)

    async def generate(self, request: GenerationRequest) -> list[Completion]:
        spec = JobSpec(
            prompt_tokens=self.prompt_tokens(request),
            n=request.n,
            temperature=request.temperature,
            top_p=request.top_p,
            max_tokens=request.max_tokens,
            stop=request.stop,
            seed=request.seed,
            logprobs=request.logprobs,
            top_logprobs=request.top_logprobs,
        )
        return await asyncio.wrap_future(self.engine.submit(spec))


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
