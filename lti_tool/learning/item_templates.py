"""Item templates: one authored question with parameters, so a skill has many variants to practise.

An item with `parameters` is a template. Its texts hold `{formula}` placeholders and a numeric item's answer may
be a formula; serving picks values for the parameters and `instantiate` writes the concrete question. Formulas
are arithmetic over the parameters, read by a small evaluator over a whitelist of Python's syntax tree with exact
fractions: never `eval`, so a pack cannot run code, and 1/3 + 1/6 is exactly 1/2.
"""

from __future__ import annotations

import ast
import functools
import itertools
import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

from lti_tool.learning.messages import N_, Message

MAX_FORMULA_LENGTH = 200
#: More variants than this are not counted one by one (the count is only for the author's warning).
COUNT_CAP = 10_000
#: Some values of a template may divide by zero: constraints leave those out (see coursepack._check_template).
DIVIDES_BY_ZERO = N_("the formula divides by zero")
#: A value of a formula has at most this many digits (numerator and denominator each). No question needs longer
#: numbers, and unbounded ones let a pack's formula ("((a**12)**12)**12…") hold a server's CPU for hours while
#: it is imported or served, or fail when written out (Python writes no int of more than 4,300 digits).
MAX_DIGITS = 300
_TOO_LARGE = 10**MAX_DIGITS
TOO_LARGE = N_("the formula's numbers grow too large (more than %(digits)d digits)")
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
#: A template text's pieces, read once from left to right: `{if condition:text}` (groups 1 and 2: the text, which
#: may hold `{formula}` placeholders, only when the condition is true, e.g. ", which is {a/b}" only when that
#: fraction was not already in lowest terms; no `if` inside another), or a `{formula}` (group 3). What a piece
#: gives is never read again: an `{if}` inside a formula's braces made a formula of its text, one not checked.
_PIECE = re.compile(r"\{if\s([^{}:]+):((?:[^{}]|\{[^{}]*\})*)\}|\{([^{}]+)\}")
_NESTED_IF = re.compile(r"\{if\s")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FUNCTIONS: Mapping[str, Callable[..., Fraction]] = {
    "abs": lambda x: abs(x),
    "min": lambda *xs: min(xs),
    "max": lambda *xs: max(xs),
    "gcd": lambda a, b: Fraction(math.gcd(int(a), int(b))),
}


class TemplateError(ValueError):
    """A formula that cannot be read or computed (unknown name, division by zero, code instead of arithmetic).

    `message` says what is wrong as a Message (learning/messages.py), so the course-map editor shows it in the
    teacher's language; str() of the error is its English text.
    """

    def __init__(self, message: Message) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Parameter:
    """One parameter: whole numbers from `low` to `high` by `step`, or one of `values`."""

    name: str
    low: int | None = None
    high: int | None = None
    step: int = 1
    values: tuple[int | float, ...] = ()

    def choices(self) -> Sequence[int | float]:
        """Return every value the parameter can take."""
        if self.values:
            return self.values
        return range(self.low or 0, (self.high or 0) + 1, self.step)


Params = Mapping[str, int | float]


def evaluate(formula: str, params: Params) -> Fraction:
    """Return the exact value of an arithmetic formula over the parameters; comparisons give 1 or 0."""
    if len(formula) > MAX_FORMULA_LENGTH:
        raise TemplateError(Message(N_("the formula is longer than %(limit)d characters"), limit=MAX_FORMULA_LENGTH))
    values = {name: Fraction(str(v)) if isinstance(v, float) else Fraction(v) for name, v in params.items()}
    return _eval(_parsed(formula), values)


@functools.lru_cache(maxsize=4096)
def _parsed(formula: str) -> ast.expr:
    # A pack's formulas are few and each question fills a dozen: parse each once per process (the tree is only
    # read). A formula that does not parse raises each time (lru_cache keeps no exceptions).
    try:
        return ast.parse(formula.strip(), mode="eval").body
    except SyntaxError as error:
        raise TemplateError(_not_a_formula(formula.strip(), error)) from None


def _eval(node: ast.AST, values: Mapping[str, Fraction]) -> Fraction:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return Fraction(str(node.value)) if isinstance(node.value, float) else Fraction(node.value)
    if isinstance(node, ast.Name):
        if node.id not in values:
            raise TemplateError(Message(N_("%(name)s is not one of the item's parameters"), name=repr(node.id)))
        return values[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd | ast.Not):
        operand = _eval(node.operand, values)
        if isinstance(node.op, ast.Not):
            return Fraction(int(not operand))
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp) and isinstance(node.op, _OPERATORS):
        return _bounded(_binary(node.op, _eval(node.left, values), _eval(node.right, values)))
    if isinstance(node, ast.Compare):
        left = _eval(node.left, values)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _eval(right_node, values)
            if not _COMPARE[type(op)](left, right):
                return Fraction(0)
            left = right
        return Fraction(1)
    if isinstance(node, ast.BoolOp):
        results = (_eval(v, values) for v in node.values)
        return Fraction(int(all(results) if isinstance(node.op, ast.And) else any(results)))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        if node.keywords:
            raise TemplateError(Message(N_("functions take plain values, not keywords")))
        try:
            return Fraction(_FUNCTIONS[node.func.id](*(_eval(a, values) for a in node.args)))
        except TypeError as error:
            raise TemplateError(Message(N_("%(function)s() was given the wrong number of values"),
                                        function=node.func.id)) from error
    raise TemplateError(Message(N_("%(code)s is not arithmetic a template may use"), code=repr(ast.unparse(node))))


