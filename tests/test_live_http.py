"""The OpenAI-compatible backend against real llama.cpp servers on loopback."""

import pytest

from ponder.errors import FatalModelError, ModelUnavailable
from ponder.models import get_model, registry, weights
from ponder.models.openai_compat import OpenAICompatModel
from ponder.models.retry import RetryPolicy
from ponder.types import GenerationRequest, Task
from servers import free_port, llama_server_binary, native_server_argv, python_server_argv, serving

pytestmark = pytest.mark.live

ROBE = Task(
    "robe",
    "A robe takes 2 bolts of blue fiber and half that much white fiber. "
    "How many bolts in total does it take?",
    "3",
)


@pytest.fixture(scope="module")
def model_file():
    return weights.assemble(registry.lookup(registry.DEFAULT_LOCAL))


@pytest.fixture(scope="module")
def python_server(model_file, tmp_path_factory):
    pytest.importorskip("llama_cpp.server")
    port = free_port()
    with serving(
        python_server_argv(model_file, port), port, tmp_path_factory.mktemp("srv") / "server.log"
    ) as url:
        yield url


@pytest.fixture(scope="module")
def native_server(model_file, tmp_path_factory):
    binary = llama_server_binary()
    if binary is None:
        pytest.skip("native llama-server not built (scripts/build-llama-server)")
    port = free_port()
    with serving(
        native_server_argv(binary, model_file, port), port, tmp_path_factory.mktemp("srv") / "server.log"
    ) as url:
        yield url


async def test_chat_through_the_python_server(python_server):
    m = get_model(f"openai:local@{python_server}")
    [c] = await m.generate(
        GenerationRequest.chat("What is 6 times 7? Reply with the number only.", max_tokens=16)
    )
    assert "42" in c.text and c.usage.prompt_tokens > 10 and c.usage.completion_tokens > 0
    await m.aclose()


async def test_a_server_that_ignores_n_falls_back_to_separate_calls(python_server):
    m = get_model(f"openai:local@{python_server}")
    out = await m.generate(
        GenerationRequest.chat("Name an animal.", n=3, temperature=1.0, max_tokens=10, seed=11)
    )
    assert len(out) == 3 and [c.index for c in out] == [0, 1, 2]
    assert m.honours_n is False
    assert m.http_requests == 3  # one n=3 request answered with 1 choice, then 2 single calls
    assert all(c.usage.completion_tokens > 0 for c in out)
    await m.aclose()


async def test_raw_completion_with_logprobs(python_server):
    m = get_model(f"openai:local@{python_server}")
    [c] = await m.generate(
        GenerationRequest(prompt="The capital of France is", max_tokens=4, logprobs=True, top_logprobs=2)
    )
    assert "Paris" in c.text
    assert c.logprobs and all(t.logprob <= 0 for t in c.logprobs)
    await m.aclose()


async def test_fatal_http_errors_are_not_retried(python_server):
    base = python_server.removesuffix("/v1") + "/not-an-api"
    m = OpenAICompatModel("local", base, retry=RetryPolicy(attempts=3, base_s=0.01))
    with pytest.raises(FatalModelError, match="HTTP 404"):
        await m.generate(GenerationRequest.chat("hi", max_tokens=2))
    assert m.http_requests == 1
    await m.aclose()


async def test_an_unreachable_server_is_reported_with_its_url():
    url = f"http://127.0.0.1:{free_port()}/v1"
    m = OpenAICompatModel("local", url, retry=RetryPolicy(attempts=2, base_s=0.01))
    with pytest.raises(ModelUnavailable, match=url):
        await m.generate(GenerationRequest.chat("hi", max_tokens=2))
    await m.aclose()


async def test_the_native_server_honours_n(native_server):
    m = get_model(f"openai:local@{native_server}")
    out = await m.generate(
        GenerationRequest.chat("Name an animal.", n=4, temperature=1.0, max_tokens=10, seed=5)
    )
    assert len(out) == 4 and m.honours_n is True and m.http_requests == 1
    assert all(c.usage.completion_tokens > 0 for c in out)
    await m.aclose()


async def test_strategies_over_http_on_the_native_server(native_server, data_dir):
    """Sampling, logprob-weighted voting, the P(Yes) judge and prefix continuation through HTTP."""
    from ponder.strategies.registry import build_strategy

    task = ROBE
    m = get_model(f"openai:local@{native_server}")
    try:
        sc = await build_strategy(
            "self-consistency", k=3, exemplars="gsm8k", data_dir=data_dir, max_tokens=128
        ).run(task, m)
        assert len(sc.calls) == 1 and len(sc.calls[0].completions) == 3 and sc.details.voters >= 1
        wv = await build_strategy(
            "weighted-vote", k=2, exemplars="gsm8k", data_dir=data_dir, max_tokens=128
        ).run(task, m)
        assert all(0 < w <= 1 for w in wv.details.weights)
        bon = await build_strategy(
            "best-of-n", k=2, exemplars="gsm8k", data_dir=data_dir, max_tokens=128
        ).run(task, m)
        assert bon.compute.verifier_calls == 2 and all(0 <= s <= 1 for s in bon.details.scores)
        beam = await build_strategy(
            "beam-search", width=1, expand=2, max_steps=2, step_tokens=48, max_tokens=64
        ).run(task, m)
        assert beam.details.rounds and beam.compute.verifier_calls >= 2
        first = beam.calls[0].completions[0].text
        assert "\n\n" not in first.strip()  # a step stops at the delimiter
    finally:
        await m.aclose()


async def test_sampling_strategies_through_a_server_that_ignores_n(python_server, data_dir):
    from ponder.strategies.registry import build_strategy

    task = ROBE
    m = get_model(f"openai:local@{python_server}")
    try:
        sc = await build_strategy(
            "adaptive-consistency", k=4, batch=2, exemplars="gsm8k", data_dir=data_dir, max_tokens=96
        ).run(task, m)
        assert sc.details.k in (2, 4) and sum(len(c.completions) for c in sc.calls) == sc.details.k
        assert m.honours_n is False  # the samples were drawn by separate calls
        cot = await build_strategy("cot", max_tokens=160).run(task, m)
        assert cot.answer is not None and [c.purpose for c in cot.calls] == ["generate", "extract"]
    finally:
        await m.aclose()
