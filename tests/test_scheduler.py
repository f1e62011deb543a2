"""The in-process engine's scheduler against a fake decoder: admission, shared and kept prefixes,
eviction, stop handling, usage, errors, logprob maths, grammars per sequence, streamed text and
cancellation, and callers on other threads."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from ponder.errors import ContextOverflow, FatalModelError, RequestError
from ponder.models.scheduler import (
    JobSpec,
    Scheduler,
    log_softmax,
    logsumexp,
    stop_cut,
    token_logprobs,
    top_k,
    undecided,
)
from ponder.types import Usage

EOG = 0
VOCAB = 40
PIECES = (
    {EOG: b""} | {t: bytes([96 + t]) for t in range(1, 27)} | {27 + d: str(d).encode() for d in range(10)}
)
PIECES |= {37: b" ", 38: b".", 39: b"!"}


def next_token(last: int, seed: int | None) -> int:
    """The fake model: tokens 1..26 are 'a'..'z', 0 ends the text; greedy walks the alphabet."""
    return (last + 1 + (seed or 0)) % 27


def fake_logits(last: int) -> np.ndarray:
    peak = next_token(last, None)
    return (-0.37 * ((np.arange(VOCAB) - peak) % VOCAB)).astype(np.float32)


class FakeSampler:
    def __init__(
        self, temperature: float, top_p: float, seed: int | None, grammar: str | None = None
    ) -> None:
        self.temperature, self.top_p, self.seed, self.grammar = temperature, top_p, seed, grammar
        self.freed = False
        self.seq_ids: set[int] = set()  # the sequences whose rows it sampled


class FakeDecoder:
    """Cells as llama.cpp's unified cache holds them: one cell per evaluated token, shared by every
    sequence it was copied to; a decode that needs more than n_ctx cells fails."""

    def __init__(self, n_ctx: int, n_seq_max: int, n_batch: int) -> None:
        self.n_ctx, self.n_seq_max, self.max_batch = n_ctx, n_seq_max, max(n_batch, n_seq_max)
        self.seqs: dict[int, list[tuple[int, int]]] = {}  # sequence -> (cell id, token) by position
        self.cell_ids = 0
        self.evaluated = 0
        self.peak_cells = 0
        self.last_batch: list[tuple[int, int, int, bool]] = []
        self.batches: list[list[tuple[int, int, int, bool]]] = []
        self.threads: set[int] = set()
        self.samplers: list[FakeSampler] = []
        self.fail_next: BaseException | None = None
        self.after_decode = None

    def _called(self) -> None:
        self.threads.add(threading.get_ident())

    def cells_used(self) -> int:
        return len({cell for cells in self.seqs.values() for cell, _ in cells})

    def tokens(self, seq_id: int) -> list[int]:
        return [tok for _, tok in self.seqs.get(seq_id, [])]

    def decode(self, batch):
        self._called()
        assert 0 < len(batch) <= self.max_batch
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        if self.cells_used() + len(batch) > self.n_ctx:
            raise FatalModelError("fake decode: no free cells")
        for token, pos, seq_id, _ in batch:
            assert 0 <= seq_id < self.n_seq_max
            cells = self.seqs.setdefault(seq_id, [])
            assert pos == len(cells), f"sequence {seq_id} holds {len(cells)} cells, evaluating position {pos}"
            cells.append((self.cell_ids, token))
            self.cell_ids += 1
        self.evaluated += len(batch)
        self.peak_cells = max(self.peak_cells, self.cells_used())
        self.last_batch = list(batch)
        self.batches.append(self.last_batch)
        if self.after_decode is not None:
            self.after_decode(self)

    def copy(self, src, dst, length):
        self._called()
        assert not self.seqs.get(dst), f"copying into sequence {dst}, which holds cells"
        cells = self.seqs.get(src, [])
        assert length is None or len(cells) >= length
        self.seqs[dst] = list(cells if length is None else cells[:length])

    def remove(self, seq_id, start=0):
        self._called()
        self.seqs[seq_id] = self.seqs.get(seq_id, [])[:start]

    def clear(self):
        self._called()
        self.seqs = {}

    def sampler(self, temperature, top_p, seed, grammar=None):
        self._called()
        s = FakeSampler(temperature, top_p, seed, grammar)
        self.samplers.append(s)
        return s

    def free_sampler(self, sampler):
        self._called()
        assert not sampler.freed
        sampler.freed = True

    def sample(self, sampler, row):
        self._called()
        assert not sampler.freed
        token, _, seq_id, wants_logits = self.last_batch[row]
        assert wants_logits, "sampling a row whose logits were not computed"
        sampler.seq_ids.add(seq_id)
        return next_token(token, sampler.seed)

    def logits(self, row):
        self._called()
        token, _, _, wants_logits = self.last_batch[row]
        assert wants_logits
        return fake_logits(token)

    def is_eog(self, token):
        return token == EOG

    def piece(self, token):
        return PIECES[token]


def spec(
    prompt,
    n=1,
    temperature=0.0,
    max_tokens=8,
    stop=(),
    seed=None,
    logprobs=False,
    top_logprobs=0,
    grammar=None,
    on_text=None,
):
    return JobSpec(
        list(prompt),
        n,
        temperature,
        1.0,
        max_tokens,
        tuple(stop),
        seed,
        logprobs,
        top_logprobs,
        grammar=grammar,
        on_text=on_text,
    )


def walk(last: int, seed: int | None, max_tokens: int) -> tuple[str, str, int]:
    """Text, finish reason and completion tokens the fake model gives after `last`."""
    tokens: list[int] = []
    while len(tokens) < max_tokens:
        last = next_token(last, seed)
        if last == EOG:
            return b"".join(PIECES[t] for t in tokens).decode(), "stop", len(tokens) + 1
        tokens.append(last)
    return b"".join(PIECES[t] for t in tokens).decode(), "length", len(tokens)


def letters(text: str) -> list[int]:
    return [ord(c) - 96 for c in text]


@pytest.fixture
def make():
    made: list[Scheduler] = []

    def make(n_ctx=256, n_seq_max=4, n_batch=64, start=True, **options):
        fake = FakeDecoder(n_ctx, n_seq_max, n_batch)
        sched = Scheduler(fake, n_ctx=n_ctx, n_seq_max=n_seq_max, n_batch=n_batch, **options)
        if start:
            sched.start("test-scheduler")
        made.append(sched)
        return sched, fake

    yield make
    for sched in made:
        sched.close()


def run(sched: Scheduler, job: JobSpec):
    return sched.submit(job).result(timeout=10)


def forget(sched: Scheduler) -> None:
    """Drop the kept sequences and wait until the worker has (and has applied all queued before)."""
    sched.forget().result(timeout=10)


def assert_cells_match(sched: Scheduler, fake: FakeDecoder) -> None:
    """Kept sequences hold exactly their tokens' cells; free slots hold none."""
    held = {k.seq_id: k.tokens for k in sched._kept}
    for seq_id in range(sched.n_seq_max):
        assert fake.tokens(seq_id) == held.get(seq_id, []), seq_id
    assert sorted(sched._free_ids + list(held)) == list(range(sched.n_seq_max))


