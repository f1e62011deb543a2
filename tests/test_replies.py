import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ponder.errors import MalformedReply, TransientModelError
from ponder.models.openai_compat import OpenAICompatModel
from ponder.models.replies import (
    ContentPart,
    ReplyShapeError,
    normalise_content,
    parse_reply,
    replace_invalid,
)
from ponder.models.retry import RetryPolicy
from ponder.types import Completion, GenerationRequest

TRIES = 3
FAST = RetryPolicy(attempts=TRIES, base_s=0.001, cap_s=0.002)
CHAT_URL = "http://127.0.0.1:9/v1/chat/completions"
TEXT_URL = "http://127.0.0.1:9/v1/completions"


def good(content="a", **extra):
    return {
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3},
        **extra,
    }


def with_usage(usage):
    return {**good(), "usage": usage}


def with_choice(**fields):
    return {"choices": [{"index": 0, "message": {"content": "a"}, **fields}]}


class Replies:
    """A mock transport answering each request with the next body (raw bytes, or an object as JSON)."""

    def __init__(self, *bodies):
        self.bodies = list(bodies)
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        body = self.bodies.pop(0) if len(self.bodies) > 1 else self.bodies[0]
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(200, content=raw, headers={"content-type": "application/json"})


def model(replies):
    return OpenAICompatModel(
        "m", "http://127.0.0.1:9/v1", "sk-test", retry=FAST, transport=httpx.MockTransport(replies), seed=0
    )


MALFORMED_CHAT = [
    ([], "", "expected an object, got a list"),
    ("hello", "", 'expected an object, got a string ("hello")'),
    (None, "", "expected an object, got null"),
    ({}, "choices", "missing"),
    ({"object": "chat.completion"}, "choices", "missing"),
    ({"choices": []}, "choices", "expected at least 1 item, got 0"),
    ({"choices": "abc"}, "choices", "expected a list"),
    ({"choices": [None]}, "choices.0", "expected an object, got null"),
    ({"choices": [{}]}, "choices.0.message", "missing"),
    ({"choices": [{"message": "x"}]}, "choices.0.message", "expected an object"),
    ({"choices": [{"message": {"content": 5}}]}, "choices.0.message.content", "expected a string, a list"),
    ({"choices": [{"message": {"content": {"text": "a"}}}]}, "choices.0.message.content", "got an object"),
    ({"choices": [{"message": {"content": [{"type": "text"}]}}]}, "choices.0.message.content.0", "text part"),
    (
        {"choices": [{"message": {"content": [{"type": "text", "text": 1}]}}]},
        "choices.0.message.content.0.text",
        "expected a string",
    ),
    ({"choices": [{"message": {"content": ["a"]}}]}, "choices.0.message.content.0", "expected an object"),
    (with_usage("lots"), "usage", 'expected an object, got a string ("lots")'),
    (with_usage({"prompt_tokens": "7"}), "usage.prompt_tokens", "expected an integer"),
    (with_usage({"prompt_tokens": -1}), "usage.prompt_tokens", "expected at least 0"),
    (with_usage({"completion_tokens": 2.5}), "usage.completion_tokens", "expected an integer"),
    (with_usage({"completion_tokens": True}), "usage.completion_tokens", "got a boolean"),
    (with_usage({"prompt_tokens": 10**30}), "usage.prompt_tokens", "expected at most"),
    (with_usage({"prompt_tokens": 1e300}), "usage.prompt_tokens", "expected at most"),
    (
        with_usage({"prompt_tokens_details": {"cached_tokens": "all"}}),
        "usage.prompt_tokens_details.cached_tokens",
        "expected an integer",
    ),
    (with_choice(index="0"), "choices.0.index", 'expected an integer, got a string ("0")'),
    (with_choice(index=-1), "choices.0.index", "expected at least 0"),
    (with_choice(finish_reason=3), "choices.0.finish_reason", "expected a string"),
    (with_choice(logprobs="zz"), "choices.0.logprobs", "expected an object"),
    (with_choice(logprobs={"content": "zz"}), "choices.0.logprobs.content", "expected a list"),
    (with_choice(logprobs={"content": [{"token": "a"}]}), "choices.0.logprobs.content.0.logprob", "missing"),
    (
        with_choice(logprobs={"content": [{"token": "a", "logprob": "-1"}]}),
        "choices.0.logprobs.content.0.logprob",
        "expected a number",
    ),
    (
        with_choice(logprobs={"content": [{"token": 5, "logprob": -1}]}),
        "choices.0.logprobs.content.0.token",
        "expected a string",
    ),
    (
        with_choice(logprobs={"content": [{"token": "a", "logprob": -1, "top_logprobs": [None]}]}),
        "choices.0.logprobs.content.0.top_logprobs.0",
        "expected an object",
    ),
    (
        b'{"choices": [{"message": {"content": "a"}, "logprobs": {"content": [{"token": "a", "logprob": NaN}]}}]}',
        "choices.0.logprobs.content.0.logprob",
        "expected a finite number",
    ),
    (
        b'{"choices": [{"message": {"content": "a"}, "logprobs": {"content": [{"token": "a", "logprob": -1e999}]}}]}',
        "choices.0.logprobs.content.0.logprob",
        "expected a finite number",
    ),
    (b"<html>busy</html>", "", "not JSON"),
    (b'{"choices": [', "", "not JSON"),
]


