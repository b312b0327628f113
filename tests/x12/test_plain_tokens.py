"""A plainly written file is split only as a reader asks: whatever it asks, the answer is the
segments a one-by-one split gives.

`tokenize` keeps a file that is one interchange of ASCII text with no whitespace next to a
separator as its segment texts, reads the segment IDs from their first bytes and splits one kind
of segment at a time; any other file is split up front. Both must answer `segments`,
`segment_ids`, `rows`, `at` and `take` alike, so every test here says which way the file went.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.x12.tokenize import (
    _ASCII_SPACES,
    Delimiters,
    _loose_pattern,
    _loose_whitespace,
    _spaces,
    build,
    tokenize,
)

ISA = ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", "SENDER".ljust(15), "ZZ",
       "RECEIVER".ljust(15), "240101", "1200", "^", "00501", "000000001", "0", "P", ":"]
# IDs of one to five characters, so some are read from the bytes and some from the text
IDS = ["CLP", "NM1", "DTM", "ST", "SE", "LX", "N", "AMTX", "REFXY"]
VALUES = ["", "1", "20240101", "HC:99213", "DOE", "12.50", "X Y"]


def one_by_one(text: str, delims: Delimiters, strip: bool) -> list[list[str]]:
    """The segments as a reader would split them by hand: each trimmed, then split."""
    out = []
    for raw in text.split(delims.terminator):
        raw = raw.strip(" \t\r\n\x0b\x0c")
        if raw:
            parts = raw.split(delims.element)
            parts[0] = parts[0].strip()
            out.append([parts[0]] + ([p.strip() for p in parts[1:]] if strip else parts[1:]))
    return out


def check(tokens, expected: list[list[str]], positions: list[int]) -> None:
    assert tokens.segments == expected
    ids, names = tokens.segment_ids()
    assert names[ids].tolist() == [seg[0] for seg in expected]
    at = np.array(positions, dtype=np.intp)
    for distinct in (True, False):
        rows, which = tokens.rows(at, distinct)
        assert [rows[i] for i in which] == [expected[p] for p in positions]
    if tokens._plain is not None:  # equal texts are one list (the header is its own)
        rows, which = tokens.rows(at, distinct=True)
        first = {}
        for p, i in zip(positions, which.tolist()):
            assert first.setdefault(("*".join(expected[p]), p == 0), i) == i
    assert tokens.at(at) == [expected[p] for p in positions]
    segs, numbers, delimiters = tokens.take(at)
    assert segs == [expected[p] for p in positions]
    assert numbers == [p + 1 for p in positions] == [tokens.numbers[p] for p in positions]
    assert delimiters == [tokens.delimiters[p] for p in positions]
    assert tokens.count == len(expected) == len(tokens.numbers) == len(tokens.delimiters)


segments = st.lists(st.tuples(st.sampled_from(IDS), st.lists(st.sampled_from(VALUES),
                                                              max_size=5)),
                    min_size=1, max_size=80)
SPACES = ["\n", "\r\n", "\n  ", " ", "\n\n"]
# whitespace around a few segments (each trimmed on its own) or around most (all trimmed)
gaps = st.sampled_from([[""] * 100 + SPACES, [""] * 3 + SPACES])


@settings(max_examples=300, deadline=None)
@given(body=segments, layout=st.data(), strip=st.booleans(), element=st.sampled_from("*|"))
def test_a_file_answers_as_if_split_one_by_one(body, layout, strip, element):
    delims = Delimiters(element=element, component=":", terminator="~")
    segs = [ISA] + [[sid, *values] for sid, values in body]
    gap = st.sampled_from(layout.draw(gaps))
    text = ""
    for seg in segs:  # whitespace around some segments, blank segments between some
        text += element.join(seg) + layout.draw(gap) + "~" + layout.draw(gap)
        if layout.draw(st.integers(0, 9)) == 0:
            text += layout.draw(gap) + "~"
    if layout.draw(st.booleans()):  # no terminator after the last segment
        text = text.rstrip(" \r\n~") + layout.draw(gap)
    tokens = tokenize(text, strip_elements=strip)
    expected = one_by_one(text, delims, strip)
    positions = layout.draw(st.lists(st.integers(0, len(expected) - 1), max_size=20))
    check(tokens, expected, positions + [0])


def test_which_files_are_kept_plain():
    body = "CLP*A1*1*10*10~NM1*QC*1*DOE*JANE~DTM*232*20240101~" * 3 + "SE*1*1~"
    plain = build([ISA], Delimiters()) + "\n" + body.replace("~", "~\n")
    tokens = tokenize(plain)
    assert tokens._plain is not None
    check(tokens, one_by_one(plain, Delimiters(), False), [0, 1, 2, 3, 4, 10, 1])
    for text in (
        plain.replace("~\n", "~ ~~\n"),  # more blank segments than are dropped one by one
        build([ISA], Delimiters()) + body * 4 + "IEA*1*1 \n",  # no terminator at the end
    ):
        tokens = tokenize(text)
        assert tokens._plain is not None
        check(tokens, one_by_one(text, Delimiters(), False), [0, 1, 2, 3, 4, 10, 1])
    for text in (
        plain.replace("DOE", "DOÉ"),  # not ASCII
        plain.replace("*JANE", "* JANE"),  # whitespace next to a separator
        plain + plain,  # two interchanges
        plain.replace("~\n", "~\n" + " " * 20),  # whitespace runs too long to step over
    ):
        tokens = tokenize(text)
        assert tokens._plain is None
        assert len(tokens.segments) == len(one_by_one(text, Delimiters(), False))
        check(tokens, tokens.segments, [0, 1, 2, 3, 4, 10, 1])


def test_short_segments_and_long_ids_are_named_from_their_text():
    text = build([ISA], Delimiters()) + "S~SE~AB*~LONGID*1~LONGIE*2~X~ST*835*1~"
    tokens = tokenize(text)
    assert tokens._plain is not None
    ids, names = tokens.segment_ids()
    assert names[ids].tolist() == ["ISA", "S", "SE", "AB", "LONGID", "LONGIE", "X", "ST"]


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="AB*~ \t\n\r\x0b\x0c\x1c\x00", min_size=1, max_size=200))
def test_the_ascii_whitespace_check_never_says_less_than_the_pattern(text):
    delims = Delimiters()
    start = min(len(text), 3)
    data = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    loose = _loose_whitespace(text, start, delims, _spaces(data), data)
    if _loose_pattern(delims).search(text, start) is not None:
        assert loose
    touching = any(text[i] in _ASCII_SPACES and "*" in text[i - 1:i] + text[i + 1:i + 2]
                   for i in range(start, len(text)))
    assert loose == (touching or "\x1c" in text)
