"""The embedded model with tools, grammars and streaming, for real: forced calls are always well
formed, held replies always parse, a whole tool round trip, grammars per sequence in one batch,
and streams that join to their completion or are cancelled without harm."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest

from ponder.contract import Delta, ResponseFormat, Tool
from ponder.models import get_model
from ponder.models.grammar import call_or_reply_grammar, schema_grammar, tool_call_grammar
from ponder.types import Completion, GenerationRequest, Message

pytestmark = pytest.mark.live


def get_weather(city: str) -> str:
    """The current weather in a city."""
    return f"sunny and 21 C in {city}"


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def look_up(word: str) -> str:
    """Look a word up in the dictionary."""
    return "a word"


TOOLS = (Tool.from_function(get_weather), Tool.from_function(add), Tool.from_function(look_up))
RATING = ResponseFormat(
    {
        "type": "object",
        "properties": {"rating": {"type": "integer", "minimum": 1, "maximum": 10}},
        "required": ["rating"],
    },
    "rating",
)
NAMES = ResponseFormat.choice(["Alice", "Bob", "Carol", "Dave"], "speaker")


@pytest.fixture(scope="module")
def model():
    return get_model("local")


def test_the_gguf_template_renders_tools_and_a_round_trip(model):
    from ponder.contract import read_call

    call = read_call("add", '{"a": 2, "b": 3}', TOOLS)
    req = GenerationRequest(
        messages=(
            Message("user", "What is 2 + 3?"),
            Message("assistant", "", (call,)),
            Message("tool", "5", tool_call_id=call.id),
        ),
        tools=TOOLS,
    )
    text, _ = model.render(req)
    assert json.dumps(TOOLS[1].to_openai(), ensure_ascii=False) in text
    assert '<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n</tool_call><|im_end|>' in text
    assert "<tool_response>\n5\n</tool_response>" in text and text.endswith("<|im_start|>assistant\n")
    none = GenerationRequest(messages=req.messages, tools=TOOLS, tool_choice="none")
    assert "<tools>" not in model.render(none)[0]


def test_every_grammar_made_here_parses_in_llama_cpp(model):
    for grammar in (
        tool_call_grammar(TOOLS),
        call_or_reply_grammar(TOOLS, RATING.schema),
        schema_grammar(RATING.schema),
        schema_grammar(NAMES.schema),
        schema_grammar(ResponseFormat.choice(['say "hi"', "back\\slash"]).schema),
        schema_grammar({"type": "array", "items": {"type": "number"}, "maxItems": 3}),
    ):
        model.engine.check_grammar(grammar)
    from ponder.errors import RequestError

    with pytest.raises(RequestError, match="not valid GBNF"):
        model.engine.check_grammar("root ::= missing-rule")


PROMPTS = (
    "What's the weather like in Lisbon today?",
    "What is 1234 plus 4321?",
    "What does 'ephemeral' mean?",
    "Tell me a joke.",
)


async def test_a_required_call_is_always_well_formed_and_names_a_declared_tool(model):
    reqs = [
        GenerationRequest.chat(
            p, tools=TOOLS, tool_choice="required", n=2, temperature=1.0, seed=7, max_tokens=48
        )
        for p in PROMPTS
    ]
    outs = await asyncio.gather(*(model.generate(r) for r in reqs))
    for out in outs:
        for c in out:
            assert c.finish_reason == "tool_calls" and len(c.tool_calls) == 1, c
            [call] = c.tool_calls
            assert call.ok and call.name in {t.name for t in TOOLS}, call
    named = GenerationRequest.chat(PROMPTS[3], tools=TOOLS, tool_choice="look_up", max_tokens=48)
    [c] = await model.generate(named)
    assert [call.name for call in c.tool_calls] == ["look_up"] and c.tool_calls[0].ok


async def test_a_held_rating_and_a_held_choice_always_parse(model):
    ratings = [
        GenerationRequest.chat(
            f"Rate this from 1 to 10: {thing}. Reply in JSON with a rating field.",
            response_format=RATING,
            n=3,
            temperature=1.0,
            seed=11,
            max_tokens=16,
        )
        for thing in ("a cold pizza", "a sunny beach holiday", "a three-hour queue")
    ]
    choices = [
        GenerationRequest.chat(
            f"A play has four characters: Alice, Bob, Carol and Dave. {line} Who speaks next? Name one.",
            response_format=NAMES,
            n=3,
            temperature=1.0,
            seed=3,
            max_tokens=8,
        )
        for line in ("Alice: 'Bob, is that you?'", "Carol: 'Dave, your turn.'")
    ]
    outs = await asyncio.gather(*(model.generate(r) for r in ratings + choices))
    for out in outs[: len(ratings)]:
        for c in out:
            assert 1 <= RATING.parse(c.text)["rating"] <= 10
    for out in outs[len(ratings) :]:
        for c in out:
            assert NAMES.parse(c.text) in {"Alice", "Bob", "Carol", "Dave"}


async def test_a_grammar_holds_only_its_own_request_in_a_shared_batch(model):
    held = GenerationRequest.chat("Who speaks next, Alice or Bob?", response_format=NAMES, max_tokens=8)
    free = GenerationRequest.chat("Write the word hello three times.", max_tokens=16)
    [h], [f] = await asyncio.gather(model.generate(held), model.generate(free))
    assert NAMES.errors(h.text) is None
    assert "hello" in f.text.lower() and NAMES.errors(f.text) is not None


async def test_a_whole_tool_round_trip(model):
    ask = GenerationRequest.chat(
        "What is 123 + 456? Use the add tool.", tools=TOOLS, tool_choice="required", max_tokens=48
    )
    [c] = await model.generate(ask)
    [call] = c.tool_calls
    assert call.ok and call.name == "add" and call.arguments == {"a": 123, "b": 456}
    result = add(**call.arguments)
    messages = (
        *ask.messages,
        Message("assistant", c.text, (call,)),
        Message("tool", str(result), tool_call_id=call.id),
    )
    # the 0.5B model, offered the tools again, calls add once more; with tool_choice "none" it answers
    [answer] = await model.generate(
        GenerationRequest(messages=messages, tools=TOOLS, tool_choice="none", max_tokens=40)
    )
    assert answer.finish_reason == "stop" and not answer.tool_calls
    assert "579" in answer.text


async def test_a_stream_joins_to_its_completion(model):
    req = GenerationRequest.chat("Name three colours, one per line.", max_tokens=24)
    items = [x async for x in model.stream(req)]
    *deltas, final = items
    assert isinstance(final, Completion) and all(isinstance(d, Delta) for d in deltas)
    assert len(deltas) > 3 and "".join(d.text for d in deltas) == final.text
    assert final.usage.completion_tokens > 0
    [again] = await model.generate(req)
    assert again.text == final.text


async def test_a_stream_with_a_forced_call_yields_the_call(model):
    req = GenerationRequest.chat("Weather in Oslo?", tools=TOOLS, tool_choice="get_weather", max_tokens=40)
    items = [x async for x in model.stream(req)]
    *deltas, final = items
    assert final.tool_calls and final.tool_calls[0].name == "get_weather"
    assert Delta(tool_index=0, tool_name="get_weather") in deltas
    assert "".join(d.text for d in deltas) == final.text == ""


async def test_a_cancelled_stream_frees_its_sequence_and_the_engine_serves_on(model):
    req = GenerationRequest.chat("Count from 1 to 200, separated by commas.", max_tokens=400)
    seen = 0
    async with contextlib.aclosing(model.stream(req)) as stream:
        async for item in stream:
            assert isinstance(item, Delta)
            seen += 1
            if seen == 5:
                break
    [c] = await model.generate(
        GenerationRequest.chat("What is 6 times 7? Reply with the number only.", max_tokens=8)
    )
    assert "42" in c.text
    model.engine.forget().result(timeout=30)
    assert model.engine._running == [] and model.engine._reserved == 0
    assert model.engine.stats.tokens_generated < 10_000