def prefixes(sched: Scheduler, length: int) -> list[list[int]]:
    return [k.tokens[:length] for k in sched._kept]


# samples, seeds, usage


def test_n_samples_evaluate_the_prompt_once_and_share_its_cells(make):
    sched, fake = make()
    prompt = letters("thequick")
    out = run(sched, spec(prompt, n=4, temperature=0.8, seed=1, max_tokens=3))
    assert fake.evaluated == len(prompt) + 4 * 2  # the prompt once, then 2 steps per sample
    assert sched.stats.prompt_tokens_evaluated == len(prompt)
    assert [c.index for c in out] == [0, 1, 2, 3]
    for i, c in enumerate(out):
        text, reason, count = walk(prompt[-1], 1 + i, 3)
        assert (c.text, c.finish_reason) == (text, reason) == (text, "length")
        shared = 0 if i == 0 else len(prompt)
        assert c.usage == Usage(len(prompt), count, shared)
    assert [s.seed for s in fake.samplers] == [1, 2, 3, 4]
    assert len({c.text for c in out}) == 4


def test_the_same_seed_gives_the_same_tokens_and_greedy_walks_the_alphabet(make):
    sched, fake = make()
    job = spec(letters("abc"), n=3, temperature=1.0, seed=11, max_tokens=5)
    first = run(sched, job)
    forget(sched)
    again = run(sched, job)
    assert [c.text for c in first] == [c.text for c in again] == [walk(3, 11 + i, 5)[0] for i in range(3)]
    [greedy] = run(sched, spec(letters("abc"), max_tokens=4))
    assert greedy.text == "defg" and fake.samplers[-1].seed is None


