import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ponder.errors import RequestError
from ponder.types import GenerationRequest, Message, cache_key

texts = st.text(max_size=40)
requests = st.builds(
    GenerationRequest,
    messages=st.lists(
        st.builds(Message, role=st.sampled_from(["system", "user", "assistant"]), content=texts),
        min_size=1,
        max_size=3,
    ).map(tuple),
    assistant_prefix=texts,
    n=st.integers(1, 8),
    temperature=st.floats(0, 2, allow_nan=False),
    top_p=st.floats(0.01, 1, allow_nan=False),
    max_tokens=st.integers(1, 4096),
    stop=st.lists(texts, max_size=3).map(tuple),
    seed=st.none() | st.integers(0, 2**31),
    logprobs=st.booleans(),
    top_logprobs=st.integers(0, 5),
)

# a different value for each field that is part of the key
CHANGES = {
    "messages": lambda r: r.messages + (Message("user", "one more"),),
    "assistant_prefix": lambda r: r.assistant_prefix + "x",
    "temperature": lambda r: r.temperature + 0.5,
    "top_p": lambda r: r.top_p / 2,
    "max_tokens": lambda r: r.max_tokens + 1,
    "stop": lambda r: r.stop + ("END",),
    "seed": lambda r: 7 if r.seed is None else r.seed + 1,
    "logprobs": lambda r: not r.logprobs,
    "top_logprobs": lambda r: r.top_logprobs + 1,
}


@given(requests)
def test_equal_requests_hash_equal(req):
    twin = GenerationRequest.from_dict(req.to_dict())
    assert twin == req
    assert twin.canonical_json() == req.canonical_json()
    assert cache_key("m", twin) == cache_key("m", req)


@given(requests, st.sampled_from(sorted(CHANGES)))
def test_any_field_change_changes_the_key(req, name):
    changed = dataclasses.replace(req, **{name: CHANGES[name](req)})
    assert cache_key("m", changed) != cache_key("m", req)


@given(requests)
def test_model_identity_is_part_of_the_key_and_n_is_not(req):
    assert cache_key("a", req) != cache_key("b", req)
    assert cache_key("a", req.with_n(req.n + 1)) == cache_key("a", req)


def test_int_and_float_temperature_give_the_same_key():
    a = GenerationRequest.chat("hi", temperature=1)
    b = GenerationRequest.chat("hi", temperature=1.0)
    assert cache_key("m", a) == cache_key("m", b)


def test_raw_prompt_and_chat_differ():
    assert cache_key("m", GenerationRequest(prompt="hi")) != cache_key("m", GenerationRequest.chat("hi"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "either messages or a prompt"),
        ({"prompt": "x", "messages": (Message("user", "y"),)}, "either messages or a prompt"),
        ({"prompt": "x", "n": 0}, "n must be"),
        ({"prompt": "x", "max_tokens": 0}, "max_tokens"),
        ({"prompt": "x", "temperature": -1}, "temperature"),
        ({"prompt": "x", "top_p": 0}, "top_p"),
    ],
)
def test_invalid_requests_are_refused(kwargs, message):
    with pytest.raises(RequestError, match=message):
        GenerationRequest(**kwargs)


def test_messages_given_as_dicts_become_messages():
    r = GenerationRequest(messages=[{"role": "user", "content": "hi"}], stop=["a"])
    assert r.messages == (Message("user", "hi"),) and r.stop == ("a",)


@pytest.mark.parametrize(
    "a, b",
    [
        ({"temperature": 0.0}, {"temperature": -0.0}),
        ({"temperature": 1}, {"temperature": 1.0}),
        ({"seed": 1}, {"seed": 1.0}),
        ({"max_tokens": 5}, {"max_tokens": 5.0}),
        ({"n": 2, "top_logprobs": 3}, {"n": 2.0, "top_logprobs": 3.0}),
        ({"top_p": 1}, {"top_p": 1.0}),
        ({"stop": ("a", "b")}, {"stop": ["a", "b"]}),
    ],
)
def test_equal_requests_in_different_spellings_hash_equal(a, b):
    ra, rb = GenerationRequest.chat("hi", **a), GenerationRequest.chat("hi", **b)
    assert ra == rb and ra.canonical_json() == rb.canonical_json()
    assert cache_key("m", ra) == cache_key("m", rb)
    assert hash(ra) == hash(rb)


def test_fields_are_stored_in_their_canonical_types():
    r = GenerationRequest.chat("hi", temperature=-0.0, seed=3.0, max_tokens=5.0, n=2.0, top_p=1)
    assert type(r.max_tokens) is int and type(r.n) is int and type(r.seed) is int
    assert type(r.temperature) is float and str(r.temperature) == "0.0" and type(r.top_p) is float
    assert GenerationRequest.from_dict(r.to_dict()) == r


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"seed": True}, "seed must be an integer"),
        ({"seed": 1.5}, "seed must be an integer"),
        ({"seed": "1"}, "seed must be an integer"),
        ({"n": True}, "n must be an integer"),
        ({"n": 2.5}, "n must be an integer"),
        ({"n": float("nan")}, "n must be an integer"),
        ({"max_tokens": 5.5}, "max_tokens must be an integer"),
        ({"max_tokens": float("inf")}, "max_tokens must be an integer"),
        ({"max_tokens": "5"}, "max_tokens must be an integer"),
        ({"top_logprobs": -1}, "top_logprobs must be at least 0"),
        ({"top_logprobs": 1.5}, "top_logprobs must be an integer"),
        ({"temperature": float("nan")}, "temperature must be a finite number"),
        ({"temperature": float("inf")}, "temperature must be a finite number"),
        ({"temperature": True}, "temperature must be a number"),
        ({"temperature": "0.7"}, "temperature must be a number"),
        ({"temperature": -0.1}, "temperature must be >= 0"),
        ({"top_p": float("nan")}, "top_p must be a finite number"),
        ({"top_p": 1.5}, "top_p must be in"),
        ({"stop": "\n"}, "stop must be a sequence of strings"),
        ({"stop": ("a", 1)}, "stop must be a sequence of strings"),
        ({"stop": None}, "stop must be a sequence of strings"),
        ({"logprobs": 1}, "logprobs must be true or false"),
        ({"assistant_prefix": None}, "assistant_prefix must be a string"),
    ],
)
def test_nonsense_fields_are_refused_by_name(kwargs, message):
    with pytest.raises(RequestError, match=message):
        GenerationRequest.chat("hi", **kwargs)


@pytest.mark.parametrize(
    "messages, message",
    [
        ((Message("robot", "hi"),), r"messages\[0\].role must be one of system, user, assistant"),
        ((Message("user", "hi"), Message("user", 3)), r"messages\[1\].content must be a string"),
        (({"role": "user"},), r"messages\[0\] must have the fields role and content"),
        (
            ({"role": "user", "content": "hi", "name": "x"},),
            r"messages\[0\] must have the fields role and content",
        ),
        (("hi",), r"messages\[0\] must be a Message or a dict"),
        ("hi", "messages must be a sequence of messages"),
    ],
)
def test_malformed_messages_are_refused(messages, message):
    with pytest.raises(RequestError, match=message):
        GenerationRequest(messages=messages)


def test_a_prompt_must_be_text():
    with pytest.raises(RequestError, match="prompt must be a string"):
        GenerationRequest(prompt=b"hi")
