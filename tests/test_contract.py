"""The contract beyond text: tools, tool choice, function calls, response formats, tool turns."""

import json
from typing import Literal

import pytest

from ponder.contract import FunctionCall, ResponseFormat, Tool, call_id, read_call
from ponder.errors import ReplyFormatError, RequestError
from ponder.types import Completion, GenerationRequest, Message, Usage, cache_key


def get_weather(city: str, unit: Literal["c", "f"] = "c", days: int = 1) -> str:
    """The weather forecast for a city.

    Longer notes that are not part of the description.
    """
    return f"{city}: sunny"


WEATHER = Tool.from_function(get_weather)


def test_a_typed_function_becomes_a_tool_with_its_schema_and_first_docstring_paragraph():
    assert WEATHER.name == "get_weather"
    assert WEATHER.description == "The weather forecast for a city."
    params = WEATHER.parameters
    assert params["type"] == "object" and params["required"] == ["city"]
    assert params["properties"]["city"] == {"type": "string"}
    assert (
        params["properties"]["unit"]["enum"] == ["c", "f"] and params["properties"]["unit"]["default"] == "c"
    )
    assert params["properties"]["days"] == {"type": "integer", "default": 1}
    assert params["additionalProperties"] is False
    assert WEATHER.to_openai() == {"type": "function", "function": WEATHER.to_dict()}


def test_a_function_without_type_hints_or_with_star_args_is_refused_by_name():
    def untyped(city):
        return city

    def star(*cities: str):
        return cities

    with pytest.raises(RequestError, match="untyped: argument 'city' needs a type hint"):
        Tool.from_function(untyped)
    with pytest.raises(RequestError, match=r"star: \*args"):
        Tool.from_function(star)


@pytest.mark.parametrize(
    "name, params, message",
    [
        ("has space", {"type": "object"}, "1-64 letters"),
        ("", {"type": "object"}, "1-64 letters"),
        ("f", {"type": "array"}, "parameters must be a JSON schema of type object"),
        ("f", {"type": "object", "properties": {"x": {"type": 5}}}, "not a valid JSON schema"),
    ],
)
def test_bad_tools_are_refused_naming_the_tool(name, params, message):
    with pytest.raises(RequestError, match=message):
        tool = Tool(name, "", params)
        read_call(tool.name, "{}", [tool])


def test_a_well_formed_call_is_parsed_and_checked():
    call = read_call("get_weather", '{"city": "Oslo", "days": 3}', [WEATHER], position=0)
    assert (
        call.ok
        and call.arguments == {"city": "Oslo", "days": 3}
        and call.raw == '{"city": "Oslo", "days": 3}'
    )
    assert call.id == call_id("get_weather", call.raw, 0) == read_call("get_weather", call.raw, [WEATHER]).id
    assert call.id != call_id("get_weather", call.raw, 1)
    assert read_call("get_weather", "{}", [WEATHER], id="abc").id == "abc"


@pytest.mark.parametrize(
    "name, raw, error",
    [
        ("get_wether", '{"city": "Oslo"}', "unknown function 'get_wether'; the functions are: get_weather"),
        ("get_weather", '{"city": "Oslo"', "the arguments of get_weather are not JSON"),
        ("get_weather", '["Oslo"]', "must be a JSON object"),
        ("get_weather", '{"city": 5}', "do not match its schema: at city: 5 is not of type 'string'"),
        ("get_weather", '{"unit": "c"}', "'city' is a required property"),
        ("get_weather", '{"city": "Oslo", "unit": "k"}', "at unit: 'k' is not one of"),
        ("get_weather", '{"city": "Oslo", "x": 1}', "Additional properties are not allowed"),
    ],
)
def test_a_malformed_call_is_returned_with_an_error_never_raised(name, raw, error):
    call = read_call(name, raw, [WEATHER])
    assert not call.ok and error in call.error and call.raw == raw and call.name == name


def test_a_choice_format_reads_one_of_its_strings():
    fmt = ResponseFormat.choice(["Ada", "Bob", "Ada"])
    assert fmt.schema == {"type": "string", "enum": ["Ada", "Bob"]}
    assert fmt.parse('"Bob"') == "Bob" and fmt.errors('"Bob"') is None
    assert "not JSON" in fmt.errors("Bob")
    with pytest.raises(ReplyFormatError, match="'Eve' is not one of"):
        fmt.parse('"Eve"')
    with pytest.raises(RequestError, match="non-empty list of strings"):
        ResponseFormat.choice([])


def test_a_schema_format_checks_the_reply():
    fmt = ResponseFormat(
        {
            "type": "object",
            "properties": {"rating": {"type": "integer", "minimum": 1, "maximum": 10}},
            "required": ["rating"],
        },
        "rating",
    )
    assert fmt.parse('{"rating": 7}') == {"rating": 7}
    assert "at rating: 11 is greater than the maximum of 10" in fmt.errors('{"rating": 11}')
    assert fmt.to_openai()["json_schema"]["name"] == "rating"
    with pytest.raises(RequestError, match="not a valid JSON schema"):
        ResponseFormat({"type": "nope"})


