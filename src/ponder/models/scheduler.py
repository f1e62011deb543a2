"""Scheduling for the in-process engine, over a small decoder interface (`Decoder`).

One scheduler serves one decoder that holds `n_seq_max` sequences in `n_ctx` KV cells. Its loop
(`run`, on one worker thread, the only thread that calls the decoder) admits waiting jobs while
sequence slots and cells allow; evaluates each new job's prompt once as its first sequence and
copies those cells to the job's other sequences; then decodes one token for every running
sequence, of every job, in a single batch, each sequence with its own seeded sampler. So the n
samples of a prompt pay for the prompt once, and concurrent requests are decoded together. A new
prompt that begins like what a sequence's cells hold (a running sequence, or one of the last few
that finished, kept until their slots or cells are needed) shares those cells for the common
prefix and evaluates only the rest: the truncations of one chain in early answering, the answer
read after a chain just generated, the same few-shot exemplars item after item.

A job may hold its sequences to a grammar (each sequence's own sampler carries it, so the other
sequences of a batch are free), and may ask for its text as it is made: `on_text(index, text)`
is called on the worker thread with each sample's new text after every step, whole characters
only (a partial UTF-8 sequence waits for its end) and never any text that could begin a stop
string (it waits until it is decided); the pieces of a sample join to its completion's text.

Callers reach the loop through one queue: jobs (`submit`), `forget()`, cancellations and changes
of `share_prefixes` are applied by the worker in the order they were made; a cancelled job's
sequences and cells are freed on the loop's next turn. Nothing here imports
llama.cpp: batch_engine.py implements `Decoder` with it, the unit tests with a fake.
"""

from __future__ import annotations

import codecs
import concurrent.futures
import contextlib
import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ponder.errors import ContextOverflow, FatalModelError, ModelError, RequestError
from ponder.types import Completion, TokenLogprob, Usage

BatchEntry = tuple[int, int, int, bool]  # token, position, sequence id, whether its logits are needed


class Decoder(Protocol):
    """What the scheduler asks of the decoding layer. Sequences are ids in range(n_seq_max); a
    sequence's cells hold its tokens at positions 0, 1, …; cells copied between sequences are
    shared, not evaluated again."""

    def decode(self, batch: Sequence[BatchEntry]) -> None:
        """Evaluate every entry in one pass; entry i's logits are then row i for `sample`/`logits`."""

    def copy(self, src: int, dst: int, length: int | None) -> None:
        """Give `dst` the cells of `src` at positions 0..length-1 (all of them when None)."""

    def remove(self, seq_id: int, start: int = 0) -> None:
        """Drop the cells of `seq_id` from position `start` on."""

    def clear(self) -> None:
        """Drop every sequence's cells."""

    def sampler(self, temperature: float, top_p: float, seed: int | None, grammar: str | None = None) -> Any:
        """A new sampler: greedy when temperature <= 0 (seed None), else seeded; held to the GBNF
        `grammar` (root rule `root`) when one is given. The scheduler passes `grammar` only when
        it is set."""

    def free_sampler(self, sampler: Any) -> None: ...

    def sample(self, sampler: Any, row: int) -> int:
        """The next token drawn by `sampler` from the logits of `row` of the last batch."""

    def logits(self, row: int) -> np.ndarray:
        """The logits (one per vocabulary token) of `row` of the last batch."""

    def is_eog(self, token: int) -> bool: ...

    def piece(self, token: int) -> bytes: ...


# the maths, as pure functions


def logsumexp(logits: np.ndarray) -> float:
    peak = logits.max()
    return float(peak + np.log(np.exp(logits - peak).sum()))


def log_softmax(logits: np.ndarray) -> np.ndarray:
    x = np.asarray(logits, dtype=np.float64)
    return x - logsumexp(x)


