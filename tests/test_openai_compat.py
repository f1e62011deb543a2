import json
import random

import httpx
import pytest

from ponder.errors import ConfigError, FatalModelError, ModelUnavailable, TransientModelError
from ponder.models import get_model
from ponder.models.openai_compat import OpenAICompatModel
from ponder.models.retry import RetryPolicy, is_transient_status, parse_retry_after
from ponder.types import GenerationRequest

FAST = RetryPolicy(attempts=4, base_s=0.001, cap_s=0.002)


def chat_reply(texts, usage=None, logprobs=None):
    choices = []
    for i, t in enumerate(texts):
        c = {"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
        if logprobs is not None:
            c["logprobs"] = {
                "content": [{"token": w, "logprob": -0.25, "top_logprobs": []} for w in logprobs[i]]
            }
        choices.append(c)
    return {"choices": choices, "usage": usage or {"prompt_tokens": 7, "completion_tokens": 3}}


class Script:
    """A mock transport answering with queued responses (or exceptions) and recording bodies."""

    def __init__(self, *responses):
        self.responses = list(responses)
        self.bodies = []
        self.paths = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        self.paths.append(request.url.path)
        item = self.responses.pop(0)
        if isinstance(item, Exception):
            raise item
        status, payload = item
        headers = {"retry-after": "0"} if status == 429 else {}
        return httpx.Response(status, json=payload, headers=headers)


def model(script, **kw):
    return OpenAICompatModel(
        "m",
        "http://127.0.0.1:9/v1",
        "sk-test",
        retry=FAST,
        transport=httpx.MockTransport(script),
        seed=0,
        **kw,
    )


@pytest.mark.parametrize(
    "failure",
    [
        (429, {"error": "slow down"}),
        (500, {"error": "oops"}),
        (503, {"error": "busy"}),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("dropped"),
    ],
)
async def test_transient_failures_are_retried_then_succeed(failure):
    script = Script(failure, failure, (200, chat_reply(["42"])))
    m = model(script)
    out = await m.generate(GenerationRequest.chat("q"))
    assert out[0].text == "42" and m.http_requests == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_fatal_statuses_are_not_retried(status):
    script = Script((status, {"error": "no"}), (200, chat_reply(["never"])))
    m = model(script)
    with pytest.raises(FatalModelError, match=f"HTTP {status}") as e:
        await m.generate(GenerationRequest.chat("q"))
    assert m.http_requests == 1
    assert "http://127.0.0.1:9/v1/chat/completions" in str(e.value)
    if status == 401:
        assert "OPENAI_API_KEY" in str(e.value)


async def test_giving_up_after_the_last_attempt():
    script = Script(*[(500, {})] * 4)
    m = model(script)
    with pytest.raises(TransientModelError, match="gave up after 4 tries"):
        await m.generate(GenerationRequest.chat("q"))


async def test_unreachable_server_names_the_url():
    script = Script(*[httpx.ConnectError("refused")] * 4)
    with pytest.raises(ModelUnavailable, match=r"cannot reach http://127\.0\.0\.1:9/v1/chat/completions"):
        await model(script).generate(GenerationRequest.chat("q"))


def test_backoff_is_jittered_capped_and_honours_retry_after():
    policy = RetryPolicy(base_s=1, cap_s=8)
    rng = random.Random(1)
    for attempt in range(1, 8):
        d = policy.delay(attempt, rng)
        assert 0 <= d <= min(8, 2 ** (attempt - 1))
    assert policy.delay(1, rng, retry_after=5) >= 5
    assert policy.delay(1, rng, retry_after=100) == 8
    assert parse_retry_after("3") == 3 and parse_retry_after("soon") is None
    assert is_transient_status(429) and is_transient_status(502) and not is_transient_status(404)


async def test_n_is_sent_once_when_the_server_honours_it_and_tokens_are_counted_per_choice():
    script = Script(
        (
            200,
            chat_reply(
                ["a", "b c"],
                usage={"prompt_tokens": 9, "completion_tokens": 1},
                logprobs=[["a"], ["b", " c"]],
            ),
        )
    )
    m = model(script)
    out = await m.generate(GenerationRequest.chat("q", n=2, temperature=0.7))
    assert [c.text for c in out] == ["a", "b c"]
    assert [c.usage.completion_tokens for c in out] == [1, 2]
    assert [c.usage.cached_prompt_tokens for c in out] == [0, 9]
    assert script.bodies[0]["n"] == 2 and script.bodies[0]["logprobs"] is True
    assert out[0].logprobs is None  # counted, but not asked for by the caller
    assert m.honours_n is True


async def test_a_server_that_ignores_n_gets_separate_seeded_calls():
    script = Script(
        (200, chat_reply(["a"])),
        (200, chat_reply(["b"])),
        (200, chat_reply(["c"])),
        (200, chat_reply(["d"])),
        (200, chat_reply(["e"])),
    )
    m = model(script)
    out = await m.generate(GenerationRequest.chat("q", n=3, temperature=0.7, seed=5))
    assert [c.text for c in out] == ["a", "b", "c"] and [c.index for c in out] == [0, 1, 2]
    assert m.honours_n is False
    assert [b.get("seed") for b in script.bodies[1:3]] == [6, 7]
    out = await m.generate(GenerationRequest.chat("q", n=2, temperature=0.7))
    assert all("n" not in b for b in script.bodies[3:])


async def test_prompts_go_to_completions_and_prefixes_continue_the_assistant_turn():
    script = Script(
        (
            200,
            {
                "choices": [
                    {
                        "index": 0,
                        "text": " 4",
                        "finish_reason": "length",
                        "logprobs": {
                            "tokens": [" 4"],
                            "token_logprobs": [-0.1],
                            "top_logprobs": [{" 4": -0.1, " 5": -2.0}],
                        },
                    }
                ],
                "usage": {"prompt_tokens": 3, "completion_tokens": 1},
            },
        ),
        (200, chat_reply(["rest"])),
    )
    m = model(script)
    out = await m.generate(
        GenerationRequest(prompt="2+2=", assistant_prefix="so", logprobs=True, top_logprobs=2, stop=("\n",))
    )
    assert script.paths[0] == "/v1/completions"
    assert script.bodies[0]["prompt"] == "2+2=so" and script.bodies[0]["stop"] == ["\n"]
    assert out[0].finish_reason == "length" and out[0].logprobs[0].top == ((" 4", -0.1), (" 5", -2.0))
    await m.generate(GenerationRequest.chat("q", assistant_prefix="Step 1:"))
    body = script.bodies[1]
    assert body["messages"][-1] == {"role": "assistant", "content": "Step 1:"}
    assert body["continue_final_message"] is True


@pytest.mark.parametrize("spec", ["openai:gpt", "openai:@http://x", "openai:m@ftp://x"])
def test_bad_specs_are_config_errors(spec):
    with pytest.raises(ConfigError, match="openai:" if "ftp" not in spec else "http"):
        get_model(spec)


async def test_concurrency_is_bounded():
    import asyncio

    in_flight = 0
    peak = 0

    async def handler(request):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200, json=chat_reply(["x"]))

    m = OpenAICompatModel(
        "m", "http://127.0.0.1:9/v1", transport=httpx.MockTransport(handler), max_concurrency=3
    )
    await asyncio.gather(*(m.generate(GenerationRequest.chat(f"q{i}")) for i in range(10)))
    assert peak == 3