def test_requests_without_the_new_fields_keep_their_cache_keys():
    """Keys computed by the code before tools, tool choice and response formats existed."""
    chat = GenerationRequest(
        messages=(Message("system", "s"), Message("user", "What is 2+2?")),
        n=3,
        temperature=0.7,
        seed=5,
        stop=("\n\n",),
        max_tokens=64,
    )
    raw = GenerationRequest(prompt="Q: x\nA:", assistant_prefix=" The", logprobs=True, top_logprobs=2)
    assert cache_key("local:qwen", chat) == "76f0870ad2dcd77ac6baa19d8ad9a32c153ab8062da9df8117fffc8e6c09b3a5"
    assert cache_key("m", raw) == "693d5cd273e7dfba702fcea5a5c008d3a7d611874019f4325c5390fc8fa6114e"
    assert "tools" not in chat.to_dict() and "response_format" not in chat.to_dict()


def test_a_conversation_with_tools_round_trips_and_keys_on_every_new_field():
    call = read_call("get_weather", '{"city": "Oslo"}', [WEATHER])
    request = GenerationRequest(
        messages=(
            Message("user", "Weather in Oslo?"),
            Message("assistant", "", (call,)),
            Message("tool", "Oslo: sunny", tool_call_id=call.id),
        ),
        tools=(WEATHER,),
        tool_choice="get_weather",
        response_format=ResponseFormat.choice(["yes", "no"]),
    )
    again = GenerationRequest.from_dict(json.loads(request.canonical_json()))
    assert again == request and again.canonical_json() == request.canonical_json()
    assert again.messages[1].tool_calls[0].arguments == {"city": "Oslo"}
    keys = {
        cache_key("m", r)
        for r in (
            request,
            GenerationRequest(messages=request.messages, tools=(WEATHER,)),
            GenerationRequest(messages=request.messages, tools=(WEATHER,), tool_choice="required"),
            GenerationRequest(messages=request.messages, tools=(WEATHER,), tool_choice="get_weather"),
            GenerationRequest(messages=request.messages),
        )
    }
    assert len(keys) == 5
    assert request.forces_call and not GenerationRequest.chat("x", tools=(WEATHER,)).forces_call


def test_tools_given_as_dicts_are_read_and_checked():
    request = GenerationRequest.chat("x", tools=[WEATHER.to_dict()], tool_choice="required")
    assert request.tools == (WEATHER,)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"tool_choice": "get_time"}, "tool_choice must be auto, none, required or the name of a tool"),
        ({"tool_choice": 3}, "tool_choice must be a string"),
        ({"tools": (), "tool_choice": "required"}, "tool_choice 'required' needs tools"),
        ({"tools": (WEATHER, WEATHER)}, "distinct names"),
        ({"tools": "get_weather"}, "tools must be a sequence"),
        ({"tools": (5,)}, r"tools\[0\] must be a Tool"),
        ({"tools": ({"name": "f", "oops": 1},)}, "unknown fields"),
        ({"response_format": "json"}, "response_format must be a ResponseFormat"),
        ({"response_format": {"name": "x"}}, "response_format must be an object with a schema"),
    ],
)
def test_bad_tool_fields_of_a_request_are_refused(kwargs, message):
    kwargs = {"tools": (WEATHER,), **kwargs}
    with pytest.raises(RequestError, match=message):
        GenerationRequest.chat("x", **kwargs)


@pytest.mark.parametrize(
    "message, error",
    [
        ({"role": "tool", "content": "sunny"}, "a tool turn, and only a tool turn, names a tool_call_id"),
        ({"role": "user", "content": "x", "tool_call_id": "c1"}, "only a tool turn"),
        (
            {"role": "user", "content": "x", "tool_calls": [{"id": "c", "name": "f"}]},
            "only an assistant turn carries tool_calls",
        ),
        ({"role": "assistant", "content": "", "tool_calls": [{"name": "f"}]}, "string id and name"),
        ({"role": "assistant", "content": "", "tool_calls": "f"}, "must be a list of calls"),
    ],
)
def test_bad_tool_turns_are_refused_naming_the_message(message, error):
    with pytest.raises(RequestError) as raised:
        GenerationRequest(messages=({"role": "user", "content": "q"}, message))
    assert error in str(raised.value)


def test_a_completion_with_tool_calls_round_trips_and_one_without_keeps_its_form():
    call = read_call("get_weather", '{"city": 5}', [WEATHER])
    done = Completion("", "tool_calls", Usage(10, 5), tool_calls=(call,))
    again = Completion.from_dict(json.loads(json.dumps(done.to_dict())))
    assert again == done and again.tool_calls[0].error == call.error
    plain = Completion("hi", "stop", Usage(1, 1))
    assert "tool_calls" not in plain.to_dict() and Completion.from_dict(plain.to_dict()) == plain
    assert FunctionCall.from_dict(call.to_dict()) == call
