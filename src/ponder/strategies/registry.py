"""Strategies by name, built from plain options (what the CLI and the Python API pass).

    build_strategy("self-consistency", k=8, prompt="chain-of-draft")

A strategy is one registration: its name, the options it takes and the function that builds it,

    @register("self-consistency", SAMPLING | {"k"})
    def _self_consistency(opts, budget): ...

and every option it takes is declared once in `strategies.options.OPTIONS` (type, range, help).
STRATEGIES, ALLOWED and the command line's strategy flags all follow from these. Options a
strategy does not take are rejected with an error naming them, so a typo never silently changes
nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ponder.errors import ConfigError
from ponder.strategies import Strategy
from ponder.strategies.options import OPTIONS

if TYPE_CHECKING:
    from ponder.strategies.chain import ChainPrompt
    from ponder.strategies.verifiers import OutcomeVerifier, ProcessVerifier
    from ponder.trace import Budget

    Builder = Callable[[dict[str, Any], Budget], Strategy]


@dataclass(frozen=True)
class StrategyEntry:
    """A registered strategy: `build(opts, budget)` makes it from the options that are set (all of
    them among `options`), the budget options already made into `budget`."""

    name: str
    build: Builder
    options: frozenset[str]


REGISTRY: dict[str, StrategyEntry] = {}
# Which options each strategy takes, by name (from REGISTRY; `register` keeps it up to date).
ALLOWED: dict[str, set[str]] = {}
STRATEGIES: tuple[str, ...] = ()


def register(name: str, options: Iterable[str]) -> Callable[[Builder], Builder]:
    """Register the decorated builder as strategy `name`, taking `options` (each declared in
    `strategies.options.OPTIONS`)."""
    takes = frozenset(options)
    undeclared = sorted(takes - set(OPTIONS))
    if undeclared:
        raise ValueError(f"strategy {name!r}: options not declared in strategies.options: {undeclared}")
    if name in REGISTRY:
        raise ValueError(f"strategy {name!r} is already registered")

    def add(build: Builder) -> Builder:
        global STRATEGIES
        REGISTRY[name] = StrategyEntry(name, build, takes)
        ALLOWED[name] = set(takes)
        STRATEGIES = tuple(REGISTRY)
        return build

    return add


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
    from ponder.trace import Budget

    return opts, Budget(opts.pop("per_call_budget", None), opts.pop("per_task_budget", None))


def build_strategy(name: str, **options: Any) -> Strategy:
    """A strategy by name (see STRATEGIES); `None` options take the strategy's defaults."""
    opts, budget = checked_options("strategy", name, ALLOWED, options)
    return REGISTRY[name].build(opts, budget)


# The prompts, strategies of their own and how the sampling strategies ask (option `prompt`):
# their classes by dotted path, imported on use as every strategy is, so that importing the
# registry (the command line does) stays light.
PROMPTS = {
    "direct": "ponder.strategies.chain:Direct",
    "cot": "ponder.strategies.cot:ChainOfThought",
    "chain-of-draft": "ponder.strategies.chain_of_draft:ChainOfDraft",
}

PROMPT_OPTIONS = {"exemplars", "data_dir", "extract_call"}
COMMON = {"max_tokens", "per_call_budget", "per_task_budget", "seed"}
SAMPLING = COMMON | PROMPT_OPTIONS | {"prompt", "temperature"}

DEFAULT_K = 8
DEFAULT_TEMPERATURE = 0.7
DEFAULT_SEED = 0


def _prompt(name: str, budget: Budget, opts: dict[str, Any]) -> ChainPrompt:
    if name not in PROMPTS:
        raise ConfigError(f"unknown prompt {name!r}: expected one of {', '.join(PROMPTS)}")
    module, _, attr = PROMPTS[name].partition(":")
    cls: type[ChainPrompt] = getattr(importlib.import_module(module), attr)
    kw = {k: opts[k] for k in ("exemplars", "data_dir", "max_tokens", "seed") if opts.get(k) is not None}
    if opts.get("extract_call") is not None:
        if name != "cot":
            raise ConfigError(f"extract_call applies to the cot prompt, not {name!r}")
        kw["extract_call"] = opts["extract_call"]
    prompt = cls(budget=budget, **kw)
    prompt.shots()  # a missing or malformed exemplar file fails here, before any run is made
    return prompt


def _sampling(opts: dict[str, Any], budget: Budget) -> dict[str, Any]:
    """What every sampling strategy takes: the prompt it asks with, temperature, seed, budget."""
    return {
        "prompt": _prompt(opts.get("prompt", "cot"), budget, opts),
        "temperature": opts.get("temperature", DEFAULT_TEMPERATURE),
        "seed": opts.get("seed", DEFAULT_SEED),
        "budget": budget,
    }


@register("direct", COMMON | {"exemplars", "data_dir"})
def _direct(opts: dict[str, Any], budget: Budget) -> Strategy:
    return _prompt("direct", budget, opts)


@register("cot", COMMON | {"exemplars", "data_dir", "extract_call"})
def _cot(opts: dict[str, Any], budget: Budget) -> Strategy:
    return _prompt("cot", budget, opts)


@register("chain-of-draft", COMMON | {"exemplars", "data_dir"})
def _chain_of_draft(opts: dict[str, Any], budget: Budget) -> Strategy:
    return _prompt("chain-of-draft", budget, opts)


@register("self-consistency", SAMPLING | {"k"})
def _self_consistency(opts: dict[str, Any], budget: Budget) -> Strategy:
    from ponder.strategies.self_consistency import SelfConsistency

    return SelfConsistency(k=opts.get("k", DEFAULT_K), **_sampling(opts, budget))