def test_a_prompt_longer_than_a_batch_is_evaluated_in_chunks_with_logits_for_its_last_token(make):
    sched, fake = make(n_batch=4)
    prompt = letters("abcdefghij")
    [c] = run(sched, spec(prompt, max_tokens=2))
    assert c.text == "kl"
    chunks = fake.batches[:3]
    assert [len(b) for b in chunks] == [4, 4, 2]
    assert [e[3] for b in chunks for e in b] == [False] * 9 + [True]
    assert [e[1] for b in chunks for e in b] == list(range(10))


# admission


def test_jobs_wait_for_free_sequence_slots(make):
    sched, fake = make(n_seq_max=2, start=False)
    a = sched.submit(spec(letters("aaaa"), n=2, temperature=0.5, seed=1, max_tokens=4))
    b = sched.submit(spec(letters("bbbb"), n=2, temperature=0.5, seed=2, max_tokens=4))
    sched.start("test-scheduler")
    outs = a.result(timeout=10), b.result(timeout=10)
    assert [c.text for c in outs[1]] == [walk(2, 2 + i, 4)[0] for i in range(2)]
    assert sched.stats.max_batch == 2
    b_prompt = next(i for i, batch in enumerate(fake.batches) if batch[0][:2] == (2, 0))
    assert b_prompt == 4 and len(fake.batches) == 8  # a's prompt and 3 steps, then b's
    assert all(len(batch) == 2 for batch in fake.batches[1:4] + fake.batches[5:])


def test_jobs_wait_for_free_cells(make):
    sched, fake = make(n_ctx=64, n_seq_max=8, start=False)
    a = sched.submit(spec(letters("abcdefghij"), max_tokens=30))
    b = sched.submit(spec(letters("zyxwvutsrq"), max_tokens=30))
    sched.start("test-scheduler")
    [_ca], [cb] = a.result(timeout=10), b.result(timeout=10)
    assert sched.stats.max_batch == 1  # 10 + 30 cells each: never both at once in 64
    assert fake.peak_cells <= 64
    assert cb.usage.cached_prompt_tokens == 0


def test_n_samples_beyond_the_cells_are_split_into_jobs_that_fit(make):
    sched, fake = make(n_ctx=64, n_seq_max=8)
    prompt = letters("qwertyuiopas")  # 12 tokens
    out = run(sched, spec(prompt, n=5, temperature=0.7, seed=40, max_tokens=20))
    assert [c.index for c in out] == [0, 1, 2, 3, 4]
    assert [c.text for c in out] == [walk(prompt[-1], 40 + i, 20)[0] for i in range(5)]
    assert sched.stats.max_batch == 2 and fake.peak_cells <= 64  # (64 - 12) // 20 = 2 samples a job


def test_a_prompt_that_cannot_fit_the_context_is_refused(make):
    sched, fake = make(n_ctx=64)
    with pytest.raises(
        ContextOverflow, match="prompt of 60 tokens \\+ max_tokens 8 exceeds the context of 64"
    ):
        sched.submit(spec([1] * 60, max_tokens=8))
    with pytest.raises(RequestError, match="prompt is empty"):
        sched.submit(spec([], max_tokens=8))
    assert fake.evaluated == 0


# prefixes shared with running and kept sequences


def test_a_prompt_sharing_a_prefix_with_a_running_sequence_evaluates_only_the_rest(make):
    sched, fake = make(start=False)
    base = letters("abcdefgh")
    a = sched.submit(spec(base + letters("ijkl"), max_tokens=8))
    b = sched.submit(spec(base + letters("xy"), max_tokens=8))
    sched.start("test-scheduler")
    [ca], [cb] = a.result(timeout=10), b.result(timeout=10)
    assert (ca.text, cb.text) == ("mnopqrst", "z")  # then the end
    assert ca.usage == Usage(12, 8, 0) and cb.usage == Usage(10, 2, 8)
    assert sched.stats.prompt_tokens_evaluated == 12 + 2
    assert fake.batches[1] == [(24, 8, 1, False), (25, 9, 1, True)]  # only "xy", into b's sequence


def test_a_prompt_sharing_a_prefix_with_a_kept_sequence_evaluates_only_the_rest(make):
    sched, fake = make()
    prompt = letters("question")
    [first] = run(sched, spec(prompt, max_tokens=5))
    assert first.usage.cached_prompt_tokens == 0
    [again] = run(sched, spec(prompt, max_tokens=5))  # all but the last token, whose logits are needed
    assert again.usage == Usage(8, 5, 7) and again.text == first.text
    # a continuation of the finished reply shares its prompt and the reply's evaluated tokens
    follow = prompt + letters(first.text) + [37]
    [cont] = run(sched, spec(follow, max_tokens=3))
    assert cont.usage.cached_prompt_tokens == len(prompt) + len(first.text) - 1
    assert sched.stats.prompt_tokens_evaluated == 8 + 1 + 2


