"""Matcher: each stage, the threshold, and the invariants that keep money whole."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings, strategies as st
from rapidfuzz.distance import OSA

from builders import INVOICE_HEADER, PAYMENT_HEADER, inputs_from_rows
from engine import normalise
from engine.match import payments
from engine.match.payments import match_payments

D = dt.date(2026, 1, 5)
LATER = dt.date(2026, 2, 1)


def _match(invoices, payments, settings_obj=None):
    inputs = inputs_from_rows({"Invoices": [INVOICE_HEADER] + invoices,
                               "Payments": [PAYMENT_HEADER] + payments}, settings_obj)
    inv = normalise.invoice_totals(inputs.tables["Invoices"], inputs.settings)
    pay = normalise.prepare_payments(inputs.tables["Payments"])
    return inv, pay, match_payments(inv, pay, inputs.settings)


def _applied(pay, m):
    a = m.applications.merge(pay[["payment"]], left_on="payment_index", right_index=True)
    return {(r.payment, r.invoice_key): (r.method, r.confidence) for r in a.itertuples()}


def inv(n, pid, amount, payer="Self-pay", dos=D):
    return [f"INV-{n}", pid, f"Patient {pid}", dos, dos, payer, amount]


def pay(pid_, invoice, patient, amount, ref=None, method="Check", payer=None, date=LATER):
    return [pid_, date, invoice, patient, payer, method, ref, amount]


def test_exact_invoice_number_matches_with_full_confidence():
    _, p, m = _match([inv(1001, "1", 100.0)], [pay("P1", "INV-1001", "1", 100.0)])
    assert _applied(p, m) == {("P1", "INV1001"): ("exact invoice", 1.0)}


def test_normalised_reference_matches_despite_case_dash_and_leading_zeros():
    _, p, m = _match([inv(1001, "1", 100.0)], [pay("P1", "inv 0001001", "1", 100.0)])
    method, conf = _applied(p, m)[("P1", "INV1001")]
    assert method == "normalised invoice" and 0.85 <= conf < 1.0


def test_reference_column_naming_the_invoice_matches():
    _, p, m = _match([inv(1001, "1", 100.0)], [pay("P1", None, None, 100.0, ref="INV-1001")])
    assert ("P1", "INV1001") in _applied(p, m)


def test_swapped_digits_matched_fuzzily_when_amount_and_patient_agree():
    _, p, m = _match([inv(10023, "1", 100.0), inv(10099, "2", 55.0)],
                     [pay("P1", "INV-10032", "1", 100.0)])
    method, conf = _applied(p, m)[("P1", "INV10023")]
    assert method == "fuzzy invoice" and conf >= 0.85


def test_typo_without_confirming_evidence_is_not_applied():
    # another patient, another amount: the near-miss reference alone is not enough
    _, p, m = _match([inv(10023, "1", 100.0)], [pay("P1", "INV-10032", "9", 40.0)])
    assert _applied(p, m) == {}


def test_evidence_alone_patient_amount_date():
    _, p, m = _match([inv(1001, "1", 100.0), inv(1002, "2", 100.0)],
                     [pay("P1", None, "2", 100.0)])
    method, conf = _applied(p, m)[("P1", "INV1002")]
    assert method == "patient + amount + date" and conf >= 0.85


def test_evidence_is_ambiguous_between_two_equal_invoices_of_one_patient():
    _, p, m = _match([inv(1001, "1", 100.0), inv(1002, "1", 100.0)], [pay("P1", None, "1", 100.0)])
    assert _applied(p, m) == {}
    assert len(m.candidates) == 1


def _named(invoices, payments):
    """Invoices and payments that carry both a patient ID and a patient name."""
    inputs = inputs_from_rows({"Invoices": [INVOICE_HEADER] + invoices,
                               "Payments": [PAYMENT_HEADER + ["Patient"]] + payments})
    inv_ = normalise.invoice_totals(inputs.tables["Invoices"], inputs.settings)
    pay_ = normalise.prepare_payments(inputs.tables["Payments"])
    return pay_, match_payments(inv_, pay_, inputs.settings)


def test_two_patients_of_the_same_name_are_told_apart_by_their_ids():
    jane_1 = ["INV-2001", "1", "Doe, Jane", D, D, "Self-pay", 100.0]
    jane_2 = ["INV-2002", "2", "Doe, Jane", D, D, "Self-pay", 100.0]
    p, m = _named([jane_1, jane_2], [pay("P1", None, "2", 100.0) + ["Doe, Jane"]])
    assert _applied(p, m) == {("P1", "INV2002"): ("patient + amount + date", 0.95)}
    # without an ID on the payment the name is all there is, and it fits both
    p, m = _named([jane_1, jane_2], [pay("P1", None, None, 100.0) + ["Doe, Jane"]])
    assert _applied(p, m) == {}


def test_one_payment_settles_several_invoices_of_one_patient():
    _, p, m = _match([inv(1001, "1", 100.0), inv(1002, "1", 50.0), inv(1003, "1", 30.0)],
                     [pay("P1", None, "1", 130.0)])
    a = m.applications
    assert sorted(a["invoice_key"]) == ["INV1001", "INV1003"]
    assert a["applied_cents"].sum() == 13000


def test_one_invoice_takes_several_payments():
    _, p, m = _match([inv(1001, "1", 100.0)],
                     [pay("P1", "INV-1001", "1", 60.0), pay("P2", "INV-1001", "1", 40.0)])
    assert m.applications["applied_cents"].sum() == 10000


def test_payment_recorded_on_another_patients_invoice_moves_to_the_right_one():
    _, p, m = _match([inv(1001, "1", 120.0), inv(1007, "7", 80.0)],
                     [pay("P1", "INV-1001", "1", 120.0), pay("P6", "INV-1001", "7", 80.0)])
    a = m.applications.set_index("payment_index")
    moved = a.loc[p.index[p["payment"] == "P6"][0]]
    assert moved["invoice_key"] == "INV1007" and moved["recorded_invoice_key"] == "INV1001"


def test_each_application_knows_its_invoice_by_position():
    # exact, fuzzy, moved off another patient's invoice, evidence, and a set of invoices
    i, _, m = _match([inv(1001, "1", 120.0), inv(1007, "7", 80.0), inv(10023, "2", 100.0),
                      inv(2001, "3", 45.0), inv(3001, "4", 100.0), inv(3002, "4", 50.0),
                      inv(3003, "4", 30.0)],
                     [pay("P1", "INV-1001", "1", 120.0), pay("P6", "INV-1001", "7", 80.0),
                      pay("P2", "INV-10032", "2", 100.0), pay("P3", None, "3", 45.0),
                      pay("P4", None, "4", 130.0)])
    assert len(m.applications) == 6 and len(set(m.applications["method"])) == 5
    assert m.invoice_at.dtype == np.int64
    assert (i["invoice_key"].to_numpy()[m.invoice_at]
            == m.applications["invoice_key"].to_numpy()).all()


def test_threshold_setting_is_respected():
    from engine.settings import Settings
    strict = Settings(match_threshold=0.99)
    _, p, m = _match([inv(1001, "1", 100.0)], [pay("P1", None, "1", 100.0)], strict)
    assert _applied(p, m) == {}


def test_duplicates_are_not_applied():
    _, p, m = _match([inv(1001, "1", 500.0, "Aetna")],
                     [pay("P1", "INV-1001", "1", 500.0, "T1", "EFT", "Aetna"),
                      pay("P2", "INV-1001", "1", 500.0, "T1", "EFT", "Aetna")])
    assert list(p["duplicate"]) == [False, True]
    assert m.applications["applied_cents"].sum() == 50000


invoice_rows = st.lists(
    st.tuples(st.integers(1, 6), st.integers(1, 40000)), min_size=1, max_size=8)
payment_rows = st.lists(
    st.tuples(st.integers(0, 9), st.integers(1, 6), st.integers(1, 40000),
              st.sampled_from(["exact", "typo", "none"])), min_size=1, max_size=10)


def _scenario(invs, pays):
    invoices = [inv(1000 + i, str(pid), cents / 100) for i, (pid, cents) in enumerate(invs)]
    payments = []
    for j, (target, pid, cents, how) in enumerate(pays):
        number = 1000 + target
        ref = {"exact": f"INV-{number}", "typo": f"INV-{number}".replace("-1", "-", 1),
               "none": None}[how]
        payments.append(pay(f"P{j}", ref, str(pid), cents / 100))
    return invoices, payments


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invoice_rows, payment_rows)
def test_no_payment_is_used_beyond_its_amount_and_totals_add_up(invs, pays):
    invoices, payments = _scenario(invs, pays)
    invoices_, p, m = _match(invoices, payments)
    applied = m.applications.groupby("payment_index")["applied_cents"].sum()
    amounts = p["amount_cents"]
    # applied in full or not at all: never beyond, never a fraction
    assert (applied == amounts.loc[applied.index]).all()
    unmatched = amounts[~p.index.isin(applied.index)].sum()
    assert int(applied.sum()) + int(unmatched) == int(amounts.sum())
    assert m.applications["confidence"].between(0.85, 1.0).all()
    assert (invoices_["invoice_key"].to_numpy()[m.invoice_at]
            == m.applications["invoice_key"].to_numpy()).all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invoice_rows, payment_rows, st.randoms(use_true_random=False))
def test_result_is_independent_of_row_order(invs, pays, rnd):
    invoices, payments = _scenario(invs, pays)
    _, p1, m1 = _match(invoices, payments)
    shuffled_i, shuffled_p = invoices[:], payments[:]
    rnd.shuffle(shuffled_i)
    rnd.shuffle(shuffled_p)
    _, p2, m2 = _match(shuffled_i, shuffled_p)

    def by_payment(p, m):
        a = m.applications.merge(p[["payment"]], left_on="payment_index", right_index=True)
        return sorted((r.payment, r.invoice_key, int(r.applied_cents), r.method)
                      for r in a.itertuples())
    assert by_payment(p1, m1) == by_payment(p2, m2)


keys = st.text(alphabet="0123456789AINVXÉ", min_size=1, max_size=14)


@settings(max_examples=200, deadline=None)
@given(st.lists(keys, min_size=1, max_size=20), st.lists(keys, min_size=1, max_size=20))
def test_a_reference_that_could_match_is_never_skipped(references, invoice_numbers):
    kept = payments._may_reach_floor(np.array(references, dtype=object),
                                     np.array(invoice_numbers, dtype=object))
    for reference, may in zip(references, kept):
        best = max(OSA.normalized_similarity(reference, number) for number in invoice_numbers)
        assert may or best < payments.FUZZY_FLOOR


def test_skipping_references_of_a_common_fee_changes_no_pair(monkeypatch):
    rng = np.random.default_rng(5)
    numbers = [f"INV{n:07d}" for n in rng.choice(10**7, 2 * payments.COMMON_FEE_INVOICES,
                                                  replace=False)]
    names = {"invoice_at": np.arange(len(numbers)), "inv_key": np.array(numbers, dtype=object),
             "open_cents": np.full(len(numbers), 15000)}
    typos = [n[:4] + n[5:] for n in numbers[:40]]  # a digit dropped
    others = [f"A{n}" for n in rng.integers(10**4, 10**5, 40)] + [str(n) for n in range(1000, 1040)]
    refs = {"payment_index": np.arange(120), "field": np.full(120, "reference", dtype=object),
            "key": np.array(typos + others, dtype=object), "amount_cents": np.full(120, 15000)}
    kept = payments._may_reach_floor(refs["key"], names["inv_key"])
    assert kept[:40].all() and not kept[40:].any()
    found = payments._amount_block(refs, names)
    monkeypatch.setattr(payments, "_may_reach_floor",
                        lambda keys, inv_keys: np.ones(len(keys), dtype=bool))  # score them all
    every = payments._amount_block(refs, names)
    assert list(found) == list(every)
    assert all(np.array_equal(found[column], every[column]) for column in found)
    assert set(found["payment_index"]) == set(range(40))


def test_a_claim_number_two_invoices_share_is_ambiguous_but_an_invoice_number_is_not():
    header = INVOICE_HEADER + ["Claim"]
    invoices = [inv(1001, "1", 100.0) + ["CL-7"], inv(1002, "1", 100.0) + ["CL-7"]]
    inputs = inputs_from_rows({
        "Invoices": [header] + invoices,
        "Payments": [PAYMENT_HEADER + ["Claim"], pay("P1", None, None, 100.0) + ["CL-7"],
                     pay("P2", "INV-1002", None, 100.0) + ["CL-7"]]})
    inv_ = normalise.invoice_totals(inputs.tables["Invoices"], inputs.settings)
    pay_ = normalise.prepare_payments(inputs.tables["Payments"])
    applied = _applied(pay_, match_payments(inv_, pay_, inputs.settings))
    assert applied == {("P2", "INV1002"): ("exact invoice", 1.0)}  # P1: which invoice?


@given(st.lists(st.one_of(st.none(), st.sampled_from(["A1", "B2", "A1 ", "", "É"])), max_size=12))
def test_numbered_keys_are_numbered_as_pandas_factorize_numbers_them(values):
    keys = pd.array(values, dtype="str").to_numpy()
    codes = payments._numbered(keys)
    assert codes.dtype == pd.factorize(keys)[0].dtype
    assert codes.tolist() == pd.factorize(keys)[0].tolist()
