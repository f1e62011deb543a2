"""Batched decoding on llama.cpp's low-level API: many sequences, one `llama_decode` per step.

One engine owns one loaded model and one context with a unified KV cache. The scheduling (which
jobs run, which cells a new prompt shares, when a sequence is done) is scheduler.py's; this
module is its decoder on llama.cpp (`LlamaDecoder`: batches, `llama_memory_seq_cp`/`_seq_rm`,
one seeded sampler chain per sequence, logits; a sequence held to a grammar has a grammar sampler
beside its chain) and the engine that loads the model, runs the scheduler's loop on a worker
thread, and turns text into tokens and back for callers.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import os
from collections.abc import Sequence
from typing import Any

import llama_cpp as L
import numpy as np

from ponder.errors import FatalModelError, ModelUnavailable, RequestError
from ponder.models.grammar import ROOT
from ponder.models.scheduler import BatchEntry, EngineStats, JobSpec, Scheduler, sample_token
from ponder.types import Completion

__all__ = ["BatchEngine", "EngineStats", "JobSpec", "LlamaDecoder"]


def _ignore_log(level: int, text: bytes, user_data: int) -> None:
    return None


# kept at module level: llama.cpp holds the pointer
_quiet_log = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)(_ignore_log)


def _piece(vocab: Any, token: int, special: bool) -> bytes:
    buf = ctypes.create_string_buffer(256)
    n = L.llama_token_to_piece(vocab, token, buf, len(buf), 0, special)
    if n < 0:
        buf = ctypes.create_string_buffer(-n)
        n = L.llama_token_to_piece(vocab, token, buf, len(buf), 0, special)
    return buf.raw[:n]


TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])


class Draw:
    """A sequence's sampler when no grammar or top-p applies: greedy (temperature 0, or no seed)
    or a draw at temperature from its own seeded generator, done in numpy on the logits in place
    (`scheduler.sample_token`) rather than through a llama.cpp chain, which copies the vocabulary
    into candidates and takes a scalar softmax of it for every token."""

    def __init__(self, temperature: float, seed: int | None) -> None:
        greedy = temperature <= 0 or seed is None
        self.temperature = 0.0 if greedy else temperature
        self.rng = None if greedy else np.random.default_rng(seed)

    def next_u(self) -> float:
        return 0.0 if self.rng is None else float(self.rng.random())


class HeldSampler:
    """A sequence's sampler chain and the grammar sampler that holds its tokens to a grammar. The
    chain draws first from all the logits; only a token the grammar refuses makes the grammar
    filter the whole vocabulary (slow: every token's text is matched) before drawing again."""

    def __init__(self, chain: Any, grammar: Any) -> None:
        self.chain = chain
        self.grammar = grammar

    def allows(self, token: int) -> bool:
        """Whether the grammar admits `token` next."""
        one = L.llama_token_data(token, 0.0, 0.0)
        cur = L.llama_token_data_array(ctypes.pointer(one), 1, -1, False)
        L.llama_sampler_apply(self.grammar, ctypes.byref(cur))
        return bool(np.isfinite(cur.data[0].logit))

    def free(self) -> None:
        L.llama_sampler_free(self.chain)
        L.llama_sampler_free(self.grammar)


def grammar_sampler(vocab: Any, grammar: str) -> Any:
    """A grammar sampler for GBNF text with a `root` rule (a null pointer when it does not parse)."""
    return L.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), ROOT.encode())