def test_sharing_off_evaluates_every_prompt_in_full_and_keeps_nothing(make):
    sched, fake = make()
    prompt = letters("samething")
    sched.share_prefixes = False
    assert sched.share_prefixes is False
    outs = [run(sched, spec(prompt, max_tokens=4))[0] for _ in range(2)]
    assert [c.usage.cached_prompt_tokens for c in outs] == [0, 0]
    assert sched._kept == [] and fake.evaluated == 2 * (9 + 3)
    sched.share_prefixes = True
    run(sched, spec(prompt, max_tokens=4))
    [c] = run(sched, spec(prompt, max_tokens=4))
    assert c.usage.cached_prompt_tokens == 8


def test_only_the_first_sample_of_a_request_is_kept(make):
    sched, fake = make()
    prompt = letters("keepme")
    out = run(sched, spec(prompt, n=3, temperature=0.5, seed=2, max_tokens=4))
    [kept] = sched._kept
    assert kept.tokens == prompt + letters(out[0].text)[:3]  # the last token was sampled, not evaluated
    assert_cells_match(sched, fake)


def test_kept_sequences_are_evicted_oldest_first_when_slots_are_needed(make):
    sched, fake = make(n_seq_max=4)
    a, b, c, d = letters("aaaa"), letters("bbbb"), letters("cccc"), letters("dddd")
    for p in (a, b, c):
        run(sched, spec(p, max_tokens=2))
    assert prefixes(sched, 4) == [a, b, c]
    [ax] = run(sched, spec(a + letters("x"), max_tokens=2))  # shares a's cells: a is now the most recent
    assert ax.usage.cached_prompt_tokens == 4
    assert prefixes(sched, 5) == [b + [3], c + [4], a + [2], a + letters("x")]
    run(sched, spec(d, n=2, temperature=0.3, seed=1, max_tokens=2))  # 2 slots: b and c go
    assert prefixes(sched, 4) == [a, a, d]
    assert_cells_match(sched, fake)
    [again] = run(sched, spec(b + [5], max_tokens=2))
    assert again.usage.cached_prompt_tokens == 0


def test_kept_sequences_are_evicted_oldest_first_when_cells_are_needed(make):
    sched, fake = make(n_ctx=64, n_seq_max=8, keep_cells=64)
    a, b = letters("abcdefghij"), letters("klmnopqrst")
    run(sched, spec(a, max_tokens=5))
    run(sched, spec(b, max_tokens=5))
    assert [len(k.tokens) for k in sched._kept] == [14, 14]
    # 28 kept + 10 + 30 reserved > 64: the oldest goes, b's cells stay and are shared
    [c] = run(sched, spec(b[:6] + letters("zzzz"), max_tokens=30))
    assert c.usage.cached_prompt_tokens == 6
    assert prefixes(sched, 10) == [b, b[:6] + letters("zzzz")]
    assert_cells_match(sched, fake)
    assert fake.peak_cells <= 64


def test_kept_sequences_are_bounded_by_count_and_cells(make):
    sched, fake = make(n_ctx=256, n_seq_max=8, keep_max=2, keep_cells=40)
    for p in ("aaaaa", "bbbbb", "ccccc"):
        run(sched, spec(letters(p), max_tokens=3))
    assert prefixes(sched, 5) == [letters("bbbbb"), letters("ccccc")]
    assert [len(k.tokens) for k in sched._kept] == [7, 7]
    run(sched, spec(letters("d" * 34), max_tokens=3))  # 36 cells: with 7 over 40
    assert prefixes(sched, 5) == [letters("ddddd")]
    assert_cells_match(sched, fake)


def test_forget_drops_the_kept_sequences(make):
    sched, fake = make()
    prompt = letters("remember")
    run(sched, spec(prompt, max_tokens=3))
    assert len(sched._kept) == 1
    seq_id = sched._kept[0].seq_id
    sched.forget().result(timeout=10)
    assert sched._kept == [] and fake.tokens(seq_id) == []
    assert_cells_match(sched, fake)
    [c] = run(sched, spec(prompt, max_tokens=3))
    assert c.usage.cached_prompt_tokens == 0


# finishing


