"""Property tests: any separators and layout round-trip; arbitrary bytes never raise."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.x12 import read_835
from engine.x12.tokenize import Delimiters, build, tokenize

SEPARATORS = "*|^~:>!+{}`\\#"
VALUE_CHARS = string.ascii_letters + string.digits + " .-,/"


@st.composite
def delimiter_sets(draw):
    chars = draw(st.lists(st.sampled_from(SEPARATORS), min_size=3, max_size=3, unique=True))
    element, component, terminator = chars
    return Delimiters(element=element, component=component, repetition=None,
                      terminator=terminator)


def isa(d: Delimiters) -> list[str]:
    return ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", "SENDER".ljust(15), "ZZ",
            "RECEIVER".ljust(15), "240101", "1200", "U", "00401", "000000001", "0", "P",
            d.component]


values = st.text(VALUE_CHARS, max_size=12).map(str.strip)
segment_ids = st.sampled_from(["BPR", "TRN", "CLP", "CAS", "SVC", "DTM", "N1", "REF", "NM1"])
segments = st.lists(st.tuples(segment_ids, st.lists(values, min_size=1, max_size=8)),
                    min_size=1, max_size=20)


@settings(max_examples=200, deadline=None)
@given(delims=delimiter_sets(), body=segments,
       line_break=st.sampled_from(["", "\n", "\r\n", "\n   "]),
       before=st.booleans(), bom=st.booleans())
def test_build_then_tokenize_round_trips(delims, body, line_break, before, bom):
    segs = [isa(delims)] + [[sid] + list(vals) for sid, vals in body]
    text = build(segs, delims, line_break=line_break, break_before_terminator=before and
                 bool(line_break))
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    tokens = tokenize(data)
    assert tokens.problems == []
    got = tokens.segments
    assert got[0][:16] == segs[0][:16]
    assert [s for s in got[1:]] == segs[1:]
    assert tokens.numbers == list(range(1, len(segs) + 1))
    assert tokens.delimiters[0].element == delims.element
    assert tokens.delimiters[0].component == delims.component


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data):
    tokenize(data)
    read_835(data, "fuzz.835")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ISTCLPBRVAX*~:|^>\n 0123456789.-", max_size=300))
def test_x12_looking_text_never_raises(text):
    read_835(text.encode(), "fuzz.835")
    read_835(("ST*835*1~" + text).encode(), "fuzz.835")


padded_values = st.sampled_from(["CO", " CO", "45 ", "10.00", "", " "])
repeating_segments = st.lists(st.tuples(st.sampled_from(["ST", "CAS", "DTM"]),
                                        st.lists(padded_values, min_size=1, max_size=3)),
                              min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(body=repeating_segments, strip=st.booleans(), line_break=st.sampled_from(["", "\n"]))
def test_repeated_segments_read_as_if_split_one_by_one(body, strip, line_break):
    # equal segment texts share one list: trimming must still give each its own values
    segs = [["ST", "835", "1"]] + [[sid, *vals] for sid, vals in body]
    text = build(segs, Delimiters(), line_break=line_break)
    tokens = tokenize(text, strip_elements=strip)
    expected = []
    for seg in segs:  # one by one: the segment's edges trimmed, then (if asked) each element
        parts = "*".join(seg).strip().split("*")
        expected.append([parts[0]] + ([p.strip() for p in parts[1:]] if strip else parts[1:]))
    assert tokens.segments == expected


def test_equal_segments_share_one_list():
    tokens = tokenize("ST*835*1~CAS*CO*45*10~CAS*CO*45*10~ST*835*1~")
    assert tokens.segments == [["ST", "835", "1"], ["CAS", "CO", "45", "10"],
                               ["CAS", "CO", "45", "10"], ["ST", "835", "1"]]
    assert tokens.segments[1] is tokens.segments[2]
