from __future__ import annotations

import pandas as pd

from engine.x12 import check_balance, from_remittances_sheet, read_835


def sheet_rows():
    return pd.DataFrame({
        "sheet": "Remittances", "row": [2, 3, 4, 5],
        "source": ["Remittances row 2", "Remittances row 3", "Remittances row 4",
                   "Remittances row 5"],
        "claim": ["C-1", "C-1", "C-2", "C-3"], "claim_key": ["C1", "C1", "C2", "C3"],
        "paid_cents": pd.array([6000, 4000, 0, 500], dtype="Int64"),
        "trace": ["T1", "T1", "T1", None], "trace_key": ["T1", "T1", "T1", None],
        "payer": ["Acme", "Acme", "Acme", "Beta"], "payer_key": ["ACME", "ACME", "ACME", "BETA"],
        "status": [None, None, "4", None],
        "billed_cents": pd.array([10000, 5000, 2000, 500], dtype="Int64"),
        "allowed_cents": pd.array([8000, None, None, None], dtype="Int64"),
        "patient_resp_cents": pd.array([None, None, None, None], dtype="Int64"),
        "adj_group": ["CO", "CO", "CO", None], "adj_reason": ["45", "45", "29", None],
        "adj_amount_cents": pd.array([4000, 1000, 2000, None], dtype="Int64"),
        "cpt": ["99213", "85025", None, None], "cpt_key": ["99213", "85025", None, None],
        "service_date": pd.to_datetime(["2024-01-02", "2024-01-02", None, None]),
    })


def test_sheet_becomes_remit_tables():
    r = from_remittances_sheet(sheet_rows())
    reference = read_835(b"", "x")
    for name in ("transactions", "claims", "lines", "adjustments", "plb", "problems"):
        got, want = getattr(r, name), getattr(reference, name)
        assert list(got.columns) == list(want.columns), name
        assert [str(t) for t in got.dtypes] == [str(t) for t in want.dtypes], name
    assert r.transactions["trace"].tolist()[0] == "T1" and len(r.transactions) == 2
    assert r.claims["claim"].tolist() == ["C-1", "C-2", "C-3"]
    assert r.claims["paid_cents"].tolist() == [10000, 0, 500]
    assert r.claims["status"].tolist() == ["1", "4", "1"]
    assert r.lines["cpt"].tolist() == ["99213", "85025"]
    assert r.lines["source"].tolist() == ["Remittances row 2", "Remittances row 3"]
    assert r.adjustments["level"].tolist() == ["line", "line", "claim"]
    assert r.adjustments["line_index"].isna().tolist() == [False, False, True]
    assert check_balance(r).empty


def test_empty_sheet():
    r = from_remittances_sheet(sheet_rows().iloc[:0])
    assert r.claims.empty and r.transactions.empty
