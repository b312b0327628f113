"""Golden records: the reader's output for a few sample files, frozen as JSON.

Any change in what `read_835` or `check_balance` produce for these files shows up here as a diff.
Golden files change only on purpose:

    RECON_REGENERATE_GOLDEN=1 PYTHONPATH=. python -m pytest tests/x12/test_golden.py

A missing golden file fails (it is never written silently). Patient names and member IDs are
left out of the goldens; claim numbers, codes, amounts and segment numbers are kept.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd
import pytest

from engine.x12 import check_balance, read_835

DATA = Path("/work/shared/data/835")
GOLDEN = Path(__file__).parent / "golden"
REGENERATE = os.environ.get("RECON_REGENERATE_GOLDEN", "") not in ("", "0")
HOW = ("RECON_REGENERATE_GOLDEN=1 PYTHONPATH=. python -m pytest tests/x12/test_golden.py "
       "(then review the diff before committing)")

FILES = (
    "lfh_managed-care.835",
    "lfh_secondary-payment.835",
    "pyx12_835id_reversal_4010.835",
    "tigershark_835-example_pipe.835",
)

# table: columns kept (never patient / patient_id / patient_key or other identifying text)
COLUMNS = {
    "transactions": ("segment", "trace", "paid_cents", "credit_debit", "method", "handling",
                     "payment_date", "version", "plb_total_cents", "complete"),
    "claims": ("segment", "claim", "status", "charge_cents", "paid_cents", "patient_resp_cents",
               "filing_indicator", "payer_claim", "complete"),
    "lines": ("segment", "claim", "qualifier", "cpt", "modifiers", "charge_cents", "paid_cents",
              "units", "revenue_code", "service_date", "allowed_cents"),
    "adjustments": ("segment", "level", "group", "reason", "amount_cents", "quantity"),
    "plb": ("segment", "provider_id", "fiscal_date", "reason", "reference", "amount_cents"),
    "problems": ("segment", "segment_id", "severity", "message"),
}
FINDING_COLUMNS = ("type", "severity", "key", "expected", "actual", "source")


def _plain(v):
    """A JSON-safe, deterministic form of one cell (None for any missing value)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    if hasattr(v, "item"):  # numpy scalars
        return _plain(v.item())
    if isinstance(v, float) and v.is_integer():
        return v  # keep 1.0 as a float so units/quantity types are checked too
    return v


def _records(df: pd.DataFrame, columns: tuple[str, ...]) -> list[dict]:
    missing = [c for c in columns if c not in df.columns]
    assert not missing, f"reader output lost columns {missing}"
    return [{c: _plain(row[c]) for c in columns}
            for row in df[list(columns)].astype(object).to_dict("records")]


def snapshot(name: str) -> dict:
    remit = read_835(DATA / name, f"era/{name}")
    out = {table: _records(getattr(remit, table), cols) for table, cols in COLUMNS.items()}
    out["balance"] = _records(check_balance(remit), FINDING_COLUMNS)
    return out


def _dump(obj: dict) -> str:
    return json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="sample data not available")


@pytest.mark.parametrize("name", FILES)
def test_golden(name):
    path = GOLDEN / (Path(name).stem + ".json")
    got = snapshot(name)
    if REGENERATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(_dump(got), encoding="utf-8")
    if not path.exists():
        pytest.fail(f"golden file {path} is missing; create it with: {HOW}")
    want = json.loads(path.read_text(encoding="utf-8"))
    # round-trip through JSON so tuples/ints/floats compare the same way as the stored file
    got = json.loads(_dump(got))
    assert sorted(got) == sorted(want), f"golden sections differ; regenerate with: {HOW}"
    for section in sorted(want):
        assert got[section] == want[section], (
            f"{name}: '{section}' differs from {path.name}; if the change is intended, "
            f"regenerate with: {HOW}")


def test_snapshot_is_deterministic():
    name = FILES[0]
    assert _dump(snapshot(name)) == _dump(snapshot(name))


def test_goldens_hold_no_patient_data():
    for name in FILES:
        remit = read_835(DATA / name, name)
        text = _dump(snapshot(name))
        for col in ("patient", "patient_id"):
            for value in remit.claims[col].dropna():
                assert str(value) not in text, f"{name}: {col} leaked into the golden"


# Hand-checked against tigershark_835-example_pipe.835 (ISA = segment 1; the file uses | with
# "\n~" between segments). BPR02 12345.67 ACH; CLP*001-DDDDDDDDDD*1*200.02*200.02** at segment
# 18; CLP*001-SSSSSSSSSS*1*23276.56*12000.65*145.00 at 31; CAS*PR*1*145.00 at 32 (claim level);
# SVC*HC^88888*23276.56*12145.65**1 at 41; CAS*CO*45*11130.91 at 43; PLB WO -361.19 at 48.
# Payment balance: 200.02 + 12000.65 − (−361.19) = 12561.86 expected vs BPR02 12345.67.
def test_pipe_file_hand_checked():
    g = snapshot("tigershark_835-example_pipe.835")
    assert [(c["segment"], c["claim"], c["charge_cents"], c["paid_cents"],
             c["patient_resp_cents"]) for c in g["claims"]] == [
        (18, "001-DDDDDDDDDD", 20002, 20002, None),
        (31, "001-SSSSSSSSSS", 2327656, 1200065, 14500)]
    assert [(ln["segment"], ln["cpt"], ln["charge_cents"], ln["paid_cents"], ln["units"])
            for ln in g["lines"]] == [(27, "88888", 20002, 20002, 1.0),
                                      (41, "88888", 2327656, 1214565, 1.0)]
    assert [(a["segment"], a["level"], a["group"], a["reason"], a["amount_cents"])
            for a in g["adjustments"]] == [(32, "claim", "PR", "1", 14500),
                                           (43, "line", "CO", "45", 1113091)]
    t = g["transactions"][0]
    assert (t["trace"], t["paid_cents"], t["method"], t["handling"]) == (
        "1QG11111111", 1234567, "ACH", "I")
    assert [(p["segment"], p["reason"], p["amount_cents"]) for p in g["plb"]] == [
        (48, "WO", -36119)]
    assert [(f["expected"], f["actual"]) for f in g["balance"]] == [(1256186, 1234567)]
