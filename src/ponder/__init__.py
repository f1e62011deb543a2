"""ponder: make language models reason better, and measure how well and at what cost they do.

Nothing runs at import time; heavy backends are imported only when chosen.
"""

from ponder.contract import Delta, FunctionCall, ResponseFormat, Tool
from ponder.errors import (
    ConfigError,
    DataError,
    FatalModelError,
    ModelError,
    PonderError,
    StoreError,
    TransientModelError,
)
from ponder.models import Model, get_model
from ponder.types import Call, Completion, Compute, GenerationRequest, Message, Result, Task, Usage

__version__ = "0.1.0"

__all__ = [
    "Budget",
    "Call",
    "Completion",
    "Compute",
    "ConfigError",
    "DataError",
    "Delta",
    "FatalModelError",
    "FunctionCall",
    "GenerationRequest",
    "Message",
    "Model",
    "Plan",
    "ModelError",
    "PonderError",
    "ResponseFormat",
    "Result",
    "STRATEGIES",
    "Session",
    "StoreError",
    "Task",
    "Tool",
    "TransientModelError",
    "Usage",
    "build_strategy",
    "evaluate",
    "get_model",
]

_LAZY = {
    "Budget": "ponder.trace",
    "Plan": "ponder.eval.evaluate",
    "STRATEGIES": "ponder.strategies.registry",
    "Session": "ponder.eval.session",
    "build_strategy": "ponder.strategies.registry",
    "evaluate": "ponder.eval.evaluate",
}


def __getattr__(name: str):
    """Strategies and the evaluation are imported on first use, keeping `import ponder` light."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ponder' has no attribute {name!r}")