#: The arithmetic a formula may use between two values (_binary).
_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)


def _binary(op: ast.operator, left: Fraction, right: Fraction) -> Fraction:
    if isinstance(op, ast.Add):
        return left + right
    if isinstance(op, ast.Sub):
        return left - right
    if isinstance(op, ast.Mult):
        return left * right
    if isinstance(op, ast.Div | ast.FloorDiv | ast.Mod):
        if right == 0:
            raise TemplateError(Message(DIVIDES_BY_ZERO))
        if isinstance(op, ast.Div):
            return left / right
        return Fraction(left // right) if isinstance(op, ast.FloorDiv) else left % right
    # A power (the last of _OPERATORS). Small whole powers only: a huge exponent would be a way to make the server
    # work for minutes.
    if right.denominator != 1 or abs(right) > 12 or (left == 0 and right < 0):
        raise TemplateError(Message(N_("powers must be small whole numbers")))
    # Refused before it is computed when the power surely has too many digits: powers of powers grow twelvefold
    # each time, and computing the last one is what would take the hours.
    base_bits = max(left.numerator.bit_length(), left.denominator.bit_length())
    if (base_bits - 1) * abs(int(right)) > _TOO_LARGE.bit_length():
        raise TemplateError(Message(TOO_LARGE, digits=MAX_DIGITS))
    return left ** int(right)


def _bounded(value: Fraction) -> Fraction:
    """Return the value, or refuse it when its numerator or denominator has more than MAX_DIGITS digits."""
    if abs(value.numerator) >= _TOO_LARGE or value.denominator >= _TOO_LARGE:
        raise TemplateError(Message(TOO_LARGE, digits=MAX_DIGITS))
    return value


#: Python's own words for a formula it cannot read are English and many; a template's author gets one of these.
_UNCLOSED = re.compile(r"'([(\[{])' was never closed")
_UNMATCHED = re.compile(r"unmatched '([)\]}])'")


def _not_a_formula(formula: str, error: SyntaxError) -> Message:
    """Say where a formula stops being readable: a bracket never closed, one closing nothing, or the character."""
    column = error.offset if error.offset and 0 < error.offset <= len(formula) else None
    for pattern, template in ((_UNCLOSED, N_("%(formula)s is not a formula: the bracket %(bracket)s at character "
                                             "%(column)d is never closed")),
                              (_UNMATCHED, N_("%(formula)s is not a formula: the bracket %(bracket)s at character "
                                              "%(column)d closes nothing"))):
        match = pattern.fullmatch(error.msg or "")
        if match and column is not None:
            return Message(template, formula=repr(formula), bracket=match.group(1), column=column)
    if column is None:  # Python points past the end: "a ==" stops before its right-hand side
        return Message(N_("%(formula)s is not a formula: it stops before it is complete"), formula=repr(formula))
    return Message(N_("%(formula)s is not a formula: it cannot be read from character %(column)d on"),
                   formula=repr(formula), column=column)


_COMPARE: Mapping[type, Callable[[Fraction, Fraction], bool]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}


def names_in(formula: str) -> set[str]:
    """Return the names a formula uses (parameters and functions), to check them against the parameters."""
    try:
        tree = ast.parse(formula.strip(), mode="eval")
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - set(_FUNCTIONS)


def pieces(text: str) -> list[tuple[str | None, list[str]]]:
    """Return a text's `{if condition:…}` and `{formula}` pieces in order: (the condition, the formulas of its
    text) for an `{if}`, (None, [the formula]) for a placeholder."""
    found: list[tuple[str | None, list[str]]] = []
    for match in _PIECE.finditer(text):
        condition, inner, formula = match.groups()
        found.append((None, [formula]) if formula is not None else (condition, _PLACEHOLDER.findall(inner)))
    return found


def formulas_in(text: str) -> list[str]:
    """Return the formulas of a text: each `{if condition:…}`'s condition, then the `{formula}` placeholders."""
    found = pieces(text)
    return [c for c, _ in found if c is not None] + [f for _, formulas in found for f in formulas]


#: A template text whose braces are not all pieces (`template_text_problem`).
STRAY_BRACE = N_("has a { or } that is not part of a {formula} or an {if condition:text}: is one left open?")
NESTED_IF = N_("has an {if …} inside another: write each one on its own")


def template_text_problem(text: str) -> str | None:
    """Return what is wrong with a template text's braces (a message template), or None.

    A `{` or `}` outside the pieces would be shown to the learner as it stands ("{if a > 1:, which is …" left
    open), and one inside a formula's braces would have read an `{if}` there as part of the formula.
    """
    rest: list[str] = []
    end = 0
    for match in _PIECE.finditer(text):
        rest.append(text[end:match.start()])
        end = match.end()
        inner = match.group(2)
        if inner is not None:
            if _NESTED_IF.search(inner):
                return NESTED_IF
            rest.append(_PLACEHOLDER.sub("", inner))
    rest.append(text[end:])
    outside = "".join(rest)
    return STRAY_BRACE if "{" in outside or "}" in outside else None


def show(value: Fraction) -> str:
    """Write a value as people read it in a question: 7, -3, 3/4."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def fill(text: str, params: Params) -> str:
    """Replace each `{formula}` of a text by its value, and each `{if condition:text}` by its text when the
    condition is true (not 0), by nothing otherwise; in one pass, so what a piece gives is never read again."""

    def value(formula: str) -> str:
        return show(evaluate(formula, params))

    def piece(match: re.Match[str]) -> str:
        condition, inner, formula = match.groups()
        if formula is not None:
            return value(formula)
        if evaluate(condition, params) == 0:
            return ""
        return _PLACEHOLDER.sub(lambda m: value(m.group(1)), inner)

    return _PIECE.sub(piece, text)


def allowed(constraints: Sequence[str], params: Params) -> bool:
    """Return whether the parameter values meet every constraint (a division by zero does not)."""
    try:
        return all(evaluate(c, params) != 0 for c in constraints)
    except TemplateError:
        return False


def variant_key(item_id: str, params: Params) -> str:
    """Return a variant's canonical name, "item|a=1,b=2" (just the item id for a fixed item)."""
    if not params:
        return item_id
    return item_id + "|" + ",".join(f"{name}={params[name]}" for name in sorted(params))


def _combinations(parameters: Sequence[Parameter]) -> itertools.product:
    return itertools.product(*(p.choices() for p in parameters))


def variant_count(parameters: Sequence[Parameter], constraints: Sequence[str], cap: int = COUNT_CAP) -> int:
    """Return how many distinct variants the parameters give (at least `cap` when there are more)."""
    if not parameters:
        return 1
    # Serving asks for every item of a skill on each question, and counting walks every combination (two
    # thirds of bench/simulate.py's time went here): count each template once per process.
    return _variant_count(tuple(parameters), tuple(constraints), cap)


@functools.lru_cache(maxsize=4096)
def _variant_count(parameters: tuple[Parameter, ...], constraints: tuple[str, ...], cap: int) -> int:
    total = math.prod(len(p.choices()) for p in parameters)
    if total > cap:
        return cap
    names = [p.name for p in parameters]
    return sum(1 for combo in _combinations(parameters) if allowed(constraints, dict(zip(names, combo, strict=True))))


def sample(
    parameters: Sequence[Parameter], constraints: Sequence[str], rng: random.Random, avoid: Callable[[Params], bool]
) -> dict[str, int | float]:
    """Pick parameter values that meet the constraints, avoiding variants `avoid` rejects while there are others."""
    fallback: dict[str, int | float] | None = None
    for _ in range(200):
        params = {p.name: rng.choice(p.choices()) for p in parameters}
        if not allowed(constraints, params):
            continue
        if not avoid(params):
            return params
        fallback = fallback or params
    if fallback is not None:
        return fallback
    # Random draws missed (tight constraints): walk the combinations in order.
    names = [p.name for p in parameters]
    for combo in _combinations(parameters):
        params = dict(zip(names, combo, strict=True))
        if allowed(constraints, params):
            return params
    raise TemplateError(Message(N_("no values of the parameters meet the constraints")))


def instantiate_fields(item: object, params: Params) -> object:
    """Return a copy of a template item (a coursepack Item) with its texts filled and its answer computed."""
    changes: dict[str, object] = {
        "prompt": fill(item.prompt, params),  # type: ignore[attr-defined]
        "hints": tuple(fill(h, params) for h in item.hints),  # type: ignore[attr-defined]
        "solution": fill(item.solution, params),  # type: ignore[attr-defined]
    }
    if hasattr(item, "choices"):
        changes["choices"] = tuple(replace(c, text=fill(c.text, params)) for c in item.choices)
    if hasattr(item, "answers"):
        changes["answers"] = tuple(fill(a, params) for a in item.answers)
    if hasattr(item, "tolerance") and isinstance(item.answer, str):
        value = evaluate(item.answer, params)
        changes["answer"] = value.numerator if value.denominator == 1 else value
    return replace(item, **changes)  # type: ignore[type-var]
