"""Balancing findings on small inline files: none when clean, each imbalance found once."""

from __future__ import annotations

from engine.findings import FINDING_COLUMNS, finalize
from engine.x12 import check_balance, problems_to_findings, read_835


def findings(text: str, name: str = "era/t.835"):
    return check_balance(read_835(text.encode(), name))


def test_balanced_file_gives_nothing(make_835, balanced_body):
    assert findings(make_835(balanced_body)).empty


def test_line_imbalance(make_835, balanced_body):
    f = findings(make_835(balanced_body.replace("SVC*HC:99213:25*200.00*120.00",
                                                "SVC*HC:99213:25*210.00*120.00")))
    # the line is off by 10, and so is nothing else (claim uses CLP03)
    assert len(f) == 1
    row = f.iloc[0]
    assert (row["expected"], row["actual"], row["difference"]) == (13000, 12000, -1000)
    assert row["source"] == "era/t.835 segment 13" and row["source_row"] == 13
    assert row["claim"] == "INV-001" and row["severity"] == "medium"
    assert "99213" in row["explanation"]


def test_claim_imbalance(make_835, balanced_body):
    f = findings(make_835(balanced_body.replace("CLP*INV-002*4*80.00*0*0",
                                                "CLP*INV-002*4*90.00*0*0")))
    assert len(f) == 1 and f["key"].iloc[0] == "12345|INV2|4|claim"
    assert (f["expected"].iloc[0], f["actual"].iloc[0]) == (1000, 0)


def test_patient_responsibility_imbalance_and_reversal_exempt(make_835, balanced_body):
    body = balanced_body.replace("*120.00*30.00*12*PCN777", "*120.00*25.00*12*PCN777")
    f = findings(make_835(body))
    assert len(f) == 1 and f["key"].iloc[0].endswith("|patient_resp")
    assert (f["expected"].iloc[0], f["actual"].iloc[0], f["difference"].iloc[0]) == (
        3000, 2500, -500)
    reversed_ = findings(make_835(body.replace("CLP*INV-001*1*", "CLP*INV-001*22*")))
    assert reversed_.empty


def test_transaction_imbalance(make_835, balanced_body):
    f = findings(make_835(balanced_body.replace("BPR*I*130.00", "BPR*I*125.00")))
    assert len(f) == 1
    row = f.iloc[0]
    assert row["severity"] == "high" and row["trace"] == "00012345"
    assert (row["expected"], row["actual"]) == (13000, 12500)
    assert row["key"] == "12345|1999999999|transaction"


def test_keys_do_not_depend_on_file_name(make_835, balanced_body):
    text = make_835(balanced_body.replace("BPR*I*130.00", "BPR*I*125.00"))
    a = finalize([findings(text, "a.835")])
    b = finalize([findings(text, "other/b.835")])
    assert a["id"].tolist() == b["id"].tolist()
    assert set(FINDING_COLUMNS) <= set(a.columns)


def test_incomplete_transaction_skips_payment_check(make_835, balanced_body):
    body = balanced_body.replace("CLP*INV-002*4*80.00*0*0", "CLP*INV-002*4*8O.00*0*0")
    r = read_835(make_835(body).encode(), "x.835")
    assert check_balance(r).empty  # a lost claim must not also read as an imbalance
    inv = problems_to_findings(r.problems)
    assert inv["type"].tolist() == ["INVALID_ROW"] and inv["severity"].tolist() == ["high"]
    assert inv["source"].iloc[0] == "x.835 segment 20"
    out = finalize([inv])
    assert out["id"].iloc[0] == finalize([problems_to_findings(r.problems)])["id"].iloc[0]


def test_repeated_imbalance_keeps_two_keys(make_835, balanced_body):
    body = balanced_body.replace("CLP*INV-002*4*80.00*0*0", "CLP*INV-002*4*90.00*0*0")
    again = "CLP*INV-002*4*90.00*0*0*12*PCN778~\nNM1*QC*1*ROE*RICHARD~\nCAS*CO*29*80.00~\n"
    body = body.replace("PLB*", again + "PLB*")
    f = findings(make_835(body))
    assert f["key"].tolist() == ["12345|INV2|4|claim", "12345|INV2|4|claim#2"]
    assert f["expected"].tolist() == [1000, 1000] and str(f["expected"].dtype) == "Int64"
