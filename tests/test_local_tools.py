"""The local backend's tools and grammars without a model: chat rendering through a Jinja template
of Qwen2.5's shape, reading `<tool_call>` blocks back (malformed ones carry errors), streaming the
text outside them, the GBNF grammars made from schemas, tools and requests, and LocalModel's
generate and stream on the real scheduler over a scripted decoder."""

from __future__ import annotations

import json
import re

import pytest

from ponder.contract import FunctionCall, ResponseFormat, Tool, read_call
from ponder.errors import RequestError
from ponder.models.grammar import (
    call_or_reply_grammar,
    forced_tools,
    literal,
    request_grammar,
    schema_grammar,
    tool_call_grammar,
)
from ponder.models.local_tools import CallTextFilter, ChatTemplate, message_dict, read_block, split_calls
from ponder.types import GenerationRequest, Message

# the tools section and turns of Qwen2.5's template, cut down
QWEN_LIKE = """\
{%- if tools %}
{{- '<|im_start|>system\\n# Tools\\n<tools>' }}
{%- for tool in tools %}{{- '\\n' }}{{- tool | tojson }}{%- endfor %}
{{- '\\n</tools>\\nCall as <tool_call>\\n{"name": <function-name>, "arguments": <args-json-object>}\\n</tool_call><|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
{%- if message.role == "user" or (message.role == "assistant" and not message.tool_calls) %}
{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}
{%- elif message.role == "assistant" %}
{{- '<|im_start|>assistant' }}
{%- if message.content %}{{- '\\n' + message.content }}{%- endif %}
{%- for tool_call in message.tool_calls %}
{%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}
{{- '\\n<tool_call>\\n{"name": "' }}{{- tool_call.name }}{{- '", "arguments": ' }}
{{- tool_call.arguments | tojson }}{{- '}\\n</tool_call>' }}
{%- endfor %}
{{- '<|im_end|>\\n' }}
{%- elif message.role == "tool" %}
{{- '<|im_start|>user\\n<tool_response>\\n' + message.content + '\\n</tool_response><|im_end|>\\n' }}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}
"""

PLAIN = """\
{%- for message in messages %}{{ message.role }}: {{ message.content }}
{% endfor %}{%- if add_generation_prompt %}assistant:{% endif %}"""


def get_weather(city: str, unit: str = "celsius") -> str:
    """The weather in a city <now>."""
    return "sunny"


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


TOOLS = (Tool.from_function(get_weather), Tool.from_function(add))


# rendering


def test_a_template_with_a_tools_section_offers_tools_and_one_without_does_not():
    assert ChatTemplate(QWEN_LIKE).supports_tools
    assert not ChatTemplate(PLAIN).supports_tools


def test_tools_are_rendered_as_openai_specs_without_html_escaping():
    req = GenerationRequest.chat("Weather in Paris?", tools=TOOLS)
    text = ChatTemplate(QWEN_LIKE).render(req)
    specs = re.search(r"<tools>\n(.*)\n</tools>", text, re.DOTALL).group(1).split("\n")
    assert [json.loads(s) for s in specs] == [t.to_openai() for t in TOOLS]
    assert "<now>" in text  # not \u003cnow\u003e
    assert text.endswith("<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n")


def test_tool_choice_none_does_not_offer_the_tools():
    req = GenerationRequest.chat("Weather in Paris?", tools=TOOLS, tool_choice="none")
    assert "<tools>" not in ChatTemplate(QWEN_LIKE).render(req)


def test_a_tool_round_trip_renders_the_call_and_the_reply():
    call = read_call("get_weather", '{"city": "Paris"}', TOOLS)
    messages = (
        Message("user", "Weather in Paris?"),
        Message("assistant", "", (call,)),
        Message("tool", "sunny, 21 C", tool_call_id=call.id),
    )
    text = ChatTemplate(QWEN_LIKE).render(GenerationRequest(messages=messages, tools=TOOLS))
    assert (
        '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n'
        "</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\nsunny, 21 C\n</tool_response><|im_end|>\n"
        "<|im_start|>assistant\n"
    ) in text


def test_message_dict_passes_calls_in_openai_shape_with_object_arguments():
    good = read_call("add", '{"a": 1, "b": 2}', TOOLS)
    bad = read_call("add", "{oops", TOOLS)
    d = message_dict(Message("assistant", "", (good, bad)))
    assert d["tool_calls"][0] == {
        "id": good.id,
        "type": "function",
        "function": {"name": "add", "arguments": {"a": 1, "b": 2}},
    }
    assert d["tool_calls"][1]["function"]["arguments"] == "{oops"
    assert message_dict(Message("tool", "3", tool_call_id="c1")) == {
        "role": "tool",
        "content": "3",
        "tool_call_id": "c1",
    }
    assert message_dict(Message("user", "hi")) == {"role": "user", "content": "hi"}


