"""finalize stacks the checks' frames column by column; it must give what
normalize(pd.concat(frames)) gives, whatever mix of columns and dtypes the checks hand over."""

import numpy as np
import pandas as pd

from engine.findings import FINDING_COLUMNS, finalize, normalize, severity_by_days


def _frames():
    one = pd.DataFrame({"type": "OVERDUE", "severity": pd.Series(["high", "low"], dtype="str"),
                        "key": ["k1", "k2"], "invoice": pd.Series(["I1", None], dtype="str"),
                        "expected": pd.Series([100, None], dtype="Int64"),
                        "actual": pd.Series([40, 7], dtype="Int64"),
                        "service_date": pd.to_datetime(["2026-01-02", None]).astype("M8[us]"),
                        "source_sheet": ["Invoices", "Invoices"], "source_row": [3, 4]})
    two = pd.DataFrame({"type": "DENIED", "severity": np.array(["high"], dtype=object),
                        "key": ["k3"], "claim": np.array([None], dtype=object),
                        "payment": ["P9"], "expected": np.array([5], dtype="int64"),
                        "difference": pd.array([None], dtype="Int64"),
                        "service_date": pd.to_datetime(["2026-03-04"]).astype("M8[ns]"),
                        "source_sheet": np.array(["a.835"], dtype=object),
                        "source_row": pd.array([12], dtype="Int64")}, index=[40])
    again = two.assign(severity="low")  # the same type and key: one finding, the first
    return [one, None, two.iloc[:0], two, again]


def _by_concat(frames):
    frames = [f for f in frames if f is not None and len(f)]
    return normalize(pd.concat(frames, ignore_index=True))


def test_stacked_columns_are_those_of_concat():
    out = finalize(_frames())
    expected = _by_concat(_frames())
    assert list(out.columns) == list(expected.columns)
    assert list(out.dtypes) == list(expected.dtypes)
    assert len(out) == 3 and list(out.index) == [0, 1, 2]
    assert out["type"].tolist() == ["OVERDUE", "DENIED", "OVERDUE"]  # high first, then by type
    assert out["severity"].tolist() == ["high", "high", "low"]
    assert out["difference"].tolist() == [-60, pd.NA, pd.NA]
    assert out["claim"].tolist() == [None, None, None] and out["plan"].tolist() == [None] * 3
    assert out["key"].tolist() == ["k1", "k3", "k2"]
    for name in FINDING_COLUMNS:
        if name != "id":
            merged = expected.drop_duplicates("key").set_index("key")[name]
            assert [repr(v) for v in out[name]] == [repr(merged[k]) for k in out["key"]], name


def test_unusual_dtypes_still_finalize_as_before():
    frames = _frames()
    frames[0] = frames[0].assign(expected=[100.0, np.nan], amount=[1, 2])  # float money, amount
    out = finalize(frames)
    assert out["expected"].dtype == "Int64" and out["expected"].tolist()[0] == 100
    assert len(out) == 3 and "amount" in out


def test_severity_by_days():
    days = pd.Series([0, 30, 31, 90, 91, None], dtype="Int64", index=[9, 8, 7, 6, 5, 4])
    out = severity_by_days(days)
    assert out.tolist() == ["low", "low", "medium", "medium", "high", "low"]
    assert list(out.index) == [9, 8, 7, 6, 5, 4] and out.dtype == object
