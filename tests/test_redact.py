import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ponder.errors import ConfigError, FatalModelError, MalformedReply, ModelUnavailable, TransientModelError
from ponder.models import get_model
from ponder.models.openai_compat import OpenAICompatModel
from ponder.models.retry import RetryPolicy
from ponder.redact import redact_query, redact_spec, redact_url, url_secrets
from ponder.types import GenerationRequest

FAST = RetryPolicy(attempts=2, base_s=0.001, cap_s=0.002)


@pytest.mark.parametrize(
    "url, shown",
    [
        ("http://user:pw@host/v1", "http://***@host/v1"),
        ("http://user@host:8000/v1", "http://***@host:8000/v1"),
        ("https://host/v1?api-key=SECRET", "https://host/v1?api-key=***"),
        ("https://host/v1?a=1&b=two&flag", "https://host/v1?a=***&b=***&***"),
        ("https://u:p@host/v1?key=s3cr3t#token=abc", "https://***@host/v1?key=***#token=***"),
        ("http://[::1]:8000/v1", "http://[::1]:8000/v1"),
        ("http://user:pw@[::1]:8000/v1?k=v", "http://***@[::1]:8000/v1?k=***"),
        ("http://u:p@w@host/v1", "http://***@host/v1"),
        ("http://host/path@with-at/v1", "http://host/path@with-at/v1"),
        ("http://host/v1", "http://host/v1"),
        ("https://host/v1?k=", "https://host/v1?k=***"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown
    assert redact_url(shown) == shown


@pytest.mark.parametrize("text", ["", "hello", "local", "not a url?k=v", "user:pw@host", "://", "[::1]"])
def test_strings_that_are_not_urls_come_back_unchanged(text):
    assert redact_url(text) == text
    assert redact_spec(text) == text


def test_redact_query():
    assert redact_query("a=1&b=&c") == "a=***&b=***&***"


def test_url_secrets_lists_what_redaction_masks_longest_first():
    found = url_secrets("https://alice:hunter%2022@host/v1?api-key=TOPSECRET&v=1#tok=abcdef")
    assert set(found) == {
        "alice:hunter%2022",
        "alice:hunter 22",
        "hunter%2022",
        "hunter 22",
        "alice",
        "TOPSECRET",
        "abcdef",
    }
    assert list(found) == sorted(found, key=len, reverse=True)
    assert url_secrets("http://host/v1") == () and url_secrets("not a url") == ()


@pytest.mark.parametrize(
    "spec, shown",
    [
        ("openai:gpt@http://u:pw@host/v1", "openai:gpt@http://***@host/v1"),
        (
            "openai:gpt@https://host/v1?api-key=SECRET[timeout=5,retries=3]",
            "openai:gpt@https://host/v1?api-key=***[timeout=5,retries=3]",
        ),
        ("openai:gpt@http://[::1]:8000/v1", "openai:gpt@http://[::1]:8000/v1"),
        ("openai:gpt@https://host/v1?k=[SECRET=x]", "openai:gpt@https://host/v1?k=***"),
        ("local", "local"),
        ("local:/models/a@b.gguf", "local:/models/a@b.gguf"),
        ("scripted", "scripted"),
        ("opnai:gpt@http://u:pw@host/v1", "opnai:gpt@http://***@host/v1"),
        ("openai:gpt", "openai:gpt"),
    ],
)
def test_redact_spec(spec, shown):
    assert redact_spec(spec) == shown
    assert redact_spec(shown) == shown


@given(st.text())
def test_redaction_never_raises_and_is_idempotent(text):
    for f in (redact_url, redact_spec):
        once = f(text)
        assert f(once) == once


@given(
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=4).filter(
        lambda s: all(c not in s for c in "&#=@/?*") and s not in "openai:m@https://host/v1?api-key=***"
    )
)
def test_query_secrets_never_survive(secret):
    url = f"https://host/v1?api-key={secret}"
    assert secret not in redact_url(url)
    assert secret not in redact_spec(f"openai:m@{url}")


def model_with(url, handler, **kw):
    return OpenAICompatModel(
        "m", url, "sk-live-KEY", retry=FAST, transport=httpx.MockTransport(handler), **kw
    )


SECRET_URL = "https://alice:hunter22@llm.example/v1?api-key=TOPSECRET"


async def test_a_model_keeps_credentials_out_of_its_identity_but_uses_them():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json={"choices": [{"message": {"content": "ok"}}]})

    m = model_with("https://llm.example/v1?api-key=TOPSECRET", handler)
    assert m.model_id == "openai:m@https://llm.example/v1?api-key=***"
    assert "TOPSECRET" not in m.base_url
    out = await m.generate(GenerationRequest.chat("q"))
    assert out[0].text == "ok"
    assert seen[0].url.path == "/v1/chat/completions"
    assert seen[0].url.params["api-key"] == "TOPSECRET"
    assert seen[0].headers["authorization"] == "Bearer sk-live-KEY"

    m = model_with(SECRET_URL, handler)
    assert m.model_id == "openai:m@https://***@llm.example/v1?api-key=***"
    await m.generate(GenerationRequest.chat("q"))
    assert seen[1].url.username == "alice" and seen[1].url.params["api-key"] == "TOPSECRET"


@pytest.mark.parametrize(
    "reply, error",
    [
        (httpx.Response(401, text="bad key sk-live-KEY for alice:hunter22"), FatalModelError),
        (httpx.Response(400, text="context too long"), FatalModelError),
        (httpx.Response(500, text="TOPSECRET leaked"), TransientModelError),
        (httpx.Response(200, json={"choices": None}), MalformedReply),
        (httpx.Response(200, text="<html>TOPSECRET</html>"), MalformedReply),
        (httpx.ConnectError("refused"), ModelUnavailable),
    ],
)
async def test_error_messages_show_the_redacted_url(reply, error):
    def handler(request):
        if isinstance(reply, Exception):
            raise reply
        return reply

    m = model_with(SECRET_URL, handler)
    with pytest.raises(error) as e:
        await m.generate(GenerationRequest.chat("q"))
    message = str(e.value)
    assert "https://***@llm.example/v1/chat/completions?api-key=***" in message
    for secret in ("hunter22", "TOPSECRET", "sk-live-KEY", "alice"):
        assert secret not in message


@pytest.mark.parametrize(
    "spec",
    [
        "openai:@https://alice:hunter22@llm.example/v1",
        "openai:m@ftp://alice:hunter22@llm.example/v1",
        "openai:m@https://alice:hunter22@llm.example/v1[timeout=-1]",
        "openai:m@https://llm.example/v1?key=hunter22[retries=0]",
        "openai:m@https://llm.example/v1?key=hunter22[timeout=1,timeout=2]",
        "local[timeout=5]",
    ],
)
def test_spec_errors_show_the_redacted_spec(spec):
    with pytest.raises(ConfigError) as e:
        get_model(spec)
    assert "hunter22" not in str(e.value)