# reading calls


def test_calls_are_read_in_order_and_the_text_outside_remains():
    text = (
        "Let me check.\n<tool_call>\n"
        '{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n</tool_call>'
    )
    rest, calls = split_calls(text, TOOLS)
    assert rest == "Let me check."
    assert [c.name for c in calls] == ["get_weather", "add"] and all(c.ok for c in calls)
    assert calls[0].arguments == {"city": "Paris"} and calls[1].arguments == {"a": 2, "b": 3}
    assert calls[1] == read_call("add", '{"a": 2, "b": 3}', TOOLS, position=1)
    assert calls[0].id != calls[1].id


def test_a_reply_without_blocks_is_text_only():
    assert split_calls("  It is sunny.\n", TOOLS) == ("It is sunny.", ())


@pytest.mark.parametrize(
    ("block", "error"),
    [
        ("{not json", "not JSON"),
        ('{"arguments": {"a": 1}}', "with a name"),
        ('["add"]', "with a name"),
        ('{"name": 3}', "with a name"),
        ('{"name": "divide", "arguments": {}}', "unknown function 'divide'"),
        ('{"name": "add", "arguments": {"a": "x", "b": 1}}', "do not match its schema"),
        ('{"name": "add", "arguments": "{\\"a\\": 1"}', "not JSON"),
    ],
)
def test_a_malformed_block_becomes_a_call_with_an_error(block, error):
    rest, [call] = split_calls(f"<tool_call>\n{block}\n</tool_call>", TOOLS)
    assert rest == "" and isinstance(call, FunctionCall)
    assert not call.ok and error in call.error


def test_arguments_given_as_text_or_missing_are_read():
    call = read_block('{"name": "add", "arguments": "{\\"a\\": 1, \\"b\\": 2}"}', TOOLS, 0)
    assert call.ok and call.arguments == {"a": 1, "b": 2}
    call = read_block('{"name": "get_weather"}', TOOLS, 0)
    assert call.arguments == {} and "city" in call.error


def test_an_unclosed_block_at_the_end_is_read_as_a_block():
    rest, [call] = split_calls('Sure. <tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}', TOOLS)
    assert rest == "Sure." and call.ok
    rest, [call] = split_calls('<tool_call>\n{"name": "add", "argu', TOOLS)
    assert rest == "" and not call.ok


REPLIES = [
    "plain text, no calls ",
    "  \n lead and trail \n ",
    '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>',
    'Hi <tool_call>{"name": "add"}</tool_call> there <tool_call>x</tool_call>\n',
    "a <tool_ b <tool_call",
    "open <tool_call> never closed </tool_",
    "x </tool_call> y",
]


@pytest.mark.parametrize("reply", REPLIES)
@pytest.mark.parametrize("size", [1, 2, 3, 5, 100])
def test_the_streamed_outside_text_joins_to_the_completions_text(reply, size):
    shown = CallTextFilter()
    pieces = [shown.feed(reply[i : i + size]) for i in range(0, len(reply), size)] + [shown.finish()]
    assert "".join(pieces) == split_calls(reply, TOOLS)[0]
    assert not any("<tool_call>" in p for p in pieces)


# grammars


