"""Batched decoding on llama.cpp's low-level API: many sequences, one `llama_decode` per step.

One engine owns one loaded model and one context with a unified KV cache. A worker thread runs
the loop: admit waiting jobs while sequence slots and KV cells allow; evaluate each new job's
prompt once as its first sequence and copy that prefix (`llama_memory_seq_cp`, which shares the
cells) to the job's other sequences; then decode one token for every running sequence, of every
job, in a single batch, each sequence with its own seeded sampler chain. So the n samples of a
prompt pay for the prompt once, and concurrent requests are decoded together. A new prompt that
begins like what a sequence's cells hold (a running sequence, or one of the last few that
finished, kept until their slots or cells are needed) shares those cells for the common prefix
and evaluates only the rest: the truncations of one chain in early answering, the answer read
after a chain just generated, the same few-shot exemplars item after item.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import os
import queue
import random
import threading
import time
from dataclasses import dataclass, field

import llama_cpp as L
import numpy as np

from ponder.errors import ContextOverflow, FatalModelError, ModelError, ModelUnavailable, RequestError
from ponder.types import Completion, TokenLogprob, Usage


@ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
def _quiet_log(level, text, user_data):  # kept at module level: llama.cpp holds the pointer
    return None


@dataclass
class JobSpec:
    prompt_tokens: list[int]
    n: int
    temperature: float
    top_p: float
    max_tokens: int
    stop: tuple[str, ...]
    seed: int | None
    logprobs: bool
    top_logprobs: int


@dataclass
class _Job:
    spec: JobSpec
    first_index: int
    future: concurrent.futures.Future
    submitted: float
    results: dict[int, Completion] = field(default_factory=dict)
    remaining: int = 0
    count: int = 0
    reused: int = 0  # prompt tokens whose KV cells came from a running sequence's prompt


@dataclass
class _Seq:
    seq_id: int
    job: _Job
    index: int                  # sample index within the job's request
    sampler: ctypes.c_void_p
    pos: int
    last: int = -1
    tokens: list[int] = field(default_factory=list)
    raw: bytearray = field(default_factory=bytearray)
    logprobs: list[TokenLogprob] = field(default_factory=list)


@dataclass
class _Kept:
    seq_id: int
    tokens: list[int]  # what the sequence's cells hold, positions 0..len-1


@dataclass
class EngineStats:
    prompt_tokens_evaluated: int = 0
    tokens_generated: int = 0
    decode_calls: int = 0
    max_batch: int = 0


class BatchEngine:
    def __init__(self, path: str, n_ctx: int = 16384, n_seq_max: int = 16, n_threads: int | None = None,
                 n_batch: int = 2048, verbose: bool = False) -> None:
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
        self.ctx = L.llama_init_from_model(self.model, cparams)
        if not self.ctx:
            L.llama_model_free(self.model)
            raise ModelUnavailable(f"cannot create a llama.cpp context for {path} (n_ctx={n_ctx})")
        self.path = path
        self.n_ctx = L.llama_n_ctx(self.ctx)
        self.n_seq_max = n_seq_max
        self.n_batch = n_batch
        self.n_threads = threads
        self.vocab = L.llama_model_get_vocab(self.model)
        self.n_vocab = L.llama_vocab_n_tokens(self.vocab)
        self.mem = L.llama_get_memory(self.ctx)
        self.batch = L.llama_batch_init(max(n_batch, n_seq_max), 0, 1)
        self.stats = EngineStats()
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._waiting: list[_Job] = []
        self._running: list[_Seq] = []
        self._free_ids = list(range(n_seq_max))
        self._reserved = 0
        self._closed = False
        self.share_prefixes = True  # off only to measure what sharing saves (benchmarks/prefix_sharing.py)
        self.keep_max, self.keep_cells = 8, n_ctx // 2  # finished sequences kept for their prefixes
        self._kept: list[_Kept] = []  # oldest first
        self._forget = False
        self._thread = threading.Thread(target=self._loop, name="ponder-llama", daemon=True)
        self._thread.start()

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
        buf = ctypes.create_string_buffer(256)
        n = L.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, special)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = L.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, special)
        return buf.raw[:n]

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

    # submission
    def submit(self, spec: JobSpec) -> concurrent.futures.Future:
        """Queue a job; its future resolves to the list of n completions in sample order."""
        if self._closed:
            raise FatalModelError("the llama.cpp engine is closed")
        if not spec.prompt_tokens:
            raise RequestError("the prompt is empty after tokenisation: give the model some text")
        need = len(spec.prompt_tokens) + spec.max_tokens
        if need > self.n_ctx:
            raise ContextOverflow(f"prompt of {len(spec.prompt_tokens)} tokens + max_tokens "
                                  f"{spec.max_tokens} exceeds the context of {self.n_ctx} tokens")
        per_chunk = max(1, min(self.n_seq_max, (self.n_ctx - len(spec.prompt_tokens)) // spec.max_tokens))
        outer: concurrent.futures.Future = concurrent.futures.Future()
        parts = []
        for first in range(0, spec.n, per_chunk):
            count = min(per_chunk, spec.n - first)
            fut: concurrent.futures.Future = concurrent.futures.Future()
            self._queue.put(_Job(spec, first, fut, time.perf_counter(), remaining=count, count=count))
            parts.append(fut)

        def gather(_: object) -> None:
            if outer.done() or not all(p.done() for p in parts):
                return
            if any(p.cancelled() for p in parts):
                outer.cancel()
                return
            errors = [p.exception() for p in parts if p.exception() is not None]
            if errors:
                outer.set_exception(errors[0])
            else:
                outer.set_result([c for p in parts for c in p.result()])

        def cancel_parts(f: concurrent.futures.Future) -> None:
            if f.cancelled():
                for p in parts:
                    p.cancel()

        for p in parts:
            p.add_done_callback(gather)
        outer.add_done_callback(cancel_parts)
        return outer

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout=60)
        L.llama_batch_free(self.batch)
        L.llama_free(self.ctx)
        L.llama_model_free(self.model)

    # the worker
    def _loop(self) -> None:
        while True:
            block = not self._running and not self._waiting
            try:
                while True:
                    job = self._queue.get(block=block)
                    block = False
                    if job is None:
                        self._fail_all(FatalModelError("the llama.cpp engine was closed"))
                        return
                    self._waiting.append(job)
            except queue.Empty:
                pass
            try:
                self._admit()
                if self._running:
                    self._step()
            except Exception as e:  # a decode failure fails the jobs in flight, not the engine
                self._fail_all(e if isinstance(e, ModelError) else FatalModelError(f"llama.cpp: {e}"))

    def forget(self) -> None:
        """Drop the kept sequences before the next job is admitted (benchmarks start cold with it)."""
        self._forget = True

    def _admit(self) -> None:
        if self._forget:
            while self._kept:
                self._evict()
            self._forget = False
        self._waiting = [job for job in self._waiting if not job.future.cancelled()]
        while self._waiting:
            job = self._waiting[0]
            while self._kept and (len(self._free_ids) < job.count or
                                  self._reserved + self._kept_cells() + self._reservation(job) > self.n_ctx):
                self._evict()
            if len(self._free_ids) < job.count or (self._reserved + self._reservation(job) > self.n_ctx
                                                    and self._running):
                return
            self._waiting.pop(0)
            self._reserved += self._reservation(job)
            self._start(job)

    def _start(self, job: _Job) -> None:
        spec = job.spec
        ids = [self._free_ids.pop(0) for _ in range(job.remaining)]
        tokens = spec.prompt_tokens
        first_seq = ids[0]
        donor, shared = self._donor(tokens)
        if shared:
            L.llama_memory_seq_cp(self.mem, donor, first_seq, 0, shared)
        job.reused = shared
        last_index = 0
        for start in range(shared, len(tokens), self.n_batch):
            chunk = tokens[start:start + self.n_batch]
            self.batch.n_tokens = len(chunk)
            for i, tok in enumerate(chunk):
                self._put(i, tok, start + i, first_seq, start + i == len(tokens) - 1)
            self._decode()
            last_index = len(chunk) - 1
        self.stats.prompt_tokens_evaluated += len(tokens) - shared
        for sid in ids[1:]:
            L.llama_memory_seq_cp(self.mem, first_seq, sid, -1, -1)
        for j, sid in enumerate(ids):
            index = job.first_index + j
            seq = _Seq(sid, job, index, self._sampler(spec, index), pos=len(tokens))
            self._running.append(seq)
            self._accept(seq, last_index)

    def _donor(self, tokens: list[int]) -> tuple[int, int]:
        """The sequence, running or kept after it finished, whose cells hold the longest prefix of
        `tokens`, and the length shared (at most all but the last token, whose logits are
        needed). Those cells are shared with the new sequence instead of evaluating the prefix again."""
        best, shared = -1, 0
        if not self.share_prefixes:
            return best, shared
        held = [(seq.seq_id, seq.job.spec.prompt_tokens, seq.tokens[:seq.pos - len(seq.job.spec.prompt_tokens)])
                for seq in self._running] + [(k.seq_id, k.tokens, []) for k in self._kept]
        for seq_id, head, tail in held:
            known = head + tail if tail else head
            n = min(len(known), len(tokens) - 1)
            if n <= shared:
                continue
            common = 0
            while common < n and known[common] == tokens[common]:
                common += 1
            if common > shared:
                best, shared = seq_id, common
        if best >= 0:
            for i, k in enumerate(self._kept):
                if k.seq_id == best:  # used again: now the most recent
                    self._kept.append(self._kept.pop(i))
                    break
        return best, shared

    def _kept_cells(self) -> int:
        return sum(len(k.tokens) for k in self._kept)

    def _keep(self, seq: _Seq) -> bool:
        """Keep a finished sequence's cells for later prompts that begin the same way (the first
        sample of each request only); the oldest kept ones go when slots or cells run short."""
        if not self.share_prefixes or self.keep_max <= 0 or seq.index != seq.job.first_index:
            return False
        prompt = seq.job.spec.prompt_tokens
        self._kept.append(_Kept(seq.seq_id, prompt + seq.tokens[:seq.pos - len(prompt)]))
        while len(self._kept) > self.keep_max or self._kept_cells() > self.keep_cells:
            self._evict()
        return True

    def _evict(self) -> None:
        k = self._kept.pop(0)
        L.llama_memory_seq_rm(self.mem, k.seq_id, -1, -1)
        self._free_ids.append(k.seq_id)

    def _sampler(self, spec: JobSpec, index: int):
        chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
        if spec.temperature <= 0:
            L.llama_sampler_chain_add(chain, L.llama_sampler_init_greedy())
        else:
            seed = (spec.seed + index) & 0xFFFFFFFF if spec.seed is not None else random.SystemRandom().getrandbits(31)
            L.llama_sampler_chain_add(chain, L.llama_sampler_init_temp(spec.temperature))
            if spec.top_p < 1.0:
                L.llama_sampler_chain_add(chain, L.llama_sampler_init_top_p(spec.top_p, 1))
            L.llama_sampler_chain_add(chain, L.llama_sampler_init_dist(seed))
        return chain

    def _put(self, i: int, token: int, pos: int, seq_id: int, logits: bool) -> None:
        b = self.batch
        b.token[i] = token
        b.pos[i] = pos
        b.n_seq_id[i] = 1
        b.seq_id[i][0] = seq_id
        b.logits[i] = 1 if logits else 0

    def _decode(self) -> None:
        status = L.llama_decode(self.ctx, self.batch)
        self.stats.decode_calls += 1
        if status != 0:
            raise FatalModelError(f"llama_decode failed with status {status} "
                                  f"(batch of {self.batch.n_tokens}, context {self.n_ctx})")

    def _step(self) -> None:
        for seq in [s for s in self._running if s.job.future.cancelled()]:
            self._release(seq)
            seq.job.remaining -= 1
            if seq.job.remaining == 0:
                self._reserved -= self._reservation(seq.job)
        seqs = list(self._running)
        if not seqs:
            return
        self.batch.n_tokens = len(seqs)
        for i, seq in enumerate(seqs):
            self._put(i, seq.last, seq.pos, seq.seq_id, True)
        self._decode()
        self.stats.max_batch = max(self.stats.max_batch, len(seqs))
        for i, seq in enumerate(seqs):
            seq.pos += 1
            self._accept(seq, i)

    def _accept(self, seq: _Seq, batch_index: int) -> None:
        """Sample the next token of `seq` from the logits at `batch_index`, and finish it if due."""
        spec = seq.job.spec
        token = L.llama_sampler_sample(seq.sampler, self.ctx, batch_index)
        self.stats.tokens_generated += 1
        if L.llama_vocab_is_eog(self.vocab, token):
            self._finish(seq, "stop", counted=len(seq.tokens) + 1)
            return
        piece = self.piece(token)
        if spec.logprobs:
            seq.logprobs.append(self._logprob(batch_index, token, piece, spec.top_logprobs))
        seq.tokens.append(token)
        seq.raw.extend(piece)
        seq.last = token
        if spec.stop:
            text = seq.raw.decode("utf-8", errors="ignore")
            hits = [text.find(s) for s in spec.stop if s in text]
            if hits:
                self._finish(seq, "stop", cut=min(hits))
                return
        if len(seq.tokens) >= spec.max_tokens:
            self._finish(seq, "length")

    def _logprob(self, batch_index: int, token: int, piece: bytes, top: int) -> TokenLogprob:
        ptr = L.llama_get_logits_ith(self.ctx, batch_index)
        logits = np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).astype(np.float64)
        peak = logits.max()
        lse = peak + np.log(np.exp(logits - peak).sum())
        alts: tuple[tuple[str, float], ...] = ()
        if top:
            best = np.argpartition(-logits, top)[:top]
            best = best[np.argsort(-logits[best])]
            alts = tuple((self.piece(int(t)).decode("utf-8", errors="replace"), float(logits[t] - lse))
                         for t in best)
        return TokenLogprob(piece.decode("utf-8", errors="replace"), float(logits[token] - lse), alts)

    def _finish(self, seq: _Seq, reason: str, cut: int | None = None, counted: int | None = None) -> None:
        job = seq.job
        text = seq.raw.decode("utf-8", errors="replace")
        if cut is not None:
            text = text[:cut]
        prompt = len(job.spec.prompt_tokens)
        shared = prompt if seq.index != job.first_index else job.reused
        job.results[seq.index] = Completion(
            text=text, finish_reason=reason,  # type: ignore[arg-type]
            usage=Usage(prompt, counted if counted is not None else len(seq.tokens), shared),
            logprobs=tuple(seq.logprobs) if job.spec.logprobs else None, index=seq.index,
            latency_s=time.perf_counter() - job.submitted)
        self._release(seq, keep=True)
        job.remaining -= 1
        if job.remaining == 0:
            self._reserved -= self._reservation(job)
            if not job.future.done():
                job.future.set_result([job.results[i] for i in sorted(job.results)])

    def _release(self, seq: _Seq, keep: bool = False) -> None:
        L.llama_sampler_free(seq.sampler)
        self._running.remove(seq)
        if not (keep and self._keep(seq)):
            L.llama_memory_seq_rm(self.mem, seq.seq_id, -1, -1)
            self._free_ids.append(seq.seq_id)

    def _reservation(self, job: _Job) -> int:
        return len(job.spec.prompt_tokens) + job.count * job.spec.max_tokens

    def _fail_all(self, error: BaseException) -> None:
        """Fail every job in flight or waiting, and reset the KV cache and sequence slots."""
        jobs = [seq.job for seq in self._running] + self._waiting
        for seq in self._running:
            L.llama_sampler_free(seq.sampler)
        for job in jobs:
            if not job.future.done():
                job.future.set_exception(error)
        self._running.clear()
        self._waiting.clear()
        self._kept.clear()
        L.llama_memory_clear(self.mem, True)
        self._free_ids = list(range(self.n_seq_max))
        self._reserved = 0
