"""Code execution in a sandbox (Debian's bubblewrap): `executor` runs programs under limits,
`blocks` reads the runnable code blocks of a message."""

from ponder.sandbox.blocks import CodeBlock, code_blocks
from ponder.sandbox.executor import Execution, Limits, Sandbox, SandboxUnavailable, language_of

__all__ = ["CodeBlock", "Execution", "Limits", "Sandbox", "SandboxUnavailable", "code_blocks", "language_of"]
