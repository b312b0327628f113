"""Unit properties of the sheet XML builder: exact money, inert and escaped text, big sheets."""

from __future__ import annotations

import re
import zipfile
from decimal import Decimal

import numpy as np
import pandas as pd
from defusedxml import ElementTree
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.write.model import Block, Column, Link, ResultSheet
from engine.write.sheetxml import _escape_texts, col_letter, money_strings
from engine.write.xlsx import new_workbook


@given(st.lists(st.integers(min_value=-(10**17), max_value=10**17), min_size=1, max_size=50))
def test_money_strings_are_exact_decimals(cents):
    got = money_strings(np.array(cents, dtype=np.int64))
    assert [Decimal(g) for g in got] == [Decimal(c) / 100 for c in cents]


@settings(max_examples=200)
@given(st.lists(st.text(), min_size=1, max_size=20))
def test_escaped_text_is_well_formed_xml(values):
    escaped = _escape_texts(values)
    assert len(escaped) == len(values)
    for original, esc in zip(values, escaped):
        node = ElementTree.fromstring(f"<t>{esc}</t>")
        text = (node.text or "").replace("_x005F_", "_")
        kept = "".join(ch for ch in original[:32767]
                       if ch in "\t\n\r" or (" " <= ch <= "\ud7ff") or ("\ue000" <= ch <= "\ufffd")
                       or ch > "\uffff")
        # XML parsers turn CR LF and a lone CR into LF, as Excel's line breaks are LF anyway
        assert text == kept.replace("\r\n", "\n").replace("\r", "\n")


def test_col_letters():
    assert [col_letter(i) for i in (0, 25, 26, 51, 701, 702, 16383)] == \
        ["A", "Z", "AA", "AZ", "ZZ", "AAA", "XFD"]


def test_100k_rows_keep_excels_hyperlink_limit(tmp_path):
    """Past Excel's 65,530 hyperlinks a sheet, cells get neither a link nor its blue underline."""
    n = 100_000
    rng = np.random.default_rng(0)
    data = pd.DataFrame({
        "Finding": [f"F-{i:07d}" for i in range(n)],
        "Severity": rng.choice(["high", "medium", "low", "info"], n),
        "Payer": rng.choice(["BCBS", "Aetna", "Medicare", "Self-pay"], n),
        "Service date": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 90, n), "D"),
        "Expected": pd.array(rng.integers(1000, 500000, n), dtype="Int64"),
        "Difference": pd.array(rng.integers(-50000, 50000, n), dtype="Int64"),
        "Explanation": ["Paid less than the contracted rate"] * n,
    })
    kinds = {"Service date": "date", "Expected": "money", "Difference": "money"}
    cols = tuple(Column(c, kinds.get(c, "text")) for c in data.columns)
    link = Link("Finding", pd.Series(["Invoices"] * n), pd.Series(np.arange(n) + 2))
    sheet = ResultSheet("Discrepancies", (Block("Discrepancies", cols, data, links=(link,),
                                                severity_column="Severity"),))
    out = tmp_path / "big.xlsx"
    new_workbook(out, [sheet])
    with zipfile.ZipFile(out) as z:
        xml = z.read("xl/worksheets/sheet1.xml")
    assert xml.count(b"<row ") == n + 1
    assert xml.count(b"<hyperlink ") == 65530  # Excel's per-sheet limit
    styles = dict(re.findall(rb'<c r="A(\d+)"( s="\d+")?', xml))  # b"": the default style
    assert styles[b"2"] == styles[b"65531"] != styles[b"65532"] == styles[b"100001"]
    assert b'ref="A65531"' in xml and b'ref="A65532"' not in xml
