"""ponder: make language models reason better, and measure how well and at what cost they do.

Nothing runs at import time; heavy backends are imported only when chosen.
"""

from ponder.errors import (ConfigError, DataError, FatalModelError, ModelError, PonderError, StoreError,
                           TransientModelError)
from ponder.models import Model, get_model
from ponder.types import Call, Completion, Compute, GenerationRequest, Message, Result, Task, Usage

__version__ = "0.1.0"

__all__ = [
    "Call", "Completion", "Compute", "ConfigError", "DataError", "FatalModelError", "GenerationRequest",
    "Message", "Model", "ModelError", "PonderError", "Result", "StoreError", "Task", "TransientModelError",
    "Usage", "get_model",
]
