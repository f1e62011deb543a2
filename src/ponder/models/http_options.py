"""The options an HTTP backend's spec may carry (`[timeout=60,connect_timeout=5,retries=8,
backoff=0.5]`, or the same names as keywords), checked and turned into its constructor's keywords:
`timeout_s`, `connect_timeout_s` and a `retry` policy. Shared by the models' and the embedders'
OpenAI-compatible backends."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ponder.errors import ConfigError
from ponder.models.retry import RetryPolicy


def positive_seconds(value: Any) -> bool:
    """Whether `value` is a finite number of seconds above zero (not a bool)."""
    return (
        isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    )


def spec_options(
    shown: str,
    options: dict[str, Any],
    *,
    timeout: Any = None,
    connect_timeout: Any = None,
    retries: Any = None,
    backoff: Any = None,
) -> dict[str, Any]:
    """`options` with the given spec options added as keywords; `shown` names the spec (redacted,
    e.g. "model spec 'openai:m@http://h/v1'") in the ConfigError for a bad value."""
    out = dict(options)
    if timeout is not None:
        out["timeout_s"] = _seconds("timeout", timeout, shown)
    if connect_timeout is not None:
        out["connect_timeout_s"] = _seconds("connect_timeout", connect_timeout, shown)
    if retries is not None or backoff is not None:
        policy = out.get("retry") or RetryPolicy()
        if retries is not None:
            policy = dataclasses.replace(policy, attempts=_tries(retries, shown))
        if backoff is not None:
            base = _seconds("backoff", backoff, shown)
            policy = dataclasses.replace(policy, base_s=base, cap_s=max(policy.cap_s, base))
        out["retry"] = policy
    return out


def _seconds(name: str, value: Any, shown: str) -> float:
    seconds: Any
    try:
        seconds = float(value) if isinstance(value, str) else value
    except ValueError:
        seconds = None
    if not positive_seconds(seconds):
        raise ConfigError(f"option {name}={value} for {shown}: expected a positive number of seconds")
    return float(seconds)


def _tries(value: Any, shown: str) -> int:
    text = value.strip() if isinstance(value, str) else None
    tries = int(text) if text is not None and text.isdigit() else value
    if isinstance(tries, bool) or not isinstance(tries, int) or tries < 1:
        raise ConfigError(f"option retries={value} for {shown}: expected a whole number of tries, at least 1")
    return tries
