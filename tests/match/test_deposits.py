"""Deposit matcher: traces in bank descriptions, split traces, postings and batches, invariants."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from builders import (DEPOSIT_HEADER, MAR2, PAYMENT_HEADER, dep, inputs_from_rows,
                      transactions, tx)
from engine import normalise
from engine.match.deposits import MATCH_COLUMNS, STATUSES, _with_postings, match_deposits
from engine.settings import Settings
from engine.x12.read import read_835



def pay(pid, amount, method, ref=None, date=MAR2, payer=None, invoice=None):
    return [pid, date, invoice, None, payer, method, ref, amount]


def tables(deposits=(), payments=()):
    sheets = {"Deposits": [DEPOSIT_HEADER] + list(deposits)}
    if payments:
        sheets["Payments"] = [PAYMENT_HEADER] + list(payments)
    inputs = inputs_from_rows(sheets)
    return inputs.tables["Deposits"], normalise.prepare_payments(inputs.tables["Payments"])


def match(deposits=(), txs=(), payments=(), settings=None):
    d, p = tables(deposits, payments)
    t = transactions(*txs)
    return match_deposits(d, t, p, settings or Settings())


def status_of_deposits(m):
    rows = m[m["deposit_index"].notna()]
    return dict(zip(rows["deposit_index"], rows["status"]))


def explained(m):
    rows = m[m["deposit_index"].notna()]
    return dict(zip(rows["deposit_index"], rows["explained_by"]))


# ---------------------------------------------------------------------------------- traces
def test_trace_inside_bank_description_matches_despite_leading_zeros():
    m = match([dep(1234.50, "ACH CREDIT HCCLAIMPMT TRN*1*0012345678*1512345678~"),
               dep(80.00, "EFT PMT 000777888999 CIGNA", dt.date(2026, 3, 3))],
              [tx("12345678", 1234.50), tx("0777888999", 80.00, payer="Cigna")])
    assert list(m.columns) == list(MATCH_COLUMNS)
    assert len(m) == 2 and set(m["status"]) == {"matched"}
    first = m[m["deposit_index"] == 2].iloc[0]
    assert first["transaction_index"] == 0 and first["trace"] == "12345678"
    assert first["trace_key"] == "12345678" and first["explained_by"] == "835 trace 12345678"
    assert first["deposit_cents"] == first["remit_cents"] == 123450
    assert m[m["deposit_index"] == 3].iloc[0]["transaction_index"] == 1


def test_trn_segment_wins_over_other_numbers_in_the_description():
    # the payer's id 1512345678 is also a transaction's trace: the TRN02 value is the one meant
    m = match([dep(100.00, "ACH TRN*1*555123*1512345678\\")],
              [tx("555123", 100.00), tx("1512345678", 100.00)])
    row = m[m["deposit_index"] == 2].iloc[0]
    assert row["trace_key"] == "555123" and row["status"] == "matched"
    assert (m.loc[m["trace_key"] == "1512345678", "status"] == "remit_only").all()


def test_amount_mismatch_instead_of_remit_only_and_deposit_only():
    m = match([dep(1000.00, "TRN*1*0012345678*1~")], [tx("12345678", 1234.50)])
    assert len(m) == 1
    row = m.iloc[0]
    assert row["status"] == "amount_mismatch"
    assert (row["group_remit_cents"], row["group_deposit_cents"]) == (123450, 100000)


def test_amount_within_tolerance_is_matched():
    m = match([dep(1234.00, "TRN*1*12345678*1~")], [tx("12345678", 1234.50)])
    assert list(m["status"]) == ["matched"]
    tight = match([dep(1234.00, "TRN*1*12345678*1~")], [tx("12345678", 1234.50)],
                  settings=Settings(tolerance_cents=0))
    assert list(tight["status"]) == ["amount_mismatch"]


def test_notification_only_remittance_needs_no_deposit():
    m = match([], [tx("99887766", 0.0, handling="H", method="NON"),
                   tx("55443322", 50.0, method="NON")])
    assert m.empty and list(m.columns) == list(MATCH_COLUMNS)


def test_split_trace_is_summed_before_comparing():
    m = match([dep(1000.00, "ACH CREDIT TRN*1*00555*9~")],
              [tx("555", 600.00), tx("555", 400.00), tx("556", 5.00)])
    grp = m[m["trace_key"] == "555"]
    assert len(grp) == 2 and set(grp["status"]) == {"matched"}
    assert grp["deposit_index"].notna().sum() == 1
    assert set(grp["transaction_index"]) == {0, 1}
    assert (grp["group_remit_cents"] == 100000).all() and (grp["transactions"] == 2).all()
    assert grp["remit_cents"].sum() == 100000 and grp["deposit_cents"].sum() == 100000
    assert m.loc[m["trace_key"] == "556", "status"].tolist() == ["remit_only"]


def test_split_trace_sum_that_differs_is_one_mismatch():
    m = match([dep(600.00, "TRN*1*555*9~")], [tx("555", 600.00), tx("555", 400.00)])
    assert set(m["status"]) == {"amount_mismatch"} and m["group"].nunique() == 1


def test_deposits_of_one_split_trace_pair_with_its_transactions_by_date():
    m = match([dep(400.00, "TRN*1*555*9~", dt.date(2026, 3, 4)), dep(600.00, "EFT 555")],
              [tx("555", 600.00), tx("555", 400.00)])
    assert len(m) == 2 and set(m["status"]) == {"matched"} and m["group"].nunique() == 1
    assert m["transaction_index"].tolist() == [0, 1]
    assert m["deposit_cents"].tolist() == [60000, 40000]
    assert (m["group_deposit_cents"] == 100000).all() and (m["deposits"] == 2).all()


def test_unreadable_amounts_of_a_trace_are_left_out_of_its_total():
    m = match([dep(600.00, "TRN*1*555*9~"), dep(50.00, "TRN*1*777*9~")],
              [tx("555", 600.00), {"trace": "555", "paid_cents": None},
               {"trace": "777", "paid_cents": None}])
    some = m[m["trace_key"] == "555"]
    assert set(some["status"]) == {"matched"} and (some["group_remit_cents"] == 60000).all()
    assert some["remit_cents"].isna().sum() == 1
    none = m[m["trace_key"] == "777"]  # no amount known at all: the total is unknown
    assert none["status"].tolist() == ["amount_mismatch"]
    assert none["group_remit_cents"].isna().all()


def test_zero_paying_eft_needs_no_deposit():
    m = match([], [tx("4242", 0.0)])
    assert m["status"].tolist() == ["matched"]
    assert "no deposit expected" in m["explained_by"].iloc[0]


def test_deposit_naming_a_trace_is_not_explained_by_postings_instead():
    m = match([dep(1000.00, "TRN*1*555*9~")], [tx("555", 1200.00)],
              [pay("P1", 1000.00, "EFT", "555")])
    assert m["status"].tolist() == ["amount_mismatch"]


def test_reader_output_of_a_real_835_matches():
    text = ("ST*835*0001~BPR*C*130.00*C*ACH************20260302~TRN*1*00012345*1999999999~"
            "N1*PR*ACME HEALTH~N1*PE*GOOD CLINIC*XX*1234567893~LX*1~"
            "CLP*INV-001*1*200.00*130.00**12*PCN777~SE*8*0001~"
            "ST*835*0002~BPR*H*0*C*NON************20260302~TRN*1*777*1999999999~"
            "N1*PR*ACME HEALTH~N1*PE*GOOD CLINIC*XX*1234567893~SE*6*0002~")
    t = read_835(text.encode(), "era/acme.835").transactions
    assert len(t) == 2
    d, p = tables([dep(130.00, "ACH CREDIT ACME HCCLAIMPMT TRN*1*12345*1999999999\\")])
    m = match_deposits(d, t, p, Settings())
    assert m["status"].tolist() == ["matched"] and m["payer"].iloc[0] == "ACME HEALTH"


# ---------------------------------------------------------------------------------- postings
def test_check_deposit_explained_by_a_posting_of_that_check():
    m = match([dep(250.00, "CHECK 004512", dt.date(2026, 3, 5))], [],
              [pay("P-123", 250.00, "Check", "chk-4512"), pay("P-124", 250.00, "Check", "4513")])
    assert status_of_deposits(m) == {2: "explained_by_payments"}
    assert explained(m) == {2: "check posting P-123"}


def test_one_check_paying_several_invoices_is_summed_by_reference():
    m = match([dep(300.00, "DEPOSIT CHK 9001", dt.date(2026, 3, 3))], [],
              [pay("P1", 100.00, "Check", "9001", invoice="INV-1"),
               pay("P2", 200.00, "Check", "9001", invoice="INV-2")])
    assert explained(m) == {2: "postings with reference 9001 (2 payments)"}


def test_a_posting_explains_one_deposit_only():
    m = match([dep(250.00, "CHECK 4512"), dep(250.00, "CHECK 4512", dt.date(2026, 3, 3))], [],
              [pay("P1", 250.00, "Check", "4512")])
    assert sorted(status_of_deposits(m).values()) == ["deposit_only", "explained_by_payments"]
    assert status_of_deposits(m)[2] == "explained_by_payments"


def test_card_batch_settled_days_later_is_explained():
    m = match([dep(70.00, "CARD SETTLEMENT MERCH 4471 BATCH", dt.date(2026, 3, 4)),
               dep(45.00, "BRANCH DEPOSIT CASH")], [],
              [pay("C1", 30.00, "Card", "A100001"), pay("C2", 40.00, "Visa", "A100002"),
               pay("K1", 20.00, "Cash"), pay("K2", 25.00, "Cash"),
               pay("X1", 999.00, "Card", date=dt.date(2026, 3, 3))])
    assert explained(m) == {2: "card batch of 2026-03-02 (2 payments)",
                            3: "cash batch of 2026-03-02 (2 payments)"}


def test_batch_prefers_the_nearest_day_and_is_used_once():
    # two card days both total $50; two deposits of $50 take one batch each, nearest first
    m = match([dep(50.00, "CARD SETTLE", dt.date(2026, 3, 4)),
               dep(50.00, "CARD SETTLE", dt.date(2026, 3, 5))], [],
              [pay("C1", 50.00, "Card", date=dt.date(2026, 3, 3)),
               pay("C2", 50.00, "Card", date=dt.date(2026, 3, 4))])
    assert explained(m) == {2: "card batch of 2026-03-04 (1 payment)",
                            3: "card batch of 2026-03-03 (1 payment)"}


def test_batch_near_misses_stay_unexplained():
    # sum off by more than the tolerance; batch 4 days before the deposit; write-offs no money
    m = match([dep(72.00, "CARD SETTLEMENT", dt.date(2026, 3, 2)),
               dep(60.00, "CASH", dt.date(2026, 3, 6)),
               dep(500.00, "ADJ", dt.date(2026, 3, 2))], [],
              [pay("C1", 30.00, "Card"), pay("C2", 40.00, "Card"),
               pay("K1", 60.00, "Cash"),
               pay("W1", 500.00, "Write-off", payer="Aetna", invoice="INV-1")])
    assert set(status_of_deposits(m).values()) == {"deposit_only"}
    assert m["explained_by"].isna().all()


def test_unexplained_deposit_is_deposit_only_with_its_trn_trace():
    m = match([dep(812.17, "ACH CREDIT HCCLAIMPMT TRN*1*712345678*1999999999\\")],
              [tx("12345678", 812.17)], [pay("P1", 10.00, "Card")])
    row = m[m["deposit_index"] == 2].iloc[0]
    assert row["status"] == "deposit_only" and row["trace"] == "712345678"
    assert row["group"] == "deposit:2" and pd.isna(row["transaction_index"])
    assert m.loc[m["transaction_index"] == 0, "status"].tolist() == ["remit_only"]


def test_no_inputs_gives_empty_table():
    m = match_deposits(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), Settings())
    assert m.empty and list(m.columns) == list(MATCH_COLUMNS)


# ---------------------------------------------------------------------------------- property
_traces = st.sampled_from(["555", "0555", "12345678", "0012345678", "777", "9001"])


@hsettings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    txs=st.lists(st.tuples(_traces, st.integers(0, 3000), st.booleans()), max_size=6),
    deps=st.lists(st.tuples(st.integers(0, 5), st.integers(1, 3000),
                            st.sampled_from(["TRN*1*{}*1~", "CHECK {}", "CARD", "CASH",
                                             "EFT {} X", ""]), _traces), max_size=6),
    pays=st.lists(st.tuples(st.integers(0, 5), st.integers(1, 3000),
                            st.sampled_from(["Card", "Cash", "Check", "EFT", "Write-off"]),
                            _traces), max_size=6),
)
def test_every_deposit_and_money_moving_transaction_appears_once(txs, deps, pays):
    t = [tx(trace, cents / 100, moves_money=moves,
            **({} if moves else {"handling": "H", "method": "NON"}))
         for trace, cents, moves in txs]
    d = [dep(cents / 100, fmt.format(trace), MAR2 + dt.timedelta(days=day))
         for day, cents, fmt, trace in deps]
    p = [pay(f"P{i}", cents / 100, method, trace, MAR2 + dt.timedelta(days=day))
         for i, (day, cents, method, trace) in enumerate(pays)]
    deposits, postings = tables(d, p)
    transactions_ = transactions(*t)
    m = match_deposits(deposits, transactions_, postings, Settings())
    assert sorted(m["deposit_index"].dropna()) == sorted(deposits.index)
    moving = transactions_.index[transactions_["moves_money"]]
    assert sorted(m["transaction_index"].dropna()) == sorted(moving)
    assert m["status"].isin(STATUSES).all()
    assert (m.groupby("group")["status"].nunique() == 1).all()
    # amounts are whole: each row carries only its own money
    assert m["deposit_cents"].sum() == deposits["amount_cents"].sum()
    assert m["remit_cents"].sum() == transactions_.loc[moving, "paid_cents"].sum()
    # explained rows say why; deposit_only and remit_only rows do not
    said = m["explained_by"].notna()
    assert (said == ~m["status"].isin(["deposit_only", "remit_only"])).all()


def test_tokens_of_joined_texts_keep_their_owner_and_order():
    from engine.match.deposits import _tokens
    text = pd.Series(["CHECK 004512 a0012", None, "multi\nline 0077 x\ny 12", "", 4512, "00a1 000"],
                     index=[10, 11, 12, 13, 14, 15], dtype="object")
    got = _tokens(text)
    assert got["owner"].tolist() == [10, 10, 12, 14, 15, 15]
    assert got["key"].tolist() == ["4512", "A12", "77", "4512", "0A1", "0"]
    assert got["pos"].tolist() == [0, 1, 0, 0, 0, 1]
    assert _tokens(pd.Series(["no digits", None], dtype="object")).empty


@pytest.mark.parametrize("labels, pay_row", [(None, [2, 0, 2, 1]), ([5, 7, 9], [9, 5, 9]),
                                             (None, [2, 3, 0])])
def test_with_postings_is_the_join_on_pay_row(labels, pay_row):
    post = pd.DataFrame({"pay": [10, 11, 12], "label": pd.Series(["P1", "P2", "P3"], dtype=object),
                         "method": pd.Series(["EFT", None, "Check"], dtype=object),
                         "date": pd.to_datetime(["2026-03-02", "2026-03-03", "2026-03-04"]),
                         "amount": pd.array([100, 250, 100], dtype="Int64")}, index=labels)
    pairs = pd.DataFrame({"dep": range(3, 3 + len(pay_row)), "key": "T1", "pay_row": pay_row},
                         index=range(4, 4 + len(pay_row)))
    pd.testing.assert_frame_equal(_with_postings(pairs, post), pairs.join(post, on="pay_row"))
