"""Money enters as exact integer cents: text forms, number cells, sub-cent formula results."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.money import decimal_to_cents, format_cents, parse_money_text, to_cents

# the range the reader supports: under 10^13 dollars, as for number cells
CENTS = st.integers(min_value=-(10**15 - 1), max_value=10**15 - 1)


def cents_of(*values, decimal_comma=False):
    cents, bad = to_cents(pd.Series(list(values), dtype="object"), decimal_comma)
    return [None if pd.isna(c) else int(c) for c in cents], bad.tolist()


@pytest.mark.parametrize("text, cents", [
    ("$1,234.50", 123450),
    ("1234.5", 123450),
    ("45", 4500),
    (".5", 50),
    ("(45.00)", -4500),
    ("($45.00)", -4500),
    ("-45.00", -4500),
    ("-$45.00", -4500),
    ("$-45.00", -4500),
    ("45.00-", -4500),
    ("  $ 1,234,567.89 ", 123456789),
    ("USD 12.00", 1200),
    ("\u00a012.00", 1200),
])
def test_text_amounts_parse_to_exact_cents(text, cents):
    assert parse_money_text(text) == cents


@pytest.mark.parametrize("text", [
    "abc", "-", "$", "()", "(45.00", "45.00)", "(-45.00)", "--45", "12.345", "1.2.3", "+5",
    "1e5", "nan", "inf", "0x10",
])
def test_text_that_is_not_an_amount_is_unreadable(text):
    assert parse_money_text(text) is None
    assert cents_of(text) == ([None], [True])


def test_decimal_comma_text_is_unreadable_without_the_setting():
    assert parse_money_text("1.234,50") is None
    assert parse_money_text("1,23") is None


def test_decimal_comma_text_parses_with_the_setting():
    assert parse_money_text("1.234,50", decimal_comma=True) == 123450
    assert parse_money_text("45,00", decimal_comma=True) == 4500
    assert parse_money_text("(45,00)", decimal_comma=True) == -4500


def test_decimal_comma_setting_leaves_number_cells_alone():
    assert cents_of(1234.5, decimal_comma=True) == ([123450], [False])


def test_huge_digit_strings_are_unreadable_not_wrapped_or_zero():
    assert parse_money_text("9" * 19) is None
    assert parse_money_text("9" * 25) is None
    assert parse_money_text("$9,999,999,999,999.99") == 999_999_999_999_999


@pytest.mark.parametrize("text", ["٣", "٣.٥٠", "１２"])
def test_non_ascii_digits_are_unreadable_not_zero(text):
    assert parse_money_text(text) is None


def test_number_cells_become_cents():
    assert cents_of(1234.5, 10, 0.1 + 0.2, -0.0) == ([123450, 1000, 30, 0], [False] * 4)


@pytest.mark.parametrize("value, cents", [
    (3.335, 334),     # =10/3-style results: half a cent rounds up
    (1.005, 101),
    (2.675, 268),     # stored as 2.67499999…, but Excel shows and rounds 2.675
    (0.125, 13),
    (-1.005, -101),   # half away from zero, as Excel's ROUND
    (3.3333333, 333),
])
def test_sub_cent_formula_results_round_half_up(value, cents):
    assert cents_of(value) == ([cents], [False])


def test_blank_cells_are_missing_not_unreadable():
    assert cents_of(None, "", "   ", float("nan")) == ([None] * 4, [False] * 4)


def test_dates_booleans_and_infinities_are_not_amounts():
    values, bad = cents_of(True, dt.date(2026, 3, 15), float("inf"), 1e20)
    assert values == [None] * 4
    assert bad == [True] * 4


def test_decimal_to_cents_for_x12_amounts():
    assert decimal_to_cents("123.4") == 12340
    assert decimal_to_cents("-12") == -1200
    assert decimal_to_cents(".5") == 50
    assert decimal_to_cents("0.005") == 1
    assert decimal_to_cents("abc") is None
    assert decimal_to_cents("NaN") is None
    # more digits of cents than Decimal's 28 hold: unreadable, not an InvalidOperation
    assert decimal_to_cents("1E26") is None and decimal_to_cents("-1e400") is None


def test_format_cents_for_messages():
    assert format_cents(12345) == "$123.45"
    assert format_cents(-4500) == "-$45.00"
    assert format_cents(123456789) == "$1,234,567.89"
    assert format_cents(None) == ""


# --- properties -------------------------------------------------------------------------------

def _dollars(c: int) -> str:
    whole, part = divmod(abs(c), 100)
    return f"{whole}.{part:02d}"


def _grouped(c: int) -> str:
    whole, part = divmod(abs(c), 100)
    return f"{whole:,}.{part:02d}"


@settings(deadline=None)
@given(CENTS)
def test_property_currency_text_round_trips(c):
    if c >= 0:
        assert parse_money_text(f"${_grouped(c)}") == c
    else:
        assert parse_money_text(f"({_grouped(c)})") == c
        assert parse_money_text(f"(${_grouped(c)})") == c


@settings(deadline=None)
@given(CENTS)
def test_property_minus_sign_text_round_trips(c):
    assert parse_money_text(("-" if c < 0 else "") + _dollars(c)) == c


@settings(deadline=None)
@given(CENTS)
def test_property_decimal_comma_text_round_trips(c):
    text = ("-" if c < 0 else "") + _grouped(c).replace(",", " ").replace(".", ",")
    assert parse_money_text(text.replace(" ", "."), decimal_comma=True) == c


@settings(deadline=None)
@given(CENTS)
def test_property_number_cell_round_trips(c):
    assert cents_of(c / 100) == ([c], [False])


@settings(deadline=None)
@given(st.text(max_size=30))
def test_property_arbitrary_text_never_raises(text):
    values, bad = cents_of(text)
    value = values[0]
    if bad[0]:
        assert value is None
    elif value is None:
        assert text.strip().replace("\u00a0", "") == ""  # only a blank is missing
    else:
        assert isinstance(value, int)
    assert parse_money_text(text) == (None if bad[0] else value)
