"""Every public sample file reads without crashing, with the counts verified by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.x12 import check_balance, problems_to_findings, read_835, read_remits

DATA = Path("/work/shared/data/835")

# file: (transactions, claims, lines, adjustments, plb pairs) — counted from the files
EXPECTED = {
    "lfh_cob-contractural-adjustment.835": (1, 1, 1, 2, 0),
    "lfh_managed-care.835": (1, 2, 2, 5, 0),
    "lfh_medicare-part-a.835": (1, 2, 0, 2, 1),
    "lfh_secondary-payment.835": (1, 2, 2, 5, 0),
    "lfh_tertiary-payment.835": (1, 1, 1, 1, 0),
    "oopfactory_835_WithMultipleInterchanges.835": (3, 56, 91, 97, 0),
    "pyx12_835_mult_loops.835": (1, 1, 3, 3, 0),
    "pyx12_835id_reversal_4010.835": (1, 3, 3, 2, 3),
    "tigershark_835-example-2_multiST.835": (2, 2, 2, 2, 0),
    "tigershark_835-example_pipe.835": (1, 2, 2, 2, 1),
}

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="sample data not available")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_counts(name):
    r = read_835(DATA / name, f"era/{name}")
    got = (len(r.transactions), len(r.claims), len(r.lines), len(r.adjustments), len(r.plb))
    assert got == EXPECTED[name]
    assert (r.claims["source"].str.startswith(f"era/{name} segment ")).all()
    # finding builders run on every sample
    check_balance(r)
    problems_to_findings(r.problems)


def test_every_sample_file_is_listed():
    assert {p.name for p in DATA.glob("*.835")} == set(EXPECTED)


def test_balanced_samples_give_no_balance_findings():
    for name in ("lfh_managed-care.835", "lfh_medicare-part-a.835", "lfh_secondary-payment.835",
                 "lfh_cob-contractural-adjustment.835", "pyx12_835_mult_loops.835"):
        assert len(check_balance(read_835(DATA / name, name))) == 0, name


def test_unbalanced_samples():
    tertiary = check_balance(read_835(DATA / "lfh_tertiary-payment.835", "t.835"))
    assert len(tertiary) == 1 and tertiary["source"].iloc[0] == "t.835 segment 20"
    reversal = check_balance(read_835(DATA / "pyx12_835id_reversal_4010.835", "r.835"))
    assert list(reversal["severity"]) == ["high"]
    assert reversal["actual"].iloc[0] == 595021
    assert reversal["expected"].iloc[0] == -51025 + 97794


def test_segment_numbers_count_from_first_segment():
    r = read_835(DATA / "lfh_managed-care.835", "m.835")
    assert list(r.claims["segment"]) == [13, 20]
    assert list(r.lines["segment"]) == [16, 23]
    assert r.transactions["segment"].iloc[0] == 3


def test_managed_care_values():
    r = read_835(DATA / "lfh_managed-care.835", "m.835")
    t = r.transactions.iloc[0]
    assert (t["paid_cents"], t["trace"], t["payer"], t["payee_npi"], t["version"]) == (
        94500, "7170066655", "RUSHMORE LIFE", "5544667733", "5010")
    c = r.claims.iloc[0]
    assert (c["claim"], c["charge_cents"], c["paid_cents"], c["patient_resp_cents"]) == (
        "5554555444", 80000, 45000, 30000)
    assert c["patient"] == "BUDD, WILLIAM"
    assert str(r.lines["service_date"].iloc[0].date()) == "2002-03-01"
    claim_level = r.adjustments[r.adjustments["line_index"].isna()]
    assert list(claim_level["reason"]) == ["A2", "A2"]
    # BPR16 here is 20002316: reported as a low problem, the rest is read
    assert list(r.problems["severity"]) == ["low"]
    assert r.problems["segment"].iloc[0] == 4


def test_multiple_interchanges_with_bom_and_indentation():
    r = read_835(DATA / "oopfactory_835_WithMultipleInterchanges.835", "o.835")
    assert list(r.transactions["control"]) == ["8001", "9001", "10001"]
    assert r.problems.empty
    assert r.lines["cpt"].notna().all()  # `>` composites split


def test_read_remits_folder_keeps_indices_unique(tmp_path):
    r = read_remits([DATA], DATA.parent)
    assert len(r.transactions) == sum(v[0] for v in EXPECTED.values())
    assert len(r.claims) == sum(v[1] for v in EXPECTED.values())
    assert r.claims["claim_index"].is_unique and r.lines["line_index"].is_unique
    assert r.transactions["transaction_index"].tolist() == list(range(len(r.transactions)))
    joined = r.lines.merge(r.claims[["claim_index", "transaction_index", "file"]],
                           on="claim_index", suffixes=("", "_claim"))
    assert (joined["transaction_index"] == joined["transaction_index_claim"]).all()
    assert (joined["file"] == joined["file_claim"]).all()
    assert r.claims["file"].iloc[0].startswith("835/")