def test_client_timeouts_default_to_300_s_read_and_10_s_connect():
    m = OpenAICompatModel("m", "http://127.0.0.1:9/v1")
    assert (m._client.timeout.read, m._client.timeout.connect) == (300.0, 10.0)
    m = OpenAICompatModel("m", "http://127.0.0.1:9/v1", timeout_s=60, connect_timeout_s=2.5)
    assert (m._client.timeout.read, m._client.timeout.write, m._client.timeout.connect) == (60.0, 60.0, 2.5)


@pytest.mark.parametrize(
    "kw",
    [
        {"timeout_s": 0},
        {"timeout_s": -1},
        {"connect_timeout_s": float("inf")},
        {"connect_timeout_s": float("nan")},
        {"timeout_s": True},
    ],
)
def test_bad_timeouts_are_config_errors(kw):
    with pytest.raises(ConfigError, match=next(iter(kw))):
        OpenAICompatModel("m", "http://127.0.0.1:9/v1", **kw)


@pytest.mark.parametrize("kw", [{"attempts": 0}, {"attempts": 1.5}, {"base_s": -1}, {"cap_s": float("nan")}])
def test_bad_retry_policies_are_config_errors(kw):
    with pytest.raises(ConfigError):
        RetryPolicy(**kw)


def test_spec_options_set_timeouts_and_retries_and_stay_out_of_the_identity():
    m = get_model("openai:m@http://127.0.0.1:9/v1[timeout=60,connect_timeout=5,retries=8,backoff=0.5]")
    assert m.model_id == "openai:m@http://127.0.0.1:9/v1"
    assert (m.timeout_s, m.connect_timeout_s) == (60.0, 5.0)
    assert (m._client.timeout.read, m._client.timeout.connect) == (60.0, 5.0)
    assert (m.retry.attempts, m.retry.base_s) == (8, 0.5)
    m = get_model("openai:m@http://127.0.0.1:9/v1[ backoff = 30 ]")
    assert m.retry.base_s == 30 and m.retry.cap_s >= 30 and m.retry.attempts == RetryPolicy().attempts