class LlamaDecoder:
    """scheduler.Decoder on one llama.cpp context. Only the engine's worker thread calls it."""

    def __init__(self, model: Any, ctx: Any, n_batch: int, n_seq_max: int) -> None:
        self.ctx = ctx
        self.vocab = L.llama_model_get_vocab(model)
        self.n_vocab = L.llama_vocab_n_tokens(self.vocab)
        self.n_ctx = L.llama_n_ctx(ctx)
        self.mem = L.llama_get_memory(ctx)
        self.batch = L.llama_batch_init(max(n_batch, n_seq_max), 0, 1)
        self._ids = np.arange(self.n_vocab, dtype=np.int32)
        self._candidates = np.zeros(self.n_vocab, dtype=TOKEN_DATA)

    def decode(self, batch: Sequence[BatchEntry]) -> None:
        b = self.batch
        b.n_tokens = len(batch)
        for i, (token, pos, seq_id, logits) in enumerate(batch):
            b.token[i] = token
            b.pos[i] = pos
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = seq_id
            b.logits[i] = 1 if logits else 0
        status = L.llama_decode(self.ctx, b)
        if status != 0:
            raise FatalModelError(
                f"llama_decode failed with status {status} (batch of {b.n_tokens}, context {self.n_ctx})"
            )

    def copy(self, src: int, dst: int, length: int | None) -> None:
        if length is None:
            L.llama_memory_seq_cp(self.mem, src, dst, -1, -1)
        else:
            L.llama_memory_seq_cp(self.mem, src, dst, 0, length)

    def remove(self, seq_id: int, start: int = 0) -> None:
        L.llama_memory_seq_rm(self.mem, seq_id, start if start > 0 else -1, -1)

    def clear(self) -> None:
        L.llama_memory_clear(self.mem, True)

    def sampler(self, temperature: float, top_p: float, seed: int | None, grammar: str | None = None) -> Any:
        if grammar is None and (top_p >= 1.0 or temperature <= 0 or seed is None):
            return Draw(temperature, seed)
        chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
        if temperature <= 0 or seed is None:
            L.llama_sampler_chain_add(chain, L.llama_sampler_init_greedy())
        else:
            L.llama_sampler_chain_add(chain, L.llama_sampler_init_temp(temperature))
            if top_p < 1.0:
                L.llama_sampler_chain_add(chain, L.llama_sampler_init_top_p(top_p, 1))
            L.llama_sampler_chain_add(chain, L.llama_sampler_init_dist(seed))
        if grammar is None:
            return chain
        held = grammar_sampler(self.vocab, grammar)
        if not held:
            L.llama_sampler_free(chain)
            raise RequestError("the grammar is not valid GBNF (llama.cpp could not parse it)")
        return HeldSampler(chain, held)

    def free_sampler(self, sampler: Any) -> None:
        if isinstance(sampler, Draw):
            return
        if isinstance(sampler, HeldSampler):
            sampler.free()
        else:
            L.llama_sampler_free(sampler)

    def sample(self, sampler: Any, row: int) -> int:
        if isinstance(sampler, Draw):
            return sample_token(self.logits(row), sampler.temperature, sampler.next_u())
        if not isinstance(sampler, HeldSampler):
            return int(L.llama_sampler_sample(sampler, self.ctx, row))
        token = self._draw(row, sampler.chain, None)
        if not sampler.allows(token):
            token = self._draw(row, sampler.chain, sampler.grammar)
        L.llama_sampler_accept(sampler.grammar, token)
        L.llama_sampler_accept(sampler.chain, token)
        return token

    def _draw(self, row: int, chain: Any, grammar: Any) -> int:
        """The token `chain` selects from the logits of `row`, filtered by `grammar` first when given
        (neither sampler accepts it: the caller does)."""
        cand = self._candidates
        cand["id"] = self._ids
        cand["logit"] = self.logits(row)
        cand["p"] = 0.0
        data = cand.ctypes.data_as(ctypes.POINTER(L.llama_token_data))
        cur = L.llama_token_data_array(data, self.n_vocab, -1, False)
        if grammar is not None:
            L.llama_sampler_apply(grammar, ctypes.byref(cur))
        L.llama_sampler_apply(chain, ctypes.byref(cur))
        if not 0 <= cur.selected < cur.size:
            raise FatalModelError(f"the sampler selected no token (index {cur.selected} of {cur.size})")
        return int(cur.data[cur.selected].id)

    def logits(self, row: int) -> np.ndarray:
        ptr = L.llama_get_logits_ith(self.ctx, row)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))

    def is_eog(self, token: int) -> bool:
        return bool(L.llama_vocab_is_eog(self.vocab, token))

    def piece(self, token: int) -> bytes:
        return _piece(self.vocab, token, False)

    def free(self) -> None:
        L.llama_batch_free(self.batch)
        L.llama_free(self.ctx)


