"""An OpenAI-compatible stub for the town's kill-and-resume test: answers each chat request by the
name of the JSON schema it holds the reply to (an importance of 5; a day plan of eight 10-minute
actions at the stove), after a short wait; any other request is a 400, so an unexpected call
fails the run."""

from __future__ import annotations

import asyncio
import json
import sys

import uvicorn

from logging_stub_server import read_body  # run as a script: its folder is on the path

PLAN = {
    "wake": "07:00",
    "sleep": "08:20",
    "chunks": [
        {"at": f"0{7 + i // 6}:{i % 6}0", "action": f"cook dish {i}", "where": "stove"} for i in range(8)
    ],
}
REPLIES = {"importance": "5", "day_plan": json.dumps(PLAN)}
MODELS = json.dumps({"object": "list", "data": [{"id": "stub", "object": "model"}]}).encode()


def completion(text: str) -> bytes:
    return json.dumps(
        {
            "id": "stub",
            "object": "chat.completion",
            "model": "stub",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
        }
    ).encode()


def make_app(delay_s: float):
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        status, reply = 200, MODELS
        if scope["path"].endswith("/chat/completions"):
            name = ((json.loads(body).get("response_format") or {}).get("json_schema") or {}).get("name")
            await asyncio.sleep(delay_s)
            if name in REPLIES:
                reply = completion(REPLIES[name])
            else:
                status, reply = (
                    400,
                    json.dumps({"error": {"message": f"unexpected request: {name}"}}).encode(),
                )
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(reply)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": reply})

    return app


if __name__ == "__main__":
    port, delay = int(sys.argv[1]), float(sys.argv[2])
    uvicorn.run(make_app(delay), host="127.0.0.1", port=port, log_level="warning", access_log=False)
