"""`ponder serve`'s app in-process (httpx over ASGI): strategies and pass-through on the scripted
model, what is stored, the parameters honoured or refused, keys, limits and errors."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from ponder.errors import FatalModelError, TransientModelError
from ponder.eval.session import Session
from ponder.models.scripted import ScriptedModel, Step
from ponder.models.stub import StubModel
from ponder.server import app as app_module
from ponder.server.app import create_app
from ponder.server.config import Limits, ServeConfig
from ponder.store import Store

SC = "self-consistency[k=3,extract_call=false]"
USER = [{"role": "user", "content": "What is 2 + 2?"}]


def make_app(tmp_path, model, **config):
    """The app over `model` (served as spec 'scripted') and a fresh store."""
    store = Store(tmp_path / "serve.db")
    session = Session(None, store, model_spec="scripted", opener=lambda spec, **kw: model)
    config.setdefault("model", "scripted")
    return create_app(session, ServeConfig(**config)), store


def client(app):
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://serve")


def chat(model=SC, **fields):
    return {"model": model, "messages": fields.pop("messages", USER), **fields}


async def post(app, body, path="/v1/chat/completions", **kw):
    async with client(app) as c:
        return await c.post(path, json=body, **kw)


def error_of(r, status):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


# Strategies.


async def test_self_consistency_answers_with_the_majority_and_sums_every_call(tmp_path):
    chains = ["2 and 2 make 4. The answer is 4.", "The answer is 5.", "So 4. The answer is 4."]
    model = ScriptedModel([Step(chains, expect={"n": 3, "temperature": 0.7})])
    app, store = make_app(tmp_path, model)
    r = await post(app, chat())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion" and body["model"] == SC
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "4"},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ]
    # The scripted model counts words: the prompt once, then shared by the other two samples.
    [request] = model.requests
    prompt_words = sum(len(m.content.split()) for m in request.messages)
    completion_words = sum(len(c.split()) for c in chains)
    assert body["usage"] == {
        "prompt_tokens": 3 * prompt_words,
        "completion_tokens": completion_words,
        "total_tokens": 3 * prompt_words + completion_words,
        "prompt_tokens_details": {"cached_tokens": 2 * prompt_words},
    }
    ext = body["ponder"]
    assert ext["strategy"] == "self-consistency" and ext["answer"] == "4" and ext["compute"]["calls"] == 1
    # Stored: the run (one per route), the result under the trace id, the call under both.
    [run] = [r for r in store.runs() if r["kind"] == "serve"]
    assert run["id"] == ext["run_id"] and run["strategy"] == "self-consistency"
    [result] = store.results(run["id"])
    assert result.task.id == ext["trace_id"] and result.answer == "4" and result.model == "scripted"
    assert [c["task_id"] for c in store.calls(run["id"])] == [ext["trace_id"]] * 3


async def test_the_reply_can_be_the_winning_chain(tmp_path):
    chains = ["The answer is 5.", "First 2 + 2 = 4. The answer is 4.", "The answer is 4."]
    app, _ = make_app(tmp_path, ScriptedModel([Step(chains)]), reply="chain")
    r = await post(app, chat())
    assert r.json()["choices"][0]["message"]["content"] == chains[1]
    assert r.json()["ponder"]["answer"] == "4"


async def test_the_model_field_options_kind_and_reply_and_the_extension(tmp_path):
    model = ScriptedModel([Step(["The answer is yes."] * 2, expect={"n": 2, "temperature": 0.2, "seed": 9})])
    app, _ = make_app(tmp_path, model)
    body = chat(
        "cot",
        ponder={"strategy": "self-consistency", "options": {"k": 2, "extract-call": False}, "kind": "yesno"},
        temperature=0.2,
        seed=9,
    )
    r = await post(app, body)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "yes"
    assert r.json()["ponder"]["route"] == "self-consistency[extract_call=False,k=2]@scripted"


async def test_a_conversation_is_continued_by_the_strategy(tmp_path):
    turns = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "I have 2 apples."},
        {"role": "assistant", "content": "Noted."},
        {"role": "user", "content": "I get 2 more. How many now?"},
    ]

    def sent(request):
        roles = [(m.role, m.content) for m in request.messages]
        return (
            roles[0] == ("system", "Be brief.")
            and roles[1:3]
            == [
                ("user", "I have 2 apples."),
                ("assistant", "Noted."),
            ]
            and "I get 2 more" in roles[3][1]
            and len(roles) == 4
        )

    app, store = make_app(tmp_path, ScriptedModel([Step(["The answer is 4."], expect=sent)]))
    r = await post(app, chat("cot[extract_call=false]", messages=turns))
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "4"
    [result] = store.results(r.json()["ponder"]["run_id"])
    assert result.task.question == "I get 2 more. How many now?"
    assert [t["role"] for t in result.task.meta["context"]] == ["system", "user", "assistant"]


async def test_the_trace_endpoint_returns_every_call(tmp_path):
    app, _ = make_app(tmp_path, ScriptedModel([Step(["The answer is 4."] * 3)]))
    async with client(app) as c:
        done = (await c.post("/v1/chat/completions", json=chat())).json()
        trace = (await c.get(f"/v1/traces/{done['ponder']['trace_id']}")).json()
        missing = await c.get("/v1/traces/nope")
    assert trace["answer"] == "4" and trace["strategy"] == "self-consistency"
    assert trace["details"]["votes"] == {"4": 3}
    [call] = trace["trace"]
    assert call["event"] == "model_call" and len(call["completions"]) == 3
    assert error_of(missing, 404)["code"] == "trace_not_found"


async def test_a_restarted_server_keeps_its_traces_and_adds_to_the_same_run(tmp_path):
    first, store = make_app(tmp_path, ScriptedModel([Step(["The answer is 4."] * 3)]))
    old = (await post(first, chat())).json()["ponder"]["trace_id"]
    store.close()
    second, store = make_app(tmp_path, ScriptedModel([Step(["The answer is 5."] * 3)]))
    async with client(second) as c:
        new = (await c.post("/v1/chat/completions", json=chat())).json()["ponder"]["trace_id"]
        traces = [(await c.get(f"/v1/traces/{t}")).json() for t in (old, new)]
    assert [t["answer"] for t in traces] == ["4", "5"] and old != new
    [run] = store.runs()
    assert run["kind"] == "serve" and len(store.result_rows(run["id"])) == 2


async def test_completions_run_a_strategy_on_the_prompt(tmp_path):
    app, _ = make_app(tmp_path, ScriptedModel([Step(["The answer is 7."])]))
    r = await post(app, {"model": "cot[extract_call=false]", "prompt": "3 + 4?"}, "/v1/completions")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "text_completion" and body["choices"][0]["text"] == "7"


# Pass-through.


async def test_a_plain_backend_name_passes_the_request_through_with_its_parameters(tmp_path):
    expect = {"n": 2, "temperature": 0.4, "top_p": 0.9, "max_tokens": 20, "stop": ("\n",), "seed": 3}
    app, store = make_app(tmp_path, ScriptedModel([Step(["a", "b"], expect=expect)]))
    body = chat("scripted", n=2, temperature=0.4, top_p=0.9, max_tokens=20, stop="\n", seed=3)
    r = await post(app, body)
    assert r.status_code == 200, r.text
    assert [c["message"]["content"] for c in r.json()["choices"]] == ["a", "b"]
    assert r.json()["ponder"]["strategy"] is None
    [run] = [x for x in store.runs() if x["kind"] == "serve"]
    assert run["strategy"] == "pass-through"


async def test_tools_pass_through_and_calls_come_back_in_openai_shape(tmp_path):
    tool = {
        "type": "function",
        "function": {
            "name": "add",
            "description": "Add two numbers.",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            },
        },
    }
    step = Step([""], tool_calls=[[("add", '{"a": 2, "b": 2}')]], expect=lambda r: r.tools[0].name == "add")
    app, _ = make_app(tmp_path, ScriptedModel([step]))
    r = await post(app, chat("scripted", tools=[tool], tool_choice="auto"))
    assert r.status_code == 200, r.text
    [choice] = r.json()["choices"]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    [call] = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["function"] == {"name": "add", "arguments": '{"a": 2, "b": 2}'}


async def test_a_plain_model_name_goes_to_the_default_openai_server(tmp_path):
    seen = []

    def opener(spec, **kw):
        seen.append(spec)
        return ScriptedModel([Step(["hi"])], model_id=spec)

    store = Store(tmp_path / "serve.db")
    session = Session(None, store, opener=opener)
    app = create_app(session, ServeConfig(model="openai:base@http://127.0.0.1:9/v1"))
    r = await post(app, chat("gpt-4o-mini"))
    assert r.status_code == 200, r.text
    assert seen == ["openai:gpt-4o-mini@http://127.0.0.1:9/v1"]
    r = await post(app, chat("cot@openai:gpt-4o-mini@http://attacker.example/v1"))
    assert error_of(r, 404)["code"] == "model_not_found"


# Parameters a route cannot honour, and bad input.


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (chat("cot", temperature=0.5), "temperature"),
        (chat(SC, n=2), "n"),
        (chat(SC, stop=["x"]), "stop"),
        (chat(SC, top_p=0.5), "top_p"),
        (chat(SC, tools=[{"type": "function", "function": {"name": "f"}}]), "tools"),
        (chat("scripted", presence_penalty=0.5), "presence_penalty"),
        (chat("scripted", logit_bias={"1": 2.0}), "logit_bias"),
        (chat("scripted", logprobs=True), "logprobs"),
        (chat("scripted", top_logprobs=2), "top_logprobs"),
        (chat("scripted", parallel_tool_calls=False), "parallel_tool_calls"),
        (chat("scripted", messages=[{"role": "user", "content": "x", "name": "ann"}]), "messages[0].name"),
        (chat("scripted", response_format={"type": "json_object"}), "response_format"),
        (chat("scripted", stream_options={"include_usage": True}), "stream_options"),
        (chat("scripted", max_tokens=100_000), "max_tokens"),
        (chat("scripted", n=64), "n"),
        (chat("self-consistency[k=64]"), "model (k)"),
        (chat("self-consistency[k=two]"), "model"),
        (chat("cot", ponder={"strategy": "cot", "options": {"k": "x"}}), "ponder.options.k"),
        (chat("cot", ponder={"options": {"bogus": 1}}), "ponder.options"),
        (chat(SC, messages=[{"role": "assistant", "content": "hi"}]), "messages"),
        (chat("agent-math", messages=[{"role": "system", "content": "x"}, *USER]), "messages"),
        (chat("scripted", surprise=1), "surprise"),
        (chat("scripted", messages=[]), "messages"),
    ],
)
async def test_what_a_route_cannot_honour_is_refused_naming_it(tmp_path, body, param):
    app, _ = make_app(tmp_path, ScriptedModel([]))
    err = error_of(await post(app, body), 400)
    assert err["param"] == param and err["type"] == "invalid_request_error"


async def test_bodies_that_are_not_json_or_not_utf8_get_a_400(tmp_path):
    app, _ = make_app(tmp_path, ScriptedModel([]))
    async with client(app) as c:
        headers = {"content-type": "application/json"}
        for raw in (b"{not json", b'{"model": "\xff\xfe", "messages": []}', b"", b"[]"):
            r = await c.post("/v1/chat/completions", content=raw, headers=headers)
            assert r.status_code == 400, (raw, r.text)
            assert r.json()["error"]["type"] == "invalid_request_error"


async def test_an_unknown_model_is_a_404_and_models_lists_what_is_served(tmp_path):
    app, _ = make_app(tmp_path, ScriptedModel([]), aliases={"sc8": "self-consistency[k=8]"})
    async with client(app) as c:
        err = error_of(await c.post("/v1/chat/completions", json=chat("local:other")), 404)
        names = [m["id"] for m in (await c.get("/v1/models")).json()["data"]]
    assert err["code"] == "model_not_found" and err["param"] == "model"
    assert names[:2] == ["scripted", "sc8"] and "self-consistency@scripted" in names


# Keys and limits.


async def test_keys_are_required_when_configured_and_health_stays_open(tmp_path):
    key = "k" * 32
    app, _ = make_app(tmp_path, ScriptedModel([Step(["hi"])]), api_keys=["other-key-0123456789", key])
    async with client(app) as c:
        assert error_of(await c.get("/v1/models"), 401)["code"] == "invalid_api_key"
        wrong = await c.get("/v1/models", headers={"Authorization": "Bearer " + "k" * 31})
        assert error_of(wrong, 401)["message"] == "incorrect API key"
        ok = await c.post(
            "/v1/chat/completions", json=chat("scripted"), headers={"Authorization": f"Bearer {key}"}
        )
        assert ok.status_code == 200
        assert (await c.get("/health")).json()["status"] == "ok"


async def test_a_body_over_the_limit_is_refused_with_413(tmp_path):
    app, _ = make_app(tmp_path, ScriptedModel([]), limits=Limits(max_body_bytes=2048))
    big = chat("scripted", messages=[{"role": "user", "content": "x" * 5000}])
    async with client(app) as c:
        err = error_of(await c.post("/v1/chat/completions", json=big), 413)

        async def pieces():  # no Content-Length: counted while read
            data = json.dumps(big).encode()
            for i in range(0, len(data), 1000):
                yield data[i : i + 1000]

        chunked = await c.post(
            "/v1/chat/completions", content=pieces(), headers={"content-type": "application/json"}
        )
    assert err["code"] == "body_too_large"
    assert error_of(chunked, 413)["code"] == "body_too_large"


class Held:
    """A model whose calls wait until released."""

    model_id = "held"
    abilities = frozenset()

    def __init__(self):
        self.release = asyncio.Event()
        self.started = asyncio.Event()

    async def generate(self, request):
        self.started.set()
        await self.release.wait()
        return await StubModel().generate(request)


async def test_over_the_concurrency_limit_a_request_gets_429_and_retry_after(tmp_path):
    model = Held()
    app, _ = make_app(tmp_path, model, limits=Limits(concurrency=1, retry_after_s=3))
    async with client(app) as c:
        first = asyncio.create_task(c.post("/v1/chat/completions", json=chat("scripted")))
        await model.started.wait()
        busy = await c.post("/v1/chat/completions", json=chat("scripted"))
        assert (await c.get("/health")).json()["in_flight"] == 1
        model.release.set()
        assert (await first).status_code == 200
        again = await c.post("/v1/chat/completions", json=chat("scripted"))
    assert error_of(busy, 429)["code"] == "server_busy" and busy.headers["retry-after"] == "3"
    assert again.status_code == 200


async def test_a_request_past_its_time_limit_gets_504_and_is_stored_as_errored(tmp_path):
    model = Held()
    app, store = make_app(tmp_path, model, limits=Limits(timeout_s=0.05))
    r = await post(app, chat("scripted"))
    assert error_of(r, 504)["code"] == "timeout"
    [run] = [x for x in store.runs() if x["kind"] == "serve"]
    [result] = store.results(run["id"])
    assert result.error is not None and "Timeout" in result.error


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (TransientModelError("down"), "backend_unavailable"),
        (FatalModelError("400 from upstream"), "backend_error"),
    ],
)
async def test_a_failing_backend_is_a_502_and_the_failure_is_stored(tmp_path, error, code):
    app, store = make_app(tmp_path, ScriptedModel([Step(error=error)]))
    r = await post(app, chat("scripted"))
    assert error_of(r, 502)["code"] == code
    [run] = [x for x in store.runs() if x["kind"] == "serve"]
    assert "down" in store.results(run["id"])[0].error or "400" in store.results(run["id"])[0].error


# Streaming.


def events(text):
    """The data of each server-sent event, JSON-decoded except `[DONE]`; comments skipped."""
    out = []
    for block in text.split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        if lines:
            assert all(line.startswith("data: ") for line in lines), block
            data = "".join(line[len("data: ") :] for line in lines)
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


async def test_a_strategy_streams_its_decided_answer_then_usage_then_done(tmp_path):
    app, _ = make_app(tmp_path, ScriptedModel([Step(["The answer is 4."] * 3)]))
    r = await post(app, chat(stream=True, stream_options={"include_usage": True}))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    got = events(r.text)
    assert got[-1] == "[DONE]"
    chunks = got[:-1]
    assert {c["id"] for c in chunks} == {chunks[0]["id"]} and all(
        c["object"] == "chat.completion.chunk" for c in chunks
    )
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "4"
    finish = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert [c["choices"][0]["finish_reason"] for c in finish] == ["stop"] and finish[0]["ponder"][
        "answer"
    ] == "4"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 12
    assert all(c["usage"] is None for c in chunks[:-1])


async def test_a_pass_through_streams_tokens_as_they_come(tmp_path):
    app, store = make_app(tmp_path, ScriptedModel([Step(["one two three"])]))
    r = await post(app, chat("scripted", stream=True))
    got = events(r.text)
    pieces = [
        c["choices"][0]["delta"].get("content") for c in got[:-1] if c["choices"][0]["finish_reason"] is None
    ]
    assert pieces == ["", "one", " two", " three"]
    assert "usage" not in got[0] and got[-1] == "[DONE]"
    [run] = [x for x in store.runs() if x["kind"] == "serve"]
    assert store.results(run["id"])[0].answer == "one two three"


class Breaks:
    """Streams one piece, then fails."""

    model_id = "breaks"
    abilities = frozenset({"stream"})

    async def generate(self, request):
        raise AssertionError("streamed only")

    async def stream(self, request):
        from ponder.contract import Delta

        yield Delta("partial")
        raise TransientModelError("connection dropped")


async def test_an_error_after_the_stream_began_is_an_error_event_and_is_stored(tmp_path):
    app, store = make_app(tmp_path, Breaks())
    r = await post(app, chat("scripted", stream=True))
    got = events(r.text)
    assert got[-1]["error"]["code"] == "backend_unavailable" and "[DONE]" not in got
    [run] = [x for x in store.runs() if x["kind"] == "serve"]
    assert "connection dropped" in store.results(run["id"])[0].error


async def test_keep_alive_comments_flow_while_a_strategy_decides(tmp_path, monkeypatch):
    monkeypatch.setattr(app_module, "KEEP_ALIVE_S", 0.01)
    model = Held()
    app, _ = make_app(tmp_path, model)

    async def release_later():
        await model.started.wait()
        await asyncio.sleep(0.1)
        model.release.set()

    releaser = asyncio.create_task(release_later())
    r = await post(app, chat("direct", stream=True))
    await releaser
    assert r.text.startswith(": keep-alive\n\n") and events(r.text)[-1] == "[DONE]"


async def test_a_completions_stream_is_text_completion_chunks(tmp_path):
    app, _ = make_app(tmp_path, ScriptedModel([Step(["x y"])]))
    r = await post(app, {"model": "scripted", "prompt": "p", "stream": True}, "/v1/completions")
    got = events(r.text)
    assert [c["object"] for c in got[:-1]] == ["text_completion"] * 3
    assert "".join(c["choices"][0]["text"] for c in got[:-1]) == "x y"


async def test_a_served_request_is_viewable_in_ponder_view(tmp_path):
    from ponder.view.app import create_app as view_app

    app, store = make_app(tmp_path, ScriptedModel([Step(["The answer is 4."] * 3)]))
    trace_id = (await post(app, chat())).json()["ponder"]["trace_id"]
    async with client(view_app(store.path)) as c:
        page = await c.get(f"/runs/1/samples/{trace_id}")
    assert page.status_code == 200 and "What is 2 + 2?" in page.text
    assert "The answer is <mark>4</mark>." in page.text  # the chain, its answer marked


async def test_a_strategy_that_fails_midway_is_stored_with_the_calls_it_made(tmp_path):
    steps = [Step(["The chain.", "Another."]), Step(error=TransientModelError("extraction died"))]
    app, store = make_app(tmp_path, ScriptedModel(steps))
    r = await post(app, chat("self-consistency[k=2]"))  # zero-shot cot: an extraction call per chain
    assert error_of(r, 502)["code"] == "backend_unavailable"
    [run] = [x for x in store.runs() if x["kind"] == "serve"]
    [failed] = store.results(run["id"])
    assert "extraction died" in failed.error and failed.compute.calls == 1
    assert [c.completions[0].text for c in failed.calls] == ["The chain."]


async def test_a_backend_that_cannot_be_opened_fails_before_the_stream_begins(tmp_path):
    from ponder.errors import ModelUnavailable

    def opener(spec, **kw):
        raise ModelUnavailable(f"{spec}: the model file is missing")

    session = Session(None, Store(tmp_path / "serve.db"), opener=opener)
    app = create_app(session, ServeConfig(model="local"))
    r = await post(app, chat("local", stream=True))
    err = error_of(r, 502)
    assert err["code"] == "backend_unavailable" and err["message"].endswith(
        "local: the model file is missing"
    )
