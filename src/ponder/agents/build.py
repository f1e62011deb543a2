"""A conversation built from its spec and run: each agent's model from the session (opened once
per spec), one sandbox for the agents that execute code, and the conversation stored as a run."""

from __future__ import annotations

from contextlib import ExitStack

from ponder.agents.agent import Agent
from ponder.agents.chat import ChatResult, initiate_chat
from ponder.agents.group import GroupChat, GroupChatManager
from ponder.agents.meter import ChatBudget
from ponder.agents.spec import ConversationSpec, load_tool
from ponder.agents.stored import stored_chat
from ponder.eval.session import Session
from ponder.sandbox import Limits, Sandbox
from ponder.trace import TraceSink


async def run_conversation(
    session: Session,
    spec: ConversationSpec,
    message: str,
    *,
    unsafe_code: bool = False,
    limits: Limits | None = None,
) -> tuple[int, ChatResult]:
    """Run the conversation `spec` opened by its first agent saying `message`; the stored run's id
    and the result."""
    with ExitStack() as stack:
        sandbox = None
        if any(a.code_execution for a in spec.agents):
            sandbox = stack.enter_context(Sandbox(limits or Limits(), unsafe=unsafe_code))
        agents = [
            Agent(
                a.name,
                a.system_message,
                model=session.cached(session.model_for(a.model)) if a.model else None,
                tools=[load_tool(t) for t in a.tools],
                code_execution=sandbox if a.code_execution else None,
                human_input_mode=a.human_input_mode,
                description=a.description,
                default_reply=a.default_reply,
                max_tokens=a.max_tokens,
                temperature=a.temperature,
            )
            for a in spec.agents
        ]
        budget = ChatBudget(spec.budget.tokens, spec.budget.seconds, spec.budget.calls)
        chat = spec.chat
        if chat.group:
            group = GroupChat(
                agents,
                chat.max_round,
                chat.speaker_selection,
                chat.graph,
                chat.allow_repeat_speaker,
            )
            manager_model = (
                session.cached(session.model_for(chat.manager_model)) if chat.manager_model else None
            )
            manager = GroupChatManager(group, manager_model)

            async def run(sink: TraceSink) -> ChatResult:
                return await manager.run(message, agents[0], budget=budget, sink=sink)

            label = "groupchat"
        else:

            async def run(sink: TraceSink) -> ChatResult:
                return await initiate_chat(
                    agents[0], agents[1], message, max_turns=chat.max_turns, budget=budget, sink=sink
                )

            label = "two-agent"
        models = sorted(
            {a.model for a in spec.agents if a.model}
            | ({chat.manager_model} if chat.manager_model else set())
        )
        return await stored_chat(
            session.store, label, ",".join(models) or "none", spec.model_dump(), message, run
        )
