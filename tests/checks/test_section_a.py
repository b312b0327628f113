"""Section A findings on tiny workbooks: each type found, and its near miss not found."""

from __future__ import annotations

import datetime as dt

from builders import INVOICE_HEADER, PAYMENT_HEADER, reconcile_rows

JAN5 = dt.date(2026, 1, 5)
FEB1 = dt.date(2026, 2, 1)


def inv(n, pid, amount, payer="Self-pay", dos=JAN5, patient=None):
    return [f"INV-{n}", pid, patient or f"Patient {pid}", dos, dos, payer, amount]


def pay(pid_, invoice, patient, amount, ref=None, method="Check", payer=None, date=FEB1):
    return [pid_, date, invoice, patient, payer, method, ref, amount]


def run(invoices, payments=(), **kw):
    sheets = {"Invoices": [INVOICE_HEADER] + list(invoices)}
    if payments:
        sheets["Payments"] = [PAYMENT_HEADER] + list(payments)
    return reconcile_rows(sheets, **kw).findings


def types(findings):
    return sorted(findings["type"])


def test_clean_data_yields_no_findings():
    f = run([inv(1, "1", 120.0), inv(2, "2", 80.0, dos=dt.date(2026, 3, 20)),
             inv(3, "3", 300.0, "Aetna")],
            [pay("P1", "INV-1", "1", 120.0), pay("P2", "INV-0003", "3", 300.0, "EFT1", "EFT", "Aetna")])
    assert types(f) == []


def test_overdue_when_past_due_and_nothing_paid():
    f = run([inv(1, "1", 200.0)])
    assert types(f) == ["OVERDUE"]
    row = f.iloc[0]
    assert row["invoice"] == "INV-1" and row["expected"] == 20000 and row["actual"] == 0
    assert row["difference"] == -20000 and row["source"] == "Invoices row 2"
    assert row["severity"] == "medium"  # 55 days past due


def test_not_overdue_before_due_date_or_with_stated_due_date():
    assert types(run([inv(1, "1", 200.0, dos=dt.date(2026, 3, 10))])) == []
    header = INVOICE_HEADER + ["Due date"]
    f = reconcile_rows({"Invoices": [header, inv(1, "1", 200.0) + [dt.date(2026, 4, 30)]]}).findings
    assert types(f) == []


def test_overdue_severity_grows_with_age():
    old = run([inv(1, "1", 200.0, dos=dt.date(2025, 10, 1))])
    assert old.iloc[0]["severity"] == "high"
    fresh = run([inv(1, "1", 200.0, dos=dt.date(2026, 2, 20))])
    assert fresh.iloc[0]["severity"] == "low"


def test_short_paid_when_a_balance_remains_past_due():
    f = run([inv(1, "1", 300.0)], [pay("P1", "INV-1", "1", 100.0)])
    assert types(f) == ["SHORT_PAID"]
    assert (f.iloc[0]["expected"], f.iloc[0]["actual"], f.iloc[0]["difference"]) == (30000, 10000, -20000)


def test_not_short_paid_within_tolerance_or_with_write_off_or_pending_insurance():
    assert types(run([inv(1, "1", 300.0)], [pay("P1", "INV-1", "1", 299.50)])) == []
    assert types(run([inv(1, "1", 300.0)], [pay("P1", "INV-1", "1", 250.0),
                                            pay("W1", "INV-1", "1", 50.0, method="Write-off")])) == []
    # copay paid, insurance has not paid yet: the claim is pending, not short paid
    assert types(run([inv(1, "1", 300.0, "Aetna")], [pay("P1", "INV-1", "1", 20.0, method="Card")])) == []


def test_overpaid_names_the_last_payment():
    f = run([inv(1, "1", 50.0)], [pay("P1", "INV-1", "1", 30.0, date=dt.date(2026, 1, 20)),
                                  pay("P2", "INV-1", "1", 30.0)])
    assert types(f) == ["OVERPAID"]
    assert f.iloc[0]["payment"] == "P2" and f.iloc[0]["difference"] == 1000


def test_not_overpaid_within_tolerance():
    assert types(run([inv(1, "1", 50.0)], [pay("P1", "INV-1", "1", 50.75)])) == []


def test_duplicate_payment_same_payer_amount_reference_and_invoice():
    f = run([inv(1, "1", 500.0, "Aetna")],
            [pay("P1", "INV-1", "1", 500.0, "TRN9", "EFT", "Aetna"),
             pay("P2", "INV-1", "1", 500.0, "TRN9", "EFT", "Aetna")])
    assert types(f) == ["DUPLICATE_PAYMENT"]
    assert f.iloc[0]["payment"] == "P2" and f.iloc[0]["trace"] == "TRN9"
    assert f.iloc[0]["payer"] == "Aetna" and "P1" in f.iloc[0]["explanation"]


def test_one_eft_paying_two_claims_of_equal_amount_is_not_a_duplicate():
    f = run([inv(1, "1", 500.0, "Aetna"), inv(2, "2", 500.0, "Aetna")],
            [pay("P1", "INV-1", "1", 500.0, "TRN9", "EFT", "Aetna"),
             pay("P2", "INV-2", "2", 500.0, "TRN9", "EFT", "Aetna")])
    assert types(f) == []


