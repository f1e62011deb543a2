"""Verifiers: scores in [0, 1] for whole solutions (outcome) and for partial ones (process).

Outcome verifiers (best-of-n):
- `LLMJudge`: asks a model whether the solution is correct and reads P("Yes") from the logprobs
  of its first token, normalised against P("No"); where the backend has no logprobs it asks for
  a 1-10 rating instead and maps it to (r - 1) / 9.
- `RewardModelVerifier`: a reward model behind HTTP (see its docstring for the contract).

Process verifiers (beam search) score the latest step of a partial solution:
- `LLMStepJudge`: P("Yes") that the latest step is correct given the question and earlier steps.
- `MonteCarloVerifier`: m short rollouts continue the partial solution; the score is the fraction
  of rollouts whose answers agree with the rollouts' majority answer.

Every call a verifier makes goes through the task's Recorder with a purpose starting "verify", so
its compute is counted and reported separately. `model=None` means the strategy's own model.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from ponder.errors import ConfigError, FatalModelError, ModelUnavailable
from ponder.models import LOGPROBS, Model
from ponder.models.retry import RetryPolicy, is_transient_status, parse_retry_after
from ponder.redact import redact_url
from ponder.strategies import PROMPTS, render
from ponder.strategies.base import Recorder
from ponder.strategies.chain import ChainPrompt
from ponder.strategies.config import Configured
from ponder.strategies.voting import majority_vote
from ponder.tasks.answers import extract
from ponder.types import Completion, GenerationRequest, ModelCall, Task, Usage

TOP_LOGPROBS = 10


class OutcomeVerifier(Protocol):
    name: str

    async def score(self, task: Task, solution: str, rec: Recorder) -> float: ...


class ProcessVerifier(Protocol):
    name: str

    async def score_steps(
        self, task: Task, steps: list[str], rec: Recorder, prompt: ChainPrompt, delimiter: str
    ) -> float: ...


def p_yes(completion: Completion) -> float:
    """P(Yes) / (P(Yes) + P(No)) from the first generated token and its alternatives."""
    if completion.logprobs:
        first = completion.logprobs[0]
        probs: dict[str, float] = {}
        for token, lp in ((first.token, first.logprob), *first.top):
            word = token.strip().lower()
            probs[word] = max(probs.get(word, 0.0), math.exp(lp))
        yes, no = probs.get("yes", 0.0), probs.get("no", 0.0)
        if yes + no > 0:
            return yes / (yes + no)
    word = completion.text.strip().lower()
    return 1.0 if word.startswith("yes") else 0.0 if word.startswith("no") else 0.5


def rating_score(text: str) -> float:
    """A 1-10 rating (the first number in the reply, "7/10" read as 7) mapped to [0, 1];
    an unreadable rating scores 0."""
    m = re.search(r"\d+(?:\.\d+)?", text)
    if not m:
        return 0.0
    return min(max((float(m.group(0)) - 1) / 9, 0.0), 1.0)


@dataclass
class _Judge(Configured):
    model: Model | None = None
    mode: str = "auto"  # "auto": logprobs where the backend has them, else a rating
    name: str = "judge"

    def _uses_logprobs(self, rec: Recorder) -> bool:
        if self.mode not in ("auto", "logprobs", "rating"):
            raise ConfigError(f"unknown judge mode {self.mode!r}: expected auto, logprobs or rating")
        if self.mode == "logprobs":
            rec.require(LOGPROBS, f"the {self.name} in logprobs mode", self.model)
            return True
        return self.mode == "auto" and LOGPROBS in (self.model or rec.model).abilities

    async def _ask(self, body: str, subject: str, rec: Recorder, purpose: str) -> float:
        logprobs = self._uses_logprobs(rec)
        text = f"{body}\n\n{render('judge_ask.j2', rating=not logprobs, subject=subject)}"
        request = GenerationRequest.chat(
            text,
            temperature=0.0,
            seed=0,
            max_tokens=1 if logprobs else 8,
            logprobs=logprobs,
            top_logprobs=TOP_LOGPROBS if logprobs else 0,
        )
        [c] = await rec.generate(request, purpose=purpose, model=self.model)
        return p_yes(c) if logprobs else rating_score(c.text)


@dataclass
class LLMJudge(_Judge):
    name: str = "judge"

    def templates(self) -> dict[str, str]:
        return PROMPTS.hashes("judge_ask.j2", "judge_outcome.j2")

    async def score(self, task: Task, solution: str, rec: Recorder) -> float:
        body = render("judge_outcome.j2", question=task.question, solution=solution).strip()
        return await self._ask(body, "the proposed solution", rec, "verify")


@dataclass
class LLMStepJudge(_Judge):
    name: str = "step-judge"

    def templates(self) -> dict[str, str]:
        return PROMPTS.hashes("judge_ask.j2", "judge_step.j2")

    async def score_steps(
        self, task: Task, steps: list[str], rec: Recorder, prompt: ChainPrompt, delimiter: str
    ) -> float:
        body = render(
            "judge_step.j2", question=task.question, previous=delimiter.join(steps[:-1]), step=steps[-1]
        ).strip()
        return await self._ask(body, "the latest step", rec, "verify")


@dataclass
class MonteCarloVerifier(Configured):
    rollouts: int = 4
    max_tokens: int = 256
    temperature: float = 0.7
    seed: int = 1000
    model: Model | None = None
    name: str = "monte-carlo"

    async def score_steps(
        self, task: Task, steps: list[str], rec: Recorder, prompt: ChainPrompt, delimiter: str
    ) -> float:
        prefix = delimiter.join(steps) + delimiter
        request = prompt.request(
            task,
            n=self.rollouts,
            temperature=self.temperature,
            seed=self.seed,
            max_tokens=self.max_tokens,
            prefix=prefix,
        )
        completions = await rec.generate(request, purpose="verify-rollout", model=self.model)
        answers = [
            extract(prefix + c.text, task.kind, truncated=c.finish_reason == "length").value
            for c in completions
        ]
        vote = majority_vote(answers)
        return vote.tally[vote.winner] / len(answers) if vote.winner is not None else 0.0


@dataclass
class RewardModelVerifier(Configured):
    """A reward model behind HTTP.

    POST `url` with JSON {"question": …, "solution": …} (and "model" when set); the reply must be
    JSON with a numeric "score". Scores outside [0, 1] are passed through a logistic function.
    Transient failures (timeouts, 429, 5xx) are retried with backoff; others are fatal.
    """

    url: str
    model_name: str | None = None
    timeout_s: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    transport: httpx.AsyncBaseTransport | None = None
    name: str = "reward-model"
    OMITTED = frozenset({"timeout_s", "retry", "transport"})

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ConfigError(f"reward model URL {self.url!r} must start with http:// or https://")
        self._rng = random.Random(0)

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "url": redact_url(self.url)}

    async def score(self, task: Task, solution: str, rec: Recorder) -> float:
        body: dict[str, Any] = {"question": task.question, "solution": solution}
        if self.model_name:
            body["model"] = self.model_name
        t0 = time.perf_counter()
        reply = await self._post(body)
        raw = reply.get("score") if isinstance(reply, dict) else None
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise FatalModelError(f"reward model {self.url}: reply has no numeric 'score': {reply!r:.200}")
        score = float(raw) if 0.0 <= raw <= 1.0 else 1 / (1 + math.exp(-raw))
        rec.record(
            ModelCall(
                GenerationRequest(prompt=json.dumps(body, ensure_ascii=False), max_tokens=1),
                (Completion(json.dumps(reply), "stop", Usage()),),
                time.perf_counter() - t0,
                purpose="verify-reward",
            )
        )
        return score

    async def _post(self, body: dict[str, Any]) -> Any:
        async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout_s) as client:
            for attempt in range(1, self.retry.attempts + 1):
                retry_after = None
                try:
                    r = await client.post(self.url, json=body)
                except (httpx.TimeoutException, httpx.TransportError) as e:
                    problem = f"{type(e).__name__}: {e}"
                else:
                    if r.status_code < 400:
                        try:
                            return r.json()
                        except json.JSONDecodeError:
                            raise FatalModelError(f"reward model {self.url}: reply is not JSON") from None
                    if not is_transient_status(r.status_code):
                        raise FatalModelError(
                            f"reward model {self.url}: HTTP {r.status_code}: {r.text[:200]}"
                        )
                    problem = f"HTTP {r.status_code}"
                    retry_after = parse_retry_after(r.headers.get("retry-after"))
                if attempt < self.retry.attempts:
                    await asyncio.sleep(self.retry.delay(attempt, self._rng, retry_after))
        raise ModelUnavailable(f"reward model {self.url}: {problem} after {self.retry.attempts} tries")
