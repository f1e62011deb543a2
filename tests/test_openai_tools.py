"""Tools, structured output and streaming in the OpenAI-compatible backend: request bodies, function
calls read from replies, server-sent events, through mock transports and a stub on loopback
(tests/tools_stub_server.py)."""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from pathlib import Path

import httpx
import pytest

from ponder.contract import Delta, FunctionCall, ResponseFormat, Tool, call_id
from ponder.errors import MalformedReply, RequestError, TransientModelError, UnsupportedAbility
from ponder.models import JSON_SCHEMA, STREAM, TOOLS, Streaming
from ponder.models.openai_compat import OpenAICompatModel
from ponder.models.retry import RetryPolicy
from ponder.types import Completion, GenerationRequest, Message
from servers import free_port, serving

FAST = RetryPolicy(attempts=3, base_s=0.001, cap_s=0.002)
URL = "http://127.0.0.1:9/v1"
WEATHER = Tool(
    "get_weather",
    "The weather in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
ADD = Tool(
    "add",
    "Add two integers.",
    {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
)
RATING = ResponseFormat(
    {"type": "object", "properties": {"stars": {"type": "integer"}}, "required": ["stars"]}, "rating"
)


class Record:
    """A mock transport answering each request with the next queued answer (a JSON reply, an
    httpx.Response or an exception), recording bodies and paths."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.bodies = []
        self.paths = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        self.paths.append(request.url.path)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, json=answer)


class Events(httpx.AsyncByteStream):
    """A response body sent piece by piece, that may fail after its pieces and knows whether it
    was closed."""

    def __init__(self, pieces, fail: Exception | None = None):
        self.pieces = list(pieces)
        self.fail = fail
        self.sent = 0
        self.closed = False

    async def __aiter__(self):
        for piece in self.pieces:
            self.sent += 1
            yield piece
        if self.fail is not None:
            raise self.fail

    async def aclose(self) -> None:
        self.closed = True


def sse(*chunks, done=True) -> list[bytes]:
    """Server-sent events, one a piece: each chunk as `data: JSON`, then `data: [DONE]`."""
    out = [f"data: {c if isinstance(c, str) else json.dumps(c)}\n\n".encode() for c in chunks]
    return out + ([b"data: [DONE]\n\n"] if done else [])


def streamed(body: Events) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body)


def chunk(delta=None, finish=None, **extra):
    return {"choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}], **extra}


def usage_chunk(prompt=12, completion=4, cached=0):
    return {
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "prompt_tokens_details": {"cached_tokens": cached},
        },
    }


def text_events():
    return sse(
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hello"}),
        chunk({"content": ", world"}),
        chunk(finish="stop"),
        usage_chunk(cached=5),
    )


def reply_with_calls(calls, content=None, finish="tool_calls"):
    message = {"role": "assistant", "content": content, "tool_calls": calls}
    return {
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 9},
    }


def call(name, arguments, id="call_1"):
    return {"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}


def model(record, url=URL, **kw):
    return OpenAICompatModel("m", url, "sk-test", retry=FAST, transport=httpx.MockTransport(record), **kw)


async def collect(m, request):
    return [item async for item in m.stream(request)]


# request bodies


async def test_the_request_body_carries_tools_tool_choice_and_the_response_format():
    record = Record(*[reply_with_calls([])] * 4)
    m = model(record)
    await m.generate(GenerationRequest.chat("q", tools=(WEATHER, ADD), tool_choice="required"))
    await m.generate(GenerationRequest.chat("q", tools=(WEATHER,), tool_choice="get_weather"))
    await m.generate(GenerationRequest.chat("q", tools=(WEATHER,)))
    await m.generate(GenerationRequest.chat("q", response_format=RATING))
    first, named, auto, fmt = record.bodies
    assert first["tools"] == [WEATHER.to_openai(), ADD.to_openai()] and first["tool_choice"] == "required"
    assert named["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert auto["tool_choice"] == "auto" and "response_format" not in auto
    assert fmt["response_format"] == RATING.to_openai() and fmt["response_format"]["type"] == "json_schema"
    assert "tools" not in fmt and "tool_choice" not in fmt


async def test_tool_turns_are_sent_as_the_chat_api_takes_them():
    record = Record(reply_with_calls([], content="It is sunny.", finish="stop"))
    asked = FunctionCall("call_7", "get_weather", {"city": "Paris"}, '{"city": "Paris"}')
    blank = FunctionCall("call_8", "get_weather", None, "")
    request = GenerationRequest(
        messages=(
            Message("user", "Weather in Paris?"),
            Message("assistant", "", tool_calls=(asked, blank)),
            Message("tool", "sunny", tool_call_id="call_7"),
            Message("tool", "no city given", tool_call_id="call_8"),
        ),
        tools=(WEATHER,),
    )
    [c] = await model(record).generate(request)
    assert c.text == "It is sunny." and c.finish_reason == "stop" and c.tool_calls == ()
    messages = record.bodies[0]["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            asked.to_openai(),
            {"id": "call_8", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}},
        ],
    }
    assert messages[2] == {"role": "tool", "content": "sunny", "tool_call_id": "call_7"}
    assert messages[0] == {"role": "user", "content": "Weather in Paris?"}


async def test_requests_without_the_new_fields_keep_their_bodies():
    record = Record(
        reply_with_calls([], content="x", finish="stop"),
        {"choices": [{"index": 0, "text": "y", "finish_reason": "stop"}]},
    )
    m = model(record)
    await m.generate(GenerationRequest.chat("q", system="s", stop=("\n",), seed=3))
    await m.generate(GenerationRequest(prompt="p", max_tokens=5))
    assert record.bodies[0] == {
        "model": "m",
        "max_tokens": 512,
        "temperature": 0.0,
        "top_p": 1.0,
        "stop": ["\n"],
        "seed": 3,
        "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}],
    }
    assert record.bodies[1] == {
        "model": "m",
        "max_tokens": 5,
        "temperature": 0.0,
        "top_p": 1.0,
        "prompt": "p",
    }


@pytest.mark.parametrize(
    "kw, what", [({"tools": (WEATHER,)}, "tools"), ({"response_format": RATING}, "response_format")]
)
async def test_a_raw_prompt_with_tools_or_a_response_format_is_refused(kw, what):
    record = Record()
    m = model(record)
    with pytest.raises(UnsupportedAbility, match=f"raw prompt cannot carry (a )?{what}.*chat messages"):
        await m.generate(GenerationRequest(prompt="p", **kw))
    with pytest.raises(UnsupportedAbility, match=what):
        await collect(m, GenerationRequest(prompt="p", **kw))
    assert record.bodies == []


def test_the_backend_declares_tools_structured_output_and_streaming():
    m = OpenAICompatModel("m", URL)
    assert {TOOLS, JSON_SCHEMA, STREAM} <= m.abilities and isinstance(m, Streaming)


# reading function calls


async def test_function_calls_are_read_against_the_tools_and_never_raise():
    calls = [
        call("add", '{"a": 2, "b": 3}', id="call_ok"),
        call("add", '{"a": 2, "b": ', id="call_json"),
        call("multiply", '{"a": 2}', id="call_unknown"),
        call("add", '{"a": "two", "b": 3}', id="call_types"),
    ]
    [c] = await model(Record(reply_with_calls(calls))).generate(
        GenerationRequest.chat("2+3?", tools=(ADD, WEATHER))
    )
    ok, bad_json, unknown, wrong = c.tool_calls
    assert c.finish_reason == "tool_calls" and c.text == "" and c.notes == ()
    assert ok == FunctionCall("call_ok", "add", {"a": 2, "b": 3}, '{"a": 2, "b": 3}')
    assert bad_json.id == "call_json" and bad_json.arguments is None and "not JSON" in bad_json.error
    assert "unknown function 'multiply'" in unknown.error and "add, get_weather" in unknown.error
    assert wrong.arguments == {"a": "two", "b": 3} and "do not match its schema" in wrong.error
    assert "at a:" in wrong.error


async def test_a_call_without_an_id_gets_a_deterministic_one_and_object_arguments_are_read_as_text():
    calls = [{"type": "function", "function": {"name": "add", "arguments": {"a": 1, "b": 1}}}]
    [c] = await model(Record(reply_with_calls(calls, finish="stop"))).generate(
        GenerationRequest.chat("1+1?", tools=(ADD,), tool_choice="add")
    )
    [fc] = c.tool_calls
    assert fc.ok and fc.arguments == {"a": 1, "b": 1} and fc.raw == '{"a": 1, "b": 1}'
    assert fc.id == call_id("add", fc.raw, 0)
    assert c.finish_reason == "tool_calls"  # a forced call said "stop"


async def test_the_tool_calls_finish_reason_is_kept_and_text_beside_calls_too():
    [c] = await model(
        Record(reply_with_calls([call("add", '{"a":1,"b":2}')], content="Let me add."))
    ).generate(GenerationRequest.chat("q", tools=(ADD,)))
    assert (c.text, c.finish_reason, len(c.tool_calls)) == ("Let me add.", "tool_calls", 1)
    assert (c.usage.prompt_tokens, c.usage.completion_tokens) == (20, 9)


@pytest.mark.parametrize(
    "calls, field",
    [
        ("lots", "choices.0.message.tool_calls"),
        ([None], "choices.0.message.tool_calls.0"),
        ([{"id": "c", "type": "function"}], "choices.0.message.tool_calls.0.function"),
        ([{"function": {"arguments": "{}"}}], "choices.0.message.tool_calls.0.function.name"),
        (
            [{"function": {"name": "add", "arguments": 5}}],
            "choices.0.message.tool_calls.0.function.arguments",
        ),
    ],
)
async def test_a_malformed_tool_calls_shape_is_a_malformed_reply(calls, field):
    record = Record(*[reply_with_calls(calls)] * FAST.attempts)
    with pytest.raises(MalformedReply) as e:
        await model(record).generate(GenerationRequest.chat("q", tools=(ADD,)))
    assert f"{URL}/chat/completions" in str(e.value) and f"{field}:" in str(e.value)
    assert "\n" not in str(e.value)


# streaming


async def test_a_stream_yields_text_deltas_then_the_completion_with_the_servers_usage():
    body = Events(text_events())
    record = Record(streamed(body))
    m = model(record)
    items = await collect(m, GenerationRequest.chat("hi", max_tokens=8))
    *deltas, done = items
    assert deltas == [Delta("Hello"), Delta(", world")]
    assert isinstance(done, Completion) and done.text == "Hello, world" and done.finish_reason == "stop"
    assert (done.usage.prompt_tokens, done.usage.completion_tokens, done.usage.cached_prompt_tokens) == (
        12,
        4,
        5,
    )
    assert done.notes == () and done.latency_s > 0
    sent = record.bodies[0]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["max_tokens"] == 8 and "n" not in sent
    assert body.closed and m.http_requests == 1


async def test_function_calls_stream_as_deltas_and_are_read_at_the_end():
    first = {"index": 0, "id": "call_a", "type": "function", "function": {"name": "add", "arguments": ""}}
    events = sse(
        chunk({"role": "assistant", "content": None, "tool_calls": [first]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a": 4, '}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"b": 5}'}}]}),
        chunk({"tool_calls": [{"index": 1, "id": "call_b", "function": {"name": "nope", "arguments": "{"}}]}),
        chunk(finish="tool_calls"),
        usage_chunk(),
    )
    items = await collect(
        model(Record(streamed(Events(events)))),
        GenerationRequest.chat("q", tools=(ADD,), tool_choice="required"),
    )
    *deltas, done = items
    assert deltas == [
        Delta(tool_index=0, tool_name="add"),
        Delta(tool_index=0, tool_arguments='{"a": 4, '),
        Delta(tool_index=0, tool_arguments='"b": 5}'),
        Delta(tool_index=1, tool_name="nope"),
        Delta(tool_index=1, tool_arguments="{"),
    ]
    good, bad = done.tool_calls
    assert good == FunctionCall("call_a", "add", {"a": 4, "b": 5}, '{"a": 4, "b": 5}')
    assert bad.id == "call_b" and "unknown function 'nope'" in bad.error
    assert done.finish_reason == "tool_calls" and done.text == ""


async def test_a_stream_without_usage_counts_its_chunks_and_says_so():
    events = sse(chunk({"content": "a"}), chunk({"content": " b"}), chunk({"content": " c"}, finish="length"))
    *_, done = await collect(model(Record(streamed(Events(events)))), GenerationRequest.chat("q"))
    assert done.text == "a b c" and done.finish_reason == "length"
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (0, 3)
    assert any("no usage" in n and "3 completion tokens" in n for n in done.notes)


async def test_nothing_after_done_is_read_and_comments_and_other_fields_are_skipped():
    pieces = [b": keep-alive\n\n", b"event: message\nid: 1\n"] + sse(chunk({"content": "x"}, finish="stop"))
    pieces.append(b"data: not json at all\n\n")
    *deltas, done = await collect(model(Record(streamed(Events(pieces)))), GenerationRequest.chat("q"))
    assert deltas == [Delta("x")] and done.text == "x"


async def test_events_split_across_reads_and_crlf_line_ends_are_joined():
    whole = "".join(p.decode() for p in text_events()).replace("\n", "\r\n").encode()
    pieces = [whole[i : i + 7] for i in range(0, len(whole), 7)]
    *deltas, done = await collect(model(Record(streamed(Events(pieces)))), GenerationRequest.chat("q"))
    assert [d.text for d in deltas] == ["Hello", ", world"] and done.usage.completion_tokens == 4


async def test_closing_the_stream_early_closes_the_response_at_once():
    body = Events(sse(*[chunk({"content": f"w{i} "}) for i in range(50)], chunk(finish="stop")))
    m = model(Record(streamed(body)))
    items = m.stream(GenerationRequest.chat("q"))
    assert await items.__anext__() == Delta("w0 ")
    await items.aclose()
    assert body.closed and body.sent < 50
    assert m._semaphore is not None and not m._semaphore.locked()


async def test_breaking_out_of_the_stream_closes_the_response():
    body = Events(sse(*[chunk({"content": f"w{i} "}) for i in range(50)], chunk(finish="stop")))
    m = model(Record(streamed(body)))
    async for item in m.stream(GenerationRequest.chat("q")):
        assert item == Delta("w0 ")
        break
    gc.collect()
    for _ in range(5):
        await asyncio.sleep(0)
    assert body.closed and body.sent < 50


async def test_a_connection_dropped_mid_stream_is_transient_names_the_url_and_is_not_retried():
    body = Events(sse(chunk({"content": "part"}), done=False), fail=httpx.RemoteProtocolError("peer closed"))
    m = model(Record(streamed(body), streamed(Events(text_events()))))
    seen = []
    with pytest.raises(TransientModelError) as e:
        async for item in m.stream(GenerationRequest.chat("q")):
            seen.append(item)
    assert seen == [Delta("part")]
    assert f"{URL}/chat/completions" in str(e.value) and "dropped" in str(e.value)
    assert "not retried" in str(e.value) and m.http_requests == 1 and body.closed


async def test_a_stream_that_ends_short_is_transient():
    body = Events(sse(chunk({"content": "part"}), done=False))
    with pytest.raises(TransientModelError, match="without \\[DONE\\] or a finish reason"):
        await collect(model(Record(streamed(body))), GenerationRequest.chat("q"))


@pytest.mark.parametrize(
    "bad, field",
    [
        (chunk({"content": 5}), "choices.0.delta.content: expected a string, got a number (5)"),
        (
            chunk({"tool_calls": [{"function": {"name": "add"}}]}),
            "choices.0.delta.tool_calls.0.index: missing",
        ),
        ({"choices": "x"}, "choices: expected a list"),
        ({"choices": [], "usage": {"prompt_tokens": -1}}, "usage.prompt_tokens: expected at least 0"),
        ({"choices": [{"index": 2, "delta": {"content": "x"}}]}, "choices.0.index: expected 0"),
        ("{not json", "not JSON"),
    ],
)
async def test_a_malformed_chunk_is_a_malformed_reply_naming_the_field(bad, field):
    body = Events(sse(chunk({"content": "ok"}), bad, chunk(finish="stop")))
    with pytest.raises(MalformedReply) as e:
        await collect(model(Record(streamed(body))), GenerationRequest.chat("q"))
    assert f"{URL}/chat/completions: malformed stream chunk" in str(e.value) and field in str(e.value)
    assert body.closed


async def test_an_error_event_mid_stream_is_a_transient_error():
    body = Events(
        sse(chunk({"content": "a"}), done=False) + [b'error: {"code": 500, "message": "slot crashed"}\n\n']
    )
    with pytest.raises(TransientModelError, match="reported mid-stream: slot crashed"):
        await collect(model(Record(streamed(body))), GenerationRequest.chat("q"))


async def test_failures_before_the_stream_starts_are_retried():
    record = Record(
        httpx.ConnectError("refused"),
        httpx.Response(503, json={"error": "busy"}),
        streamed(Events(text_events())),
    )
    m = model(record)
    *_, done = await collect(m, GenerationRequest.chat("q"))
    assert done.text == "Hello, world" and m.http_requests == 3


async def test_a_server_that_answers_whole_still_streams_its_reply():
    record = Record(reply_with_calls([call("add", '{"a": 1, "b": 2}')], content="ok"))
    items = await collect(model(record), GenerationRequest.chat("q", tools=(ADD,)))
    assert items[:3] == [
        Delta("ok"),
        Delta(tool_index=0, tool_name="add"),
        Delta(tool_index=0, tool_arguments='{"a": 1, "b": 2}'),
    ]
    assert items[3].tool_calls[0].ok and "did not stream" in items[3].notes[-1]


async def test_streaming_more_than_one_sample_is_refused():
    record = Record()
    with pytest.raises(RequestError, match="n=1.*n=3"):
        await collect(model(record), GenerationRequest.chat("q", n=3, temperature=0.7))
    assert record.bodies == []


async def test_raw_prompts_stream_through_completions_with_logprobs():
    events = sse(
        {"choices": [{"index": 0, "text": " 4", "logprobs": {"tokens": [" 4"], "token_logprobs": [-0.5]}}]},
        {"choices": [{"index": 0, "text": "", "finish_reason": "length"}], "usage": {"completion_tokens": 1}},
    )
    record = Record(streamed(Events(events)))
    *deltas, done = await collect(
        model(record), GenerationRequest(prompt="2+2=", logprobs=True, max_tokens=1)
    )
    assert record.paths == ["/v1/completions"] and deltas == [Delta(" 4")]
    assert done.logprobs[0].token == " 4" and done.logprobs[0].logprob == -0.5
    assert done.finish_reason == "length" and done.usage.completion_tokens == 1


async def test_credentials_in_the_url_stay_out_of_stream_errors():
    secret_url = "http://user:hunter2hunter2@127.0.0.1:9/v1?key=sesame-sesame-sesame"
    failures = [httpx.ConnectError("refused hunter2hunter2 sesame-sesame-sesame")] * FAST.attempts
    m = model(Record(*failures), url=secret_url)
    with pytest.raises(Exception) as e:
        await collect(m, GenerationRequest.chat("q"))
    drop = Events(sse(chunk({"content": "a"}), done=False), fail=httpx.ReadError("lost sesame-sesame-sesame"))
    m2 = model(Record(streamed(drop)), url=secret_url)
    with pytest.raises(TransientModelError) as e2:
        await collect(m2, GenerationRequest.chat("q"))
    for message in (str(e.value), str(e2.value), m.model_id):
        assert "hunter2" not in message and "sesame" not in message


# against a real HTTP server on loopback


@pytest.fixture
def stub(tmp_path):
    port = free_port()
    log = tmp_path / "requests.jsonl"
    argv = [sys.executable, str(Path(__file__).parent / "tools_stub_server.py"), str(port), str(log)]
    with serving(argv, port, tmp_path / "server.log", timeout_s=30) as base:
        yield base, log


def logged(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


@pytest.mark.loopback
async def test_tools_and_streaming_over_real_http(stub):
    base, log = stub
    m = OpenAICompatModel("stub", base, retry=FAST)
    try:
        [c] = await m.generate(GenerationRequest.chat("weather", tools=(WEATHER,), tool_choice="get_weather"))
        assert c.tool_calls == (
            FunctionCall("call_stub_1", "get_weather", {"city": "Paris"}, '{"city": "Paris"}'),
        )
        items = await collect(m, GenerationRequest.chat("weather", tools=(WEATHER,)))
        assert [d.tool_arguments for d in items[1:-1]] == ['{"ci', 'ty": "Par', 'is"}']
        assert items[-1].tool_calls == c.tool_calls and items[-1].finish_reason == "tool_calls"
        *deltas, done = await collect(m, GenerationRequest.chat("hello"))
        assert "".join(d.text for d in deltas) == done.text == "Hello from the stub."
        assert done.usage.completion_tokens == 5 and done.notes == ()
        with pytest.raises(TransientModelError, match=f"{base}/chat/completions: the stream dropped"):
            await collect(m, GenerationRequest.chat("drop"))
        sent = logged(log)
        assert sent[0]["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
        assert sent[1]["stream"] is True and sent[1]["tools"] == [WEATHER.to_openai()]
    finally:
        await m.aclose()


@pytest.mark.loopback
async def test_closing_a_real_stream_early_disconnects_from_the_server(stub):
    base, log = stub
    m = OpenAICompatModel("stub", base, retry=FAST)
    try:
        items = m.stream(GenerationRequest.chat("slow"))
        assert (await items.__anext__()).text == "w0 "
        await items.aclose()
        deadline = time.monotonic() + 10
        while not any("disconnected" in e for e in logged(log)) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        [gone] = [e["disconnected"] for e in logged(log) if "disconnected" in e]
        assert gone < 50  # the server stopped long before its hundred chunks
    finally:
        await m.aclose()
