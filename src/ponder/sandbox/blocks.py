"""The code blocks of a message (Markdown fences) that the sandbox can run, in order. A fence
tagged python/py/sh/bash/shell runs as that language; an untagged fence runs as Python when it
parses as Python that does something (see `_is_python`), as sh when it starts with a shell command
(`SHELL_WORDS`), and not at all otherwise (a model quoting a program's output, "18", in a bare
fence); any other tag (json, text, …) is not code to run."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from ponder.errors import ConfigError
from ponder.sandbox.executor import language_of

FENCE = re.compile(
    r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+-]*)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.DOTALL | re.MULTILINE
)


@dataclass(frozen=True)
class CodeBlock:
    language: str
    code: str


def code_blocks(text: str) -> list[CodeBlock]:
    """The runnable code blocks of `text`, in order."""
    found = []
    for match in FENCE.finditer(text):
        tag, code = match.group(2), match.group(3)
        if not code.strip():
            continue
        if tag:
            try:
                found.append(CodeBlock(language_of(tag), code))
            except ConfigError:
                continue
        else:
            if _is_python(code):
                found.append(CodeBlock("python", code))
            elif _is_shell(code):
                found.append(CodeBlock("sh", code))
    return found


SHELL_WORDS = frozenset(
    "awk bash bc cat cd chmod cp curl cut date echo env export find grep head ls mkdir mv pip pip3 "
    "printf pwd python python3 rm sed seq sh sort tail touch tr uname wc which".split()
)


def _is_shell(code: str) -> bool:
    """Starts with a shell command: a word of `SHELL_WORDS` or a path to run (`./run.sh`)."""
    first = code.strip().split(None, 1)[0]
    return first in SHELL_WORDS or first.startswith(("./", "/"))


STATEMENTS = (
    ast.Call, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Import, ast.ImportFrom, ast.FunctionDef,
    ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.While, ast.If, ast.With, ast.Try, ast.Return,
)  # fmt: skip


def _is_python(code: str) -> bool:
    """Parses as Python and does something (a call, an assignment, an import, a definition, a
    loop…): `ls -la | wc -l` parses too, as arithmetic on names, but is shell."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    return any(isinstance(node, STATEMENTS) for node in ast.walk(tree))
