"""The condition language of signal studies: a small, safe grammar, never ``eval``.

A condition is a tree of frozen dataclasses: ``Comparison(column, op, value)``,
``Membership(column, values)`` and ``And`` / ``Or`` of conditions. ``parse_condition``
builds one from text such as

    ifi_score > 70 and (rsi_14 < 30 or regime_id in {0, 1})

Grammar (``and`` binds tighter than ``or``; keywords in any case)::

    condition  := conjunct ("or" conjunct)*
    conjunct   := factor ("and" factor)*
    factor     := "(" condition ")" | comparison | membership
    comparison := COLUMN (">" | ">=" | "<" | "<=" | "==" | "!=") NUMBER
    membership := COLUMN "in" "{" value ("," value)* "}"
    value      := NUMBER | WORD | 'quoted text' | "quoted text"

Text longer than ``MAX_LENGTH`` characters or parentheses nested deeper than
``MAX_DEPTH`` are refused before parsing. Every error is a ``ConditionError`` that names
what is wrong and where. A missing (NaN) value never satisfies a comparison or a
membership, ``!=`` included: missing stays missing.
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

MAX_LENGTH = 500
MAX_DEPTH = 8
OPERATORS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
KEYWORDS = ("and", "or", "in")
_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<number>[-+]?(?:\d|\.\d)(?:[\w.]|(?<=[eE])[-+])*)"
    r"|(?P<word>[A-Za-z_]\w*)"
    r"|(?P<text>'[^']*'|\"[^\"]*\")"
    r"|(?P<op>[<>=!]+)"
    r"|(?P<punct>[(){},])",
    re.ASCII,
)
_WORD = re.compile(r"[A-Za-z_]\w*\Z", re.ASCII)


class ConditionError(ValueError):
    """A condition that cannot be parsed or evaluated; the message says why."""


@dataclass(frozen=True)
class Comparison:
    """``column op value``: true where the column's value compares so (never where NaN)."""

    column: str
    op: str
    value: float

    def __post_init__(self) -> None:
        if self.op not in OPERATORS:
            raise ConditionError(f"bad operator {self.op!r}; use one of {' '.join(OPERATORS)}")
        if not np.isfinite(self.value):
            raise ConditionError(f"bad number {self.value!r}: it must be finite")

    def __str__(self) -> str:
        return f"{self.column} {self.op} {_number_text(self.value)}"

    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def mask(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """Boolean array of shape (n,) over ``values[column]`` of shape (n,)."""
        column = np.asarray(values[self.column])
        if column.dtype.kind not in "biuf":
            raise ConditionError(
                f"column {self.column!r} holds text: use '{self.column} in {{...}}'"
            )
        column = column.astype(float)
        with np.errstate(invalid="ignore"):
            return OPERATORS[self.op](column, self.value) & np.isfinite(column)


@dataclass(frozen=True)
class Membership:
    """``column in {values}``: numbers for a numeric column, text for a text column."""

    column: str
    values: tuple[float | str, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise ConditionError(f"'{self.column} in {{}}': the set is empty")
        if any(not isinstance(v, str) and not np.isfinite(v) for v in self.values):
            raise ConditionError(f"the set of {self.column!r} holds a number that is not finite")

    def __str__(self) -> str:
        return f"{self.column} in {{{', '.join(_value_text(v) for v in self.values)}}}"

    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def mask(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """Boolean array of shape (n,) over ``values[column]`` of shape (n,)."""
        column = np.asarray(values[self.column])
        numeric = column.dtype.kind in "biuf"
        wrong = [v for v in self.values if isinstance(v, str) == numeric]
        if wrong:
            holds, kind = ("numbers", "not a number") if numeric else ("text", "a number")
            raise ConditionError(
                f"column {self.column!r} holds {holds}; {_value_text(wrong[0])} is {kind}"
            )
        return pd.Series(column).isin(self.values).to_numpy()


@dataclass(frozen=True)
class _Junction:
    """Conditions joined by one keyword (``And``, ``Or``): at least two of them."""

    conditions: tuple[Condition, ...]
    word: ClassVar[str]
    combine: ClassVar[Callable[[list[np.ndarray]], np.ndarray]]

    def __post_init__(self) -> None:
        _check_operands(self.conditions, self.word)

    def __str__(self) -> str:
        return f" {self.word} ".join(_operand_text(c) for c in self.conditions)

    def columns(self) -> tuple[str, ...]:
        return _union(self.conditions)

    def mask(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        return type(self).combine([c.mask(values) for c in self.conditions])


@dataclass(frozen=True)
class And(_Junction):
    """True where every one of ``conditions`` (at least two) is true."""

    word: ClassVar[str] = "and"
    combine: ClassVar = np.logical_and.reduce


@dataclass(frozen=True)
class Or(_Junction):
    """True where any one of ``conditions`` (at least two) is true."""

    word: ClassVar[str] = "or"
    combine: ClassVar = np.logical_or.reduce


Condition = Comparison | Membership | And | Or


def _check_operands(conditions: tuple[Condition, ...], word: str) -> None:
    if len(conditions) < 2:
        raise ConditionError(f"'{word}' needs at least two conditions")


def _union(conditions: tuple[Condition, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for c in conditions for name in c.columns()))


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)


def _value_text(value: float | str) -> str:
    if not isinstance(value, str):
        return _number_text(value)
    if _WORD.match(value) and value.lower() not in KEYWORDS:
        return value
    return f'"{value}"' if "'" in value else f"'{value}'"


def _operand_text(condition: Condition) -> str:
    return f"({condition})" if isinstance(condition, And | Or) else str(condition)


@dataclass(frozen=True)
class _Token:
    kind: str  # number, word, text, op, punct, end
    text: str
    at: int  # position in the input, from 0


def _tokens(text: str) -> list[_Token]:
    out, at = [], 0
    while at < len(text):
        found = _TOKEN.match(text, at)
        if found is None:
            what = "unterminated quote" if text[at] in "'\"" else "unexpected character"
            raise ConditionError(f"{what} {text[at]!r} at position {at}")
        if found.lastgroup != "space":
            out.append(_Token(found.lastgroup, found.group(), at))
        at = found.end()
    out.append(_Token("end", "end of input", len(text)))
    return out


def _check_parentheses(tokens: list[_Token]) -> None:
    opened: list[int] = []
    for token in tokens:
        if token.text == "(":
            opened.append(token.at)
            if len(opened) > MAX_DEPTH:
                raise ConditionError(
                    f"parentheses nested deeper than {MAX_DEPTH} levels (position {token.at})"
                )
        elif token.text == ")":
            if not opened:
                raise ConditionError(
                    f"unbalanced parentheses: ')' at position {token.at} closes nothing"
                )
            opened.pop()
    if opened:
        raise ConditionError(
            f"unbalanced parentheses: '(' at position {opened[-1]} is never closed"
        )


class _Parser:
    """Recursive descent over the tokens; columns checked against ``known`` when given."""

    def __init__(self, tokens: list[_Token], known: Collection[str] | None) -> None:
        self.tokens, self.known, self.at = tokens, known, 0

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token.kind == "word" and token.text.lower() == word:
            self.at += 1
            return True
        return False

    def expect(self, text: str, after: str) -> None:
        token = self.take()
        if token.text != text:
            raise ConditionError(
                f"expected {text!r} after {after} at position {token.at}, got {token.text!r}"
            )

    def condition(self) -> Condition:
        parts = [self.conjunct()]
        while self.keyword("or"):
            parts.append(self.conjunct())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def conjunct(self) -> Condition:
        parts = [self.factor()]
        while self.keyword("and"):
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def factor(self) -> Condition:
        if self.peek().text == "(":
            self.take()
            inner = self.condition()
            self.expect(")", "a condition in parentheses")
            return inner
        column = self.column()
        if self.keyword("in"):
            return Membership(column, self.values(column))
        token = self.take()
        if token.kind != "op":
            raise ConditionError(
                f"expected an operator ({' '.join(OPERATORS)}) or 'in' after {column!r} "
                f"at position {token.at}, got {token.text!r}"
            )
        if token.text not in OPERATORS:
            raise ConditionError(
                f"bad operator {token.text!r} at position {token.at}; "
                f"use one of {' '.join(OPERATORS)}"
            )
        return Comparison(column, token.text, self.number(f"'{column} {token.text}'"))

    def column(self) -> str:
        token = self.take()
        if token.kind != "word" or token.text.lower() in KEYWORDS:
            raise ConditionError(
                f"expected a column name at position {token.at}, got {token.text!r}"
            )
        if self.known is not None and token.text not in self.known:
            raise _unknown_column(token.text, self.known, f" at position {token.at}")
        return token.text

    def number(self, after: str) -> float:
        token = self.take()
        if token.kind != "number":
            raise ConditionError(
                f"expected a number after {after} at position {token.at}, got {token.text!r}"
            )
        try:
            value = float(token.text)
        except ValueError:
            raise ConditionError(f"bad number {token.text!r} at position {token.at}") from None
        if not np.isfinite(value):
            raise ConditionError(f"bad number {token.text!r} at position {token.at}: too large")
        return value

    def values(self, column: str) -> tuple[float | str, ...]:
        self.expect("{", f"'{column} in'")
        found: list[float | str] = []
        while True:
            token = self.peek()
            if token.kind == "number":
                found.append(self.number(f"'{column} in {{'"))
            elif token.kind in ("word", "text"):
                self.take()
                found.append(token.text if token.kind == "word" else token.text[1:-1])
            else:
                raise ConditionError(
                    f"expected a value in the set of {column!r} at position {token.at}, "
                    f"got {token.text!r}"
                )
            token = self.take()
            if token.text == "}":
                return tuple(dict.fromkeys(found))
            if token.text != ",":
                raise ConditionError(
                    f"expected ',' or '}}' in the set of {column!r} at position {token.at}, "
                    f"got {token.text!r}"
                )


def parse_condition(text: str, columns: Collection[str] | None = None) -> Condition:
    """Parse a condition from text, safely (a grammar of its own, never ``eval``).

    Parameters
    ----------
    text : str
        At most ``MAX_LENGTH`` characters, e.g. ``"smi > 70 and rsi_14 < 30"``.
    columns : collection of str, optional
        The column names a condition may use; an unknown name is an error that lists the
        closest ones. None: any name.

    Returns
    -------
    Condition
        A ``Comparison``, ``Membership``, ``And`` or ``Or``; ``str()`` of it parses back
        to an equal condition.

    Raises
    ------
    ConditionError
        Naming the problem and its position: too long, unbalanced or too deeply nested
        parentheses, an unknown column, a bad operator or number, an unexpected token.
    """
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"condition too long: {len(text)} characters, at most {MAX_LENGTH}")
    tokens = _tokens(text)
    if tokens[0].kind == "end":
        raise ConditionError("empty condition")
    _check_parentheses(tokens)
    parser = _Parser(tokens, columns)
    condition = parser.condition()
    token = parser.peek()
    if token.kind != "end":
        raise ConditionError(
            f"expected 'and', 'or' or the end at position {token.at}, got {token.text!r}"
        )
    return condition


def require_columns(condition: Condition, columns: Collection[str]) -> None:
    """Raise ``ConditionError`` when ``condition`` uses a column not in ``columns``."""
    for name in condition.columns():
        if name not in columns:
            raise _unknown_column(name, columns)


def _unknown_column(name: str, known: Collection[str], where: str = "") -> ConditionError:
    """The error for an unknown column, listing up to three close names."""
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}?" if close else f"{len(known)} columns known"
    return ConditionError(f"unknown column {name!r}{where}; {hint}")
