"""Rewards for reinforcement learning on reasoning, as plain functions with TRL's reward-function
signature (`GRPOTrainer(reward_funcs=[...])`): each takes the batch's `completions` (strings, or
conversational lists of messages) and keyword columns, and returns one float per completion.

- `outcome`: the final answer's correctness against the dataset's `answer` column, and whether
  the answer is stated explicitly ("The answer is 18", "#### 18", `\\boxed{18}`), both through
  ponder's answer extraction (`ponder.tasks.answers`).
- `length`: length control. The relative rule (inside the group of completions of one prompt, a
  correct completion shorter than the group's mean length earns a bonus), Kimi 1.5's length
  penalty (correctness mixed with length normalised inside the group) and an absolute token budget
  (DAPO's soft over-length punishment). Lengths are token counts: TRL passes `completion_ids`.
- `groups`: the pure maths underneath: grouping completions by prompt, and group-relative
  advantages (reward minus the group's mean, over the group's standard deviation).

Every reward is a picklable callable object with a `__name__`, so that TRL logs it by name.
"""

from ponder.rewards.groups import group_advantages, groups_of
from ponder.rewards.length import BudgetReward, KimiLengthReward, RelativeLengthReward, kimi_length_scores
from ponder.rewards.outcome import CorrectnessReward, FormatReward, completion_text

__all__ = [
    "BudgetReward",
    "CorrectnessReward",
    "FormatReward",
    "KimiLengthReward",
    "RelativeLengthReward",
    "completion_text",
    "group_advantages",
    "groups_of",
    "kimi_length_scores",
]