@pytest.mark.parametrize("body, field, problem", MALFORMED_CHAT)
async def test_malformed_chat_replies_are_retried_then_named(body, field, problem):
    replies = Replies(body)
    m = model(replies)
    with pytest.raises(MalformedReply) as e:
        await m.generate(GenerationRequest.chat("q"))
    message = str(e.value)
    assert isinstance(e.value, TransientModelError)
    assert replies.calls == TRIES
    assert message.startswith(f"{CHAT_URL}: malformed reply (")
    assert message.endswith(f"(gave up after {TRIES} tries)")
    detail = message[len(f"{CHAT_URL}: malformed reply (") :]
    assert detail.startswith(f"{field}: " if field else problem[:10])
    assert problem in detail
    assert "\n" not in message and len(message) < 300


MALFORMED_COMPLETIONS = [
    ({"choices": [{"text": None}]}, "choices.0.text", "expected a string, got null"),
    ({"choices": [{}]}, "choices.0.text", "missing"),
    ({"choices": [{"text": ["a", "b"]}]}, "choices.0.text", "got a list"),
    (
        {"choices": [{"text": "a", "logprobs": {"tokens": "a"}}]},
        "choices.0.logprobs.tokens",
        "expected a list",
    ),
    (
        {"choices": [{"text": "a", "logprobs": {"tokens": ["a", "b"], "token_logprobs": [-1.0]}}]},
        "choices.0.logprobs",
        "token_logprobs has 1 items for 2 tokens",
    ),
    (
        {
            "choices": [
                {"text": "a", "logprobs": {"tokens": ["a"], "token_logprobs": [-1.0], "top_logprobs": [[]]}}
            ]
        },
        "choices.0.logprobs.top_logprobs.0",
        "expected an object",
    ),
    (
        {"choices": [{"text": "a", "logprobs": {"tokens": ["a"], "top_logprobs": [{"a": "x"}]}}]},
        "choices.0.logprobs.top_logprobs.0.a",
        "expected a number",
    ),
]


@pytest.mark.parametrize("body, field, problem", MALFORMED_COMPLETIONS)
async def test_malformed_completions_replies_are_retried_then_named(body, field, problem):
    replies = Replies(body)
    with pytest.raises(MalformedReply) as e:
        await model(replies).generate(GenerationRequest(prompt="2+2="))
    assert replies.calls == TRIES
    assert str(e.value).startswith(f"{TEXT_URL}: malformed reply ({field}: ")
    assert problem in str(e.value)


async def test_a_malformed_reply_followed_by_a_good_one_succeeds():
    replies = Replies({"choices": [None]}, b"nope", good("42"))
    m = model(replies)
    out = await m.generate(GenerationRequest.chat("q"))
    assert out[0].text == "42" and out[0].notes == () and m.http_requests == 3


async def test_the_last_failure_decides_the_error():
    def handler(request):
        handler.calls += 1
        if handler.calls < TRIES:
            return httpx.Response(200, json={"choices": "x"})
        return httpx.Response(503, text="busy")

    handler.calls = 0
    with pytest.raises(TransientModelError) as e:
        await model(handler).generate(GenerationRequest.chat("q"))
    assert not isinstance(e.value, MalformedReply) and "HTTP 503" in str(e.value)


async def test_lenient_where_servers_differ():
    body = {
        "id": "x",
        "object": "chat.completion",
        "system_fingerprint": None,
        "choices": [
            {"message": {"content": "b", "tool_calls": []}, "finish_reason": None, "index": 1},
            {
                "message": {"content": "a"},
                "finish_reason": "length",
                "extra": {"k": 1},
                "logprobs": None,
                "index": 0,
            },
        ],
    }
    out = await model(Replies(body)).generate(GenerationRequest.chat("q", n=2, temperature=0.7))
    assert [c.text for c in out] == ["a", "b"]
    assert [c.finish_reason for c in out] == ["length", "stop"]
    assert all(c.usage.prompt_tokens == 0 and c.usage.completion_tokens == 0 for c in out)

    no_index = {
        "choices": [{"message": {"content": "first"}}, {"message": {"content": "second"}}],
        "usage": {"prompt_tokens": 5.0, "completion_tokens": None, "prompt_tokens_details": None},
    }
    out = await model(Replies(no_index)).generate(GenerationRequest.chat("q", n=2, temperature=0.7))
    assert [c.text for c in out] == ["first", "second"] and out[0].usage.prompt_tokens == 5