def test_unapplied_payment():
    f = run([inv(1, "1", 100.0)], [pay("P1", "INV-1", "1", 100.0), pay("P9", "XYZ-77", "99", 42.0)])
    assert types(f) == ["UNAPPLIED_PAYMENT"]
    assert f.iloc[0]["payment"] == "P9" and f.iloc[0]["actual"] == 4200
    assert "XYZ-77" in f.iloc[0]["explanation"]


def test_a_payment_naming_an_unreadable_invoice_waits_for_that_row():
    # INV-10032's amount cannot be read. Its payment must not slide onto INV-10023 (same patient
    # and amount, two digits swapped): that invoice would look paid while it is not
    f = run([inv(10023, "1", 100.0), inv(10032, "1", "TBD")], [pay("P1", "INV-10032", "1", 100.0)])
    assert types(f) == ["INVALID_ROW", "OVERDUE", "UNAPPLIED_PAYMENT"]
    unapplied = f[f["type"] == "UNAPPLIED_PAYMENT"].iloc[0]
    assert "it names INV-10032, whose row could not be read (Invoices row 3)" in \
        unapplied["explanation"]
    assert f[f["type"] == "OVERDUE"].iloc[0]["invoice"] == "INV-10023"
    # the unreadable row's finding says whose row it is, like any other finding
    bad = f[f["type"] == "INVALID_ROW"].iloc[0]
    assert (bad["invoice"], bad["patient"], bad["source"]) == ("INV-10032", "Patient 1",
                                                               "Invoices row 3")
    # the row corrected: the payment applies where it was recorded
    assert types(run([inv(10023, "1", 100.0), inv(10032, "1", 100.0)],
                     [pay("P1", "INV-10032", "1", 100.0)])) == ["OVERDUE"]


def test_typo_reference_on_a_correct_payment_is_not_a_finding():
    assert types(run([inv(10023, "1", 100.0)], [pay("P1", "INV-10032", "1", 100.0)])) == []


def test_misapplied_payment_names_both_invoices():
    f = run([inv(1, "1", 120.0), inv(7, "7", 80.0)],
            [pay("P1", "INV-1", "1", 120.0), pay("P6", "INV-1", "7", 80.0)])
    assert types(f) == ["MISAPPLIED_PAYMENT"]
    row = f.iloc[0]
    assert row["invoice"] == "INV-1" and "INV-7" in row["action"]


def test_reference_to_a_nonexistent_invoice_matched_elsewhere_is_silent():
    f = run([inv(1001, "1", 120.0)], [pay("P1", "INV-9999", "1", 120.0)])
    assert types(f) == []


def test_duplicate_invoice_different_patient():
    f = run([inv(1, "1", 60.0), inv(1, "2", 60.0)],
            [pay("P1", "INV-1", "1", 120.0)])
    assert types(f) == ["DUPLICATE_INVOICE"]
    assert f.iloc[0]["source"] == "Invoices row 2; Invoices row 3"


def test_duplicate_invoice_different_service_date_is_reported_once_against_the_first_line():
    f = run([inv(1, "1", 60.0), inv(2, "2", 50.0), inv(1, "1", 40.0),
             inv(1, "1", 30.0, dos=dt.date(2026, 1, 9)), inv(1, "3", 20.0)],
            [pay("P1", "INV-1", "1", 150.0), pay("P2", "INV-2", "2", 50.0)])
    dup = f[f["type"] == "DUPLICATE_INVOICE"]
    assert len(dup) == 1
    assert dup.iloc[0]["source"] == "Invoices row 2; Invoices row 5"
    assert "with a different service date" in dup.iloc[0]["explanation"]


def test_service_lines_of_one_invoice_are_not_duplicates():
    f = run([inv(1, "1", 60.0), inv(1, "1", 40.0)], [pay("P1", "INV-1", "1", 100.0)])
    assert types(f) == []


def test_invalid_row_for_unreadable_amount_names_sheet_row_and_column():
    f = run([inv(1, "1", "TBD"), inv(2, "2", 50.0, dos=dt.date(2026, 3, 20))])
    assert types(f) == ["INVALID_ROW"]
    row = f.iloc[0]
    assert row["severity"] == "high" and row["source"] == "Invoices row 2"
    assert "column Amount" in row["explanation"] and "TBD" in row["explanation"]


def test_finding_ids_are_stable_across_runs_and_row_order():
    rows = [inv(1, "1", 200.0), inv(2, "2", 300.0)]
    a = run(rows)
    b = run(list(reversed(rows)))
    assert sorted(a["id"]) == sorted(b["id"])
    assert len(set(a["id"])) == 2


def test_difference_is_filled_for_every_finding_with_both_amounts():
    f = run([inv(1, "1", 200.0), inv(2, "2", 300.0)],
            [pay("P1", "INV-2", "2", 100.0), pay("P9", "XYZ-77", "99", 42.0)])
    both = f[f["expected"].notna() & f["actual"].notna()]
    assert len(both) >= 2
    assert (both["difference"] == both["actual"] - both["expected"]).all()