class BatchEngine(Scheduler):
    """The scheduler on a loaded model: `submit`, `forget`, `share_prefixes`, `stats` and `close`
    are the scheduler's; `tokenize`, `piece`, `metadata` and `special_token_text` read the vocabulary
    and may be called from any thread."""

    def __init__(
        self,
        path: str,
        n_ctx: int = 16384,
        n_seq_max: int = 16,
        n_threads: int | None = None,
        n_batch: int = 2048,
        verbose: bool = False,
    ) -> None:
        if not verbose:
            L.llama_log_set(_quiet_log, ctypes.c_void_p())
        L.llama_backend_init()
        threads = n_threads or int(os.environ.get("PONDER_THREADS", 0)) or os.cpu_count() or 1
        mparams = L.llama_model_default_params()
        self.model = L.llama_model_load_from_file(path.encode(), mparams)
        if not self.model:
            raise ModelUnavailable(f"cannot load {path}: not a readable GGUF model file")
        cparams = L.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = n_batch
        cparams.n_ubatch = min(512, n_batch)
        cparams.n_seq_max = n_seq_max
        cparams.n_threads = threads
        cparams.n_threads_batch = threads
        cparams.kv_unified = True
        ctx = L.llama_init_from_model(self.model, cparams)
        if not ctx:
            L.llama_model_free(self.model)
            raise ModelUnavailable(f"cannot create a llama.cpp context for {path} (n_ctx={n_ctx})")
        self._llama = LlamaDecoder(self.model, ctx, n_batch, n_seq_max)
        self.path = path
        self.n_threads = threads
        self.ctx, self.vocab, self.n_vocab = ctx, self._llama.vocab, self._llama.n_vocab
        super().__init__(
            self._llama,
            n_ctx=self._llama.n_ctx,
            n_seq_max=n_seq_max,
            n_batch=n_batch,
            keep_max=8,
            keep_cells=n_ctx // 2,
        )
        self.start("ponder-llama")

    def submit(self, spec: JobSpec) -> concurrent.futures.Future[list[Completion]]:
        """Queue a job (see Scheduler.submit); a grammar that does not parse is refused here, on
        the caller's thread, rather than failing the batch it would join."""
        if spec.grammar is not None:
            self.check_grammar(spec.grammar)
        return super().submit(spec)

    def check_grammar(self, grammar: str) -> None:
        """Raise RequestError when llama.cpp cannot parse `grammar`."""
        held = grammar_sampler(self.vocab, grammar)
        if not held:
            raise RequestError("the grammar is not valid GBNF (llama.cpp could not parse it)")
        L.llama_sampler_free(held)

    # text <-> tokens (also used by callers, from any thread: read-only on the vocab)
    def tokenize(self, text: str, add_special: bool) -> list[int]:
        data = text.encode("utf-8")
        cap = len(data) + 16
        arr = (L.llama_token * cap)()
        n = L.llama_tokenize(self.vocab, data, len(data), arr, cap, add_special, True)
        if n < 0:
            cap = -n
            arr = (L.llama_token * cap)()
            n = L.llama_tokenize(self.vocab, data, len(data), arr, cap, add_special, True)
        return list(arr[:n])

    def piece(self, token: int, special: bool = False) -> bytes:
        return _piece(self.vocab, token, special)

    def metadata(self, key: str) -> str | None:
        buf = ctypes.create_string_buffer(1 << 16)
        n = L.llama_model_meta_val_str(self.model, key.encode(), buf, len(buf))
        if n < 0:
            return None
        if n >= len(buf):
            buf = ctypes.create_string_buffer(n + 1)
            L.llama_model_meta_val_str(self.model, key.encode(), buf, len(buf))
        return buf.value.decode("utf-8", errors="replace")

    def special_token_text(self, token: int) -> str:
        return self.piece(token, special=True).decode("utf-8", errors="replace") if token >= 0 else ""

    def close(self) -> None:
        if self._closed:
            return
        super().close()
        self._llama.free()
        L.llama_model_free(self.model)
