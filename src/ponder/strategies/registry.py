"""Strategies by name, built from plain options (what the CLI and the Python API pass).

    build_strategy("self-consistency", k=8, prompt="chain-of-draft")

Options a strategy does not use are rejected with an error naming them, so a typo never
silently changes nothing.
"""

from __future__ import annotations

from typing import Any

from ponder.errors import ConfigError
from ponder.strategies.adaptive import AdaptiveConsistency
from ponder.strategies.base import Budget
from ponder.strategies.beam_search import BeamSearch
from ponder.strategies.best_of_n import BestOfN
from ponder.strategies.chain import ChainPrompt, Direct
from ponder.strategies.chain_of_draft import ChainOfDraft
from ponder.strategies.cot import ChainOfThought
from ponder.strategies.self_consistency import SelfConsistency, WeightedVote
from ponder.strategies.verifiers import LLMJudge, LLMStepJudge, MonteCarloVerifier, RewardModelVerifier

PROMPTS = {"direct": Direct, "cot": ChainOfThought, "chain-of-draft": ChainOfDraft}
SAMPLERS = ("self-consistency", "weighted-vote", "best-of-n", "adaptive-consistency", "beam-search")
STRATEGIES = tuple(PROMPTS) + SAMPLERS

PROMPT_OPTIONS = {"exemplars", "data_dir", "extract_call"}
COMMON = {"max_tokens", "per_call_budget", "per_task_budget", "seed"}
ALLOWED = {
    "direct": COMMON | {"exemplars", "data_dir"},
    "cot": COMMON | {"exemplars", "data_dir", "extract_call"},
    "chain-of-draft": COMMON | {"exemplars", "data_dir"},
    "self-consistency": COMMON | PROMPT_OPTIONS | {"prompt", "k", "temperature"},
    "weighted-vote": COMMON | PROMPT_OPTIONS | {"prompt", "k", "temperature", "confidence"},
    "best-of-n": COMMON
    | PROMPT_OPTIONS
    | {"prompt", "k", "temperature", "verifier", "verifier_model", "reward_url", "judge_mode"},
    "adaptive-consistency": COMMON
    | PROMPT_OPTIONS
    | {"prompt", "k", "temperature", "batch", "rule", "threshold"},
    "beam-search": COMMON
    | PROMPT_OPTIONS
    | {
        "prompt",
        "temperature",
        "verifier",
        "verifier_model",
        "judge_mode",
        "width",
        "expand",
        "keep_fraction",
        "max_steps",
        "step_tokens",
        "delimiter",
        "aggregation",
        "rollouts",
    },
}


DEFAULT_K = 8
DEFAULT_TEMPERATURE = 0.7
DEFAULT_SEED = 0


def _prompt(name: str, budget: Budget, opts: dict[str, Any]) -> ChainPrompt:
    cls = PROMPTS.get(name)
    if cls is None:
        raise ConfigError(f"unknown prompt {name!r}: expected one of {', '.join(PROMPTS)}")
    kw = {k: opts[k] for k in ("exemplars", "data_dir", "max_tokens", "seed") if opts.get(k) is not None}
    if opts.get("extract_call") is not None:
        if name != "cot":
            raise ConfigError(f"extract_call applies to the cot prompt, not {name!r}")
        kw["extract_call"] = opts["extract_call"]
    prompt = cls(budget=budget, **kw)
    prompt.shots()  # a missing or malformed exemplar file fails here, before any run is made
    return prompt


def checked_options(
    what: str, name: str, allowed: dict[str, set[str]], options: dict[str, Any]
) -> tuple[dict[str, Any], Budget]:
    """The options that are set, after checking `name` is known and takes them all; the budget
    options come back as a Budget."""
    if name not in allowed:
        raise ConfigError(f"unknown {what} {name!r}: expected one of {', '.join(allowed)}")
    opts = {k: v for k, v in options.items() if v is not None}
    unused = sorted(set(opts) - allowed[name])
    if unused:
        raise ConfigError(f"{what} {name!r} does not take option(s) {', '.join(unused)}")
    return opts, Budget(opts.pop("per_call_budget", None), opts.pop("per_task_budget", None))


def build_strategy(name: str, **options: Any):
    """A strategy by name (see STRATEGIES); `None` options take the strategy's defaults."""
    opts, budget = checked_options("strategy", name, ALLOWED, options)
    if name in PROMPTS:
        return _prompt(name, budget, opts)
    prompt = _prompt(opts.pop("prompt", "cot"), budget, opts)
    common = {
        "prompt": prompt,
        "temperature": opts.get("temperature", DEFAULT_TEMPERATURE),
        "seed": opts.get("seed", DEFAULT_SEED),
        "budget": budget,
    }
    if name == "self-consistency":
        return SelfConsistency(k=opts.get("k", DEFAULT_K), **common)
    if name == "weighted-vote":
        return WeightedVote(
            k=opts.get("k", DEFAULT_K), confidence=opts.get("confidence", "sequence"), **common
        )
    if name == "adaptive-consistency":
        return AdaptiveConsistency(
            k=opts.get("k", 16),
            batch=opts.get("batch", 2),
            rule=opts.get("rule", "beta"),
            threshold=opts.get("threshold", 0.95),
            **common,
        )
    if name == "best-of-n":
        return BestOfN(n=opts.get("k", 4), verifier=_outcome_verifier(opts), **common)
    return BeamSearch(
        verifier=_process_verifier(opts),
        width=opts.get("width", 4),
        expand=opts.get("expand", 4),
        keep_fraction=opts.get("keep_fraction"),
        max_steps=opts.get("max_steps", 8),
        step_tokens=opts.get("step_tokens", 128),
        delimiter=opts.get("delimiter", "\n\n"),
        aggregation=opts.get("aggregation", "last"),
        **common,
    )


def _outcome_verifier(opts: dict[str, Any]):
    kind = opts.get("verifier", "judge")
    if kind == "judge":
        return LLMJudge(model=opts.get("verifier_model"), mode=opts.get("judge_mode", "auto"))
    if kind == "reward":
        if not opts.get("reward_url"):
            raise ConfigError("verifier 'reward' needs reward_url (--reward-url URL)")
        return RewardModelVerifier(opts["reward_url"])
    raise ConfigError(f"unknown outcome verifier {kind!r}: expected judge or reward")


def _process_verifier(opts: dict[str, Any]):
    kind = opts.get("verifier", "judge")
    if kind == "judge":
        return LLMStepJudge(model=opts.get("verifier_model"), mode=opts.get("judge_mode", "auto"))
    if kind == "mc":
        return MonteCarloVerifier(rollouts=opts.get("rollouts", 4), model=opts.get("verifier_model"))
    raise ConfigError(f"unknown process verifier {kind!r}: expected judge or mc")
