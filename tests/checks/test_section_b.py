"""Section B findings: tiny workbooks against tiny inline 835s, each type and its near miss."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from builders import inputs_from_rows
from engine.pipeline import reconcile
from engine.x12 import read_835

JAN5 = dt.date(2026, 1, 5)
INV_HEADER = ["Invoice", "Patient ID", "Patient", "Service date", "Invoice date", "Payer", "CPT",
              "Amount"]
PAY_HEADER = ["Payment ID", "Date", "Invoice", "Patient ID", "Payer", "Method", "Reference", "Amount"]
FEES = [["Payer", "CPT", "Expected"], ["Aetna", "99213", 80.0], ["Aetna", "99214", 120.0]]


def era(claims: list[str], *, paid: str, trace: str = "EFT001", plb: str = "",
        handling: str = "I", method: str = "ACH") -> bytes:
    """A 5010 835 around claim loops (each a string of segments joined by ~)."""
    segs = ["ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLINIC         *260201*1200*^*00501*000000001*0*P*:",
            "GS*HP*PAYER*CLINIC*20260201*1200*1*X*005010X221A1", "ST*835*0001",
            f"BPR*{handling}*{paid}*C*{method}*CCP*01*999999999*DA*123456*1512345678**01*999999999*DA*654321*20260201",
            f"TRN*1*{trace}*1512345678", "N1*PR*AETNA HEALTH", "N1*PE*RIVERSIDE CLINIC*XX*1234567893",
            "LX*1"]
    body = "~".join(segs + claims)
    if plb:
        body += "~" + plb
    n = body.count("~") - 1  # segments from ST
    body += f"~SE*{n}*0001~GE*1*1~IEA*1*000000001~"
    return body.encode()


def claim(number, status, charge, paid, pr="", cas="", lines=()):
    parts = [f"CLP*{number}*{status}*{charge}*{paid}*{pr}*12*PAYERCLM{number}*11*1"]
    if cas:
        parts.append(cas)
    parts.append("NM1*QC*1*DOE*JANE****MI*W123")
    parts += list(lines)
    return "~".join(parts)


def line(cpt, charge, paid, *cas, units=1):
    return "~".join([f"SVC*HC:{cpt}*{charge}*{paid}**{units}", "DTM*472*20260105", *cas])


def run(invoices, remit_bytes, payments=(), as_of=dt.date(2026, 2, 20)):
    sheets = {"Invoices": [INV_HEADER] + invoices, "FeeSchedule": FEES}
    if payments:
        sheets["Payments"] = [PAY_HEADER] + list(payments)
    inputs = inputs_from_rows(sheets)
    remit = read_835(remit_bytes, "era/test.835")
    return reconcile(inputs, pd.Timestamp(as_of), remit).findings


def inv(n, amount, cpt="99213", payer="Aetna", pid="1"):
    return [f"INV-{n}", pid, "Jane Doe", JAN5, JAN5, payer, cpt, amount]


def posted(pid_, n, amount, ref="EFT001"):
    return [pid_, dt.date(2026, 2, 3), f"INV-{n}", "1", "Aetna", "EFT", ref, amount]


def types(f):
    return sorted(f["type"])


def clean_claim(n=1):
    # charge 100, contract 80: paid 60, patient 20 (coinsurance), CO-45 20
    return claim(f"INV-{n}", 1, "100", "60", "20",
                 lines=[line("99213", "100", "60", "CAS*CO*45*20", "CAS*PR*2*20")])


def test_clean_remittance_posted_correctly_has_no_findings():
    f = run([inv(1, 100.0)], era([clean_claim()], paid="60"),
            payments=[posted("P1", 1, 60.0),
                      ["P2", dt.date(2026, 2, 10), "INV-1", "1", "Patient", "Card", "A1", 20.0]])
    assert types(f) == []


def test_denied_claim_with_reason_words():
    c = claim("INV-1", 4, "100", "0", cas="CAS*CO*29*100",
              lines=[line("99213", "100", "0")])
    f = run([inv(1, 100.0)], era([c], paid="0"))
    d = f[f["type"] == "DENIED"].iloc[0]
    assert d["reason"] == "CO-29: timely filing limit expired"
    assert d["invoice"] == "INV-1" and d["trace"] == "EFT001" and d["actual"] == 0
    assert "POSTING_MISMATCH" not in set(f["type"])


def test_zero_paid_for_deductible_only_is_not_a_denial():
    c = claim("INV-1", 1, "100", "0", "80",
              lines=[line("99213", "100", "0", "CAS*CO*45*20", "CAS*PR*1*80")])
    f = run([inv(1, 100.0)], era([c], paid="0"))
    assert "DENIED" not in set(f["type"])
    assert "PATIENT_RESPONSIBILITY" in set(f["type"])


def test_one_denied_line_inside_a_paid_claim_names_its_cpt():
    c = claim("INV-1", 1, "220", "60", "20",
              lines=[line("99213", "100", "60", "CAS*CO*45*20", "CAS*PR*2*20"),
                     line("99214", "120", "0", "CAS*CO*197*120")])
    f = run([inv(1, 220.0)], era([c], paid="60"), payments=[posted("P1", 1, 60.0)])
    d = f[f["type"] == "DENIED"]
    assert len(d) == 1 and "99214" in d.iloc[0]["explanation"]
    assert d.iloc[0]["reason"].startswith("CO-197")
    assert "UNDERPAID" not in set(f["type"])


def test_underpaid_against_fee_schedule_and_sequestration_is_not():
    under = claim("INV-1", 1, "100", "50", "20",
                  lines=[line("99213", "100", "50", "CAS*CO*45*30", "CAS*PR*2*20")])
    f = run([inv(1, 100.0)], era([under], paid="50"), payments=[posted("P1", 1, 50.0)])
    u = f[f["type"] == "UNDERPAID"].iloc[0]
    assert (u["expected"], u["actual"], u["difference"]) == (8000, 7000, -1000)
    seq = claim("INV-1", 1, "100", "58.80", "20",
                lines=[line("99213", "100", "58.80", "CAS*CO*45*20", "CAS*CO*253*1.20",
                            "CAS*PR*2*20")])
    f = run([inv(1, 100.0)], era([seq], paid="58.80"), payments=[posted("P1", 1, 58.80)])
    assert "UNDERPAID" not in set(f["type"])


def test_payer_overpaid_beyond_its_share_of_the_contract():
    c = claim("INV-1", 1, "100", "75", "20",
              lines=[line("99213", "100", "75", "CAS*CO*45*5", "CAS*PR*2*20")])
    f = run([inv(1, 100.0)], era([c], paid="75"), payments=[posted("P1", 1, 75.0)])
    o = f[f["type"] == "PAYER_OVERPAID"].iloc[0]
    assert (o["expected"], o["actual"]) == (6000, 7500)


def test_charge_mismatch():
    c = claim("INV-1", 1, "90", "50", "20",
              lines=[line("99213", "90", "50", "CAS*CO*45*20", "CAS*PR*2*20")])
    f = run([inv(1, 100.0)], era([c], paid="50"), payments=[posted("P1", 1, 50.0)])
    m = f[f["type"] == "CHARGE_MISMATCH"].iloc[0]
    assert (m["expected"], m["actual"]) == (10000, 9000)


def test_remit_without_claim_is_the_only_finding_for_it():
    c = claim("ZZ-999", 1, "100", "60", "20",
              lines=[line("99213", "100", "60", "CAS*CO*45*20", "CAS*PR*2*20")])
    f = run([inv(1, 100.0, pid="1")], era([clean_claim(), c], paid="120"),
            payments=[posted("P1", 1, 60.0)], as_of=dt.date(2026, 1, 20))
    r = f[f["claim"] == "ZZ-999"]
    assert list(r["type"]) == ["REMIT_WITHOUT_CLAIM"]


def test_claim_without_remit_after_follow_up_days():
    remit = era([clean_claim()], paid="60")
    f = run([inv(1, 100.0), inv(2, 100.0, pid="2")], remit, payments=[posted("P1", 1, 60.0)],
            as_of=dt.date(2026, 2, 20))
    assert list(f[f["type"] == "CLAIM_WITHOUT_REMIT"]["invoice"]) == ["INV-2"]
    f = run([inv(1, 100.0), inv(2, 100.0, pid="2")], remit, payments=[posted("P1", 1, 60.0)],
            as_of=dt.date(2026, 2, 1))
    assert "CLAIM_WITHOUT_REMIT" not in set(f["type"])


def test_reversal_and_correction_once_per_reversed_claim():
    orig = claim("INV-1", 1, "100", "60", "20",
                 lines=[line("99213", "100", "60", "CAS*CO*45*20", "CAS*PR*2*20")])
    rev = claim("INV-1", 22, "-100", "-60", "-20",
                lines=[line("99213", "-100", "-60", "CAS*CO*45*-20", "CAS*PR*2*-20")])
    corr = claim("INV-1", 1, "100", "65", "15",
                 lines=[line("99213", "100", "65", "CAS*CO*45*20", "CAS*PR*2*15")])
    f = run([inv(1, 100.0)], era([orig, rev, corr], paid="65"), payments=[posted("P1", 1, 65.0)])
    r = f[f["type"] == "REVERSAL"]
    assert len(r) == 1 and (r.iloc[0]["expected"], r.iloc[0]["actual"]) == (6000, 6500)
    assert "POSTING_MISMATCH" not in set(f["type"])


def test_recoupment_but_not_interest():
    plb = "PLB*1234567893*20261231*WO:INV-77*25~PLB*1234567893*20261231*L6*-3"
    f = run([inv(1, 100.0)], era([clean_claim()], paid="38", plb=plb),
            payments=[posted("P1", 1, 60.0)])
    rec = f[f["type"] == "RECOUPMENT"]
    assert len(rec) == 1 and rec.iloc[0]["actual"] == -2500 and rec.iloc[0]["trace"] == "EFT001"


def test_remit_unbalanced_transaction():
    f = run([inv(1, 100.0)], era([clean_claim()], paid="70"), payments=[posted("P1", 1, 60.0)])
    assert "REMIT_UNBALANCED" in set(f["type"])


def test_posting_mismatch_when_posted_differs_or_is_missing():
    f = run([inv(1, 100.0)], era([clean_claim()], paid="60"), payments=[posted("P1", 1, 50.0)])
    p = f[f["type"] == "POSTING_MISMATCH"].iloc[0]
    assert (p["expected"], p["actual"]) == (6000, 5000)
    f = run([inv(1, 100.0)], era([clean_claim()], paid="60"))
    p = f[f["type"] == "POSTING_MISMATCH"].iloc[0]
    assert p["actual"] == 0 and "no insurance payment" in p["explanation"]


def test_claim_paid_twice_across_remittances_is_a_duplicate_payment():
    one = era([clean_claim()], paid="60", trace="EFT001")
    two = era([clean_claim()], paid="60", trace="EFT002")
    sheets = {"Invoices": [INV_HEADER, inv(1, 100.0)], "FeeSchedule": FEES,
              "Payments": [PAY_HEADER, posted("P1", 1, 60.0)]}
    from engine.x12 import concat
    remit = concat([read_835(one, "a.835"), read_835(two, "b.835")])
    f = reconcile(inputs_from_rows(sheets), pd.Timestamp(2026, 2, 20), remit).findings
    d = f[f["type"] == "DUPLICATE_PAYMENT"]
    assert len(d) == 1 and d.iloc[0]["trace"] == "EFT002"


def test_remittances_sheet_is_an_alternative_source():
    sheets = {
        "Invoices": [INV_HEADER, inv(1, 80.0), inv(2, 100.0, pid="2")],
        "FeeSchedule": FEES,
        "Payments": [PAY_HEADER, posted("P1", 1, 80.0, ref="TRN9")],
        "Remittances": [
            ["Claim #", "Trace", "Payer", "Status", "Billed", "Paid", "Patient resp", "Adj group",
             "Adj reason", "Adj amount", "CPT"],
            ["INV-1", "TRN9", "Aetna", "1", 80.0, 80.0, 0.0, None, None, None, "99213"],
            ["INV-2", "TRN9", "Aetna", "4", 100.0, 0.0, 0.0, "CO", "29", 100.0, "99213"],
        ],
    }
    f = reconcile(inputs_from_rows(sheets), pd.Timestamp(2026, 2, 20)).findings
    assert sorted(f["type"]) == ["DENIED"]
    denied = f.iloc[0]
    assert denied["invoice"] == "INV-2" and denied["trace"] == "TRN9"
    assert denied["reason"] == "CO-29: timely filing limit expired"
    assert denied["source"] == "Remittances row 3"


def test_claims_invoices_as_match_remits_found_them_are_the_ones_their_keys_name():
    import dataclasses

    from engine.checks import CHECKS
    from engine.checks._common import claim_invoice_at
    from engine.findings import finalize
    orig = claim("INV-1", 1, "100", "60", "20",
                 lines=[line("99213", "100", "60", "CAS*CO*45*20", "CAS*PR*2*20")])
    rev = claim("INV-1", 22, "-100", "-60", "-20",
                lines=[line("99213", "-100", "-60", "CAS*CO*45*-20", "CAS*PR*2*-20")])
    sheets = {"Invoices": [INV_HEADER, inv(1, 100.0), inv(2, 100.0), inv(3, 90.0)],
              "FeeSchedule": FEES, "Payments": [PAY_HEADER, posted("P1", 3, 50.0)]}
    remit = read_835(era([clean_claim(3), orig, rev, clean_claim(9), clean_claim(1)],
                         paid="120"), "era/test.835")
    ctx = reconcile(inputs_from_rows(sheets), pd.Timestamp(2026, 2, 20), remit).ctx
    by_key = dataclasses.replace(ctx, claim_invoice_at=None)  # looked up by invoice key
    assert ctx.claim_invoice_at.tolist() == [2, 0, 0, -1, 0]
    assert claim_invoice_at(by_key).tolist() == claim_invoice_at(ctx).tolist()
    pd.testing.assert_frame_equal(finalize([check.check(ctx) for check in CHECKS]),
                                  finalize([check.check(by_key) for check in CHECKS]))
