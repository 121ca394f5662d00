"""The condition language: a grammar of its own (never eval), clear errors, NaN never true."""

from __future__ import annotations

import numpy as np
import pytest

from engine.studies.conditions import (
    MAX_DEPTH,
    MAX_LENGTH,
    And,
    Comparison,
    ConditionError,
    Membership,
    Or,
    parse_condition,
    require_columns,
)

COLUMNS = ("ifi_score", "ifi_20", "rsi_14", "smi", "engulfing", "regime_id", "regime_name")


def test_a_condition_parses_into_its_tree_with_and_binding_tighter_than_or() -> None:
    parsed = parse_condition(
        "ifi_score > 70 AND (rsi_14 < 30 or regime_id in {0, 1}) or engulfing == 1", COLUMNS
    )
    assert parsed == Or(
        (
            And(
                (
                    Comparison("ifi_score", ">", 70.0),
                    Or((Comparison("rsi_14", "<", 30.0), Membership("regime_id", (0.0, 1.0)))),
                )
            ),
            Comparison("engulfing", "==", 1.0),
        )
    )
    assert parsed.columns() == ("ifi_score", "rsi_14", "regime_id", "engulfing")


@pytest.mark.parametrize(
    "text",
    [
        "smi >= 70",
        "rsi_14 <= -1.5e-3 and smi != 50",
        "ifi_20 > .12 or (rsi_14 < 30 and (smi > 60 or engulfing == -1))",
        "regime_name in {calm, 'Low vol · strong breadth · ATR expanding', \"it's\", 'and'}",
        "(smi > 1 and smi < 2) and rsi_14 > 3",
    ],
)
def test_the_text_of_a_condition_parses_back_to_it(text: str) -> None:
    parsed = parse_condition(text, COLUMNS)
    assert parse_condition(str(parsed), COLUMNS) == parsed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rsi14 < 30", "unknown column 'rsi14' at position 0; did you mean rsi_14"),
        ("smi => 70", "bad operator '=>' at position 4"),
        ("smi = 70", "bad operator '='"),
        ("smi > 70x", "bad number '70x' at position 6"),
        ("smi > 1e999", "bad number '1e999'"),
        ("smi > high", "expected a number after 'smi >' at position 6, got 'high'"),
        ("(smi > 70 and rsi_14 < 30", "unbalanced parentheses: '(' at position 0 is never closed"),
        ("smi > 70)", "unbalanced parentheses: ')' at position 8 closes nothing"),
        ("", "empty condition"),
        ("smi > 70 rsi_14 < 30", "expected 'and', 'or' or the end at position 9"),
        ("smi > 70 and", "expected a column name at position 12, got 'end of input'"),
        ("smi $ 70", "unexpected character '$' at position 4"),
        ("regime_name in {'calm}", "unterminated quote"),
        ("regime_id in {}", "expected a value in the set of 'regime_id'"),
        ("regime_id in {1 2}", "expected ',' or '}' in the set of 'regime_id'"),
        ("70 < smi", "expected a column name at position 0, got '70'"),
        ("smi 70", "expected an operator"),
    ],
)
def test_a_bad_condition_raises_an_error_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(ConditionError) as raised:
        parse_condition(text, COLUMNS)
    assert message in str(raised.value)


def test_too_long_and_too_deeply_nested_conditions_are_refused_before_parsing() -> None:
    long = " or ".join(["smi > 70"] * 60)
    assert len(long) > MAX_LENGTH
    with pytest.raises(ConditionError, match=f"too long: {len(long)} characters, at most 500"):
        parse_condition(long, COLUMNS)
    deep = "(" * (MAX_DEPTH + 1) + "smi > 1" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(ConditionError, match=f"nested deeper than {MAX_DEPTH} levels"):
        parse_condition(deep, COLUMNS)
    fine = "(" * MAX_DEPTH + "smi > 1" + ")" * MAX_DEPTH
    assert parse_condition(fine, COLUMNS) == Comparison("smi", ">", 1.0)


def test_code_is_never_run_only_refused() -> None:
    for text in ("__import__('os').system('true')", "smi > 70 and exec('1')", "smi.real > 1"):
        with pytest.raises(ConditionError):
            parse_condition(text, COLUMNS)


def test_without_known_columns_any_name_parses_and_require_columns_checks_later() -> None:
    parsed = parse_condition("anything > 1")
    assert parsed == Comparison("anything", ">", 1.0)
    with pytest.raises(ConditionError, match="unknown column 'anything'"):
        require_columns(parsed, COLUMNS)


def test_a_missing_value_never_satisfies_a_condition() -> None:
    values = {
        "smi": np.array([80.0, np.nan, 20.0, np.nan]),
        "rsi_14": np.array([np.nan, 10.0, 10.0, np.nan]),
        "regime_id": np.array([0.0, np.nan, 3.0, 1.0]),
        "regime_name": np.array(["calm", None, "storm", None], dtype=object),
    }
    for text, expected in [
        ("smi > 50", [True, False, False, False]),
        ("smi != 50", [True, False, True, False]),  # NaN != 50 is not "true"
        ("smi <= 100", [True, False, True, False]),
        ("smi > 50 or rsi_14 < 30", [True, True, True, False]),  # either side may hold
        ("smi > 50 and rsi_14 < 30", [False, False, False, False]),
        ("regime_id in {0, 1}", [True, False, False, True]),
        ("regime_name in {calm, storm}", [True, False, True, False]),
    ]:
        assert parse_condition(text).mask(values).tolist() == expected, text


def test_a_column_of_the_wrong_kind_is_an_error() -> None:
    values = {"regime_name": np.array(["calm"], dtype=object), "smi": np.array([1.0])}
    with pytest.raises(ConditionError, match="holds text: use 'regime_name in"):
        parse_condition("regime_name > 1").mask(values)
    with pytest.raises(ConditionError, match="holds numbers; calm is not a number"):
        parse_condition("smi in {1, calm}").mask(values)
    with pytest.raises(ConditionError, match="holds text; 3 is a number"):
        parse_condition("regime_name in {3}").mask(values)


def test_the_dataclasses_refuse_what_the_parser_would() -> None:
    with pytest.raises(ConditionError, match="bad operator"):
        Comparison("smi", "=", 1.0)
    with pytest.raises(ConditionError, match="finite"):
        Comparison("smi", ">", float("nan"))
    with pytest.raises(ConditionError, match="the set is empty"):
        Membership("smi", ())
    with pytest.raises(ConditionError, match="at least two"):
        And((Comparison("smi", ">", 1.0),))
