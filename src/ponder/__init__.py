"""ponder: make language models reason better, and measure how well and at what cost they do.

Nothing runs at import time; heavy backends are imported only when chosen.
"""

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
    "FatalModelError",
    "GenerationRequest",
    "Message",
    "Model",
    "ModelError",
    "PonderError",
    "Result",
    "STRATEGIES",
    "StoreError",
    "Task",
    "TransientModelError",
    "Usage",
    "build_strategy",
    "get_model",
]

_LAZY = {
    "Budget": "ponder.strategies.base",
    "STRATEGIES": "ponder.strategies.registry",
    "build_strategy": "ponder.strategies.registry",
}


def __getattr__(name: str):
    """Strategies are imported on first use, keeping `import ponder` light."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ponder' has no attribute {name!r}")
