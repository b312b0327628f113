"""Reading in batches (rows typed and let go every `_BATCH` records) changes nothing in the tables,
and codes that repeat from row to row are held once."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from builders import x12_builders

import engine.x12.read as read_module
from engine.x12 import read_835, read_remits

_cf = x12_builders()
BALANCED, build_835 = _cf.BALANCED, _cf.build_835
DATA = Path("/work/shared/data/835")
TABLES = ("transactions", "claims", "lines", "adjustments", "plb", "problems")

# a bad amount, a claim without a readable CLP, a CAS with a quantity, a cut-off transaction
ODD = BALANCED + """
LX*2~
CLP*INV-003*1*abc*0~
SVC*HC:99214*50.00*40.00~
CAS*CO*45*1.x~
CLP*INV-004*1*75.00*25.00*50.00*12~
SVC*HC:99214*75.00*25.00**2~
CAS*PR*1*40.00*1*2*10.00*1~
"""


def _assert_same(a, b):
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table), check_exact=True)


def test_batches_of_one_record_read_the_same(monkeypatch):
    data = (build_835(BALANCED) + build_835(ODD) + build_835(BALANCED)[:-40]).encode()
    whole = read_835(data, "era/a.835")
    assert len(whole.problems) and len(whole.adjustments) > 4
    monkeypatch.setattr(read_module, "_BATCH", 1)
    _assert_same(read_835(data, "era/a.835"), whole)


@pytest.mark.skipif(not DATA.is_dir(), reason="sample data not available")
def test_batches_over_many_files_read_the_same(monkeypatch):
    whole = read_remits([DATA], DATA.parent)
    for batch in (1, 7):
        monkeypatch.setattr(read_module, "_BATCH", batch)
        _assert_same(read_remits([DATA], DATA.parent), whole)


def test_repeated_codes_and_sources_are_shared():
    r = read_835(build_835(BALANCED * 3).encode(), "era/a.835")
    groups = r.adjustments["group"].to_numpy()
    co = [g for g in groups if g == "CO"]
    assert len(co) > 1 and all(g is co[0] for g in co)
    # the adjustments of one CAS segment point to one source text
    pr = r.adjustments[r.adjustments["group"] == "PR"].iloc[:2]
    assert pr["segment"].iloc[0] == pr["segment"].iloc[1]
    assert pr["source"].iloc[0] is pr["source"].iloc[1]
    assert pr["source"].iloc[0] == f"era/a.835 segment {pr['segment'].iloc[0]}"
