"""`ponder serve` on the embedded model: a sampling strategy shares its prompt and sums every call
into usage; a request passed through streams tokens as the model makes them."""

from __future__ import annotations

import json

import httpx
import pytest

from ponder.eval.session import Session
from ponder.models import get_model
from ponder.server.app import create_app
from ponder.server.config import ServeConfig
from ponder.store import Store

pytestmark = pytest.mark.live
QUESTION = "Tom has 3 apples and buys 4 more. How many apples does he have now?"


@pytest.fixture(scope="module")
def model():
    return get_model("local")


@pytest.fixture
def app(tmp_path, model):
    session = Session(None, Store(tmp_path / "serve.db"), model_spec="local", opener=lambda spec, **kw: model)
    return create_app(session, ServeConfig(model="local"))


def client(app):
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://serve", timeout=600)


async def test_self_consistency_reply_counts_every_call(app):
    body = {
        "model": "self-consistency[k=3]",
        "messages": [{"role": "user", "content": QUESTION}],
        "max_tokens": 160,
    }
    async with client(app) as c:
        r = await c.post("/v1/chat/completions", json=body)
        assert r.status_code == 200, r.text
        reply = r.json()
        trace = (await c.get(f"/v1/traces/{reply['ponder']['trace_id']}")).json()
    compute = reply["ponder"]["compute"]
    assert compute["calls"] == 4  # three chains in one request, then an extraction call per chain
    assert reply["usage"]["completion_tokens"] == compute["completion_tokens"] > 0
    assert reply["usage"]["prompt_tokens_details"]["cached_tokens"] > 0  # the chains shared their prompt
    assert reply["choices"][0]["message"]["content"] == (reply["ponder"]["answer"] or "")
    calls = [e for e in trace["trace"] if e["event"] == "model_call"]
    assert len(calls) == 4 and sum(len(e["completions"]) for e in calls) == 6


async def test_a_passed_through_request_streams_its_tokens(app):
    body = {
        "model": "local",
        "messages": [{"role": "user", "content": "Name three colours."}],
        "max_tokens": 24,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    async with client(app) as c:
        r = await c.post("/v1/chat/completions", json=body)
    assert r.status_code == 200
    data = [line[len("data: ") :] for line in r.text.splitlines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    pieces = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    text = "".join(p or "" for p in pieces)
    assert len([p for p in pieces if p]) > 3 and text.strip()
    final = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]][0]
    assert final["ponder"]["answer"] == text
    assert chunks[-1]["usage"]["completion_tokens"] <= 24
