"""Identifiers stay text as typed; matching keys are normalised."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from engine.ids import Cells, cell_text, normalize_key, normalize_name


def texts(*values):
    return [None if pd.isna(v) else v for v in cell_text(pd.Series(list(values), dtype="object"))]


def keys(*values):
    return [None if pd.isna(v) else v for v in normalize_key(pd.Series(list(values), dtype="object"))]


def names(*values):
    return [None if pd.isna(v) else v
            for v in normalize_name(pd.Series(list(values), dtype="object"))]


def test_display_text_is_kept_as_typed_except_outer_spaces():
    assert texts("INV-00123", "inv 123 ", "00042") == ["INV-00123", "inv 123", "00042"]


def test_whole_number_cells_lose_the_trailing_point_zero():
    assert texts(1001.0, 1001, np.int64(7), 0.0) == ["1001", "1001", "7", "0"]


def test_fractional_number_cells_keep_their_digits():
    assert texts(12.5) == ["12.5"]


def test_blank_cells_are_missing():
    assert texts(None, "", "   ", float("nan")) == [None] * 4


def test_key_ignores_case_spaces_and_dashes():
    assert keys("INV-123", "inv 123 ", "Inv_123", "INV.123") == ["INV123"] * 4


def test_key_drops_leading_zeros_of_digit_runs():
    assert keys("INV-00123", "00042", "A-0-0-1") == ["INV123", "42", "A1"]


def test_key_keeps_a_lone_zero_and_inner_zeros():
    assert keys("000", "0", "A0B", "1001") == ["0", "0", "A0B", "1001"]


def test_number_cell_and_text_with_leading_zeros_share_a_key():
    display = cell_text(pd.Series([1001.0, "001001"], dtype="object"))
    assert normalize_key(display).tolist() == ["1001", "1001"]


def test_key_of_blank_or_punctuation_only_is_missing():
    assert keys(None, "", "--") == [None, None, None]


def test_key_keeps_accented_letters_as_their_base_letter():
    assert keys("é-1", "Ｉnv１２") == ["E1", "INV12"]


def test_name_key_upper_case_single_spaces_no_punctuation():
    assert names("  Aetna  Inc. ", "blue-cross", "O'Brien, Ann") == ["AETNA INC", "BLUE CROSS",
                                                                   "O BRIEN ANN"]


def test_name_key_folds_accents():
    assert names("José García") == ["JOSE GARCIA"]
    assert names(None, " . ") == [None, None]


def test_text_matches_finds_the_texts_holding_the_needle_in_any_text():
    match = re.compile(r"^\s*totals?\s*$", re.IGNORECASE).match
    for values in (["a", " Total ", "totals", "subtotal x", 5.0, None, "TOTAL"],
                   ["İ total", "Total", "x\ntotal", "İ"],  # lower-casing changes the length
                   ["a\nb", "total", "b"]):  # a line break inside a text
        cells = Cells(np.array(values * 2, dtype=object))
        expected = [isinstance(v, str) and match(v) is not None for v in values * 2]
        assert cells.text_matches(match, "total").tolist() == expected


def test_text_matches_of_two_needles_on_one_column_each_find_their_own_texts():
    total = re.compile(r"^\s*totals?\s*$", re.IGNORECASE).match
    error = re.compile(r"#N/A\Z").match
    cells = Cells(np.array(["#N/A", "Total", "İ", "#n/a", None, "TOTAL"] * 2, dtype=object))
    assert cells.text_matches(total, "total").tolist() == [False, True, False, False, False,
                                                           True] * 2
    assert cells.take(np.arange(6)).text_matches(error, "#").tolist() == [True] + [False] * 5


def test_strings_are_coded_as_pd_factorize_codes_them():
    from engine.ids import _coded

    class Text(str):
        pass

    for values in (["b", "a", "b", "", "é", "a", "\n", Text("a"), "b"] * 200,  # repeating
                   ["a", "b"] * 500 + [f"INV-{i}" for i in range(3000)]):  # ids after
        strings = np.array(values, dtype=object)
        codes, distinct = _coded(strings)
        expected_codes, expected = pd.factorize(strings)
        assert distinct.dtype == object and codes.dtype == np.intp
        assert distinct.tolist() == expected.tolist()
        assert codes.tolist() == expected_codes.tolist()


def test_type_codes_tell_equal_values_of_different_types_apart():
    import datetime as dt

    from engine.ids import type_codes

    class Text(str):
        pass

    values = [1.0, 1, True, np.float64(1.0), "a", Text("a"), None, float("nan"), pd.NaT,
              dt.date(2026, 1, 2), dt.datetime(2026, 1, 2), pd.Timestamp("2026-01-02"), "b", 2.0]
    cells = np.empty(len(values), dtype=object)
    cells[:] = values
    codes, kinds = type_codes(cells)
    assert kinds == [float, int, bool, np.float64, str, Text, type(None), type(pd.NaT), dt.date,
                     dt.datetime, pd.Timestamp]
    assert [kinds[c] for c in codes] == [type(v) for v in values]
    assert type_codes(np.empty(0, dtype=object))[1] == []


def test_texts_of_strings_are_stripped_and_blank_ones_missing_whatever_the_spaces():
    # the texts of a column with nothing to strip are its strings; one odd string anywhere
    # (spaces or tabs at an end, a blank, a line break, non-ASCII space) is stripped as typed
    plain = ["INV-1", "Kimberly Chen", "P-004141", "00223723"]
    for odd in (" INV-2", "INV-2 ", "", "   ", "\tINV-2", "INV-2\r", "A\nB", "\nINV-2",
                "INV-2\n", "\u00a0INV-2", "INV-2\x1f", "José "):
        for at in (0, 2, 4):
            strings = plain[:at] + [odd] + plain[at:]
            cells = Cells(np.array(strings, dtype=object))
            text, blank = cells.texts()
            stripped = [s.strip() for s in cells.strings]
            assert text.tolist() == [t or None for t in stripped], (odd, at)
            assert blank.tolist() == [t == "" for t in stripped], (odd, at)
    text, blank = Cells(np.array(plain, dtype=object)).texts()
    assert text.tolist() == plain and not blank.any()


def test_id_and_name_keys_ignore_outer_spaces_and_blank_texts_have_none():
    from engine.ids import cells_text_and_key

    values = np.array([" inv-007 ", "INV-7", "   ", "", "\u00a0José\t", None, 12.0],
                      dtype=object)
    text, key, missing = cells_text_and_key(Cells(values), "id")
    assert text.tolist() == ["inv-007", "INV-7", None, None, "José", None, "12"]
    assert key.tolist() == ["INV7", "INV7", None, None, "JOSE", None, "12"]
    assert missing.tolist() == [False, False, True, True, False, True, False]
    _, name_key, _ = cells_text_and_key(Cells(values), "name")
    assert name_key.tolist() == ["INV 007", "INV 7", None, None, "JOSE", None, "12"]


def test_ids_that_hardly_repeat_key_like_the_rest_and_share_a_key_that_is_their_text():
    from engine.ids import cells_text_and_key

    values = np.array(["A17", " B18 ", "c-19", "007", "D20", "", None, 21.0, "Ünï 1"], dtype=object)
    text, key, _ = cells_text_and_key(Cells(values), "id")
    assert text.tolist() == ["A17", "B18", "c-19", "007", "D20", None, None, "21", "Ünï 1"]
    assert key.tolist() == ["A17", "B18", "C19", "7", "D20", None, None, "21", "UNI1"]
    assert all(key[i] is text[i] for i in (0, 1, 4, 7))
    ascii_only = np.array([f" id{i} " if i % 3 else f"ID{i}" for i in range(50)], dtype=object)
    text, key, _ = cells_text_and_key(Cells(ascii_only), "id")
    assert key.tolist() == [f"ID{i}" for i in range(50)]
    assert [key[i] is text[i] for i in range(50)] == [i % 3 == 0 for i in range(50)]


def test_keys_of_texts_that_hardly_repeat_are_those_of_repeating_ones():
    distinct = [f"clm-{i:05d}" for i in range(2000)] + [None, "", "x"]
    repeating = distinct[:3] * 700 + [None, "", "x"]
    for values in (distinct, repeating):
        expected = [re.sub(r"(?<![0-9])0+(?=[0-9])", "", v.upper().replace("-", "")) or None
                    if v is not None else None for v in values]
        assert keys(*values) == expected


def test_leading_zeros_are_dropped_off_the_bytes_as_the_regex_drops_them():
    import random

    from engine.ids import _LEADING_ZEROS, _drop_leading_zeros

    rnd = random.Random(7)
    lines = ["", "0", "00", "000", "0A", "A0", "A00", "A01", "A001", "1001", "100", "0100",
             "INV10000001", "04901310", "12003", "9\n0", "X0\n01"]
    lines += ["".join(rnd.choice("00019AZ") for _ in range(rnd.randint(0, 9)))
              for _ in range(3000)]
    for n in (1, 2, 5):
        for at in range(0, len(lines), n):
            text = "\n".join(lines[at:at + n])
            assert _drop_leading_zeros(text) == _LEADING_ZEROS.sub("", text), text
    untouched = "\n".join(f"INV{i}0" for i in range(1, 50))  # no 0 after a letter: as it is
    assert _drop_leading_zeros(untouched) is untouched


def test_keys_of_texts_with_blank_lines_anywhere_are_none_there():
    from engine.ids import _keys

    for texts in (["", "a"], ["a", ""], ["a", "", "b"], [""], ["-", "a"], ["a", "b"],
                  ["a", "--", "", "b-"]):
        assert _keys(texts).tolist() == [t.replace("-", "").upper() or None for t in texts]


def test_type_codes_without_pandas_hash_table_are_the_same(monkeypatch):
    import datetime as dt

    from engine import ids

    class Text(str):
        pass

    values = np.empty(9, dtype=object)
    values[:] = [1.0, "a", None, 1, Text("a"), dt.date(2026, 1, 2), "b", 2.0, None]
    codes, kinds = ids.type_codes(values)
    monkeypatch.setattr(ids, "_ObjectHashTable", None)
    plain_codes, plain_kinds = ids.type_codes(values)
    assert plain_kinds == kinds == [float, str, type(None), int, Text, dt.date]
    assert plain_codes.tolist() == codes.tolist() == [0, 1, 2, 3, 4, 5, 1, 0, 2]


def test_type_codes_by_address_are_those_of_the_hash_tables(monkeypatch):
    import datetime as dt

    from engine import ids

    class Text(str):
        pass

    # a type first met past the first cells is found all the same
    values = np.empty(5000, dtype=object)
    values[:] = ["a", 1.0] * 2490 + [None, 1, Text("a"), dt.date(2026, 1, 2), "b"] * 4
    codes, kinds = ids.type_codes(values)
    assert kinds == [str, float, type(None), int, Text, dt.date]
    monkeypatch.setattr(ids, "ctypes", None)  # no addresses: pandas' object hash table
    table_codes, table_kinds = ids.type_codes(values)
    monkeypatch.setattr(ids, "_ObjectHashTable", None)  # nor that: a dict
    plain_codes, plain_kinds = ids.type_codes(values)
    assert table_kinds == plain_kinds == kinds
    assert table_codes.tolist() == plain_codes.tolist() == codes.tolist()
    assert [kinds[c] for c in codes] == [type(v) for v in values]


def test_none_at_tells_the_nones_of_any_object_array(monkeypatch):
    from engine import ids

    values = np.array(["a", None, float("nan"), "", None, 0], dtype=object)
    assert ids.none_at(values).tolist() == [False, True, False, False, True, False]
    assert ids.none_at(values[::2]).tolist() == [False, False, True]
    assert ids.none_at(values[:0]).tolist() == []
    monkeypatch.setattr(ids, "ctypes", None)
    assert ids.none_at(values) is None


def test_ids_with_blanks_among_them_are_read_as_they_are_not_coded():
    from engine.ids import _hardly_repeat, cells_text_and_key

    claims = np.array([f"INV-{i:07d}" if i % 5 else "" for i in range(3000)], dtype=object)
    assert _hardly_repeat(claims)
    cells = Cells(claims)
    assert cells.as_is() and cells.strings == claims.tolist()
    text, key, missing = cells_text_and_key(cells, "id")
    assert text.tolist() == [c or None for c in claims]
    assert key.tolist() == [re.sub(r"(?<![0-9])0+(?=[0-9])", "", c.replace("-", "")) or None
                            for c in claims]
    assert missing.tolist() == [not c for c in claims]
    mostly_blank = np.array(["", "", "", "x1"] * 300, dtype=object)
    assert not _hardly_repeat(mostly_blank) and not Cells(mostly_blank).as_is()
    assert not _hardly_repeat(np.array(["a", "b", "a", "c"] * 300, dtype=object))


def test_texts_that_need_nothing_done_are_the_strings_and_the_cells_stay_as_read():
    values = np.array(["INV-1", "INV-2", "INV-3"], dtype=object)
    text, blank = Cells(values).texts()
    assert text is values and not blank.any()
    for odd in ("", " INV-9", "INV-9\t"):
        values = np.array(["INV-1", odd, "INV-3"], dtype=object)
        as_read = values.tolist()
        text, blank = Cells(values).texts()
        assert text.tolist() == ["INV-1", odd.strip() or None, "INV-3"]
        assert values.tolist() == as_read


def test_text_matches_looks_for_the_needle_in_either_case_only_where_it_can_be():
    match = re.compile(r"^\s*totals?\s*$", re.IGNORECASE).match
    for values, expected in ((["INV-1", "TOTAL", "x"], [False, True, False]),
                             (["INV-1", "Total", "x"], [False, True, False]),
                             (["INV-1", "INV-2", "x"], [False, False, False]),
                             (["Ünï", "TOTAL"], [False, True])):
        cells = Cells(np.array(values, dtype=object))
        assert cells.text_matches(match, "total").tolist() == expected


def test_leading_zeros_are_dropped_as_the_regex_drops_them_with_nul_characters_too():
    import random

    from engine.ids import _LEADING_ZEROS, _drop_leading_zeros

    rnd = random.Random(11)
    for _ in range(3000):
        text = "".join(rnd.choice("0000019A\n\0") for _ in range(rnd.randint(0, 14)))
        assert _drop_leading_zeros(text) == _LEADING_ZEROS.sub("", text), repr(text)


def test_floats_are_converted_once_for_blanks_amounts_and_numbers():
    from engine.money import cells_to_cents

    values = np.array([1.5, float("nan"), np.float64(2.25), None, 3, "4.00", True, -0.0],
                      dtype=object)
    cells = Cells(values)
    assert cells.blank().tolist() == [False, True, False, True, False, False, False, False]
    is_float, floats = cells._column.floats()
    assert is_float.tolist() == [True, True, True, False, False, False, False, True]
    assert np.array_equal(floats, [1.5, np.nan, 2.25, np.nan, np.nan, np.nan, np.nan, -0.0],
                          equal_nan=True)
    cents, bad = cells_to_cents(cells, pd.RangeIndex(len(values)))
    assert cents.tolist() == [150, pd.NA, 225, pd.NA, 300, 400, pd.NA, 0]
    assert bad.tolist() == [False, False, False, False, False, False, True, False]
    only_floats = Cells(np.array([1.5, 2.0, float("inf")], dtype=object))
    cents, bad = cells_to_cents(only_floats, pd.RangeIndex(3))
    assert cents.tolist() == [150, 200, pd.NA] and bad.tolist() == [False, False, True]