def test_stop_strings_cut_the_text_and_finish_with_stop(make):
    sched, fake = make()
    [c] = run(sched, spec(letters("abc"), stop=("fg",), max_tokens=10))
    assert (c.text, c.finish_reason, c.usage.completion_tokens) == ("de", "stop", 4)
    [c] = run(sched, spec(letters("abc"), stop=("g", "e"), max_tokens=10))
    assert (c.text, c.finish_reason, c.usage.completion_tokens) == ("d", "stop", 2)
    [c] = run(sched, spec(letters("abc"), stop=("zz",), max_tokens=3))
    assert (c.text, c.finish_reason) == ("def", "length")


def test_the_end_token_finishes_with_stop_and_counts(make):
    sched, fake = make()
    [c] = run(sched, spec(letters("wx"), max_tokens=10))
    assert (c.text, c.finish_reason, c.usage.completion_tokens) == ("yz", "stop", 3)
    [c] = run(sched, spec(letters("z"), max_tokens=10))  # the end at once: nothing generated
    assert (c.text, c.finish_reason, c.usage.completion_tokens) == ("", "stop", 1)


def test_max_tokens_finishes_with_length(make):
    sched, fake = make()
    [c] = run(sched, spec(letters("a"), max_tokens=3))
    assert (c.text, c.finish_reason, c.usage.completion_tokens) == ("bcd", "length", 3)


def test_stop_cut():
    assert stop_cut(b"hello world", ("o w", "wor")) == 4
    assert stop_cut(b"hello", ("x",)) is None
    assert stop_cut("caf\u00e9 ok".encode()[:4], ("f",)) == 2  # half a character is not text yet
    raw = b"\xffab\nQ"  # an invalid byte before the stop is one character of the returned text
    cut = stop_cut(raw, ("\n",))
    assert cut == 3 and raw.decode("utf-8", errors="replace")[:cut] == "\ufffdab"


# logprobs


def test_log_softmax_matches_a_reference():
    logits = np.array([2.0, -1.0, 0.5, 3.25, 0.0])
    reference = logits - np.log(np.sum(np.exp(logits)))
    np.testing.assert_allclose(log_softmax(logits), reference, rtol=0, atol=1e-12)
    assert np.exp(log_softmax(logits)).sum() == pytest.approx(1.0, abs=1e-12)
    big = np.array([1000.0, 1001.0, 999.0], dtype=np.float32)  # exp would overflow without the shift
    np.testing.assert_allclose(
        log_softmax(big), np.array([0.0, 1.0, -1.0]) - np.log(1 + np.e + np.exp(-1)), atol=1e-12
    )
    assert logsumexp(np.array([0.0, 0.0])) == pytest.approx(np.log(2))


def test_top_k_returns_the_largest_first():
    values = np.array([0.1, 3.0, -2.0, 2.5, 7.0, 0.0])
    np.testing.assert_array_equal(top_k(values, 3), [4, 1, 3])
    np.testing.assert_array_equal(top_k(values, 1), [4])
    np.testing.assert_array_equal(top_k(values, 6), np.argsort(-values))
    np.testing.assert_array_equal(top_k(values, 10), np.argsort(-values))
    rng = np.random.default_rng(0)
    x = rng.normal(size=1000)
    np.testing.assert_array_equal(top_k(x, 20), np.argsort(-x)[:20])


def test_token_logprobs_against_numpy():
    logits = np.array([1.0, 4.0, 2.0, -3.0], dtype=np.float32)
    reference = logits.astype(np.float64) - np.log(np.exp(logits.astype(np.float64)).sum())
    chosen, alts = token_logprobs(logits, 2, 2)
    assert chosen == pytest.approx(reference[2], abs=1e-12)
    assert [t for t, _ in alts] == [1, 2]
    assert [lp for _, lp in alts] == pytest.approx([reference[1], reference[2]], abs=1e-12)
    assert token_logprobs(logits, 0, 0)[1] == []


def test_logprobs_of_generated_tokens(make):
    sched, fake = make()
    [c] = run(sched, spec(letters("abc"), max_tokens=3, logprobs=True, top_logprobs=3))
    assert c.text == "def" and [t.token for t in c.logprobs] == ["d", "e", "f"]
    for last, t in zip(letters("cde"), c.logprobs):
        reference = log_softmax(fake_logits(last).astype(np.float64))
        chosen = next_token(last, None)
        assert t.logprob == pytest.approx(reference[chosen], abs=1e-12)
        assert [tok for tok, _ in t.top] == [PIECES[int(i)].decode() for i in np.argsort(-reference)[:3]]
        assert t.top[0] == (t.token, pytest.approx(t.logprob))
    [plain] = run(sched, spec(letters("abc"), max_tokens=3))
    assert plain.logprobs is None


# failures, cancellation, closing


