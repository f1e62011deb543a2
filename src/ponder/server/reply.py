"""A finished request as OpenAI's reply: a chat completion or a text completion, its `usage`
summing every internal call, and ponder's extension (`ponder`: trace id, strategy, answer,
compute, run); and the chunks of the same reply when it is streamed.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from ponder.server.engine import Answered
from ponder.types import Completion, Compute


def usage(compute: Compute) -> dict[str, Any]:
    """Every call's tokens; `cached_tokens`: prompt tokens the backend did not evaluate (shared
    between samples, or in its prompt cache)."""
    return {
        "prompt_tokens": compute.prompt_tokens,
        "completion_tokens": compute.completion_tokens,
        "total_tokens": compute.prompt_tokens + compute.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": compute.prompt_tokens - compute.prompt_tokens_evaluated},
    }


def extension(done: Answered) -> dict[str, Any]:
    r = done.result
    return {
        "trace_id": done.trace_id,
        "strategy": done.route.strategy,
        "route": done.route.name,
        "answer": r.answer,
        "compute": dataclasses.asdict(r.compute),
        "run_id": done.run_id,
    }


def chat_message(c: Completion) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": c.text}
    if c.tool_calls:
        message["tool_calls"] = [call.to_openai() for call in c.tool_calls]
        message["content"] = c.text or None
    return message


def chat_completion(done: Answered, model: str, created: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{done.trace_id}",
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {"index": i, "message": chat_message(c), "finish_reason": c.finish_reason, "logprobs": None}
            for i, c in enumerate(done.choices)
        ],
        "usage": usage(done.result.compute),
        "ponder": extension(done),
    }


def text_completion(done: Answered, model: str, created: int) -> dict[str, Any]:
    return {
        "id": f"cmpl-{done.trace_id}",
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": [
            {"index": i, "text": c.text, "finish_reason": _text_finish(c), "logprobs": None}
            for i, c in enumerate(done.choices)
        ],
        "usage": usage(done.result.compute),
        "ponder": extension(done),
    }


def _text_finish(c: Completion) -> str:
    return "length" if c.finish_reason == "length" else "stop"


def sse(data: dict[str, Any] | str) -> bytes:
    """One server-sent event carrying `data` (JSON, or the literal `[DONE]`)."""
    body = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"data: {body}\n\n".encode()


KEEP_ALIVE = b": keep-alive\n\n"


class Chunks:
    """The chunks of one streamed reply (chat or text), in OpenAI's format."""

    def __init__(self, chat: bool, trace_id: str, model: str, created: int, include_usage: bool) -> None:
        self.chat = chat
        self.id = f"{'chatcmpl' if chat else 'cmpl'}-{trace_id}"
        self.model = model
        self.created = created
        self.include_usage = include_usage

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk" if self.chat else "text_completion",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if self.include_usage:
            body["usage"] = None
        body.update(extra)
        return sse(body)

    def start(self, index: int = 0) -> bytes | None:
        """The first chunk of a chat choice: its role (text completions have none)."""
        if not self.chat:
            return None
        return self._chunk(
            [
                {
                    "index": index,
                    "delta": {"role": "assistant", "content": ""},
                    "finish_reason": None,
                    "logprobs": None,
                }
            ]
        )

    def text(self, text: str, index: int = 0) -> bytes:
        if self.chat:
            choice = {"index": index, "delta": {"content": text}, "finish_reason": None, "logprobs": None}
        else:
            choice = {"index": index, "text": text, "finish_reason": None, "logprobs": None}
        return self._chunk([choice])

    def tool_calls(self, c: Completion, index: int = 0) -> bytes:
        calls = [
            {
                "index": k,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.raw},
            }
            for k, call in enumerate(c.tool_calls)
        ]
        return self._chunk(
            [{"index": index, "delta": {"tool_calls": calls}, "finish_reason": None, "logprobs": None}]
        )

    def finish(self, c: Completion, done: Answered | None, index: int = 0) -> bytes:
        reason = c.finish_reason if self.chat else _text_finish(c)
        if self.chat:
            choice = {"index": index, "delta": {}, "finish_reason": reason, "logprobs": None}
        else:
            choice = {"index": index, "text": "", "finish_reason": reason, "logprobs": None}
        extra = {"ponder": extension(done)} if done is not None else {}
        return self._chunk([choice], **extra)

    def usage(self, done: Answered) -> bytes | None:
        if not self.include_usage:
            return None
        return self._chunk([], usage=usage(done.result.compute))

    def whole(self, done: Answered) -> list[bytes]:
        """Every choice of a decided reply: its start, its text, its calls and its finish."""
        out: list[bytes] = []
        last = len(done.choices) - 1
        for i, c in enumerate(done.choices):
            out += [x for x in (self.start(i),) if x is not None]
            if c.text:
                out.append(self.text(c.text, i))
            if c.tool_calls and self.chat:
                out.append(self.tool_calls(c, i))
            out.append(self.finish(c, done if i == last else None, i))
        return out