def test_a_bounded_integer_admits_only_its_range():
    grammar = schema_grammar({"type": "integer", "minimum": 1, "maximum": 10})
    root = grammar.splitlines()[0]
    assert root == "root ::= reply"
    assert 'reply ::= "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9" | "10"' in grammar
    exclusive = schema_grammar({"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 3})
    assert 'reply ::= "1" | "2"\n' in exclusive


def test_a_wide_integer_range_falls_back_to_any_integer():
    grammar = schema_grammar({"type": "integer", "minimum": 0, "maximum": 10**6})
    assert "integral-part" in grammar and "root ::= integer" in grammar


def test_a_choice_admits_only_its_quoted_options():
    grammar = schema_grammar(ResponseFormat.choice(["Alice", "Bob", 'Eve "E"']).schema)
    assert 'reply ::= "\\"Alice\\"" | "\\"Bob\\"" | "\\"Eve \\\\\\"E\\\\\\"\\""' in grammar


def test_an_object_schema_names_its_properties_and_strings_refuse_control_characters():
    schema = {
        "type": "object",
        "properties": {
            "verdict": {"type": "string", "enum": ["yes", "no"]},
            "score": {"type": "integer", "minimum": 0, "maximum": 3},
            "notes": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["verdict", "score"],
    }
    grammar = schema_grammar(schema)
    assert '"\\"verdict\\"" space ":" space' in grammar and '"\\"score\\""' in grammar
    assert 'reply-score ::= "0" | "1" | "2" | "3"' in grammar
    assert r"char ::= [^" + '"' + r"\\\x7F\x00-\x1F]" in grammar


def test_a_schema_the_converter_cannot_take_is_a_request_error():
    with pytest.raises(RequestError, match="cannot be turned into a grammar"):
        schema_grammar({"$ref": "other.json#/x"})


def test_the_tool_call_grammar_admits_one_block_calling_one_of_the_tools():
    grammar = tool_call_grammar(TOOLS)
    assert grammar.startswith('root ::= "<tool_call>\\n" (tool0-call | tool1-call) "\\n</tool_call>"\n')
    assert 'tool0-call ::= "{\\"name\\": \\"get_weather\\", \\"arguments\\": " tool0-args "}"' in grammar
    assert 'tool1-call ::= "{\\"name\\": \\"add\\", \\"arguments\\": " tool1-args "}"' in grammar
    assert 'tool1-args-a-kv ::= "\\"a\\"" space ":" space integer' in grammar


def test_every_rule_a_grammar_uses_is_defined_once():
    for grammar in (
        tool_call_grammar(TOOLS),
        call_or_reply_grammar(TOOLS, {"type": "integer", "minimum": 1, "maximum": 3}),
        schema_grammar({"type": "array", "items": {"type": "number"}}),
    ):
        names = [line.split(" ::= ")[0] for line in grammar.splitlines()]
        assert len(names) == len(set(names)) and names[0] == "root"
        bodies = " ".join(
            re.sub(r'"(\\.|[^"\\])*"|\[(\\.|[^\]\\])*\]', " ", line.split(" ::= ", 1)[1])
            for line in grammar.splitlines()
        )
        used = set(re.findall(r"[A-Za-z][A-Za-z0-9-]*", bodies))
        assert used <= set(names), used - set(names)


def test_request_grammar_follows_tool_choice_and_response_format():
    fmt = ResponseFormat.choice(["yes", "no"])
    assert request_grammar(GenerationRequest.chat("hi")) is None
    assert request_grammar(GenerationRequest.chat("hi", tools=TOOLS)) is None
    assert request_grammar(
        GenerationRequest.chat("hi", tools=TOOLS, tool_choice="required")
    ) == tool_call_grammar(TOOLS)
    named = GenerationRequest.chat("hi", tools=TOOLS, tool_choice="add")
    assert forced_tools(named) == (TOOLS[1],)
    assert request_grammar(named) == tool_call_grammar(TOOLS[1:])
    assert request_grammar(GenerationRequest.chat("hi", response_format=fmt)) == schema_grammar(fmt.schema)
    both = request_grammar(GenerationRequest.chat("hi", tools=TOOLS, response_format=fmt))
    assert both == call_or_reply_grammar(TOOLS, fmt.schema) and both.startswith("root ::= (")
    off = GenerationRequest.chat("hi", tools=TOOLS, tool_choice="none", response_format=fmt)
    assert request_grammar(off) == schema_grammar(fmt.schema)


def test_literals_escape_quotes_backslashes_and_newlines():
    assert literal('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'


# the backend's refusal


def test_a_model_whose_template_has_no_tools_section_refuses_tools_naming_itself():
    from ponder.errors import UnsupportedAbility
    from ponder.models import JSON_SCHEMA, STREAM
    from ponder.models import TOOLS as TOOLS_ABILITY
    from ponder.models.llamacpp import LocalModel, abilities_for

    assert TOOLS_ABILITY in abilities_for(ChatTemplate(QWEN_LIKE))
    plain = abilities_for(ChatTemplate(PLAIN))
    assert TOOLS_ABILITY not in plain and {JSON_SCHEMA, STREAM} <= plain
    model = LocalModel.__new__(LocalModel)
    model.name, model.abilities = "tiny", plain
    with pytest.raises(UnsupportedAbility, match=r"local:tiny does not support tools.*<tool_call>"):
        model.check(GenerationRequest.chat("hi", tools=TOOLS))
    model.check(GenerationRequest.chat("hi", response_format=ResponseFormat.choice(["a", "b"])))


# the backend's reading and streaming, on the scheduler with a scripted decoder


class ScriptDecoder:
    """A scheduler Decoder whose every sequence writes `reply` one character per token, then ends."""

    def __init__(self, reply: str, delay: float = 0.0) -> None:
        self.reply, self.delay = reply, delay
        self.last_batch: list[tuple[int, int, int, bool]] = []
        self.steps = 0

    def decode(self, batch):
        import time

        self.last_batch = list(batch)
        self.steps += 1
        time.sleep(self.delay)

    def copy(self, src, dst, length): ...

    def remove(self, seq_id, start=0): ...

    def clear(self): ...

    def sampler(self, temperature, top_p, seed, grammar=None):
        return {"written": 0, "grammar": grammar}

    def free_sampler(self, sampler): ...

    def sample(self, sampler, row):
        k = sampler["written"]
        sampler["written"] += 1
        return ord(self.reply[k]) if k < len(self.reply) else 0

    def logits(self, row):
        raise AssertionError("no logprobs here")

    def is_eog(self, token):
        return token == 0

    def piece(self, token):
        return chr(token).encode()


@pytest.fixture
def local():
    """A LocalModel over a scheduler with a scripted decoder and the Qwen-like template."""
    from ponder.models.llamacpp import LocalModel, abilities_for
    from ponder.models.scheduler import Scheduler

    made = []

    def make(reply: str, delay: float = 0.0):
        decoder = ScriptDecoder(reply, delay)
        engine = Scheduler(decoder, n_ctx=100_000, n_seq_max=4, n_batch=100_000)
        engine.tokenize = lambda text, add_special: [ord(c) for c in text]
        engine.start("test-local")
        made.append(engine)
        model = LocalModel.__new__(LocalModel)
        model.name, model.model_id, model.engine = "fake", "local:fake@test", engine
        model._chat = ChatTemplate(QWEN_LIKE)
        model.abilities = abilities_for(model._chat)
        model._bos = model._eos = ""
        return model, decoder

    yield make
    for engine in made:
        engine.close()


CALL_REPLY = 'Checking. <tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>'


async def test_generate_reads_the_calls_out_of_the_reply(local):
    model, _ = local(CALL_REPLY)
    [c] = await model.generate(GenerationRequest.chat("1+2?", tools=TOOLS, max_tokens=200))
    assert c.finish_reason == "tool_calls" and c.text == "Checking."
    assert [(t.name, t.arguments) for t in c.tool_calls] == [("add", {"a": 1, "b": 2})]
    [plain] = await model.generate(
        GenerationRequest.chat("1+2?", tools=TOOLS, tool_choice="none", max_tokens=200)
    )
    assert plain.text == CALL_REPLY and plain.finish_reason == "stop" and not plain.tool_calls


async def test_a_forced_call_or_a_response_format_sends_a_grammar(local):
    model, _ = local('"yes"')
    forced = model.job(GenerationRequest.chat("hi", tools=TOOLS, tool_choice="add"))
    assert forced.grammar == tool_call_grammar(TOOLS[1:])
    fmt = ResponseFormat.choice(["yes", "no"])
    assert model.job(GenerationRequest.chat("hi", response_format=fmt)).grammar == schema_grammar(fmt.schema)
    assert model.job(GenerationRequest.chat("hi")).grammar is None


async def test_a_stream_yields_text_pieces_that_join_to_the_completion(local):
    from ponder.contract import Delta
    from ponder.types import Completion

    model, _ = local("Hello there, streaming world.")
    *deltas, final = [
        x async for x in model.stream(GenerationRequest.chat("hi", max_tokens=100, stop=("world",)))
    ]
    assert isinstance(final, Completion) and final.text == "Hello there, streaming "
    assert all(isinstance(d, Delta) for d in deltas) and len(deltas) > 5
    assert "".join(d.text for d in deltas) == final.text


async def test_a_stream_with_tools_shows_the_outside_text_then_the_calls(local):
    from ponder.contract import Delta

    model, _ = local(CALL_REPLY)
    *deltas, final = [
        x async for x in model.stream(GenerationRequest.chat("1+2?", tools=TOOLS, max_tokens=200))
    ]
    assert "".join(d.text for d in deltas) == final.text == "Checking."
    assert deltas[-2:] == [
        Delta(tool_index=0, tool_name="add"),
        Delta(tool_index=0, tool_arguments='{"a": 1, "b": 2}'),
    ]
    assert final.finish_reason == "tool_calls"


async def test_closing_a_stream_early_cancels_its_generation(local):
    import contextlib

    model, decoder = local("x" * 5000, delay=0.001)
    async with contextlib.aclosing(model.stream(GenerationRequest.chat("go", max_tokens=6000))) as stream:
        async for _ in stream:
            break
    model2_reply = await model.generate(GenerationRequest.chat("again", max_tokens=3))
    assert model2_reply[0].text == "xxx"
    model.engine.forget().result(timeout=10)
    assert model.engine._running == [] and model.engine._reserved == 0
    assert decoder.steps < 1000


async def test_a_stream_takes_one_sample_only(local):
    model, _ = local("x")
    with pytest.raises(RequestError, match="n=1"):
        async for _ in model.stream(GenerationRequest.chat("hi", n=2)):
            pass