def test_a_decode_failure_fails_the_jobs_in_flight_not_the_scheduler(make):
    sched, fake = make()
    fake.fail_next = FatalModelError("decode status 1")
    with pytest.raises(FatalModelError, match="decode status 1"):
        run(sched, spec(letters("abc"), n=2, temperature=0.5, seed=1, max_tokens=3))
    fake.fail_next = ValueError("boom")
    with pytest.raises(FatalModelError, match="llama.cpp: boom"):
        run(sched, spec(letters("abc"), max_tokens=3))
    forget(sched)
    assert sched._reserved == 0 and fake.cells_used() == 0
    assert_cells_match(sched, fake)
    [c] = run(sched, spec(letters("abc"), max_tokens=3))
    assert c.text == "def"


def test_a_cancelled_request_frees_its_sequences(make):
    sched, fake = make()
    future = sched.submit(spec(letters("abc"), n=3, temperature=0.5, seed=4, max_tokens=100))

    def cancel_after_a_few_steps(decoder):
        if len(decoder.batches) == 5:
            future.cancel()

    fake.after_decode = cancel_after_a_few_steps
    with pytest.raises(Exception) as caught:
        future.result(timeout=10)
    assert caught.type.__name__ == "CancelledError"
    fake.after_decode = None
    [c] = run(sched, spec(letters("xyz"), max_tokens=2))
    assert c.text == ""  # 'z' then the end
    forget(sched)
    assert sched._reserved == 0 and sched._running == []
    assert_cells_match(sched, fake)
    assert all(s.freed for s in fake.samplers)


def test_close_fails_what_is_waiting_and_refuses_new_jobs(make):
    sched, fake = make(start=False)
    inside, release = threading.Event(), threading.Event()

    def hold(decoder):
        inside.set()
        release.wait(10)

    fake.after_decode = hold
    running = sched.submit(spec(letters("a"), temperature=0.5, seed=2, max_tokens=200))  # never ends early
    sched.start("test-scheduler")
    assert inside.wait(10)
    closer = threading.Thread(target=sched.close)
    closer.start()
    while sched._queue.empty():
        time.sleep(0.001)
    release.set()
    closer.join(10)
    with pytest.raises(FatalModelError, match="engine was closed"):
        running.result(timeout=10)
    assert not sched._thread.is_alive()
    with pytest.raises(FatalModelError, match="engine is closed"):
        sched.submit(spec(letters("abc"), max_tokens=3))
    assert sched.forget().done()


def test_the_scheduler_imports_nothing_from_llama_cpp():
    import subprocess
    import sys

    code = "import sys, ponder.models.scheduler; print('llama_cpp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# callers on other threads


def test_forget_and_share_prefixes_from_other_threads_while_jobs_run(make):
    sched, fake = make(n_ctx=512, n_seq_max=4)
    stop = threading.Event()
    calls = 0

    def meddle():
        nonlocal calls
        while not stop.is_set():
            sched.forget()
            sched.share_prefixes = calls % 3 != 0
            calls += 1
            time.sleep(0)

    fake.after_decode = lambda decoder: time.sleep(0.0002)  # let the meddler in between steps
    meddler = threading.Thread(target=meddle)
    meddler.start()
    jobs = [
        spec(
            letters("abc")[: 1 + i % 3] + letters("mnopq") + [27 + i % 10],
            n=1 + i % 3,
            temperature=0.5,
            seed=i,
            max_tokens=6,
        )
        for i in range(60)
    ]
    try:
        futures = [sched.submit(job) for job in jobs]
        outs = [f.result(timeout=30) for f in futures]
    finally:
        stop.set()
        meddler.join()
    assert calls > 50
    for job, out in zip(jobs, outs):
        assert [c.text for c in out] == [
            walk(job.prompt_tokens[-1], job.seed + i, 6)[0] for i in range(job.n)
        ]
        assert all(c.usage.prompt_tokens == len(job.prompt_tokens) for c in out)
    sched.share_prefixes = True
    sched.forget().result(timeout=10)
    assert fake.threads == {sched._thread.ident}  # the decoder is only ever called by the worker
    assert sorted(sched._free_ids) == [0, 1, 2, 3] and sched._kept == [] and sched._reserved == 0
    assert fake.cells_used() == 0 and fake.peak_cells <= 512
    assert all(s.freed for s in fake.samplers)


