"""Which strategy on which backend a request names: the model field, aliases, the `ponder`
extension, and the backends a request may reach."""

from __future__ import annotations

import pytest

from ponder.server.errors import APIError
from ponder.server.routing import Backends, Route, parse_model, route_for
from ponder.server.schema import PonderOptions

LOCAL = Backends(
    "local",
    ("local:qwen2.5-coder-1.5b", "openai:m@http://10.0.0.5:8080/v1"),
    {"sc8": "self-consistency[k=8]"},
)


@pytest.mark.parametrize(
    ("field", "route"),
    [
        ("local", Route("local")),
        ("local:qwen2.5-coder-1.5b", Route("local:qwen2.5-coder-1.5b")),
        ("cot", Route("local", "cot")),
        ("self-consistency[k=8]@local", Route("local", "self-consistency", {"k": 8})),
        (
            "self-consistency[k=4,temperature=0.5,kind=math,reply=chain]@local:qwen2.5-coder-1.5b",
            Route(
                "local:qwen2.5-coder-1.5b", "self-consistency", {"k": 4, "temperature": 0.5}, "math", "chain"
            ),
        ),
        (
            "chain-of-draft@openai:m@http://10.0.0.5:8080/v1",
            Route("openai:m@http://10.0.0.5:8080/v1", "chain-of-draft"),
        ),
        # Another model at a served server's URL is that server's to answer.
        ("cot@openai:other@http://10.0.0.5:8080/v1", Route("openai:other@http://10.0.0.5:8080/v1", "cot")),
        ("sc8", Route("local", "self-consistency", {"k": 8})),
        ("beam-search[width=2,expand=2]", Route("local", "beam-search", {"width": 2, "expand": 2})),
    ],
)
def test_the_model_field_names_the_route(field, route):
    assert parse_model(field, LOCAL) == route


@pytest.mark.parametrize(
    ("field", "status", "words"),
    [
        ("gpt-4o-mini", 404, "not served here"),
        ("cot@local:/tmp/other.gguf", 404, "not served here"),
        ("cot@openai:m@http://evil.example/v1", 404, "not served here"),
        ("self-consistency[k=0]", 400, "k must be at least 1"),
        ("self-consistency[k=8", 400, "brackets"),
        ("cot[k=8]", 400, "does not take option(s) k"),
        ("cot[kind=poem]", 400, "kind must be one of"),
        ("cot[reply=all]", 400, "reply must be answer or chain"),
    ],
)
def test_unserved_backends_and_bad_options_are_refused(field, status, words):
    with pytest.raises(APIError) as e:
        parse_model(field, LOCAL)
    assert e.value.status == status and words in e.value.message and e.value.param == "model"


def test_credentials_in_a_url_are_redacted_from_the_route_name():
    b = Backends("openai:m@http://user:secret@10.0.0.5:8080/v1")
    route = parse_model("cot", b)
    assert route.backend == "openai:m@http://user:secret@10.0.0.5:8080/v1"
    assert "secret" not in route.name


def test_a_plain_name_reaches_the_default_openai_server_under_that_name():
    b = Backends("openai:base@http://127.0.0.1:8080/v1")
    assert parse_model("gpt-4o-mini", b) == Route("openai:gpt-4o-mini@http://127.0.0.1:8080/v1")


def test_the_extension_wins_over_the_field_and_types_its_options():
    ext = PonderOptions(strategy="best-of-n", options={"k": 3, "judge-mode": "score"}, reply="chain")
    route = route_for("self-consistency[k=8]@local", ext, LOCAL)
    assert route == Route("local", "best-of-n", {"k": 3, "judge_mode": "score"}, None, "chain")
    same = route_for("self-consistency[k=8]", PonderOptions(options={"temperature": 1}), LOCAL)
    assert same.options == {"k": 8, "temperature": 1.0}


@pytest.mark.parametrize(
    ("ext", "words"),
    [
        (PonderOptions(strategy="nope"), "unknown strategy"),
        (PonderOptions(strategy="cot", options={"k": 2}), "does not take option(s) k"),
        (PonderOptions(strategy="self-consistency", options={"k": 2.5}), "expected a int"),
        (PonderOptions(strategy="self-consistency", options={"k": True}), "expected a int"),
        (PonderOptions(strategy="self-consistency", options={"temperature": -1}), "at least 0"),
        (PonderOptions(kind="math"), "need a strategy"),
    ],
)
def test_bad_extensions_are_refused(ext, words):
    with pytest.raises(APIError) as e:
        route_for("local", ext, LOCAL)
    assert e.value.status == 400 and words in e.value.message
