"""A fault-injecting OpenAI-compatible server for reliability tests (raw ASGI + uvicorn).

Run as `python fault_server.py PORT CONFIG.json`. It answers chat completions with `n` choices,
"The answer is V." where V is drawn from the question and the choice's index alone, so a run
against it gives the same answers however often a request had to be retried. A share of the
requests (`fault_rate`) fails instead, with one of the `faults`:

    500, 503            an HTTP error with a JSON body
    429, 429-bare       too many requests, with and without Retry-After
    timeout             the reply comes after `slow_s` seconds (longer than the client waits)
    reset               headers and half the body, then the connection is dropped
    truncated           200 with JSON cut in the middle
    shape               200 with a JSON body of the wrong shape (one of WRONG_SHAPES)
    no-choices          200 with a reply that has no `choices`

Whether a request fails depends on the seed, the request body and how many times the same body
has been seen before, never on the order requests arrive in. A request whose last user message
contains one of the lines of the file `poison` (re-read on every request) always fails with
500. `delay_s` delays every chat reply. Every chat request's last user message is appended to
`log` as a JSON string per line.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

import uvicorn

from logging_stub_server import read_body

FAULTS = ("500", "503", "429", "429-bare", "timeout", "reset", "truncated", "shape", "no-choices")
WRONG_SHAPES = (
    [],
    "hello",
    None,
    {"choices": "abc"},
    {"choices": [None]},
    {"choices": [{"index": "x"}]},
    {"choices": [{"message": {"content": "The answer is 1."}}], "usage": "lots"},
    {"choices": [{"message": {"content": "x"}, "logprobs": {"content": "zz"}}]},
)
MODELS = json.dumps({"object": "list", "data": [{"id": "stub", "object": "model"}]}).encode()


def _unit(*parts: object) -> float:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def answer_of(question: str, index: int) -> int:
    """The value choice `index` gives for `question`: mostly one value, sometimes others."""
    u = _unit("answer", question, index)
    base = int(_unit("base", question) * 90) + 10
    return base if u < 0.6 else base + 1 if u < 0.85 else base + 2


def reply(question: str, n: int) -> dict:
    choices = [
        {
            "index": i,
            "message": {"role": "assistant", "content": f"The answer is {answer_of(question, i)}."},
            "finish_reason": "stop",
        }
        for i in range(n)
    ]
    return {
        "id": "stub",
        "object": "chat.completion",
        "model": "stub",
        "choices": choices,
        "usage": {"prompt_tokens": 20, "completion_tokens": 6 * n, "total_tokens": 20 + 6 * n},
    }


class FaultServer:
    def __init__(self, config: dict) -> None:
        self.rate = float(config.get("fault_rate", 0.0))
        self.faults = tuple(config.get("faults", FAULTS))
        self.seed = config.get("seed", 0)
        self.slow_s = float(config.get("slow_s", 2.0))
        self.log = config.get("log")
        self.poison = config.get("poison")
        self.delay_s = float(config.get("delay_s", 0.0))
        self.seen: Counter[str] = Counter()

    def fault_for(self, body: bytes) -> str | None:
        key = hashlib.sha256(body).hexdigest()
        nth = self.seen[key]
        self.seen[key] += 1
        if _unit(self.seed, key, nth, "fails") >= self.rate:
            return None
        return self.faults[int(_unit(self.seed, key, nth, "which") * len(self.faults))]

    def poisoned(self, question: str) -> bool:
        if not self.poison or not Path(self.poison).exists():
            return False
        marks = [m for m in Path(self.poison).read_text(encoding="utf-8").splitlines() if m]
        return any(m in question for m in marks)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        if not scope["path"].endswith("/chat/completions"):
            await _send(send, 200, MODELS)
            return
        request = json.loads(body)
        question = request["messages"][-1]["content"]
        if self.log:
            with open(self.log, "a", encoding="utf-8") as f:
                f.write(json.dumps(question) + "\n")
        if self.poisoned(question):
            await _send(send, 500, b'{"error": {"message": "this prompt always fails"}}')
            return
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        fault = self.fault_for(body)
        good = json.dumps(reply(question, int(request.get("n", 1)))).encode()
        if fault is None:
            await _send(send, 200, good)
        elif fault in ("500", "503"):
            await _send(send, int(fault), b'{"error": {"message": "injected"}}')
        elif fault == "429":
            await _send(send, 429, b'{"error": {"message": "slow down"}}', [(b"retry-after", b"0")])
        elif fault == "429-bare":
            await _send(send, 429, b'{"error": {"message": "slow down"}}')
        elif fault == "timeout":
            await asyncio.sleep(self.slow_s)
            await _send(send, 200, good)
        elif fault == "reset":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(good)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": good[: len(good) // 2], "more_body": True})
            raise ConnectionResetError("injected reset")
        elif fault == "truncated":
            await _send(send, 200, good[: len(good) // 2])
        elif fault == "shape":
            shape = WRONG_SHAPES[int(_unit(self.seed, question, "shape") * len(WRONG_SHAPES))]
            await _send(send, 200, json.dumps(shape).encode())
        else:
            await _send(send, 200, json.dumps({"id": "stub", "usage": {"prompt_tokens": 1}}).encode())


async def _send(send, status: int, body: bytes, headers: list | None = None) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            + (headers or []),
        }
    )
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    port, config_path = int(sys.argv[1]), sys.argv[2]
    app = FaultServer(json.loads(Path(config_path).read_text(encoding="utf-8")))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="critical", access_log=False)