def chat_raw(content_json: str) -> bytes:
    return (
        f'{{"choices": [{{"index": 0, "message": {{"role": "assistant", "content": {content_json}}}, '
        '"finish_reason": "stop"}], "usage": {"prompt_tokens": 2, "completion_tokens": 1}}'
    ).encode()


def storable(c: Completion) -> None:
    json.dumps(c.to_dict(), ensure_ascii=False).encode("utf-8")
    json.dumps(c.to_dict())
    c.text.encode("utf-8")
    assert Completion.from_dict(json.loads(json.dumps(c.to_dict()))) == c


@pytest.mark.parametrize(
    "content_json, text, notes",
    [
        (r'"a\ud800b"', "a\ufffdb", ("replaced 1 invalid code point",)),
        (
            r'"\udfff\ud800 ok \ud83d\ude00"',
            "\ufffd\ufffd ok \U0001f600",
            ("replaced 2 invalid code points",),
        ),
        ('[{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]', "ab", ("joined 2 content parts",)),
        (
            '[{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "x"}}]',
            "a",
            ("joined 1 content part", "ignored 1 non-text content part (image_url)"),
        ),
        (
            r'[{"type": "text", "text": "x\ud800"}, {"type": "output_text", "text": "y"}]',
            "x\ufffdy",
            ("joined 2 content parts", "replaced 1 invalid code point"),
        ),
        ("[]", "", ("joined 0 content parts",)),
        ("null", "", ("content was null: read as empty text",)),
        ('"plain"', "plain", ()),
    ],
)
async def test_text_is_normalised_at_the_boundary_with_notes(content_json, text, notes):
    out = await model(Replies(chat_raw(content_json))).generate(GenerationRequest.chat("q"))
    assert out[0].text == text and out[0].notes == notes
    storable(out[0])


async def test_completions_text_and_logprob_tokens_are_normalised():
    raw = (
        b'{"choices": [{"text": "4\\ud800", "logprobs": {"tokens": ["4", "\\udc80"], '
        b'"token_logprobs": [null, -0.5], "top_logprobs": [null, {"\\udc80": -0.5}]}}]}'
    )
    out = await model(Replies(raw)).generate(GenerationRequest(prompt="2+2=", logprobs=True, top_logprobs=1))
    c = out[0]
    assert c.text == "4\ufffd"
    assert c.notes == ("replaced 1 invalid code point", "replaced 2 invalid code points in logprob tokens")
    assert [t.token for t in c.logprobs] == ["4", "\ufffd"] and c.logprobs[0].logprob == 0.0
    assert c.logprobs[1].top == (("\ufffd", -0.5),)
    storable(c)


def test_normalise_content_is_a_pure_function():
    parts = (
        ContentPart(type="text", text="a"),
        ContentPart(type="refusal", refusal="no"),
        ContentPart(type="text", text="\ud800"),
    )
    assert normalise_content(parts) == (
        "a\ufffd",
        (
            "joined 2 content parts",
            "ignored 1 non-text content part (refusal)",
            "replaced 1 invalid code point",
        ),
    )
    assert normalise_content("x") == ("x", ())
    assert replace_invalid("ok") == ("ok", 0)


def test_parse_reply_keeps_valid_surrogate_pairs_and_reads_counts_written_as_floats():
    reply = parse_reply(
        {"choices": [{"message": {"content": "\U0001f600"}}], "usage": {"prompt_tokens": 3.0}}, chat=True
    )
    assert reply.usage.prompt_tokens == 3 and reply.choices[0].message.content == "\U0001f600"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    [
        "choices",
        "message",
        "content",
        "text",
        "usage",
        "index",
        "logprobs",
        "tokens",
        "prompt_tokens",
        "token",
        "logprob",
        "type",
        "top_logprobs",
        "finish_reason",
    ]
)
NEAR = st.recursive(
    st.none() | st.integers() | st.floats() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(FIELDS, inner, max_size=4),
    max_leaves=16,
)


@given(st.one_of(JSON, NEAR), st.booleans())
def test_any_json_is_either_a_reply_or_one_short_line_that_says_why_not(data, chat):
    try:
        reply = parse_reply(data, chat=chat)
    except ReplyShapeError as e:
        message = str(e)
        assert message and "\n" not in message and len(message) < 400
        message.encode("utf-8")
    else:
        for choice in reply.choices:
            text = normalise_content(choice.message.content)[0] if chat else replace_invalid(choice.text)[0]
            text.encode("utf-8")