@register("weighted-vote", SAMPLING | {"k", "confidence"})
def _weighted_vote(opts: dict[str, Any], budget: Budget) -> Strategy:
    from ponder.strategies.self_consistency import WeightedVote

    return WeightedVote(
        k=opts.get("k", DEFAULT_K), confidence=opts.get("confidence", "sequence"), **_sampling(opts, budget)
    )


@register("best-of-n", SAMPLING | {"k", "verifier", "verifier_model", "reward_url", "judge_mode"})
def _best_of_n(opts: dict[str, Any], budget: Budget) -> Strategy:
    from ponder.strategies.best_of_n import BestOfN

    return BestOfN(n=opts.get("k", 4), verifier=_outcome_verifier(opts), **_sampling(opts, budget))


@register("adaptive-consistency", SAMPLING | {"k", "batch", "rule", "threshold"})
def _adaptive_consistency(opts: dict[str, Any], budget: Budget) -> Strategy:
    from ponder.strategies.adaptive import AdaptiveConsistency

    return AdaptiveConsistency(
        k=opts.get("k", 16),
        batch=opts.get("batch", 2),
        rule=opts.get("rule", "beta"),
        threshold=opts.get("threshold", 0.95),
        **_sampling(opts, budget),
    )


BEAM_OPTIONS = {
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
}


@register("beam-search", SAMPLING | BEAM_OPTIONS)
def _beam_search(opts: dict[str, Any], budget: Budget) -> Strategy:
    from ponder.strategies.beam_search import BeamSearch

    return BeamSearch(
        verifier=_process_verifier(opts),
        width=opts.get("width", 4),
        expand=opts.get("expand", 4),
        keep_fraction=opts.get("keep_fraction"),
        max_steps=opts.get("max_steps", 8),
        step_tokens=opts.get("step_tokens", 128),
        delimiter=opts.get("delimiter", "\n\n"),
        aggregation=opts.get("aggregation", "last"),
        **_sampling(opts, budget),
    )


def _outcome_verifier(opts: dict[str, Any]) -> OutcomeVerifier:
    from ponder.strategies.verifiers import LLMJudge, RewardModelVerifier

    kind = opts.get("verifier", "judge")
    if kind == "judge":
        return LLMJudge(model=opts.get("verifier_model"), mode=opts.get("judge_mode", "auto"))
    if kind == "reward":
        if not opts.get("reward_url"):
            raise ConfigError("verifier 'reward' needs reward_url (--reward-url URL)")
        return RewardModelVerifier(opts["reward_url"])
    raise ConfigError(f"unknown outcome verifier {kind!r}: expected judge or reward")


def _process_verifier(opts: dict[str, Any]) -> ProcessVerifier:
    from ponder.strategies.verifiers import LLMStepJudge, MonteCarloVerifier

    kind = opts.get("verifier", "judge")
    if kind == "judge":
        return LLMStepJudge(model=opts.get("verifier_model"), mode=opts.get("judge_mode", "auto"))
    if kind == "mc":
        return MonteCarloVerifier(rollouts=opts.get("rollouts", 4), model=opts.get("verifier_model"))
    if isinstance(kind, str) and kind.startswith("prm:"):
        from ponder.strategies.prm import PRMVerifier

        return PRMVerifier(kind.removeprefix("prm:"))
    raise ConfigError(f"unknown process verifier {kind!r}: expected judge, mc or prm:PATH")


@register("agent-math", COMMON | {"temperature", "data_dir", "max_turns"})
def _agent_math(opts: dict[str, Any], budget: Budget) -> Strategy:
    # an assistant and a code-running user proxy in conversation (ponder.agents), imported on use
    cls = importlib.import_module("ponder.agents.math").AgentMath
    kw = {k: opts[k] for k in ("max_tokens", "temperature", "seed", "max_turns") if opts.get(k) is not None}
    strategy: Strategy = cls(budget=budget, **kw)
    return strategy


def _agent_strategy(path: str, names: tuple[str, ...]) -> Builder:
    """A builder for the agent strategy class at `path` ("module:Class", imported on use), passing
    the options in `names` that are set."""

    def build(opts: dict[str, Any], budget: Budget) -> Strategy:
        module, _, cls = path.partition(":")
        kw = {k: opts[k] for k in names if opts.get(k) is not None}
        strategy: Strategy = getattr(importlib.import_module(module), cls)(budget=budget, **kw)
        return strategy

    return build


# Retrieval-augmented chat over ponder's own corpus: an assistant that searches and cites.
register("agent-rag", COMMON | {"temperature", "max_turns", "passages", "embedder", "data_dir"})(
    _agent_strategy(
        "ponder.agents.rag:AgentRag",
        ("max_tokens", "temperature", "seed", "max_turns", "passages", "embedder", "data_dir"),
    )
)
# Multi-agent coding: a writer, a reviewer (safeguard), the problem's unit tests run in the sandbox.
register("agent-coding", COMMON | {"temperature", "max_turns", "reviewer", "data_dir"})(
    _agent_strategy(
        "ponder.agents.coding:AgentCoding", ("max_tokens", "temperature", "seed", "max_turns", "reviewer")
    )
)
# Dynamic group chat: planner, solver and critic with a manager choosing the next speaker.
register("agent-team", COMMON | {"temperature", "max_round", "data_dir"})(
    _agent_strategy("ponder.agents.team:AgentTeam", ("max_tokens", "temperature", "seed", "max_round"))
)