def test_an_overdue_invoice_says_which_unreadable_payment_rows_name_it():
    f = run([inv(1, "1", 100.0), inv(2, "2", 100.0)],
            [pay("P1", "INV-1", "1", "TBD"), pay("P2", "INV-2", "2", 40.0),
             pay("P3", "INV-2", "2", 10.0, date="soon"), pay("P4", "INV-2", "2", "??")])
    assert types(f) == ["INVALID_ROW"] * 3 + ["OVERDUE", "SHORT_PAID"]
    overdue = f[f["type"] == "OVERDUE"].iloc[0]["explanation"]
    assert overdue.endswith("nothing has been paid; it is 55 days overdue. Payments row 2 names "
                            "this invoice but could not be read, so its money is not counted "
                            "until it is corrected.")
    short = f[f["type"] == "SHORT_PAID"].iloc[0]["explanation"]
    assert "Payments row 4 and Payments row 5 name this invoice but could not be read" in short
    # without unreadable rows nothing is added
    plain = run([inv(1, "1", 100.0)], [pay("P2", "INV-9", "9", 40.0)])
    assert plain[plain["type"] == "OVERDUE"].iloc[0]["explanation"].endswith("days overdue.")


def _explained(findings, kind):
    return findings[findings["type"] == kind].iloc[0]["explanation"]


def test_no_readable_invoice_at_all_still_gives_findings():
    f = run([inv(1, "1", "TBD")], [pay("P1", "INV-1", "1", 100.0)])
    assert types(f) == ["INVALID_ROW", "UNAPPLIED_PAYMENT"]
    assert "it names INV-1, whose row could not be read (Invoices row 2)" in \
        _explained(f, "UNAPPLIED_PAYMENT")
    assert types(run([], [pay("P1", "INV-1", "1", 100.0)])) == ["UNAPPLIED_PAYMENT"]


def test_the_message_shows_the_number_that_names_the_unreadable_row():
    # named in the Reference column while the Invoice column holds another number
    f = run([inv(10023, "1", 100.0), inv(10032, "1", "TBD")],
            [pay("P1", "INV-9", "1", 100.0, ref="INV-10032")])
    assert "it names INV-10032, whose row could not be read (Invoices row 3)" in \
        _explained(f, "UNAPPLIED_PAYMENT")
    # named only by its claim number, in the Claim column
    f = reconcile_rows({
        "Invoices": [INVOICE_HEADER + ["Claim"], inv(10023, "1", 100.0) + ["C-1"],
                     inv(10032, "1", "TBD") + ["C-2"]],
        "Payments": [PAYMENT_HEADER + ["Claim"], pay("P1", None, "1", 100.0) + ["C-2"]]}).findings
    assert "it names C-2, whose row could not be read (Invoices row 3)" in \
        _explained(f, "UNAPPLIED_PAYMENT")


def test_a_check_number_equal_to_an_unreadable_invoice_number_of_another_patient_is_no_name():
    f = run([inv(1001, "1", 100.0), inv(5555, "2", "TBD")],
            [pay("P1", None, "1", 100.0, ref="5555")])
    assert types(f) == ["INVALID_ROW"]  # P1 is applied to 1001 by patient, amount and date


def test_unreadable_rows_of_an_invoice_are_named_where_its_balance_is_judged():
    # a line of INV-5 could not be read: its credit balance is not yet a refund to make
    f = run([inv(5, "5", 60.0), inv(5, "5", "TBD")], [pay("P1", "INV-5", "5", 100.0)])
    assert _explained(f, "OVERPAID").endswith(
        "credit balance of $40.00. Invoices row 3 of this invoice could not be read, so its "
        "amount is not counted until it is corrected.")
    # an unreadable payment naming the invoice only in its Reference column
    f = run([inv(1, "1", 100.0)], [pay("P1", None, "1", "TBD", ref="INV-1")])
    assert "Payments row 2 names this invoice but could not be read" in _explained(f, "OVERDUE")


def test_misapplied_payment_with_a_missing_recorded_key_of_any_kind():
    import dataclasses

    import pandas as pd

    from engine.checks import misapplied_payment

    ctx = reconcile_rows({
        "Invoices": [INVOICE_HEADER, inv(1, "1", 120.0), inv(7, "7", 80.0), inv(9, "9", 50.0)],
        "Payments": [PAYMENT_HEADER, pay("P1", "INV-1", "1", 120.0), pay("P6", "INV-1", "7", 80.0),
                     pay("P9", None, "9", 50.0)]}).ctx  # P9: applied by evidence, no invoice typed
    a = ctx.applications
    assert a["recorded_invoice_key"].isna().sum() == 1
    assert len(misapplied_payment.check(ctx)) == 1
    for missing in (None, float("nan"), pd.NA):
        recorded = a["recorded_invoice_key"].astype(object).where(a["recorded_invoice_key"].notna(),
                                                                   missing)
        found = misapplied_payment.check(dataclasses.replace(
            ctx, applications=a.assign(recorded_invoice_key=recorded)))
        assert found["invoice"].tolist() == ["INV-1"], missing
