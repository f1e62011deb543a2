"""Chain-of-Draft (Xu et al. 2025): reason step by step in drafts of at most five words per step,
then give the answer after a "####" separator. Few-shot drafts can be supplied as an exemplar set."""

from __future__ import annotations

from dataclasses import dataclass

from ponder.strategies import PROMPTS, render
from ponder.strategies.chain import ChainPrompt


@dataclass
class ChainOfDraft(ChainPrompt):
    max_tokens: int = 256
    name: str = "chain-of-draft"

    def templates(self) -> dict[str, str]:
        return PROMPTS.hashes("chain_of_draft.j2")

    def system(self) -> str | None:
        return render("chain_of_draft.j2")
