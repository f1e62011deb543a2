import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from ponder.errors import ConfigError, FatalModelError, ModelUnavailable
from ponder.models.retry import RetryPolicy
from ponder.models.scripted import ScriptedModel, Step
from ponder.strategies.base import Recorder
from ponder.strategies.best_of_n import BestOfN, best_index
from ponder.strategies.cot import ChainOfThought
from ponder.strategies.verifiers import LLMJudge, RewardModelVerifier, p_yes, rating_score
from ponder.types import Completion, Task, TokenLogprob, Usage

TASK = Task("t", "What is 6 * 3?", "18")
FAST = RetryPolicy(attempts=3, base_s=0.001, cap_s=0.01)


def _reply(token, lp, top=()):
    return Completion(token, "stop", Usage(), logprobs=(TokenLogprob(token, lp, tuple(top)),))


def test_p_yes_normalises_yes_against_no_over_the_alternatives():
    c = _reply("Yes", math.log(0.6), [("Yes", math.log(0.6)), (" yes", math.log(0.1)), ("No", math.log(0.2))])
    assert p_yes(c) == pytest.approx(0.6 / 0.8)  # variants of a word count once, at their most likely
    assert p_yes(_reply("No", math.log(0.9), [("No", math.log(0.9))])) == 0.0
    assert p_yes(_reply("Maybe", -0.1, [("Maybe", -0.1)])) == 0.5
    assert p_yes(Completion("Yes.", "stop", Usage())) == 1.0


def test_ratings_map_to_the_unit_interval():
    assert (
        rating_score("10") == 1.0
        and rating_score("1") == 0.0
        and rating_score(" 7/10") == pytest.approx(6 / 9)
    )
    assert rating_score("excellent") == 0.0 and rating_score("42") == 1.0


def test_best_index_prefers_answered_then_score_then_earlier():
    assert best_index([0.5, 0.9, 0.9], [True, True, True]) == 1
    assert best_index([0.5, 0.99], [True, False]) == 0
    assert best_index([None, 0.2], [True, True]) == 1
    assert best_index([None, None], [True, True]) is None


def _mock(handler):
    return httpx.MockTransport(handler)


async def test_reward_model_posts_question_and_solution_and_reads_the_score():
    seen = []

    def handler(request):
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={"score": 0.75})

    rec = Recorder(ScriptedModel([]))
    rm = RewardModelVerifier("http://rm.test/score", model_name="prm-7b", transport=_mock(handler))
    assert await rm.score(TASK, "6 * 3 = 18", rec) == 0.75
    assert seen == [{"question": TASK.question, "solution": "6 * 3 = 18", "model": "prm-7b"}]
    [call] = rec.calls
    assert call.purpose == "verify-reward" and rec.result(TASK, "x", None, "").compute.verifier_calls == 1


async def test_reward_model_logits_are_squashed_and_transient_errors_retried():
    replies = iter(
        [
            httpx.Response(503),
            httpx.Response(429, headers={"retry-after": "0"}),
            httpx.Response(200, json={"score": 2.0}),
        ]
    )
    rm = RewardModelVerifier("http://rm.test", retry=FAST, transport=_mock(lambda r: next(replies)))
    assert await rm.score(TASK, "x", Recorder(ScriptedModel([]))) == pytest.approx(1 / (1 + math.exp(-2)))


async def test_reward_model_errors_name_the_url_and_the_problem():
    rec = Recorder(ScriptedModel([]))
    bad = RewardModelVerifier(
        "http://rm.test", retry=FAST, transport=_mock(lambda r: httpx.Response(400, text="no"))
    )
    with pytest.raises(FatalModelError, match=r"http://rm.test: HTTP 400"):
        await bad.score(TASK, "x", rec)
    shapeless = RewardModelVerifier(
        "http://rm.test", transport=_mock(lambda r: httpx.Response(200, json={"reward": 1}))
    )
    with pytest.raises(FatalModelError, match="no numeric 'score'"):
        await shapeless.score(TASK, "x", rec)
    down = RewardModelVerifier("http://rm.test", retry=FAST, transport=_mock(lambda r: httpx.Response(502)))
    with pytest.raises(ModelUnavailable, match="HTTP 502 after 3 tries"):
        await down.score(TASK, "x", rec)
    with pytest.raises(ConfigError, match="must start with http"):
        RewardModelVerifier("rm.test")


class _RewardHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        score = 0.9 if "18" in body["solution"] else 0.1
        data = json.dumps({"score": score}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.mark.loopback
async def test_best_of_n_with_a_reward_model_on_a_real_http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RewardHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/score"
        model = ScriptedModel([Step(["The answer is 20.", "The answer is 18.", "The answer is 21."])])
        strategy = BestOfN(prompt=ChainOfThought(extract_call=False), n=3, verifier=RewardModelVerifier(url))
        result = await strategy.run(TASK, model)
    finally:
        server.shutdown()
        server.server_close()
    assert result.answer == "18" and list(result.details.scores) == [0.1, 0.9, 0.1]
    assert result.compute.verifier_calls == 3


async def test_judge_in_logprobs_mode_on_a_backend_without_them_is_an_error():
    from ponder.errors import UnsupportedAbility

    rec = Recorder(ScriptedModel([], abilities=frozenset()))
    with pytest.raises(UnsupportedAbility, match="logprobs"):
        await LLMJudge(mode="logprobs").score(TASK, "x", rec)
    with pytest.raises(ConfigError, match="unknown judge mode"):
        await LLMJudge(mode="coin").score(TASK, "x", rec)