def test_a_forget_from_another_thread_takes_effect_before_the_next_job(make):
    sched, fake = make(n_ctx=1024, n_seq_max=8)
    background = [
        sched.submit(spec(letters("zzzz") + [27 + i % 10], n=2, temperature=0.4, seed=i, max_tokens=12))
        for i in range(30)
    ]
    prompt = letters("uniqueprefix")
    for _ in range(15):
        [warm] = run(sched, spec(prompt, max_tokens=2))
        done = threading.Thread(target=sched.forget)
        done.start()
        done.join()
        [cold] = run(sched, spec(prompt, max_tokens=2))
        assert cold.usage.cached_prompt_tokens == 0 and cold.text == warm.text
    for f in background:
        f.result(timeout=30)
    assert fake.threads == {sched._thread.ident}


# grammars


def test_a_jobs_grammar_reaches_only_its_own_sequences_samplers(make):
    sched, fake = make(start=False)
    held = sched.submit(
        spec(letters("abc"), n=2, temperature=0.5, seed=3, max_tokens=5, grammar="root ::= x")
    )
    free = sched.submit(spec(letters("klm"), n=2, temperature=0.5, seed=3, max_tokens=5))
    sched.start("test-scheduler")
    held.result(timeout=10), free.result(timeout=10)
    assert any({e[2] for e in batch} >= {0, 1, 2, 3} for batch in fake.batches)  # decoded together
    by_grammar = {g: [s for s in fake.samplers if s.grammar == g] for g in ("root ::= x", None)}
    assert len(by_grammar["root ::= x"]) == 2 and len(by_grammar[None]) == 2
    held_ids = set().union(*(s.seq_ids for s in by_grammar["root ::= x"]))
    free_ids = set().union(*(s.seq_ids for s in by_grammar[None]))
    assert len(held_ids) == 2 and len(free_ids) == 2 and not held_ids & free_ids


def test_a_job_without_grammar_calls_the_decoder_as_before(make):
    sched, fake = make()

    def plain_sampler(temperature, top_p, seed):
        return FakeSampler(temperature, top_p, seed)

    fake.sampler = plain_sampler
    [c] = run(sched, spec(letters("abc"), max_tokens=3))
    assert c.text == "def"


# streamed text


class Collector:
    """An on_text callback that records what it is handed, on which thread."""

    def __init__(self) -> None:
        self.pieces: list[tuple[int, str]] = []
        self.threads: set[int] = set()

    def __call__(self, index: int, text: str) -> None:
        self.threads.add(threading.get_ident())
        self.pieces.append((index, text))

    def text(self, index: int = 0) -> str:
        return "".join(t for i, t in self.pieces if i == index)


def test_streamed_text_arrives_step_by_step_and_joins_to_the_completion(make):
    sched, fake = make()
    got = Collector()
    out = run(sched, spec(letters("abc"), n=2, temperature=0.5, seed=7, max_tokens=6, on_text=got))
    for c in out:
        assert got.text(c.index) == c.text
    first = [t for i, t in got.pieces if i == 0]
    assert len(first) == len(out[0].text)  # one letter per decode step
    assert got.threads == {sched._thread.ident}


def test_streamed_text_holds_back_what_could_begin_a_stop_string(make):
    sched, fake = make()
    got = Collector()
    [c] = run(sched, spec(letters("abc"), max_tokens=8, stop=("fg",), on_text=got))
    assert c.text == "de" and got.text() == "de"
    assert all("f" not in t for _, t in got.pieces)
    got = Collector()
    [c] = run(sched, spec(letters("abc"), max_tokens=6, stop=("fx",), on_text=got))
    assert c.text == "defghi" and [t for _, t in got.pieces] == ["d", "e", "fg", "h", "i"]


def test_streamed_text_is_never_past_a_stop_string_nor_a_partial_character(make):
    sched, fake = make()
    split = {**PIECES, 4: b"\xc3", 5: b"\xa9", 6: b"\xe2\x82", 7: b"\xac"}  # 'é' and '€' in parts
    fake.piece = lambda token: split[token]
    got = Collector()
    [c] = run(sched, spec(letters("ab"), max_tokens=9, on_text=got))
    assert c.text == "cé€hijk" and got.text() == c.text
    assert all("\ufffd" not in t for _, t in got.pieces)
    assert [t for _, t in got.pieces][:3] == ["c", "é", "€"]
    got = Collector()
    [c] = run(sched, spec(letters("ab"), max_tokens=9, stop=("€h",), on_text=got))
    assert c.text == "cé" and got.text() == "cé"


def test_undecided():
    assert undecided("abcf", ("fg",)) == 1
    assert undecided("abcfg", ("fgh", "cfx")) == 2
    assert undecided("abc", ("x",)) == 0
    assert undecided("ab", ()) == 0
    assert undecided("b", ("abc",)) == 0


