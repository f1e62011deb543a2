"""A conversation described in YAML (`ponder agents chat --agents FILE`): its agents, how they
converse (two agents, or a group with a manager), and its budget. Read with pydantic, so a bad
file fails naming the file and the field.

    agents:
      - name: assistant
        system_message: Solve the problem with a python code block, then say TERMINATE.
        model: local                 # a model spec; left out: the agent has no model
        max_tokens: 256
        tools: [mypackage.tools:add] # module:function, plain Python functions with type hints
      - name: user_proxy
        code_execution: true         # runs the code blocks it receives in the sandbox
        default_reply: Write the code block, or give the answer and TERMINATE.
    chat:
      max_turns: 6                   # two agents: the first opens, the second answers
    # or a group:  chat: {group: true, max_round: 12, speaker_selection: auto, manager_model: local,
    #                     graph: {planner: [solver], solver: [critic, planner], critic: [solver]}}
    budget: {tokens: 4000, seconds: 300, calls: 30}
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ponder.errors import ConfigError


class AgentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    system_message: str = "You are a helpful AI assistant."
    description: str = ""
    model: str | None = None
    tools: list[str] = []
    code_execution: bool = False
    human_input_mode: Literal["never", "always", "terminate"] = "never"
    default_reply: str | None = None
    max_tokens: int = Field(512, ge=1)
    temperature: float = Field(0.0, ge=0.0, le=2.0)


class ChatSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group: bool = False
    max_turns: int | None = Field(None, ge=1)
    max_round: int = Field(10, ge=2)
    speaker_selection: Literal["auto", "round_robin", "random"] = "auto"
    manager_model: str | None = None
    graph: dict[str, list[str]] | None = None
    allow_repeat_speaker: bool = False


class BudgetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tokens: int | None = Field(None, ge=1)
    seconds: float | None = Field(None, gt=0)
    calls: int | None = Field(None, ge=1)


class ConversationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agents: list[AgentSpec] = Field(min_length=2)
    chat: ChatSpec = Field(default_factory=lambda: ChatSpec.model_validate({}))
    budget: BudgetSpec = Field(default_factory=lambda: BudgetSpec.model_validate({}))


def read_spec(path: Path | str) -> ConversationSpec:
    """The conversation in the YAML file; ConfigError naming the file and the field otherwise."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not YAML: {str(e).splitlines()[0]}") from None
    try:
        spec = ConversationSpec.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{path}: {where}: {first['msg']}") from None
    names = [a.name for a in spec.agents]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: agents: two agents have the same name ({', '.join(names)})")
    for i, agent in enumerate(spec.agents):
        for ref in agent.tools:
            try:
                load_tool(ref)
            except ConfigError as e:
                raise ConfigError(f"{path}: agents.{i}.tools: {e}") from None
    if not spec.chat.group and len(spec.agents) != 2:
        raise ConfigError(f"{path}: agents: a two-agent chat has exactly two agents; set chat.group for more")
    return spec


def load_tool(ref: str) -> Callable[..., Any]:
    """The function a `module:function` reference names."""
    module_name, _, name = ref.partition(":")
    if not module_name or not name:
        raise ConfigError(f"tool {ref!r}: write it as module:function")
    try:
        fn = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"tool {ref!r}: {e}") from None
    if not callable(fn):
        raise ConfigError(f"tool {ref!r} is not a function")
    return fn
