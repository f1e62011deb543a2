"""The embedded model, for real: generation, samples, seeds, logprobs, prefixes, batching."""

import asyncio

import pytest

from ponder.models import get_model
from ponder.types import GenerationRequest

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def model():
    return get_model("local")


async def test_greedy_generation_answers_and_counts_tokens(model):
    [c] = await model.generate(
        GenerationRequest.chat("What is 6 times 7? Reply with the number only.", max_tokens=16)
    )
    assert "42" in c.text
    assert c.usage.prompt_tokens > 10 and 0 < c.usage.completion_tokens <= 16
    assert c.finish_reason == "stop"


async def test_samples_differ_under_temperature_and_repeat_under_a_seed(model):
    req = GenerationRequest.chat(
        "Invent a name for a pet dragon. One line.", n=4, temperature=1.0, max_tokens=24, seed=1234
    )
    # cells kept from earlier requests would be shared, and the prompt's tail evaluated in a batch of
    # another shape (rounding can differ at T > 0): the seed repeats exactly from the same engine state
    model.engine.forget()
    first = await model.generate(req)
    model.engine.forget()
    again = await model.generate(req)
    assert len(first) == 4 and [c.index for c in first] == [0, 1, 2, 3]
    assert len({c.text for c in first}) >= 2
    assert [c.text for c in first] == [c.text for c in again]


async def test_logprobs_are_real_log_probabilities(model):
    [c] = await model.generate(
        GenerationRequest.chat("Say hello.", max_tokens=8, logprobs=True, top_logprobs=3)
    )
    assert c.logprobs and len(c.logprobs) <= c.usage.completion_tokens
    assert "".join(t.token for t in c.logprobs) == c.text
    for t in c.logprobs:
        assert t.logprob <= 0 and len(t.top) == 3
        assert t.top[0][1] >= t.logprob - 1e-9  # greedy: the chosen token is the most likely


async def test_continuation_from_an_assistant_prefix_and_stop_strings(model):
    req = GenerationRequest.chat(
        "Count from 1 to 10, separated by commas.", assistant_prefix="1, 2, 3, 4,", stop=("8",), max_tokens=40
    )
    [c] = await model.generate(req)
    assert c.text.replace(" ", "").startswith("5,6,7,")
    assert "8" not in c.text and c.finish_reason == "stop"


async def test_n_samples_evaluate_the_prompt_once(model):
    stats = model.engine.stats
    req = GenerationRequest.chat("Write one word.", n=6, temperature=0.8, max_tokens=4, seed=3)
    before = stats.prompt_tokens_evaluated
    out = await model.generate(req)
    evaluated = stats.prompt_tokens_evaluated - before
    assert 0 < evaluated == out[0].usage.prompt_tokens_evaluated <= out[0].usage.prompt_tokens
    assert sum(c.usage.prompt_tokens_evaluated for c in out) == evaluated


async def test_concurrent_requests_are_decoded_together(model):
    stats = model.engine.stats
    stats.max_batch = 0
    reqs = [GenerationRequest.chat(f"Name a colour number {i}.", max_tokens=12) for i in range(3)]
    outs = await asyncio.gather(*(model.generate(r) for r in reqs))
    assert all(o[0].text for o in outs)
    assert stats.max_batch >= 2


async def test_prompts_beginning_like_a_running_or_kept_sequence_reuse_its_cells(model):
    engine, stats = model.engine, model.engine.stats
    base = (
        "Fruits in order: apple, banana, cherry, date, elderberry, fig, grape, honeydew, kiwi, lemon, "
        "mango, nectarine, orange, papaya, quince. "
    )
    reqs = [
        GenerationRequest.chat(base + f"Which fruit is number {i}? Reply with the fruit only.", max_tokens=8)
        for i in (2, 3, 5)
    ]
    engine.share_prefixes = False
    try:
        alone = [(await model.generate(r))[0] for r in reqs]  # nothing shared: every prompt in full
    finally:
        engine.share_prefixes = True
    assert all(c.usage.prompt_tokens_evaluated == c.usage.prompt_tokens for c in alone)
    prompt = alone[0].usage.prompt_tokens
    # in flight together: the later ones share the first one's cells
    before = stats.prompt_tokens_evaluated
    together = [o[0] for o in await asyncio.gather(*(model.generate(r) for r in reqs))]
    evaluated = stats.prompt_tokens_evaluated - before
    assert [c.text for c in together] == [c.text for c in alone]
    assert sum(c.usage.prompt_tokens_evaluated for c in together) == evaluated < 3 * prompt - 40
    assert all(c.usage.prompt_tokens_evaluated < 20 for c in together[1:]), [c.usage for c in together]
    # one after another: each shares the cells kept from the one before
    again = [(await model.generate(r))[0] for r in reqs]
    assert [c.text for c in again] == [c.text for c in alone]
    assert all(c.usage.prompt_tokens_evaluated < 20 for c in again), [c.usage for c in again]
    # and a continuation of a finished reply shares the prompt and the reply
    follow = GenerationRequest.chat(
        reqs[0].messages[-1].content, max_tokens=8, assistant_prefix=alone[0].text + " And number 3 is"
    )
    [c] = await model.generate(follow)
    assert c.usage.prompt_tokens_evaluated < 15, c.usage


async def test_raw_prompt_without_chat_template(model):
    [c] = await model.generate(GenerationRequest(prompt="The capital of France is", max_tokens=5))
    assert "Paris" in c.text


def test_ponder_solve_end_to_end_on_the_embedded_model(tmp_path):
    from typer.testing import CliRunner

    from ponder.cli import app
    from ponder.store import Store

    store = tmp_path / "s.sqlite"
    question = (
        "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips "
        "in May. How many clips did Natalia sell altogether in April and May?"
    )
    res = CliRunner().invoke(app, ["solve", question, "--store", str(store), "--max-tokens", "320"])
    assert res.exit_code == 0, res.output
    assert "answer: " in res.output and "completion tokens" in res.output
    with Store(store) as s:
        [run] = s.runs()
        [row] = s.result_rows(run["id"])
        assert row["completion_tokens"] > 20 and row["calls"] == 2  # the chain and Kojima's extraction
        assert row["answer"] is not None and row["answer"] in res.output


def test_a_corrupt_model_file_is_one_clear_error(tmp_path):
    from typer.testing import CliRunner

    from ponder.cli import app

    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 64)
    res = CliRunner().invoke(app, ["solve", "hi", "--model", f"local:{bad}"])
    assert res.exit_code == 2
    assert f"cannot load {bad}" in res.output and "Traceback" not in res.output


async def test_a_cancelled_request_frees_its_sequences(model):
    long = GenerationRequest.chat(
        "Write a long story about a lighthouse.", n=3, temperature=0.8, max_tokens=400, seed=9
    )
    task = asyncio.create_task(model.generate(long))
    await asyncio.sleep(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [c] = await model.generate(GenerationRequest.chat("Say yes.", max_tokens=4))
    assert c.text
    engine = model.engine
    assert len(engine._free_ids) + len(engine._kept) == engine.n_seq_max and engine._reserved == 0
    assert len(engine._kept) <= engine.keep_max


async def test_an_empty_raw_prompt_is_refused(model):
    from ponder.errors import RequestError

    with pytest.raises(RequestError, match="prompt is empty"):
        await model.generate(GenerationRequest(prompt="", max_tokens=4))


def test_the_engine_serves_as_many_items_in_flight_as_it_has_sequence_slots(model):
    from ponder.models import preferred_concurrency

    assert preferred_concurrency(model) == model.engine.n_seq_max == 16