def top_k(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest values, largest first (all of them when k >= len(values))."""
    if k >= len(values):
        return np.argsort(-values)
    best = np.argpartition(-values, k)[:k]
    return best[np.argsort(-values[best])]


BLOCK = 1024  # tokens per block when inverting the cumulative distribution


def sample_token(logits: np.ndarray, temperature: float, u: float) -> int:
    """The token drawn from softmax(logits / temperature) at the point `u` in [0, 1) of its
    cumulative distribution (the first largest logit when temperature <= 0). The distribution is
    inverted block by block (sums of BLOCK probabilities, then the one block that holds `u`), so a
    draw costs a few vectorised passes over the vocabulary instead of a cumulative sum of it."""
    if temperature <= 0:
        return int(np.argmax(logits))
    z = np.asarray(logits, dtype=np.float32) * np.float32(1.0 / temperature)
    z -= z.max()
    np.exp(z, out=z)
    n = z.size
    padded = np.concatenate([z, np.zeros((-n) % BLOCK, dtype=np.float32)]) if n % BLOCK else z
    cum = np.cumsum(padded.reshape(-1, BLOCK).sum(axis=1, dtype=np.float64))
    target = u * cum[-1]
    block = min(int(np.searchsorted(cum, target, side="right")), len(cum) - 1)
    start = block * BLOCK
    inner = np.cumsum(padded[start : start + BLOCK], dtype=np.float64) + (cum[block - 1] if block else 0.0)
    index = start + min(int(np.searchsorted(inner, target, side="right")), BLOCK - 1)
    if index >= n or z[index] == 0.0:  # rounding put the target past the block's last probable token
        index = start + int(np.flatnonzero(padded[start : index + 1])[-1])
    return index


def token_logprobs(logits: np.ndarray, token: int, k: int) -> tuple[float, list[tuple[int, float]]]:
    """Log-probability of `token` under softmax(logits), and the k most likely tokens with theirs."""
    x = np.asarray(logits, dtype=np.float64)
    lse = logsumexp(x)
    alts = [(int(t), float(x[t] - lse)) for t in top_k(x, k)] if k else []
    return float(x[token] - lse), alts


def stop_cut(raw: bytes, stop: Sequence[str]) -> int | None:
    """Where to cut the text generated so far: the first place a stop string starts, or None. The
    place counts characters of the text as it is returned (invalid bytes each one U+FFFD)."""
    text = raw.decode("utf-8", errors="replace")
    hits = [text.find(s) for s in stop if s in text]
    return min(hits) if hits else None


def undecided(text: str, stop: Sequence[str]) -> int:
    """How many characters at the end of `text` could begin a stop string (held back from a
    stream until more text decides)."""
    longest = 0
    for s in stop:
        for n in range(min(len(s) - 1, len(text)), longest, -1):
            if s.startswith(text[-n:]):
                longest = n
                break
    return longest


def common_prefix(a: Sequence[int], b: Sequence[int], limit: int) -> int:
    n = min(len(a), len(b), limit)
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


# jobs and sequences


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
    grammar: str | None = None  # GBNF with a `root` rule: every sample is held to it
    on_text: Callable[[int, str], None] | None = field(default=None, compare=False)


@dataclass
class _Job:
    spec: JobSpec
    first_index: int
    future: concurrent.futures.Future[list[Completion]]
    submitted: float
    results: dict[int, Completion] = field(default_factory=dict)
    remaining: int = 0
    count: int = 0
    reused: int = 0  # prompt tokens whose KV cells came from another sequence


@dataclass
class _Seq:
    seq_id: int
    job: _Job
    index: int  # sample index within the job's request
    sampler: Any
    pos: int
    last: int = -1
    tokens: list[int] = field(default_factory=list)
    raw: bytearray = field(default_factory=bytearray)
    logprobs: list[TokenLogprob] = field(default_factory=list)
    utf8: Any = None  # the incremental decoder of a streamed sequence
    text: str = ""  # a streamed sequence's text so far
    sent: int = 0  # characters of it delivered to on_text


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


class Scheduler:
    """Jobs in, completions out, over one `Decoder`: see the module's docstring. `start` runs the
    loop on a thread of its own; `submit`, `forget`, `share_prefixes` and `close` may be called
    from any thread."""

    def __init__(
        self,
        decoder: Decoder,
        n_ctx: int,
        n_seq_max: int,
        n_batch: int,
        keep_max: int = 8,
        keep_cells: int | None = None,
    ) -> None:
        self.decoder = decoder
        self.n_ctx = n_ctx
        self.n_seq_max = n_seq_max
        self.n_batch = n_batch
        self.stats = EngineStats()
        self.keep_max = keep_max  # finished sequences kept for their prefixes, at most this many
        self.keep_cells = (
            n_ctx // 2 if keep_cells is None else keep_cells
        )  # … holding at most this many cells
        self._queue: queue.Queue[Any] = queue.Queue()
        self._lock = threading.Lock()
        self._waiting: list[_Job] = []
        self._running: list[_Seq] = []
        self._free_ids = list(range(n_seq_max))
        self._reserved = 0
        self._kept: list[_Kept] = []  # oldest first
        self._share = True  # the worker's setting
        self._share_wanted = True  # the callers' latest setting, on its way to the worker
        self._closed = False
        self._thread: threading.Thread | None = None

    # callers (any thread)
    def submit(self, spec: JobSpec) -> concurrent.futures.Future[list[Completion]]:
        """Queue a job; its future resolves to the list of n completions in sample order."""
        if self._closed:
            raise FatalModelError("the llama.cpp engine is closed")
        if not spec.prompt_tokens:
            raise RequestError("the prompt is empty after tokenisation: give the model some text")
        need = len(spec.prompt_tokens) + spec.max_tokens
        if need > self.n_ctx:
            raise ContextOverflow(
                f"prompt of {len(spec.prompt_tokens)} tokens + max_tokens "
                f"{spec.max_tokens} exceeds the context of {self.n_ctx} tokens"
            )
        per_chunk = max(1, min(self.n_seq_max, (self.n_ctx - len(spec.prompt_tokens)) // spec.max_tokens))
        outer: concurrent.futures.Future[list[Completion]] = concurrent.futures.Future()
        parts: list[concurrent.futures.Future[list[Completion]]] = []
        for first in range(0, spec.n, per_chunk):
            count = min(per_chunk, spec.n - first)
            fut: concurrent.futures.Future[list[Completion]] = concurrent.futures.Future()
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

        def cancel_parts(f: concurrent.futures.Future[list[Completion]]) -> None:
            if f.cancelled():
                for p in parts:
                    p.cancel()
                self._queue.put(("cancel", None))

        for p in parts:
            p.add_done_callback(gather)
        outer.add_done_callback(cancel_parts)
        return outer

    def forget(self) -> concurrent.futures.Future[None]:
        """Drop the kept sequences before the next job is admitted (benchmarks start cold with it).
        The future resolves once they are dropped."""
        done: concurrent.futures.Future[None] = concurrent.futures.Future()
        if self._closed:
            done.set_result(None)
        else:
            self._queue.put(("forget", done))
        return done

    @property
    def share_prefixes(self) -> bool:
        """Whether new prompts share cells with running and kept sequences (off only to measure
        what sharing saves: benchmarks/prefix_sharing.py). Applies to jobs submitted after it is set."""
        return self._share_wanted

    @share_prefixes.setter
    def share_prefixes(self, on: bool) -> None:
        with self._lock:
            self._share_wanted = bool(on)
            self._queue.put(("share", bool(on)))

    def start(self, name: str) -> None:
        """Run the worker loop on a new daemon thread."""
        self._thread = threading.Thread(target=self.run, name=name, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Fail what is queued or running, and stop the worker."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=60)

    # the worker
    def run(self) -> None:
        while True:
            block = not self._running and not self._waiting
            commands: list[tuple[str, Any]] = []
            try:
                while True:
                    item = self._queue.get(block=block)
                    block = False
                    if item is None:
                        self._fail_all(FatalModelError("the llama.cpp engine was closed"))
                        for kind, value in commands:
                            if kind == "forget":
                                value.set_result(None)
                        return
                    if isinstance(item, _Job):
                        self._waiting.append(item)
                    else:
                        commands.append(item)
            except queue.Empty:
                pass
            try:
                for command in commands:
                    self._apply(command)
                self._admit()
                if self._running:
                    self._step()
            except Exception as e:  # a decode failure fails the jobs in flight, not the engine
                self._fail_all(e if isinstance(e, ModelError) else FatalModelError(f"llama.cpp: {e}"))

    def _apply(self, command: tuple[str, Any]) -> None:
        kind, value = command
        if kind == "forget":
            while self._kept:
                self._evict()
            value.set_result(None)
        elif kind == "cancel":
            self._drop_abandoned()
        else:
            self._share = value

    def _drop_abandoned(self) -> None:
        """Free the sequences of jobs whose future is already done (cancelled, or failed by their
        own text callback) while they still run."""
        for seq in [s for s in self._running if s.job.future.done()]:
            self._release(seq)
            seq.job.remaining -= 1
            if seq.job.remaining == 0:
                self._reserved -= self._reservation(seq.job)

    def _admit(self) -> None:
        self._waiting = [job for job in self._waiting if not job.future.cancelled()]
        while self._waiting:
            job = self._waiting[0]
            while self._kept and (
                len(self._free_ids) < job.count
                or self._reserved + self._kept_cells() + self._reservation(job) > self.n_ctx
            ):
                self._evict()
            if len(self._free_ids) < job.count or (
                self._reserved + self._reservation(job) > self.n_ctx and self._running
            ):
                return
            self._reserved += self._reservation(job)
            self._start_job(job)
            self._waiting.pop(0)  # only now, so that a failure while starting it fails this job too

    def _start_job(self, job: _Job) -> None:
        spec = job.spec
        ids = [self._free_ids.pop(0) for _ in range(job.remaining)]
        tokens = spec.prompt_tokens
        first_seq = ids[0]
        donor, shared = self._donor(tokens)
        if shared:
            self.decoder.copy(donor, first_seq, shared)
        job.reused = shared
        last_row = 0
        for start in range(shared, len(tokens), self.n_batch):
            chunk = tokens[start : start + self.n_batch]
            self._decode(
                [(tok, start + i, first_seq, start + i == len(tokens) - 1) for i, tok in enumerate(chunk)]
            )
            last_row = len(chunk) - 1
        self.stats.prompt_tokens_evaluated += len(tokens) - shared
        for sid in ids[1:]:
            self.decoder.copy(first_seq, sid, None)
        for j, sid in enumerate(ids):
            index = job.first_index + j
            seq = _Seq(sid, job, index, self._sampler(spec, index), pos=len(tokens))
            if spec.on_text is not None:
                seq.utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
            self._running.append(seq)
            self._accept(seq, last_row)

    def _donor(self, tokens: list[int]) -> tuple[int, int]:
        """The sequence, running or kept after it finished, whose cells hold the longest prefix of
        `tokens`, and the length shared (at most all but the last token, whose logits are
        needed). Those cells are shared with the new sequence instead of evaluating the prefix again."""
        best, shared = -1, 0
        if not self._share:
            return best, shared
        held = [
            (seq.seq_id, seq.job.spec.prompt_tokens, seq.tokens[: seq.pos - len(seq.job.spec.prompt_tokens)])
            for seq in self._running
        ] + [(k.seq_id, k.tokens, []) for k in self._kept]
        for seq_id, head, tail in held:
            known = head + tail if tail else head
            if min(len(known), len(tokens) - 1) <= shared:
                continue
            common = common_prefix(known, tokens, len(tokens) - 1)
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
        if not self._share or self.keep_max <= 0 or seq.index != seq.job.first_index:
            return False
        prompt = seq.job.spec.prompt_tokens
        self._kept.append(_Kept(seq.seq_id, prompt + seq.tokens[: seq.pos - len(prompt)]))
        while len(self._kept) > self.keep_max or self._kept_cells() > self.keep_cells:
            self._evict()
        return True

    def _evict(self) -> None:
        k = self._kept.pop(0)
        self.decoder.remove(k.seq_id)
        self._free_ids.append(k.seq_id)

    def _sampler(self, spec: JobSpec, index: int) -> Any:
        if spec.temperature <= 0:
            seed = None
        elif spec.seed is not None:
            seed = (spec.seed + index) & 0xFFFFFFFF
        else:
            seed = random.SystemRandom().getrandbits(31)
        if spec.grammar is not None:
            return self.decoder.sampler(spec.temperature, spec.top_p, seed, grammar=spec.grammar)
        return self.decoder.sampler(spec.temperature, spec.top_p, seed)

    def _decode(self, batch: list[BatchEntry]) -> None:
        self.stats.decode_calls += 1
        self.decoder.decode(batch)

    def _step(self) -> None:
        self._drop_abandoned()
        seqs = list(self._running)
        if not seqs:
            return
        self._decode([(seq.last, seq.pos, seq.seq_id, True) for seq in seqs])
        self.stats.max_batch = max(self.stats.max_batch, len(seqs))
        for i, seq in enumerate(seqs):
            seq.pos += 1
            self._accept(seq, i)

    def _accept(self, seq: _Seq, row: int) -> None:
        """Sample the next token of `seq` from the logits at `row`, and finish it if due."""
        spec = seq.job.spec
        token = self.decoder.sample(seq.sampler, row)
        self.stats.tokens_generated += 1
        if self.decoder.is_eog(token):
            self._finish(seq, "stop", counted=len(seq.tokens) + 1)
            return
        piece = self.decoder.piece(token)
        if spec.logprobs:
            seq.logprobs.append(self._logprob(row, token, piece, spec.top_logprobs))
        seq.tokens.append(token)
        seq.raw.extend(piece)
        seq.last = token
        if spec.stop:
            cut = stop_cut(bytes(seq.raw), spec.stop)
            if cut is not None:
                self._finish(seq, "stop", cut=cut)
                return
        if len(seq.tokens) >= spec.max_tokens:
            self._finish(seq, "length")
        elif seq.utf8 is not None:
            seq.text += seq.utf8.decode(piece)
            self._deliver(seq, len(seq.text) - undecided(seq.text, spec.stop))

    def _deliver(self, seq: _Seq, upto: int) -> None:
        """Hand a streamed sequence's text from what was delivered up to `upto` to its job's
        callback; a callback that raises fails its own job."""
        job = seq.job
        if job.spec.on_text is None or upto <= seq.sent or job.future.done():
            return
        piece, seq.sent = seq.text[seq.sent : upto], upto
        try:
            job.spec.on_text(seq.index, piece)
        except Exception as e:
            with contextlib.suppress(concurrent.futures.InvalidStateError):  # cancelled meanwhile
                job.future.set_exception(e)

    def _logprob(self, row: int, token: int, piece: bytes, top: int) -> TokenLogprob:
        chosen, alts = token_logprobs(self.decoder.logits(row), token, top)
        return TokenLogprob(
            piece.decode("utf-8", errors="replace"),
            chosen,
            tuple((self.decoder.piece(t).decode("utf-8", errors="replace"), lp) for t, lp in alts),
        )

    def _finish(self, seq: _Seq, reason: str, cut: int | None = None, counted: int | None = None) -> None:
        job = seq.job
        text = seq.raw.decode("utf-8", errors="replace")
        if cut is not None:
            text = text[:cut]
        if seq.utf8 is not None:
            seq.text = text
            self._deliver(seq, len(text))
        prompt = len(job.spec.prompt_tokens)
        shared = prompt if seq.index != job.first_index else job.reused
        job.results[seq.index] = Completion(
            text=text,
            finish_reason=reason,  # type: ignore[arg-type]
            usage=Usage(prompt, counted if counted is not None else len(seq.tokens), shared),
            logprobs=tuple(seq.logprobs) if job.spec.logprobs else None,
            index=seq.index,
            latency_s=time.perf_counter() - job.submitted,
        )
        self._release(seq, keep=True)
        job.remaining -= 1
        if job.remaining == 0:
            self._reserved -= self._reservation(job)
            if not job.future.done():
                job.future.set_result([job.results[i] for i in sorted(job.results)])

    def _release(self, seq: _Seq, keep: bool = False) -> None:
        self.decoder.free_sampler(seq.sampler)
        self._running.remove(seq)
        if not (keep and self._keep(seq)):
            self.decoder.remove(seq.seq_id)
            self._free_ids.append(seq.seq_id)

    def _reservation(self, job: _Job) -> int:
        return len(job.spec.prompt_tokens) + job.count * job.spec.max_tokens

    def _fail_all(self, error: BaseException) -> None:
        """Fail every job in flight or waiting, and reset the cells and sequence slots."""
        jobs = [seq.job for seq in self._running] + self._waiting
        for seq in self._running:
            self.decoder.free_sampler(seq.sampler)
        for job in jobs:
            if not job.future.done():
                job.future.set_exception(error)
        self._running.clear()
        self._waiting.clear()
        self._kept.clear()
        self.decoder.clear()
        self._free_ids = list(range(self.n_seq_max))
        self._reserved = 0
