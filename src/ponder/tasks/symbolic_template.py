"""GSM-Symbolic templates (Mirzadeh et al. 2024): parse one, and draw instances that satisfy it.

A template is a question with placeholders `{var,original value}` followed by

    #init:
    - name = sample(names_male)          a word
    - $x = range(5, 100, 5)              a number drawn from a range or list
    - a, b = sample(["x", "y", "z"], 2)  several distinct draws
    #conditions:
    - divides(x * k, 12)                 Python expressions that must all hold
    #answer: x * k * (12 // n)

Expressions are evaluated with a whitelist of syntax and names (no attributes but `np.arange`
and `np.random.randint`, no builtins but the listed ones), never with Python's full `eval`
namespace. An instance is drawn by rejection: fresh values until every condition holds.
"""

from __future__ import annotations

import ast
import math
import random
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ponder.tasks.answers import normalise_number
from ponder.tasks.symbolic_vocab import VOCAB, Word

MAX_TRIES = 50_000


class TemplateError(ValueError):
    """A template that cannot be parsed, evaluated or satisfied."""


@dataclass(frozen=True)
class Assignment:
    names: tuple[str, ...]
    code: Any  # compiled expression
    draws: bool  # the expression draws itself (sample, sample_sequential)
    source: str


@dataclass(frozen=True)
class Template:
    question: str
    assignments: tuple[Assignment, ...]
    conditions: tuple[tuple[Any, str], ...]
    answer: Any
    answer_source: str


_ALLOWED_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.List,
    ast.Tuple,
    ast.Subscript,
    ast.Slice,
    ast.Attribute,
    ast.IfExp,
    ast.operator,
    ast.unaryop,
    ast.boolop,
    ast.cmpop,
    ast.keyword,
)
_ATTRIBUTES = {("np", "arange"), ("np", "random"), ("random", "randint")}


def _compile(source: str, where: str) -> ast.Expression:
    """The checked syntax tree of an expression (see `_ALLOWED_NODES`)."""
    text = re.sub(r"\$(?=[A-Za-z_])", "", source.strip())
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        raise TemplateError(f"{where}: not an expression: {source.strip()!r} ({e.msg})") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise TemplateError(f"{where}: {type(node).__name__} is not allowed in {source.strip()!r}")
        if isinstance(node, ast.Attribute):
            base = node.value.id if isinstance(node.value, ast.Name) else getattr(node.value, "attr", None)
            if (base, node.attr) not in _ATTRIBUTES:
                raise TemplateError(f"{where}: attribute {node.attr!r} is not allowed in {source.strip()!r}")
        if isinstance(node, ast.Name) and node.id.startswith("__"):
            raise TemplateError(f"{where}: name {node.id!r} is not allowed")
    return tree


def parse(annotated: str, where: str = "template") -> Template:
    annotated = re.sub(r"#answer\s*=", "#answer:", annotated)
    if "#init:" not in annotated or "#answer:" not in annotated:
        raise TemplateError(f"{where}: needs '#init:' and '#answer:' sections")
    question, _, rest = annotated.partition("#init:")
    init, _, answer = rest.partition("#answer:")
    init, _, conditions = init.partition("#conditions:")
    assignments = []
    for line in init.splitlines():
        line = line.strip()
        if not line.startswith("-"):
            continue
        lhs, eq, rhs = line[1:].partition("=")
        if not eq:
            raise TemplateError(f"{where}: init line {line!r} is not 'name = expression'")
        names = tuple(n.strip().lstrip("$").strip() for n in lhs.split(","))
        if not all(n.isidentifier() for n in names):
            raise TemplateError(f"{where}: init line {line!r} assigns to {lhs.strip()!r}")
        tree = _compile(rhs, where)
        top = tree.body
        draws = (
            isinstance(top, ast.Call)
            and isinstance(top.func, ast.Name)
            and top.func.id in ("sample", "sample_sequential")
        )
        assignments.append(Assignment(names, _code(tree), draws, rhs.strip()))
    conds = []
    for line in conditions.splitlines():
        line = line.strip()
        if line.startswith("-") and line[1:].strip():
            conds.append((_code(_compile(line[1:], where)), line[1:].strip()))
    known = set(VOCAB) | set(_FUNCTION_NAMES) | {n for a in assignments for n in a.names}
    for source in [a.source for a in assignments] + [src for _, src in conds] + [answer]:
        for node in ast.walk(_compile(source, where)):
            if isinstance(node, ast.Name) and node.id not in known:
                raise TemplateError(f"{where}: unknown name {node.id!r} in {source.strip()!r}")
    return Template(
        question.strip(), tuple(assignments), tuple(conds), _code(_compile(answer, where)), answer.strip()
    )


