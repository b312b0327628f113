"""Section C findings: ERA_WITHOUT_DEPOSIT, DEPOSIT_WITHOUT_ERA, DEPOSIT_AMOUNT_MISMATCH."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from builders import (DEPOSIT_HEADER, MAR2, PAYMENT_HEADER, dep, inputs_from_rows,
                      transactions, tx)
from engine import normalise
from engine.checks import deposit_amount_mismatch, deposit_without_era, era_without_deposit
from engine.context import Context
from engine.findings import finalize
from engine.match.deposits import match_deposits, waiting_deposits
from engine.settings import Settings

AS_OF = pd.Timestamp(2026, 3, 31)
SECTION_C = (era_without_deposit, deposit_without_era, deposit_amount_mismatch)
# an unrelated deposit early in the statement: the bank records cover the run
EARLY = [dt.date(2026, 1, 2), 5.00, "CHECK 777777", None]


def pay(pid, amount, method, ref=None, date=MAR2):
    return [pid, date, None, None, None, method, ref, amount]


def context(deposits=(), txs=(), payments=(), as_of=AS_OF, settings=None) -> Context:
    settings = settings or Settings()
    sheets = {"Deposits": [DEPOSIT_HEADER] + list(deposits)}
    if payments:
        sheets["Payments"] = [PAYMENT_HEADER] + list(payments)
    inputs = inputs_from_rows(sheets, settings)
    p = normalise.prepare_payments(inputs.tables["Payments"])
    t = transactions(*txs)
    m = match_deposits(inputs.tables["Deposits"], t, p, settings)
    empty = pd.DataFrame()
    return Context(as_of=as_of, settings=settings, tables=inputs.tables, invoice_totals=empty,
                   payments=p, applications=empty, match_candidates=empty,
                   remits={"transactions": t}, deposit_matches=m, left_out=inputs.left_out,
                   waiting_deposits=waiting_deposits(inputs.left_out.get("Deposits")))


def findings(ctx: Context) -> pd.DataFrame:
    return finalize([c.check(ctx) for c in SECTION_C])


def types(ctx: Context) -> list[str]:
    return sorted(findings(ctx)["type"])


# ---------------------------------------------------------------------------------- ERA
def test_era_without_deposit_when_no_deposit_has_the_trace():
    ctx = context([dep(50.00, "CHECK 1234")], [tx("0012345678", 1234.50)])
    f = findings(ctx)
    era = f[f["type"] == "ERA_WITHOUT_DEPOSIT"].iloc[0]
    assert era["trace"] == "0012345678" and era["payer"] == "Aetna"
    assert (era["expected"], era["actual"], era["difference"]) == (123450, 0, -123450)
    assert era["severity"] == "high"  # paid 29 days before the run
    assert era["explanation"] == ("The 835 from Aetna with trace 0012345678 paid $1,234.50 on "
                                  "2026-03-02, but no bank deposit with that trace was found.")
    assert "call Aetna with the trace number 0012345678" in era["action"]
    assert era["source"] == "era/aetna.835 segment 3"
    assert era["key"] == "trace|12345678"


def test_era_whose_deposit_row_could_not_be_read_says_to_correct_that_row():
    """The deposit is on the statement but its amount is unreadable: the row is left out (an
    INVALID_ROW of its own), so the 835 has no deposit, and staff are sent to that row, not to
    the payer."""
    ctx = context([EARLY, dep("87.64 USD?", "ACH CREDIT TRN*1*0100000476*1512345678~"),
                   dep(12.00, "EFT 0100000999")],
                  [tx("0100000476", 87.64), tx("0100000555", 20.00)])
    era = era_without_deposit.check(ctx).set_index("trace")
    assert era.loc["0100000476", "explanation"] == (
        "The 835 from Aetna with trace 0100000476 paid $87.64 on 2026-03-02; its deposit is on "
        "Deposits row 3, which could not be read and was left out.")
    assert era.loc["0100000476", "action"] == ("Correct Deposits row 3 (see its INVALID_ROW "
                                               "finding) and run again: the deposit then "
                                               "matches this 835.")
    # another trace, truly without a deposit, is told as before
    assert era.loc["0100000555", "explanation"].endswith("but no bank deposit with that trace "
                                                         "was found.")
    assert "call Aetna" in era.loc["0100000555", "action"]


def test_era_near_misses_no_finding():
    # deposited (leading zeros differ), notification only, and a zero-paying EFT
    ctx = context([dep(1234.50, "ACH CREDIT HCCLAIMPMT TRN*1*12345678*1512345678~")],
                  [tx("0012345678", 1234.50), tx("999", 0, handling="H", method="NON"),
                   tx("4242", 0.0)])
    assert types(ctx) == []


def test_era_severity_follows_how_long_money_takes_to_arrive():
    def severity(paid_on, method="ACH"):
        ctx = context([EARLY], [tx("777", 10.0, payment_date=paid_on, method=method)])
        return era_without_deposit.check(ctx)["severity"].iloc[0]

    assert severity("20260330") == "info"   # 1 day: still in flight
    assert severity("20260327") == "low"    # 4 days: a weekend can do that
    assert severity("20260320") == "high"   # 11 days
    assert severity("20260320", "CHK") == "low"   # a mailed check takes longer
    assert severity("20260325", "CHK") == "info"
    assert severity(None) == "medium"
    ctx = context([EARLY], [tx("777", 10.0, payment_date="20260330")])
    row = era_without_deposit.check(ctx).iloc[0]
    assert "may still be on its way" in row["explanation"]
    assert row["action"].startswith("Nothing to do yet") and "2026-04-02" in row["action"]


def test_split_trace_without_deposit_is_one_finding_of_the_total():
    ctx = context([EARLY], [tx("555", 600.00), tx("555", 400.00)])
    f = era_without_deposit.check(ctx)
    assert len(f) == 1 and f["expected"].iloc[0] == 100000
    assert "(2 transactions)" in f["explanation"].iloc[0]


# ---------------------------------------------------------------------------------- mismatch
def test_amount_mismatch_is_the_only_finding():
    ctx = context([dep(1000.00, "ACH CREDIT TRN*1*0012345678*1~", dt.date(2026, 3, 3))],
                  [tx("12345678", 1234.50)])
    f = findings(ctx)
    assert list(f["type"]) == ["DEPOSIT_AMOUNT_MISMATCH"]
    row = f.iloc[0]
    assert (row["expected"], row["actual"], row["difference"]) == (123450, 100000, -23450)
    assert row["severity"] == "high" and row["trace"] == "12345678" and row["payer"] == "Aetna"
    assert row["source"] == "Deposits row 2"
    assert (row["source_sheet"], row["source_row"]) == ("Deposits", 2)
    assert row["explanation"] == (
        "The 835 from Aetna with trace 12345678 paid $1,234.50 on 2026-03-02, but the bank "
        "deposit with that trace on 2026-03-03 is $1,000.00 ($234.50 less).")
    assert row["key"] == "trace|12345678"


def test_deposit_above_the_835_is_medium():
    ctx = context([dep(1300.00, "TRN*1*12345678*1~")], [tx("12345678", 1234.50)])
    row = deposit_amount_mismatch.check(ctx).iloc[0]
    assert row["severity"] == "medium" and row["difference"] == 6550


def test_mismatch_near_miss_within_tolerance():
    ctx = context([dep(1234.00, "TRN*1*12345678*1~")], [tx("12345678", 1234.50)])
    assert types(ctx) == []


# ---------------------------------------------------------------------------------- deposit only
def test_deposit_without_era_points_at_the_deposit_row():
    ctx = context([dep(70.00, "CARD SETTLEMENT"),
                   dep(812.17, "ACH CREDIT HCCLAIMPMT TRN*1*712345678*1999999999\\",
                       dt.date(2026, 3, 9)),
                   dep(55.00, "COUNTER DEPOSIT", dt.date(2026, 3, 10))],
                  [], [pay("C1", 30.00, "Card"), pay("C2", 40.00, "Card")])
    f = findings(ctx)
    assert list(f["type"]) == ["DEPOSIT_WITHOUT_ERA"] * 2
    by_row = f.set_index("source_row")
    trn = by_row.loc[3]
    assert trn["source"] == "Deposits row 3" and trn["source_sheet"] == "Deposits"
    assert trn["actual"] == 81217 and pd.isna(trn["expected"]) and trn["trace"] == "712345678"
    assert trn["explanation"] == ("The bank deposit of $812.17 on 2026-03-09 with trace "
                                  "712345678 matches no 835 remittance and no posted payment.")
    assert "835 with trace 712345678" in trn["action"]
    plain = by_row.loc[4]
    assert "(\u201cCOUNTER DEPOSIT\u201d)" in plain["explanation"]
    assert plain["action"].startswith("Find out what this deposit is")


def test_deposit_without_era_near_misses():
    # explained by a check posting, by the day's card batch, by its 835
    ctx = context([dep(250.00, "CHECK 004512"), dep(70.00, "CARD SETTLEMENT"),
                   dep(99.00, "TRN*1*31415*1~")],
                  [tx("31415", 99.00)],
                  [pay("P-1", 250.00, "Check", "4512"), pay("C1", 30.00, "Card"),
                   pay("C2", 40.00, "Card")])
    assert types(ctx) == []


def test_deposit_key_survives_inserted_rows_and_separates_repeats():
    one = context([dep(55.00, "COUNTER DEPOSIT"), dep(55.00, "COUNTER DEPOSIT")])
    two = context([dep(10.00, "OTHER", dt.date(2026, 3, 1)), dep(55.00, "counter deposit"),
                   dep(55.00, "COUNTER DEPOSIT")])
    ids_one = set(findings(one)["id"])
    ids_two = set(findings(two)["id"])
    assert len(ids_one) == 2 and ids_one < ids_two


def test_checks_without_deposit_matches_find_nothing():
    empty = pd.DataFrame()
    ctx = Context(as_of=AS_OF, settings=Settings(), tables={}, invoice_totals=empty,
                  payments=empty, applications=empty, match_candidates=empty)
    assert all(c.check(ctx).empty for c in SECTION_C)


def test_era_without_a_trace_is_keyed_by_its_place_in_the_file():
    ctx = context([EARLY], [tx(None, 75.00)])
    row = era_without_deposit.check(ctx).iloc[0]
    assert row["key"] == "source|era/aetna.835 segment 3"
    assert "without a trace no bank deposit can be tied to it" in row["explanation"]


def test_era_is_only_checked_where_bank_records_exist():
    # no Deposits rows at all: nothing to compare with
    assert era_without_deposit.check(context([], [tx("555", 60.00)])).empty
    # paid before the first deposit on record: outside the statement staff pasted
    ctx = context([dep(10.00, "CASH", dt.date(2026, 3, 10))],
                  [tx("555", 60.00, payment_date="20260301"),
                   tx("556", 60.00, payment_date="20260310")])
    assert era_without_deposit.check(ctx)["trace"].tolist() == ["556"]
