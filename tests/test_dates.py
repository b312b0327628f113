"""Dates: Excel dates, serial numbers, text decided per column, the date_order override."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from engine.dates import text_to_dates, to_dates


def read(*values, order=None):
    dates, bad = to_dates(pd.Series(list(values), dtype="object"), order)
    return [None if pd.isna(d) else d.date() for d in dates], bad.tolist()


def d(y, m, day):
    return dt.date(y, m, day)


def test_excel_dates_and_datetimes_become_days():
    assert read(dt.date(2026, 3, 15), dt.datetime(2026, 3, 15, 13, 30),
                pd.Timestamp("2026-01-01")) == ([d(2026, 3, 15), d(2026, 3, 15), d(2026, 1, 1)],
                                                [False] * 3)


def test_serial_numbers_in_general_cells_are_excel_dates():
    assert read(46096, 46096.0, 46096.75) == ([d(2026, 3, 15)] * 3, [False] * 3)


def test_serial_numbers_out_of_range_are_unreadable():
    assert read(0, -1, 3e6) == ([None] * 3, [True] * 3)


def test_iso_text_dates():
    assert read("2026-03-15", "2026-03-15 10:30") == ([d(2026, 3, 15)] * 2, [False] * 2)


def test_ambiguous_text_column_defaults_to_month_first():
    assert read("03/04/2026", "05/06/2026") == ([d(2026, 3, 4), d(2026, 5, 6)], [False] * 2)


def test_one_day_first_cell_makes_the_whole_column_day_first():
    assert read("03/04/2026", "13/04/2026") == ([d(2026, 4, 3), d(2026, 4, 13)], [False] * 2)


def test_one_month_first_cell_keeps_the_whole_column_month_first():
    assert read("03/04/2026", "04/13/2026") == ([d(2026, 3, 4), d(2026, 4, 13)], [False] * 2)


def test_contradictory_cell_in_a_column_is_unreadable_not_guessed():
    dates, bad = read("13/04/2026", "04/13/2026")
    assert bad == [True, False]
    assert dates == [None, d(2026, 4, 13)]


def test_date_order_setting_overrides_the_column_evidence():
    assert read("03/04/2026", order="DMY") == ([d(2026, 4, 3)], [False])
    assert read("13/04/2026", order="MDY") == ([None], [True])


def test_text_to_dates_reports_the_order_it_used():
    s = pd.Series(["13/04/2026"], dtype="object")
    assert text_to_dates(s, None)[2] == "DMY"
    assert text_to_dates(s, "MDY")[2] == "MDY"


def test_two_digit_years_and_single_digit_parts():
    assert read("3/4/26") == ([d(2026, 3, 4)], [False])


def test_slashed_dates_with_a_time_part_keep_the_day():
    assert read("03/15/2026 12:00:00 AM", "03/16/2026 14:05") == (
        [d(2026, 3, 15), d(2026, 3, 16)], [False] * 2)


def test_named_month_text_dates():
    assert read("Mar 5, 2026", "5-Mar-26", "5 March 2026") == ([d(2026, 3, 5)] * 3, [False] * 3)


def test_impossible_and_non_date_text_is_unreadable():
    assert read("2026-02-30", "02/30/2026", "soon") == ([None] * 3, [True] * 3)


def test_blank_cells_are_missing_not_unreadable():
    assert read(None, "", "  ", float("nan")) == ([None] * 4, [False] * 4)


def test_booleans_and_times_are_not_dates():
    assert read(True, dt.time(10, 0)) == ([None, None], [True, True])


def test_mixed_column_of_serials_dates_and_text():
    assert read(46096, dt.date(2026, 3, 16), "03/17/2026") == (
        [d(2026, 3, 15), d(2026, 3, 16), d(2026, 3, 17)], [False] * 3)


def test_repeated_datetimes_become_midnight_of_their_day_before_1970_too():
    dates, bad = to_dates(pd.Series([dt.datetime(1960, 5, 1, 23, 59), dt.date(2026, 3, 15),
                                      dt.datetime(1960, 5, 1, 23, 59), None], dtype="object"))
    assert dates.dtype == "datetime64[us]"
    assert dates.tolist()[:3] == [pd.Timestamp("1960-05-01"), pd.Timestamp("2026-03-15"),
                                  pd.Timestamp("1960-05-01")]
    assert pd.isna(dates.iloc[3]) and bad.tolist() == [False] * 4


def test_date_cells_among_a_few_text_ones_are_coded_on_the_whole_column():
    import datetime as dt

    import numpy as np

    from engine.dates import cells_to_dates
    from engine.ids import Cells, of_type

    days = [dt.date(2026, 1, 1 + i % 28) for i in range(200)]
    values = np.array(days + ["03/15/2026", None, dt.datetime(2026, 2, 3, 9, 30),
                              pd.Timestamp("2026-01-05"), "", 45000.0], dtype=object)
    cells = Cells(values)
    for taken in (cells, cells.take(np.arange(1, len(values)))):
        _, types, _ = taken.rest()
        is_dt = of_type(types, dt.datetime, dt.date, pd.Timestamp)
        codes, distinct = taken.rest_factorized(is_dt)
        assert list(distinct[codes]) == list(taken.rest()[0][is_dt])
        assert len(distinct) == len(set(distinct.tolist()))
        assert not any(isinstance(v, str) for v in distinct)  # only what the cells hold
    parsed, bad = cells_to_dates(cells.take(np.arange(1, len(values))), pd.RangeIndex(205))
    expected = [pd.Timestamp(d) for d in days[1:]] + [
        pd.Timestamp("2026-03-15"), pd.NaT, pd.Timestamp("2026-02-03"),
        pd.Timestamp("2026-01-05"), pd.NaT, pd.Timestamp("2023-03-15")]
    assert parsed.tolist() == expected
    assert not bad.any()