def test_a_cancelled_stream_frees_its_sequence_on_the_next_turn(make):
    sched, fake = make()
    pieces: list[str] = []
    future = None

    def cancel_after_three(index: int, text: str) -> None:
        pieces.append(text)
        if len(pieces) == 3:
            future.cancel()

    fake.after_decode = lambda decoder: time.sleep(0.001)
    future = sched.submit(
        spec(letters("a"), temperature=0.5, seed=2, max_tokens=200, on_text=cancel_after_three)
    )
    other = sched.submit(spec(letters("klm"), temperature=0.5, seed=5, max_tokens=30))
    assert len(other.result(timeout=10)[0].text) > 0
    assert future.cancelled() and len(pieces) == 3
    streamed = [b for b in fake.batches if any(e[2] == 0 for e in b)]
    assert len(streamed) <= 5  # the prompt, three steps, and at most the step the cancel raced
    forget(sched)
    assert sched._running == [] and sched._reserved == 0
    assert_cells_match(sched, fake)
    assert all(s.freed for s in fake.samplers)


def test_a_cancel_while_the_loop_waits_is_applied_through_its_queue(make):
    sched, fake = make(start=False)
    future = sched.submit(
        spec(letters("a"), temperature=0.5, seed=2, max_tokens=200, on_text=lambda i, t: None)
    )
    future.cancel()
    assert ("cancel", None) in list(sched._queue.queue)
    sched.start("test-scheduler")
    [c] = run(sched, spec(letters("xyz"), max_tokens=2))
    assert c.text == ""
    forget(sched)
    assert sched._running == [] and sched._reserved == 0
    assert_cells_match(sched, fake)


def test_a_text_callback_that_raises_fails_only_its_own_job(make):
    sched, fake = make(start=False)

    def broken(index: int, text: str) -> None:
        raise ValueError("the consumer went away")

    bad = sched.submit(spec(letters("abc"), n=2, temperature=0.5, seed=1, max_tokens=20, on_text=broken))
    good = sched.submit(spec(letters("klm"), max_tokens=5))
    sched.start("test-scheduler")
    with pytest.raises(ValueError, match="consumer went away"):
        bad.result(timeout=10)
    assert good.result(timeout=10)[0].text == "nopqr"
    forget(sched)
    assert sched._running == [] and sched._reserved == 0
    assert_cells_match(sched, fake)
    assert all(s.freed for s in fake.samplers)


def _cdf(logits, temperature):
    z = np.asarray(logits, dtype=np.float64) / temperature
    p = np.exp(z - z.max())
    return np.cumsum(p / p.sum())


@pytest.mark.parametrize("size", [7, 1024, 3000, 151_936])
def test_sample_token_inverts_the_softmax_at_u(size):
    """The drawn token's interval of the float64 CDF holds u, up to float32 rounding (1e-6)."""
    from ponder.models.scheduler import sample_token

    logits = (np.random.default_rng(size).standard_normal(size) * 3).astype(np.float32)
    cdf = _cdf(logits, 0.7)
    for u in np.linspace(0.0, 0.999999, 2001):
        token = sample_token(logits, 0.7, u)
        low = cdf[token - 1] if token else 0.0
        assert low - 1e-6 <= u <= cdf[token] + 1e-6, (u, token, low, cdf[token])


def test_sample_token_is_argmax_at_temperature_zero_and_never_draws_an_impossible_token():
    from ponder.models.scheduler import BLOCK, sample_token

    logits = np.full(3 * BLOCK + 5, -np.inf, dtype=np.float32)
    logits[[3, BLOCK + 2, 2 * BLOCK + 9]] = [1.0, 4.0, 4.0]
    assert sample_token(logits, 0.0, 0.99) == BLOCK + 2  # the first largest
    drawn = {sample_token(logits, 1.0, u) for u in np.linspace(0, 0.9999999, 5001)}
    assert drawn == {3, BLOCK + 2, 2 * BLOCK + 9}
    assert sample_token(logits, 1.0, 0.9999999999) == 2 * BLOCK + 9  # not a padding or -inf token


def test_sample_token_draws_with_the_softmax_frequencies():
    from ponder.models.scheduler import sample_token

    logits = np.log(np.array([0.5, 0.3, 0.2], dtype=np.float32))
    rng = np.random.default_rng(0)
    counts = np.bincount([sample_token(logits, 1.0, rng.random()) for _ in range(20_000)], minlength=3)
    assert np.allclose(counts / 20_000, [0.5, 0.3, 0.2], atol=0.015)
