"""`ponder serve` on a real loopback port, read by the official `openai` client and by a
streaming client that parses server-sent events by hand (http.client, line by line); backed
by the stub model (no model in these tests)."""

from __future__ import annotations

import http.client
import json
import threading
import time

import openai
import pytest
import uvicorn

from ponder.eval.session import Session
from ponder.server.app import create_app
from ponder.server.config import Limits, ServeConfig
from ponder.store import Store
from servers import free_port

pytestmark = pytest.mark.loopback
KEY = "test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The server on a free loopback port in a thread; yields its base URL and store."""
    store = Store(tmp_path_factory.mktemp("serve") / "serve.db")
    session = Session(None, store, model_spec="stub")
    config = ServeConfig(
        model="stub",
        api_keys=[KEY],
        aliases={"sc4": "self-consistency[k=4,extract_call=false]"},
        limits=Limits(max_samples=8),
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(session, config), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", store
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def api(served):
    return openai.OpenAI(base_url=f"{served[0]}/v1", api_key=KEY, max_retries=0)


def test_chat_with_a_strategy_through_the_official_client(api, served):
    reply = api.chat.completions.create(model="sc4", messages=[{"role": "user", "content": "6 * 7?"}])
    assert reply.choices[0].message.content == "42" and reply.choices[0].finish_reason == "stop"
    assert reply.usage.completion_tokens == 4 * 4 and reply.usage.prompt_tokens_details.cached_tokens > 0
    extension = reply.model_extra["ponder"]
    assert extension["strategy"] == "self-consistency" and extension["compute"]["calls"] == 1
    trace = api.get(f"/traces/{extension['trace_id']}", cast_to=object)
    assert trace["answer"] == "42" and len(trace["trace"][0]["completions"]) == 4


def test_extension_field_through_extra_body(api):
    reply = api.chat.completions.create(
        model="stub",
        messages=[{"role": "user", "content": "6 * 7?"}],
        extra_body={"ponder": {"strategy": "self-consistency", "options": {"k": 2, "extract_call": False}}},
    )
    assert reply.choices[0].message.content == "42"
    assert reply.model_extra["ponder"]["route"] == "self-consistency[extract_call=False,k=2]@stub"


def test_completions_and_models(api):
    done = api.completions.create(model="stub", prompt="Say it:", max_tokens=2)
    assert done.choices[0].text == "The answer" and done.choices[0].finish_reason == "length"
    assert done.usage.prompt_tokens == 2 and done.usage.completion_tokens == 2
    names = [m.id for m in api.models.list()]
    assert names[:2] == ["stub", "sc4"] and "beam-search@stub" in names


def test_streaming_with_usage_through_the_official_client(api):
    stream = api.chat.completions.create(
        model="stub",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "The answer is 42."
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 4
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_errors_come_as_the_clients_exceptions(api, served):
    with pytest.raises(openai.BadRequestError) as bad:
        api.chat.completions.create(model="cot", temperature=0.3, messages=[{"role": "user", "content": "x"}])
    assert bad.value.body["param"] == "temperature" and bad.value.body["code"] == "unsupported_parameter"
    with pytest.raises(openai.BadRequestError) as many:
        api.chat.completions.create(
            model="self-consistency[k=16]", messages=[{"role": "user", "content": "x"}]
        )
    assert "at most 8 samples" in many.value.body["message"]
    with pytest.raises(openai.NotFoundError):
        api.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    wrong = openai.OpenAI(base_url=f"{served[0]}/v1", api_key="not-the-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()


def read_events(response: http.client.HTTPResponse):
    """Server-sent events by hand: `data:` lines joined until a blank line; comments skipped."""
    data: list[str] = []
    while True:
        raw = response.readline()
        if not raw:
            return
        line = raw.decode("utf-8").rstrip("\r\n")
        if line.startswith(":"):
            continue
        if line == "":
            if data:
                yield "\n".join(data)
                data = []
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)


def test_a_hand_written_sse_client_reads_the_stream(served):
    host, port = served[0].removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    body = {"model": "sc4", "messages": [{"role": "user", "content": "6 * 7?"}], "stream": True}
    conn.request(
        "POST",
        "/v1/chat/completions",
        body=json.dumps(body),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"},
    )
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Content-Type").startswith("text/event-stream")
    got = list(read_events(response))
    conn.close()
    assert got[-1] == "[DONE]"
    chunks = [json.loads(d) for d in got[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "42"
    assert chunks[-1]["ponder"]["answer"] == "42"
