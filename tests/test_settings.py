"""The Settings sheet: defaults, each key, and bad values reported with their row."""

from __future__ import annotations

import pytest

from engine.errors import InputError
from engine.settings import Settings, parse_settings


def one(key, value, row=7):
    return parse_settings([(key, value, row)])


def test_defaults_follow_the_workbook_contract():
    s = parse_settings([])
    assert s == Settings()
    assert (s.terms_days, s.claim_followup_days, s.tolerance_cents, s.match_threshold,
            s.plan_grace_days, s.explained_reasons, s.date_order, s.decimal_comma,
            s.remit_folder, s.practice_name) == (30, 30, 100, 0.85, 5, ("253",), None, False,
                                                 None, None)
    assert s.column_map == {} and s.extra == {}


@pytest.mark.parametrize("key", ["terms_days", "claim_followup_days", "plan_grace_days",
                                 "backups_kept"])
def test_day_counts_are_whole_numbers(key):
    assert getattr(one(key, "45"), key) == 45
    assert getattr(one(key, 45.0), key) == 45
    assert getattr(one(key, "45.0"), key) == 45


def test_keys_are_matched_case_and_space_insensitively():
    assert one("Terms Days", "10").terms_days == 10
    assert one(" TERMS_DAYS ", "11").terms_days == 11


@pytest.mark.parametrize("value", ["soon", "45.5", "-5", "Infinity", "NaN", "1e400"])
def test_bad_day_count_is_an_input_error_naming_the_row(value):
    with pytest.raises(InputError) as err:
        one("terms_days", value, row=9)
    assert err.value.sheet == "Settings" and err.value.row == 9
    assert "terms_days" in str(err.value) and "row 9" in str(err.value)


def test_tolerance_is_money_in_cents():
    assert one("tolerance", "2.50").tolerance_cents == 250
    assert one("tolerance", "$0.99").tolerance_cents == 99
    assert one("tolerance", 0.5).tolerance_cents == 50
    assert one("tolerance", "0").tolerance_cents == 0


@pytest.mark.parametrize("value", ["-1", "lots", "1.005"])
def test_bad_tolerance_is_an_input_error_naming_the_row(value):
    with pytest.raises(InputError) as err:
        one("tolerance", value, row=4)
    assert err.value.row == 4 and "tolerance" in err.value.message


def test_match_threshold_between_zero_and_one():
    assert one("match_threshold", "0.9").match_threshold == 0.9
    assert one("match_threshold", "1").match_threshold == 1.0


@pytest.mark.parametrize("value", ["1.5", "-0.1", "90%", "nan", "high"])
def test_bad_match_threshold_is_an_input_error_naming_the_row(value):
    with pytest.raises(InputError) as err:
        one("match_threshold", value, row=5)
    assert err.value.row == 5


def test_explained_reasons_list_of_codes():
    assert one("explained_reasons", "253, 45;co-45 97").explained_reasons == (
        "253", "45", "CO-45", "97")
    assert one("explained_reasons", 253.0).explained_reasons == ("253",)


def test_date_order_mdy_or_dmy():
    assert one("date_order", "dmy").date_order == "DMY"
    assert one("date_order", "MDY").date_order == "MDY"


def test_bad_date_order_is_an_input_error_naming_the_row():
    with pytest.raises(InputError) as err:
        one("date_order", "YMD", row=3)
    assert err.value.row == 3 and "date_order" in err.value.message


@pytest.mark.parametrize("value, expected", [("yes", True), ("Y", True), ("TRUE", True),
                                             (True, True), ("1", True), ("no", False),
                                             ("false", False), ("0", False)])
def test_decimal_comma_yes_or_no(value, expected):
    assert one("decimal_comma", value).decimal_comma is expected


def test_bad_decimal_comma_is_an_input_error_naming_the_row():
    with pytest.raises(InputError) as err:
        one("decimal_comma", "maybe", row=6)
    assert err.value.row == 6 and "decimal_comma" in err.value.message


def test_text_settings_kept_as_typed():
    s = parse_settings([("remit_folder", r"C:\Remits", 2), ("practice_name", "Main St Clinic", 3)])
    assert s.remit_folder == r"C:\Remits" and s.practice_name == "Main St Clinic"


def test_column_mapping_is_stored_by_sheet_and_column():
    s = one("column.Invoices.Invoice", "Ref No")
    assert s.column_map == {("invoices", "invoice"): "Ref No"}


@pytest.mark.parametrize("key, value", [("column.Invoices", "Ref No"),
                                        ("column..Invoice", "Ref No"),
                                        ("column.Invoices.Invoice", "")])
def test_malformed_column_mapping_is_an_input_error_naming_the_row(key, value):
    with pytest.raises(InputError) as err:
        one(key, value, row=8)
    assert err.value.row == 8 and err.value.column == "Key"


def test_unknown_keys_are_kept_and_never_fail():
    assert one("Favourite Colour", "green").extra == {"favourite_colour": "green"}


def test_blank_keys_and_blank_values_keep_the_default():
    s = parse_settings([(None, "x", 2), ("", "y", 3), ("terms_days", None, 4),
                        ("terms_days", "  ", 5)])
    assert s == Settings()


def test_later_row_wins_for_a_repeated_key():
    assert parse_settings([("terms_days", "10", 2), ("terms_days", "20", 3)]).terms_days == 20
