"""Claims read as columns (engine.x12.columnar) equal claims read segment by segment.

The column reader may only take files whose claims the state machine reads without a word, and
must then give exactly the state machine's tables; any other file it hands back. Every test reads
its input both ways, compares all six tables, and says which way the file went — so a column
reader that quietly gave up on everything fails as surely as one that reads wrongly. The column
reader itself reads each input twice, from a plain file's segments taken one kind at a time and
from segments split up front (engine.x12.tokenize), and must give the same either way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from builders import x12_builders
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine.x12.read as x12_read
from engine.sample import generate
from engine.x12 import columnar
from engine.x12.read import Remit, read_835, read_835_files
from engine.x12.tokenize import build, tokenize

_cf = x12_builders()
BALANCED, build_835 = _cf.BALANCED, _cf.build_835
DATA = Path("/work/shared/data/835")


def _split_up_front(*args, **kwargs):
    """`tokenize`, with a plainly written file split up front as any other file is: the column
    reader then works from `texts` and `codes` rather than one kind of segment at a time."""
    tokens = tokenize(*args, **kwargs)
    tokens.texts, tokens.numbers, tokens.delimiters  # noqa: B018 - made now, as for any file
    tokens._plain = None
    return tokens


def _both_ways(read, monkeypatch) -> tuple[Remit, Remit, int]:
    """`read()` with the column reader, then with the state machine alone; and how many files
    the column reader took. The column reader reads the files twice, from plain and from split
    tokens (see engine.x12.tokenize), and must give the same tables and take the same files."""
    real = x12_read.read_claims

    def with_columns(tokenizer) -> tuple[Remit, int]:
        taken = []

        def counted(*args, **kwargs):
            out = real(*args, **kwargs)
            taken.append(out is not None)
            return out

        with monkeypatch.context() as m:
            m.setattr(x12_read, "read_claims", counted)
            m.setattr(x12_read, "tokenize", tokenizer)
            m.setattr(columnar, "MIN_SEGMENTS", 0)  # small test files too
            return read(), sum(taken)

    by_columns, taken = with_columns(tokenize)
    from_split, taken_from_split = with_columns(_split_up_front)
    assert_same(from_split, by_columns)
    assert taken_from_split == taken
    with monkeypatch.context() as m:
        m.setattr(x12_read, "read_claims", lambda *args, **kwargs: None)
        by_segments = read()
    return by_columns, by_segments, taken


def assert_same(a: Remit, b: Remit) -> None:
    for f in dataclasses.fields(Remit):
        pd.testing.assert_frame_equal(getattr(a, f.name), getattr(b, f.name), check_exact=True,
                                      obj=f.name)


def read_both(text: str | bytes, monkeypatch, name: str = "era/t.835") -> tuple[Remit, int]:
    data = text.encode() if isinstance(text, str) else text
    columns, segments, taken = _both_ways(lambda: read_835(data, name), monkeypatch)
    assert_same(columns, segments)
    return columns, taken


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("sample")
    return generate(folder, invoices=120, as_of=dt.date(2026, 3, 31)).remits


def test_the_sample_clinics_files_are_read_as_columns_and_equal(generated, monkeypatch):
    files = [(p, f"remits/{p.name}") for p in generated]
    columns, segments, taken = _both_ways(lambda: read_835_files(files), monkeypatch)
    assert_same(columns, segments)
    assert taken == len(files) > 1
    assert len(columns.claims) > 50 and len(columns.adjustments) > 50


def test_a_clean_file_with_every_claim_segment(monkeypatch):
    remit, taken = read_both(build_835(BALANCED), monkeypatch)
    assert taken == 1
    claim = remit.claims.iloc[0]
    assert (claim["patient"], claim["patient_id"]) == ("DOE, JANE", "M123")
    line = remit.lines.iloc[0]
    assert (line["line_control"], line["allowed_cents"], line["remark_codes"]) == (
        "LINE1", 15000, "N130")
    assert remit.adjustments["reason"].tolist() == ["45", "1", "2", "29"]


@pytest.mark.skipif(not DATA.is_dir(), reason="the shared sample 835 files are not here")
def test_the_public_samples(monkeypatch):
    taken = 0
    for path in sorted(DATA.glob("*.835")):
        taken += read_both(path.read_bytes(), monkeypatch, path.name)[1]
    assert taken >= 3  # most samples are clean; the odd ones go segment by segment


CLAIM = ("CLP*A1*1*100*80*20*12*P1~NM1*QC*1*DOE*JANE****MI*M1~DTM*232*20240101~"
         "SVC*HC:99213*100*80**1~DTM*472*20240101~CAS*CO*45*20~AMT*B6*80~")
TAIL = "CLP*A2*1*50*50*0*12*P2~NM1*QC*1*ROE*RICH~SVC*HC:99212*50*50**1~"


@pytest.mark.parametrize(("body", "by_columns"), [
    (f"BPR*I*130*C*ACH~TRN*1*T1*1999~N1*PR*ACME~LX*1~{CLAIM}{TAIL}", True),
    # what the state machine takes as it comes: read as columns all the same
    ("BPR*I*1*C~TRN*1*T1~" + CLAIM.replace("DTM*232*20240101~", "DTM*232*20240101~DTM*232*~")
     + "DTM*472*~DTM*472*20240105~REF*6R*~REF*6R*L9~LQ*HE*N1~LQ*HE*M2~AMT*B6*~" + TAIL, True),
    ("TRN*1*T1~CLP*A1*1*9*9*0~SVC*HC:1*9*9~DTM*472*~DTM*150*20240105~DTM*472*20240106~"
     "REF*6R*~REF*6R*L1~REF*6R*L2~AMT*B6*1~AMT*B6*2~" + TAIL, True),
    ("TRN*1*T1~" + CLAIM + "MOA***MA01*MA02~MIA*1***X1~" + TAIL + "LX*2~DTM*405*20240102~", True),
    ("TRN*1*T1~" + CLAIM + "CAS*PR*1*5*1*2*3*2~CAS*OA*23*0~NM1*QC*1*LATE*ONE~BPR*X~" + TAIL,
     True),
    ("TRN*1*T1~" + CLAIM + "SVC*HC:99213>25*10*10*RV*2*HC:99212~" + TAIL, True),
    # a patient with a last or a first name only
    ("TRN*1*T1~" + CLAIM.replace("DOE*JANE", "DOE*") + TAIL.replace("ROE*RICH", "*RICH"), True),
    ("TRN*1*T1~SVC*HC:1*1*1~CAS*CO*45*1~" + CLAIM + "PLB*1*20241231*L6:X*-1~" + TAIL, True),
    # what the state machine reports: read segment by segment
    ("TRN*1*T1~" + CLAIM.replace("CLP*A1*1*", "CLP*A1**") + TAIL, False),
    ("TRN*1*T1~" + CLAIM.replace("CLP*A1*", "CLP**") + TAIL, False),
    ("TRN*1*T1~" + CLAIM.replace("*20*12", "*2X*12") + TAIL, False),
    ("TRN*1*T1~" + CLAIM.replace("DTM*232*20240101", "DTM*232*20240230") + TAIL, False),
    ("TRN*1*T1~" + CLAIM.replace("DTM*472*20240101", "DTM*472*2024") + TAIL, False),
    ("TRN*1*T1~" + CLAIM.replace("*100*80**1", "*100*8O**1") + TAIL, False),
    ("TRN*1*T1~" + CLAIM.replace("**1~DTM", "**one~DTM") + TAIL, False),
    ("TRN*1*T1~" + CLAIM.replace("HC:99213", "HC") + TAIL, False),
    ("TRN*1*T1~" + CLAIM.replace("CAS*CO*45*20", "CAS**45*20") + TAIL, False),
    ("TRN*1*T1~" + CLAIM.replace("CAS*CO*45*20", "CAS*CO*45*") + TAIL, False),
    ("TRN*1*T1~" + CLAIM.replace("AMT*B6*80", "AMT*B6*eighty") + TAIL, False),
    ("TRN*1*T1~" + CLAIM.replace("AMT*B6*80", "AMT*B6*1E26") + TAIL, False),
    ("TRN*1*T1~" + CLAIM.replace("CAS*CO*45*20", "CAS*CO*45*1E26") + TAIL, False),
    ("TRN*1*T1~" + CLAIM.replace("NM1*QC*1*DOE*JANE", "NM1*QC*1**") + TAIL, False),
    # a payer or trace named after the claims began: the claims before it do not know it
    ("TRN*1*T1~" + CLAIM + "LX*2~N1*PR*LATE PAYER~" + TAIL, False),
    ("TRN*1*T1~" + CLAIM + "LX*2~TRN*1*T2~" + TAIL, False),
])
def test_claim_loops(body, by_columns, monkeypatch):
    remit, taken = read_both(build_835(body), monkeypatch)
    assert taken == int(by_columns)
    assert len(remit.claims) >= (2 if by_columns else 0)


def test_a_lines_first_date_and_control_number_and_last_allowed_amount(monkeypatch):
    remit, taken = read_both(build_835(
        "TRN*1*T1~CLP*A1*1*9*9*0~SVC*HC:1*9*9~DTM*472*~DTM*150*20240105~DTM*472*20240106~"
        "REF*6R*~REF*6R*L1~REF*6R*L2~AMT*B6*1~AMT*B6*2~"), monkeypatch)
    assert taken == 1
    line = remit.lines.iloc[0]
    assert (line["service_date"], line["line_control"], line["allowed_cents"]) == (
        pd.Timestamp("2024-01-05"), "L1", 200)


@pytest.mark.parametrize("text", [
    build_835(CLAIM + TAIL)[:-40],  # cut off inside a claim
    build_835(CLAIM).replace("SE*", "ST*835*0002~" + CLAIM + "SE*", 1),  # ST inside a claim
    build_835(CLAIM).replace("ST*835", "ST*837"),
    build_835(CLAIM) + build_835(TAIL).replace("*", "|"),  # two element separators
])
def test_files_read_segment_by_segment(text, monkeypatch):
    taken = read_both(text, monkeypatch)[1]
    assert taken == 0


def test_what_lies_outside_transactions_is_still_reported(monkeypatch):
    text = (build_835(CLAIM, envelope=False) + "CLP*A9*1*1*1~SVC*HC:1*1*1~"
            + build_835(TAIL, envelope=False))
    remit, taken = read_both(text, monkeypatch)
    assert taken == 1
    assert remit.claims["claim"].tolist() == ["A1", "A2"]
    assert remit.problems["segment_id"].tolist() == ["CLP", "SVC"]


def test_several_files_number_their_rows_on(generated, tmp_path, monkeypatch):
    """Files read either way in one batch: indices carry on across them."""
    odd = tmp_path / "odd.835"
    odd.write_text(build_835("TRN*1*T1~" + CLAIM.replace("CLP*A1*1*", "CLP*A1**") + TAIL))
    files = [(generated[0], "a.835"), (odd, "odd.835"), (generated[1], "b.835")]
    columns, segments, taken = _both_ways(lambda: read_835_files(files), monkeypatch)
    assert_same(columns, segments)
    assert taken == 2


_TOKENS = ["", "X", "1", "1.5", "-20", "1,0", "1E26", "20240101", "20240230", "QC", "6R", "B6", "HE",
           "472", "232", "050", "CO", "PR", "45", "HC:99213", "HC", "835", "PLB", "LX", "CLP",
           "SVC", "CAS", "DTM", "NM1", "AMT", "REF", "N1", "TRN", "SE", "ST"]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_edited_files_read_the_same_either_way(data, monkeypatch):
    """A clean file with some segments dropped, repeated, moved or given other elements."""
    segs = tokenize(build_835("TRN*1*T1~N1*PR*ACME~LX*1~" + CLAIM + TAIL + BALANCED)).segments
    segs = [list(s) for s in segs]
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        at = data.draw(st.integers(2, len(segs) - 1), label="at")
        what = data.draw(st.sampled_from(["drop", "repeat", "move", "element", "id"]))
        if what == "drop":
            del segs[at]
        elif what == "repeat":
            segs.insert(at, list(segs[at]))
        elif what == "move":
            segs.insert(data.draw(st.integers(2, len(segs) - 1), label="to"), segs.pop(at))
        elif what == "element":
            seg = segs[at]
            i = data.draw(st.integers(1, len(seg)), label="element")
            token = data.draw(st.sampled_from(_TOKENS), label="token")
            segs[at] = seg[:i] + [token] + seg[i + 1:]
        else:
            segs[at] = [data.draw(st.sampled_from(_TOKENS[_TOKENS.index("PLB"):]), label="id")] + segs[at][1:]
    text = build(segs, tokenize(build_835(CLAIM)).delimiters[0])
    read_both(text, monkeypatch)


def test_repeated_texts_are_kept_once(generated, monkeypatch):
    """As the state machine keeps them: one object per distinct patient name, code or file."""
    files = [(p, f"remits/{p.name}") for p in generated]
    columns, segments, _ = _both_ways(lambda: read_835_files(files), monkeypatch)
    for table, column in (("claims", "patient"), ("claims", "filing_indicator"),
                          ("claims", "file"), ("adjustments", "group"),
                          ("adjustments", "reason"), ("adjustments", "level")):
        for remit in (columns, segments):
            values = getattr(remit, table)[column].dropna().to_numpy(dtype=object)
            assert len({id(v) for v in values}) == len(set(values)), (table, column)


def test_small_files_are_read_segment_by_segment(generated):
    """Setting up the columns costs more than reading a small file segment by segment."""
    text = build_835("TRN*1*T1~" + CLAIM + TAIL)
    assert columnar.plan(tokenize(text, strip_elements=True)) is None
    tokens = tokenize(build_835("TRN*1*T1~" + (CLAIM + TAIL) * 200), strip_elements=True)
    assert len(tokens.segments) >= columnar.MIN_SEGMENTS
    assert columnar.plan(tokens) is not None