def _code(tree: ast.Expression):
    return compile(tree, "<template>", "eval")


class _Np:
    """The two numpy calls the templates use, drawn from our own seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.random = self
        self._rng = rng

    @staticmethod
    def arange(start, stop, step=1) -> list[float]:
        count = max(0, math.ceil((stop - start) / step))
        return [start + i * step for i in range(count)]

    def randint(self, low, high, size=1) -> list[int]:
        return [self._rng.randrange(low, high) for _ in range(size)]


def _is_int(x) -> bool:
    if isinstance(x, (int, Fraction)):
        return Fraction(x).denominator == 1
    return abs(x - round(x)) < 1e-9


def _divides(a, b) -> bool:
    """a is a whole multiple of b."""
    if b == 0:
        return False
    return _is_int(a / b if isinstance(a, float) or isinstance(b, float) else Fraction(a) / Fraction(b))


def _functions(rng: random.Random) -> dict[str, Any]:
    def sample(seq, k=None):
        seq = list(seq)
        if k is None:
            return rng.choice(seq)
        return rng.sample(seq, k)

    def sample_sequential(seq, k):
        seq = list(seq)
        start = rng.randrange(0, len(seq) - k + 1)
        return seq[start : start + k]

    def shuffle_list(seq):
        seq = list(seq)
        rng.shuffle(seq)
        return seq

    return {
        "sample": sample,
        "sample_sequential": sample_sequential,
        "shuffle_list": shuffle_list,
        "numbers_within": lambda a, b: list(range(a, b + 1)),
        "frange": lambda a, b, s: _Np.arange(a, b, s),
        "fix_floats": lambda seq: [round(x, 2) for x in seq],
        "is_int": _is_int,
        "divides": _divides,
        "range": range,
        "list": list,
        "int": int,
        "round": round,
        "abs": abs,
        "min": min,
        "max": max,
        "sum": sum,
        "len": len,
        "float": float,
        "Fraction": Fraction,
        "np": _Np(rng),
        "True": True,
        "False": False,
    }


_FUNCTION_NAMES = tuple(_functions(random.Random(0)))


def _pick(value: Any, picked: bool, rng: random.Random) -> Any:
    """A single draw from a range or list, unless the expression already drew (sample())."""
    if not picked and isinstance(value, (range, list)):
        if not value:
            raise TemplateError("drawing from an empty range or list")
        value = rng.choice(list(value))
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[1], (int, float, Fraction))
        and not isinstance(value[1], bool)
    ):
        value = Word(str(value[0]), value[1])
    return value


def _evaluate(code, env: dict[str, Any]) -> Any:
    return eval(code, {"__builtins__": {}}, env)  # noqa: S307 (whitelisted syntax tree, no builtins)


def draw(template: Template, rng: random.Random, tries: int = MAX_TRIES) -> tuple[dict[str, Any], str] | None:
    """Values satisfying every condition and the answer, or None after `tries` rejected draws."""
    base = {**VOCAB, **_functions(rng)}
    for _ in range(tries):
        env: dict[str, Any] = dict(base)
        try:
            for a in template.assignments:
                value = _evaluate(a.code, env)
                if len(a.names) == 1:
                    env[a.names[0]] = _pick(value, a.draws, rng)
                else:
                    values = list(value)
                    if len(values) != len(a.names):
                        raise TemplateError(
                            f"{a.source!r} gives {len(values)} values for {len(a.names)} names"
                        )
                    for name, v in zip(a.names, values):
                        env[name] = _pick(v, True, rng)
            if not all(_evaluate(c, env) for c, _ in template.conditions):
                continue
            answer = _evaluate(template.answer, env)
        except (ZeroDivisionError, ValueError, TypeError, IndexError, OverflowError):
            continue
        text = render_number(answer)
        if text is not None:
            return env, text
    return None


def render_number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = Fraction(round(value, 6)).limit_denominator(10**6)
    return normalise_number(str(value))


_PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)\s*,[^{}]*\}")


def render(template: Template, env: dict[str, Any]) -> str:
    def value(m: re.Match) -> str:
        name = m.group(1)
        if name not in env:
            raise TemplateError(f"the question uses {{{name},…}} but #init does not define {name!r}")
        v = env[name]
        if isinstance(v, Word):
            return v.text
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        if isinstance(v, float):
            return f"{v:.2f}".rstrip("0").rstrip(".")
        if isinstance(v, Fraction):
            return render_number(v) or str(v)
        if isinstance(v, tuple) and v:
            return str(v[0])
        return str(v)

    return _PLACEHOLDER.sub(value, template.question)
