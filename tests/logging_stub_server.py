"""An OpenAI-compatible stub for resume tests: logs the last user message of every chat request
to a file (one JSON string per line), waits a little, answers "The answer is 18."."""

from __future__ import annotations

import asyncio
import json
import sys

import uvicorn

BODY = json.dumps(
    {
        "id": "stub",
        "object": "chat.completion",
        "model": "stub",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "The answer is 18."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
    }
).encode()
MODELS = json.dumps({"object": "list", "data": [{"id": "stub", "object": "model"}]}).encode()


async def read_body(receive) -> bytes:
    """The whole body of an ASGI HTTP request."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


def make_app(log_path: str, delay_s: float):
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        reply = MODELS
        if scope["path"].endswith("/chat/completions"):
            question = json.loads(body)["messages"][-1]["content"]
            with open(log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(question) + "\n")
            await asyncio.sleep(delay_s)
            reply = BODY
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(reply)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": reply})

    return app


if __name__ == "__main__":
    port, log_path, delay = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    uvicorn.run(make_app(log_path, delay), host="127.0.0.1", port=port, log_level="warning", access_log=False)
