"""Values read from a plain file's bytes equal the values read from its split texts.

For a plainly written file the column reader takes claim and patient elements straight from the
bytes (`Tokens.spans`, `columnar._Bytes`): amounts and codes are told apart by their bytes and only
each distinct one is made a text and parsed, and segments of a kind are numbered by a hash of
their bytes (`distinct_spans`). Each must answer as the split texts do — an amount the byte path
cannot key (long, or holding a NUL) goes to the careful `cents` on its text, never becomes 0 — and
a hash that joins different texts must be caught.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine.x12.tokenize as tokenize_module
from engine.x12.columnar import _amounts, _Bytes, _Grid, _names
from engine.x12.tokenize import build, distinct_spans, tokenize
from engine.x12.values import element_grid

ISA = ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", "SENDER".ljust(15), "ZZ",
       "RECEIVER".ljust(15), "240101", "1200", "^", "00501", "000000001", "0", "P", ":"]
# amounts the byte path keys and parses (≤ 8 bytes) and those it hands to `cents` as texts
AMOUNTS = ["", "0", "190.00", "5.", ".5", "00.10", "12345.67", "-12.50", "1E2", "1.234",
           "123456789.12", "99999999999999999999", "1 2", ".", "-", "1\x002", "12\x00",
           "1_0", "+5"]
CODES = ["", "1", "22", "CI", "MC", "ABCDEFGH", "ABCDEFGHI", "A\x00", "QC", "X Y"]
NAMES = ["", "DOE", "SMITH-JONES", "O'NEIL", "A", "VERYLONGLASTNAMEINDEED"]


def plain_tokens(segments: list[list[str]]):
    text = build([ISA, *segments], tokenize_module.Delimiters(element="*", component=":",
                                                              terminator="~"))
    tokens = tokenize(text, strip_elements=True)
    assert tokens._plain is not None
    return tokens


def element_texts(tokens, positions: np.ndarray, count: int) -> list[list[str]]:
    data, begin, end = tokens.spans(positions, count)
    return [[data[b:e].tobytes().decode("ascii") for b, e in zip(bs, es)]
            for bs, es in zip(begin.tolist(), end.tolist())]


segment = st.lists(st.sampled_from(AMOUNTS + CODES + NAMES), max_size=12)


@settings(max_examples=200, deadline=None)
@given(body=st.lists(segment, min_size=1, max_size=40), last_short=st.booleans())
def test_spans_are_the_split_elements(body, last_short):
    segments = [["CLP", *values] for values in body]
    if last_short:  # a segment in the file's last bytes
        segments.append(["SE"])
    tokens = plain_tokens(segments)
    positions = np.arange(1, len(segments) + 1)
    expected = [(seg[1:] + [""] * 12)[:12] for seg in segments]
    assert element_texts(tokens, positions, 12) == expected


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(CODES), st.sampled_from(AMOUNTS),
                               st.sampled_from(AMOUNTS), st.sampled_from(NAMES),
                               st.sampled_from(NAMES)), min_size=1, max_size=40))
def test_bytes_answer_as_the_split_texts(rows):
    segments = [["NM1", *row] for row in rows]
    tokens = plain_tokens(segments)
    positions = np.arange(1, len(segments) + 1)
    by_bytes = _Bytes(*tokens.spans(positions, 5), "*")
    grid = _Grid(element_grid([seg for seg in segments], 6))
    for i in range(1, 6):
        assert by_bytes.texts(i).tolist() == grid.texts(i).tolist()
        assert (by_bytes.blank(i) == grid.blank(i)).all()
    for (value, ok), (expected, expected_ok) in zip(by_bytes.cents(2, 3), grid.cents(2, 3)):
        assert (ok == expected_ok).all()
        assert (value[ok] == expected[ok]).all()
    for (codes, uniques), (expected, expected_uniques) in zip(by_bytes.factorized(1, 2),
                                                              grid.factorized(1, 2)):
        assert uniques[codes].tolist() == expected_uniques[expected].tolist()
    named = np.flatnonzero(~(grid.blank(4) & grid.blank(5)))
    names, _ = _names(grid.texts(4)[named], grid.texts(5)[named])
    assert by_bytes.names(4, 5, named).tolist() == names.tolist()


def test_amounts_the_bytes_cannot_key_are_read_by_cents():
    tokens = plain_tokens([["CLP", amount] for amount in AMOUNTS])
    [(value, ok)] = _Bytes(*tokens.spans(np.arange(1, len(AMOUNTS) + 1), 1), "*").cents(1)
    expected, expected_ok = _amounts(np.array(AMOUNTS, dtype=object))
    assert ok.tolist() == expected_ok.tolist()
    assert value.tolist() == expected.tolist()
    assert value[AMOUNTS.index("123456789.12")] == 12345678912  # more than 8 bytes
    assert not ok[AMOUNTS.index("1\x002")] and not ok[AMOUNTS.index("-")]


texts = st.lists(st.sampled_from(["", "A", "AB", "ABCDEFGH", "ABCDEFGHI", "ABCDEFGHIJKLMNOPQ",
                                  "B" * 17, "A\x00", "A\x00\x00", "ABCDEFGH\x00"]),
                 min_size=1, max_size=60)


@settings(max_examples=300, deadline=None)
@given(values=texts, factor=st.sampled_from([None, 0, 1]))
def test_distinct_spans_number_texts_as_factorize_does(values, factor):
    """With a hash that joins different texts (factor 0 or 1) the check must catch it."""
    data = np.frombuffer("".join(values).encode("ascii"), dtype=np.uint8)
    lengths = np.array([len(v) for v in values], dtype=np.intp)
    starts = np.cumsum(lengths) - lengths
    with pytest.MonkeyPatch.context() as m:
        if factor is not None:
            m.setattr(tokenize_module, "_HASH_FACTOR", np.uint64(factor))
        found = distinct_spans(data, starts, lengths)
    expected, _ = pd.factorize(np.array(values, dtype=object))
    if found is None:
        assert factor is not None  # only a weakened hash collides here
        return
    codes, firsts = found
    assert codes.tolist() == expected.tolist()
    assert [values[i] for i in firsts] == list(dict.fromkeys(values))


def test_rows_are_numbered_right_when_the_hash_collides(monkeypatch):
    monkeypatch.setattr(tokenize_module, "_HASH_FACTOR", np.uint64(0))
    # with the factor 0 a hash is a text's last eight bytes: these three hash alike
    segments = [["DTM", "AAAA", "XYZ"], ["DTM", "BBBB", "XYZ"], ["DTM", "AAAA", "XYZ"],
                ["DTM", "CCCC", "XYZ"]]
    tokens = plain_tokens(segments)
    rows, which = tokens.rows(np.arange(1, len(segments) + 1), distinct=True)
    assert [rows[i] for i in which] == segments
    assert which.tolist() == [0, 1, 0, 2]
