"""Groups of completions and group-relative advantages (GRPO, Shao et al. 2024)."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

EPSILON = 1e-4  # added to the standard deviation, as TRL's GRPOTrainer does


def groups_of(keys: Sequence[Hashable]) -> list[list[int]]:
    """The indices of equal keys (one group per distinct prompt), in order of first appearance."""
    found: dict[Hashable, list[int]] = {}
    for i, key in enumerate(keys):
        found.setdefault(key, []).append(i)
    return list(found.values())


def group_advantages(rewards: Sequence[float], group_size: int, *, scale: bool = True) -> list[float]:
    """Each reward minus the mean of its group, divided (when `scale`) by the group's sample
    standard deviation (Bessel-corrected) plus `EPSILON`: TRL's `scale_rewards="group"`. The
    rewards come as consecutive groups of `group_size`, as GRPOTrainer orders them. A group whose
    rewards all agree gets advantage 0 for every member: it trains nothing."""
    if group_size < 1:
        raise ValueError(f"group_size must be at least 1, got {group_size}")
    if len(rewards) % group_size:
        raise ValueError(f"{len(rewards)} rewards do not split into groups of {group_size}")
    out: list[float] = []
    for start in range(0, len(rewards), group_size):
        group = [float(r) for r in rewards[start : start + group_size]]
        mean = sum(group) / len(group)
        if len(group) > 1:
            std = math.sqrt(sum((r - mean) ** 2 for r in group) / (len(group) - 1))
        else:
            std = 0.0
        out.extend((r - mean) / (std + EPSILON) if scale else r - mean for r in group)
    return out


def zero_std_share(rewards: Sequence[float], group_size: int) -> float:
    """The share of groups whose rewards all agree (their advantages are all 0)."""
    advantages = group_advantages(rewards, group_size, scale=False)
    n = len(rewards) // group_size
    if n == 0:
        return 0.0
    flat = sum(
        all(abs(a) < 1e-12 for a in advantages[g * group_size : (g + 1) * group_size]) for g in range(n)
    )
    return flat / n
