import pytest

from ponder.errors import ScriptMismatch
from ponder.models import get_model
from ponder.models.scripted import ScriptedModel, Step
from ponder.types import GenerationRequest


async def test_replies_in_order_and_records_requests():
    m = ScriptedModel([Step(["a b"]), Step(["x", "y"], expect={"n": 2, "temperature": 0.7})])
    r1 = GenerationRequest.chat("q one")
    r2 = GenerationRequest.chat("q two", n=2, temperature=0.7)
    assert [c.text for c in await m.generate(r1)] == ["a b"]
    out = await m.generate(r2)
    assert [c.text for c in out] == ["x", "y"] and [c.index for c in out] == [0, 1]
    assert (
        out[0].usage.completion_tokens == 1
        and out[1].usage.cached_prompt_tokens == out[1].usage.prompt_tokens
    )
    assert m.requests == [r1, r2]
    m.assert_done()


async def test_unexpected_call_raises():
    m = ScriptedModel([])
    with pytest.raises(ScriptMismatch, match="exhausted"):
        await m.generate(GenerationRequest.chat("hi"))


async def test_unconsumed_steps_raise():
    m = ScriptedModel([Step(["a"]), Step(["b"])])
    await m.generate(GenerationRequest.chat("hi"))
    with pytest.raises(ScriptMismatch, match="1 scripted step"):
        m.assert_done()


async def test_expectation_mismatch_and_wrong_n_raise():
    m = ScriptedModel([Step(["a"], expect={"temperature": 0.0})])
    with pytest.raises(ScriptMismatch, match="temperature"):
        await m.generate(GenerationRequest.chat("hi", temperature=1.0))
    m = ScriptedModel([Step(["a"])])
    with pytest.raises(ScriptMismatch, match="n=2"):
        await m.generate(GenerationRequest.chat("hi", n=2))


async def test_logprobs_only_when_asked():
    m = ScriptedModel([Step(["a"], logprobs=[[("a", -0.5)]]), Step(["b"])])
    with_lp = await m.generate(GenerationRequest.chat("hi", logprobs=True))
    without = await m.generate(GenerationRequest.chat("hi"))
    assert with_lp[0].logprobs[0].logprob == -0.5 and without[0].logprobs is None


def test_scripted_is_reachable_by_spec_but_not_the_default(monkeypatch):
    monkeypatch.delenv("PONDER_MODEL", raising=False)
    assert isinstance(get_model("scripted"), ScriptedModel)
    from ponder.models import default_spec

    assert default_spec() == "local"


async def test_scripted_tool_calls_are_read_against_the_requests_tools_and_streamed_in_pieces():
    from ponder.contract import Delta, Tool
    from ponder.types import Completion

    tool = Tool(
        "add", "Adds.", {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    )
    request = GenerationRequest.chat("1+1?", tools=(tool,))
    model = ScriptedModel(
        [
            Step(["Let me add."], tool_calls=[[("add", '{"a": 1}'), ("sub", "{}")]]),
            Step(["Two is the sum."]),
        ]
    )
    [done] = await model.generate(request)
    assert done.finish_reason == "tool_calls" and done.text == "Let me add."
    assert [(c.name, c.arguments, c.ok) for c in done.tool_calls] == [
        ("add", {"a": 1}, True),
        ("sub", None, False),
    ]
    assert "unknown function 'sub'" in done.tool_calls[1].error
    pieces = [p async for p in model.stream(GenerationRequest.chat("and now?"))]
    assert pieces[:-1] == [Delta("Two"), Delta(" is"), Delta(" the"), Delta(" sum.")]
    assert isinstance(pieces[-1], Completion) and pieces[-1].text == "Two is the sum."


async def test_a_backend_without_an_ability_the_request_needs_says_which():
    from ponder.errors import UnsupportedAbility
    from ponder.models import LOGPROBS

    model = ScriptedModel([Step(["x"])], abilities=frozenset({LOGPROBS}))
    with pytest.raises(UnsupportedAbility, match="scripted does not support tools, json_schema"):
        await model.generate(
            GenerationRequest.chat(
                "x", tools=({"name": "f"},), response_format={"schema": {"type": "string"}}, logprobs=True
            )
        )
    assert model.requests == []
