"""Conversations between agents (AutoGen-style): `Agent` (alias `ConversableAgent`) and
`initiate_chat`, `GroupChat` with a `GroupChatManager`, with a shared budget and each agent's cost."""

from ponder.agents.agent import Agent, ChatMessage, EndChat
from ponder.agents.chat import AgentCost, ChatResult, ends_with_terminate, initiate_chat
from ponder.agents.group import GroupChat, GroupChatManager
from ponder.agents.meter import BudgetSpent, ChatBudget, Meter

ConversableAgent = Agent

__all__ = [
    "Agent",
    "AgentCost",
    "BudgetSpent",
    "ChatBudget",
    "ChatMessage",
    "ChatResult",
    "ConversableAgent",
    "EndChat",
    "GroupChat",
    "GroupChatManager",
    "Meter",
    "ends_with_terminate",
    "initiate_chat",
]