def test_keyword_options_override_the_spec_and_none_means_not_given():
    spec = "openai:m@http://127.0.0.1:9/v1[timeout=60,connect_timeout=5]"
    m = get_model(spec, timeout=7, connect_timeout=None)
    assert (m.timeout_s, m.connect_timeout_s) == (7.0, 5.0)
    m = get_model("openai:m@http://127.0.0.1:9/v1", timeout="12.5", retries=2, backoff=0.25)
    assert (m.timeout_s, m.connect_timeout_s, m.retry.attempts, m.retry.base_s) == (12.5, 10.0, 2, 0.25)


@pytest.mark.parametrize("url", ["http://[::1]:8000/v1", "http://[fe80::1%25eth0]:8000", "http://[::1]"])
def test_ipv6_hosts_are_not_options(url):
    m = get_model(f"openai:m@{url}")
    assert m.model_id == f"openai:m@{url}"
    m = get_model(f"openai:m@{url}[timeout=3]")
    assert m.model_id == f"openai:m@{url}" and m.timeout_s == 3.0


async def test_the_retries_option_bounds_the_tries():
    script = Script(*[(500, {})] * 3)
    m = get_model(
        "openai:m@http://127.0.0.1:9/v1[retries=2,backoff=0.001]", transport=httpx.MockTransport(script)
    )
    with pytest.raises(TransientModelError, match="gave up after 2 tries"):
        await m.generate(GenerationRequest.chat("q"))
    assert m.http_requests == 2


@pytest.mark.parametrize(
    "spec, kw, option",
    [
        ("[timeout=0]", {}, "timeout"),
        ("[timeout=-3]", {}, "timeout"),
        ("[timeout=nan]", {}, "timeout"),
        ("[timeout=inf]", {}, "timeout"),
        ("[timeout=]", {}, "timeout"),
        ("[connect_timeout=soon]", {}, "connect_timeout"),
        ("[retries=0]", {}, "retries"),
        ("[retries=2.5]", {}, "retries"),
        ("[retries=-1]", {}, "retries"),
        ("[backoff=0]", {}, "backoff"),
        ("", {"timeout": 0}, "timeout"),
        ("", {"connect_timeout": "x"}, "connect_timeout"),
        ("", {"retries": True}, "retries"),
        ("", {"retries": 3.0}, "retries"),
        ("", {"backoff": float("inf")}, "backoff"),
    ],
)
def test_bad_option_values_name_the_option_and_the_spec(spec, kw, option):
    full = f"openai:m@http://127.0.0.1:9/v1{spec}"
    with pytest.raises(ConfigError) as e:
        get_model(full, **kw)
    assert f"option {option}=" in str(e.value) and "openai:m@http://127.0.0.1:9/v1" in str(e.value)


@pytest.mark.parametrize(
    "spec",
    ["openai:m@http://127.0.0.1:9/v1[timout=3]", "openai:m@http://127.0.0.1:9/v1[timeout=3,colour=red]"],
)
def test_unknown_option_names_are_config_errors(spec):
    with pytest.raises(ConfigError, match="known options are timeout, connect_timeout, retries, backoff"):
        get_model(spec)


def test_an_option_given_twice_is_a_config_error():
    with pytest.raises(ConfigError, match="timeout is given twice"):
        get_model("openai:m@http://127.0.0.1:9/v1[timeout=3,timeout=4]")


@pytest.mark.parametrize(
    "spec, kw",
    [
        ("local", {"timeout": 5}),
        ("local", {"connect_timeout": 1}),
        ("local:/no/such.gguf", {"timeout": 5}),
        ("local[timeout=5]", {}),
        ("scripted", {"retries": 2}),
    ],
)
def test_http_options_apply_to_openai_specs_only(spec, kw):
    with pytest.raises(ConfigError, match="apply to openai: specs"):
        get_model(spec, **kw)


def test_none_options_are_ignored_for_other_specs():
    assert get_model("scripted", timeout=None, connect_timeout=None).model_id == "scripted"
