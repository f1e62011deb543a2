"""An OpenAI-compatible stub that streams, for loopback tests of tools and streaming (raw ASGI +
uvicorn). Run as `python tools_stub_server.py PORT LOG`.

A chat request is answered by its last user message:

    weather     a call of get_weather with {"city": "Paris"}
    drop        three chunks of text, then the connection is dropped
    slow        a hundred chunks of text, 50 ms apart
    anything    "Hello from the stub."

whole, or as server-sent events (`data: {...}`, a usage chunk, `data: [DONE]`) when the request
has `"stream": true`, one word or argument piece per chunk. Each request's body is appended to LOG
as one JSON line; a client that goes away mid-stream is logged as `{"disconnected": N}` (N: chunks
sent before it went).
"""

from __future__ import annotations

import asyncio
import json
import sys

import uvicorn

from logging_stub_server import read_body

MODELS = json.dumps({"object": "list", "data": [{"id": "stub", "object": "model"}]}).encode()
USAGE = {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}
CALL_ID = "call_stub_1"
LOG = "requests.jsonl"  # set from the command line
ARGUMENT_PIECES = ('{"ci', 'ty": "Par', 'is"}')


def whole(question: str) -> dict:
    """The reply to a request that does not stream."""
    if question == "weather":
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": CALL_ID,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "".join(ARGUMENT_PIECES)},
                }
            ],
        }
        finish = "tool_calls"
    else:
        message = {"role": "assistant", "content": "Hello from the stub."}
        finish = "stop"
    return {"choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": USAGE}


def deltas(question: str) -> tuple[list[dict], str]:
    """The deltas of a streamed reply, and its finish reason."""
    if question == "weather":
        first = {"index": 0, "id": CALL_ID, "type": "function", "function": {"name": "get_weather"}}
        pieces = [{"tool_calls": [first]}]
        pieces += [{"tool_calls": [{"index": 0, "function": {"arguments": a}}]} for a in ARGUMENT_PIECES]
        return pieces, "tool_calls"
    words = [f"w{i} " for i in range(100)] if question == "slow" else ["Hello", " from", " the", " stub."]
    return [{"role": "assistant", "content": ""}] + [{"content": w} for w in words], "stop"


def event(data: dict | str) -> bytes:
    return f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n".encode()


async def stream(question: str, send, receive, log_path: str) -> None:
    """Send the reply as server-sent events; log a client that goes away."""
    gone = asyncio.ensure_future(receive())
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]}
    )
    pieces, finish = deltas(question)
    chunks = [{"choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in pieces]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    chunks.append({"choices": [], "usage": USAGE})
    for k, chunk in enumerate(chunks):
        if gone.done() and gone.result()["type"] == "http.disconnect":
            with open(log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps({"disconnected": k}) + "\n")
            return
        if question == "drop" and k == 3:
            raise ConnectionResetError("dropped on purpose")
        await send({"type": "http.response.body", "body": event(chunk), "more_body": True})
        if question == "slow":
            await asyncio.sleep(0.05)
    await send({"type": "http.response.body", "body": event("[DONE]"), "more_body": False})
    gone.cancel()


async def app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    body = await read_body(receive)
    if not scope["path"].endswith("/chat/completions"):
        await _send_json(send, MODELS)
        return
    request = json.loads(body)
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(request) + "\n")
    question = request["messages"][-1]["content"] or ""
    if request.get("stream"):
        await stream(question, send, receive, LOG)
    else:
        await _send_json(send, json.dumps(whole(question)).encode())


async def _send_json(send, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    port, LOG = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="critical", access_log=False)
