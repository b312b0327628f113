"""engine.plans: installment schedules, allocation of payments, plan status, bad plan rows."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from engine.findings import FINDING_COLUMNS
from engine.plans import PlanTables, build_plans, plan_invoice_keys, plan_marks
from engine.settings import Settings
from engine.tables import SHEETS, columns_of

# ---------------------------------------------------------------------------------------------
# tables exactly as the reader produces them (engine.tables.columns_of)


def _key(v):
    if v is None:
        return None
    k = re.sub(r"[^0-9A-Z]", "", str(v).upper())
    k = re.sub(r"(?<![0-9])0+(?=[0-9])", "", k)
    return k or None


def _cents(v):
    return None if v is None else int(round(v * 100))


def make_table(sheet: str, rows: list[dict], first_row: int = 2) -> pd.DataFrame:
    """A read sheet: ids/names with `_key`, money in cents (given in dollars), typed columns."""
    fields = {f.name: f for f in SHEETS[sheet]}
    data: dict[str, list] = {c: [] for c in columns_of(sheet)}
    for i, r in enumerate(rows):
        row = r.get("row", first_row + i)
        data["sheet"].append(sheet)
        data["row"].append(row)
        data["source"].append(f"{sheet} row {row}")
        for name, f in fields.items():
            v = r.get(name)
            if f.kind == "id":
                data[name].append(v)
                data[f"{name}_key"].append(_key(v))
            elif f.kind == "name":
                data[name].append(v)
                data[f"{name}_key"].append(None if v is None else " ".join(str(v).upper().split()))
            elif f.kind == "money":
                data[f"{name}_cents"].append(_cents(v))
            else:
                data[name].append(v)
    df = pd.DataFrame(index=range(len(rows)))
    for c in columns_of(sheet):
        base = c.removesuffix("_cents").removesuffix("_key")
        kind = fields[base].kind if base in fields else None
        if c == "row" or kind == "int":
            df[c] = pd.array(data[c], dtype="Int64")
        elif c.endswith("_cents"):
            df[c] = pd.array(data[c], dtype="Int64")
        elif kind == "date":
            df[c] = pd.to_datetime(pd.Series(data[c], dtype="object")).astype("datetime64[us]")
        elif kind == "number":
            df[c] = pd.Series(data[c], dtype="float64")
        else:
            df[c] = pd.Series(data[c], dtype="str")
    return df


def plans_table(*rows: dict, first_row: int = 2) -> pd.DataFrame:
    return make_table("PaymentPlans", list(rows), first_row)


def payments_table(*rows: dict) -> pd.DataFrame:
    """Payments as the Context has them: the read sheet plus payment, kind, duplicate."""
    df = make_table("Payments", list(rows))
    df["payment"] = pd.Series([r.get("payment_id") or f"Payments row {n}"
                               for r, n in zip(rows, df["row"])], dtype="str")
    df["kind"] = pd.Series([r.get("kind", "patient") for r in rows], dtype="str")
    df["duplicate"] = pd.Series([bool(r.get("duplicate", False)) for r in rows], dtype="bool")
    return df


def applications_table(*rows: tuple) -> pd.DataFrame:
    """(payment_index, invoice, applied dollars) triples."""
    return pd.DataFrame({
        "payment_index": pd.Series([r[0] for r in rows], dtype="int64"),
        "invoice_key": pd.Series([_key(r[1]) for r in rows], dtype="str"),
        "applied_cents": pd.array([_cents(r[2]) for r in rows], dtype="Int64"),
        "method": pd.Series(["reference"] * len(rows), dtype="str"),
        "confidence": pd.Series([1.0] * len(rows), dtype="float64"),
        "recorded_invoice_key": pd.Series([_key(r[1]) for r in rows], dtype="str"),
    })


def invoice_totals_table(*rows: tuple) -> pd.DataFrame:
    """(invoice, billed dollars, balance dollars) triples."""
    n = len(rows)
    billed = [_cents(r[1]) for r in rows]
    balance = [_cents(r[2]) for r in rows]
    return pd.DataFrame({
        "invoice": pd.Series([r[0] for r in rows], dtype="str"),
        "invoice_key": pd.Series([_key(r[0]) for r in rows], dtype="str"),
        "patient_id": pd.Series([None] * n, dtype="str"),
        "patient_id_key": pd.Series([None] * n, dtype="str"),
        "due_date": pd.Series([pd.NaT] * n, dtype="datetime64[us]"),
        "billed_cents": pd.array(billed, dtype="Int64"),
        "insurance_paid_cents": pd.array([b - a for b, a in zip(billed, balance)], dtype="Int64"),
        "patient_paid_cents": pd.array([0] * n, dtype="Int64"),
        "adjusted_cents": pd.array([0] * n, dtype="Int64"),
        "paid_cents": pd.array([b - a for b, a in zip(billed, balance)], dtype="Int64"),
        "balance_cents": pd.array(balance, dtype="Int64"),
        "sheet": pd.Series(["Invoices"] * n, dtype="str"),
        "row": pd.array(range(2, n + 2), dtype="Int64"),
    })


def plan(**kw) -> dict:
    base = dict(plan="PP-104", installment=100.0, start="2026-01-15", patient_id="MRN-0042",
                invoice="INV-1001", total=None, frequency="Monthly", count=3, grace_days=None)
    base.update(kw)
    return base


def pay(amount: float, date: str, **kw) -> dict:
    return dict(amount=amount, date=date, patient_id=kw.pop("patient_id", "MRN-0042"), **kw)


def build(plans, payments=None, applications=None, invoice_totals=None, as_of="2026-06-30",
          settings=None) -> PlanTables:
    return build_plans(plans, payments if payments is not None else payments_table(),
                       applications, invoice_totals, settings or Settings(), pd.Timestamp(as_of))


def dues(t: PlanTables, plan_key: str | None = None) -> list[str]:
    ins = t.installments
    if plan_key:
        ins = ins[ins["plan_key"] == plan_key]
    return [d.strftime("%Y-%m-%d") for d in ins["due_date"]]


def amounts(t: PlanTables) -> list[int]:
    return [int(a) for a in t.installments["amount_cents"]]


def paid(t: PlanTables) -> list[int]:
    return [int(a) for a in t.installments["paid_cents"]]


def statuses(t: PlanTables) -> list[str]:
    return list(t.installments["status"])


def status_row(t: PlanTables, plan_key: str = "PP104") -> pd.Series:
    return t.plan_status.set_index("plan_key").loc[plan_key]


# ---------------------------------------------------------------------------------------------
# schedules


def test_monthly_from_jan_31_clamps_to_month_end_without_drifting():
    t = build(plans_table(plan(start="2026-01-31", count=5)))
    assert dues(t) == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"]
    assert list(t.installments["number"]) == [1, 2, 3, 4, 5]


def test_monthly_leap_year_feb_29():
    t = build(plans_table(plan(start="2028-01-31", count=3)), as_of="2028-01-01")
    assert dues(t) == ["2028-01-31", "2028-02-29", "2028-03-31"]
    t = build(plans_table(plan(start="2028-02-29", count=13)), as_of="2028-01-01")
    d = dues(t)
    assert d[:3] == ["2028-02-29", "2028-03-29", "2028-04-29"]
    assert d[-1] == "2029-02-28"


def test_monthly_across_year_end():
    t = build(plans_table(plan(start="2025-11-30", count=4)), as_of="2025-11-01")
    assert dues(t) == ["2025-11-30", "2025-12-30", "2026-01-30", "2026-02-28"]


@pytest.mark.parametrize("freq,expected", [
    ("weekly", ["2026-03-02", "2026-03-09", "2026-03-16"]),
    ("Weekly", ["2026-03-02", "2026-03-09", "2026-03-16"]),
    ("biweekly", ["2026-03-02", "2026-03-16", "2026-03-30"]),
    ("Bi-Weekly", ["2026-03-02", "2026-03-16", "2026-03-30"]),
    (None, ["2026-03-02", "2026-04-02", "2026-05-02"]),  # blank: monthly
    ("monthly", ["2026-03-02", "2026-04-02", "2026-05-02"]),
])
def test_frequencies(freq, expected):
    t = build(plans_table(plan(start="2026-03-02", frequency=freq, count=3)), as_of="2026-01-01")
    assert dues(t) == expected
    assert t.invalid.empty


def test_weekly_across_month_and_leap_day():
    t = build(plans_table(plan(start="2028-02-22", frequency="weekly", count=3)),
              as_of="2028-01-01")
    assert dues(t) == ["2028-02-22", "2028-02-29", "2028-03-07"]


def test_count_without_total():
    t = build(plans_table(plan(count=4, total=None, installment=125.0)))
    assert amounts(t) == [12500] * 4
    assert int(status_row(t)["total_cents"]) == 50000


def test_total_without_count_gives_smaller_last_installment():
    t = build(plans_table(plan(count=None, total=350.0, installment=100.0)))
    assert amounts(t) == [10000, 10000, 10000, 5000]
    assert int(status_row(t)["total_cents"]) == 35000


def test_total_multiple_of_installment():
    t = build(plans_table(plan(count=None, total=300.0, installment=100.0)))
    assert amounts(t) == [10000, 10000, 10000]


def test_count_and_total_last_is_what_remains():
    t = build(plans_table(plan(count=3, total=350.0, installment=100.0)))
    assert amounts(t) == [10000, 10000, 15000]
    # more installments than Total needs: the zero ones are not scheduled
    t = build(plans_table(plan(count=5, total=350.0, installment=100.0)))
    assert amounts(t) == [10000, 10000, 10000, 5000]


def test_several_rows_one_plan_collect_invoices_terms_from_first_row():
    t = build(plans_table(
        plan(invoice="INV-1001"),
        dict(plan="PP-104", invoice="INV-1002"),  # continuation row: invoice only
        plan(invoice="inv 1003", installment=999.0, count=9),  # later terms are ignored
    ))
    assert len(t.plan_status) == 1
    s = status_row(t)
    assert s["invoices"] == "INV-1001, INV-1002, inv 1003"
    assert tuple(s["invoice_keys"]) == ("INV1001", "INV1002", "INV1003")
    assert amounts(t) == [10000] * 3
    assert s["source"] == "PaymentPlans row 2"
    assert set(t.installments["invoices"]) == {"INV-1001, INV-1002, inv 1003"}
    assert t.invalid.empty


def test_columns_and_dtypes():
    t = build(plans_table(plan()))
    for c in ("plan", "plan_key", "number", "due_date", "amount_cents", "paid_cents",
              "grace_days", "status", "patient_id", "invoices", "source"):
        assert c in t.installments
    for c in ("plan", "plan_key", "patient_id", "patient_id_key", "invoices", "invoice_keys",
              "total_cents", "paid_to_date_cents", "remaining_cents", "next_due_date",
              "next_due_cents", "installments_missed", "status", "source"):
        assert c in t.plan_status
    assert str(t.installments["amount_cents"].dtype) == "Int64"
    assert str(t.installments["paid_cents"].dtype) == "Int64"
    assert str(t.plan_status["total_cents"].dtype) == "Int64"
    assert t.installments["due_date"].dtype.kind == "M"
    assert t.plan_status["next_due_date"].dtype.kind == "M"
    assert t.installments["patient_id"].iloc[0] == "MRN-0042"


def test_empty_plans():
    t = build(plans_table())
    assert t.installments.empty and t.plan_status.empty and t.invalid.empty
    assert "due_date" in t.installments and "status" in t.plan_status
    assert plan_invoice_keys(t.plan_status).columns.tolist() == [
        "invoice_key", "plan", "plan_completed"]


# ---------------------------------------------------------------------------------------------
# payments and allocation

P3 = dict(start="2026-01-15", count=3, installment=100.0)  # due Jan 15, Feb 15, Mar 15


def test_on_time_payments_complete_plan():
    pays = payments_table(pay(100.0, "2026-01-15"), pay(100.0, "2026-02-14"),
                          pay(100.0, "2026-03-15"))
    t = build(plans_table(plan(**P3)), pays, as_of="2026-04-01")
    assert paid(t) == [10000, 10000, 10000]
    assert statuses(t) == ["paid"] * 3
    s = status_row(t)
    assert s["status"] == "completed"
    assert int(s["paid_to_date_cents"]) == 30000 and int(s["remaining_cents"]) == 0
    assert pd.isna(s["next_due_date"])


def test_early_payment_counts_toward_earliest_unpaid_installment():
    # paid before the first due date, and a prepayment of the second installment
    pays = payments_table(pay(100.0, "2026-01-02"), pay(100.0, "2026-01-20"))
    t = build(plans_table(plan(**P3)), pays, as_of="2026-01-25")
    assert paid(t) == [10000, 10000, 0]
    assert statuses(t) == ["paid", "paid", "upcoming"]
    s = status_row(t)
    assert s["status"] == "on track"
    assert s["next_due_date"] == pd.Timestamp("2026-03-15")
    assert int(s["next_due_cents"]) == 10000


def test_late_payment_still_covers_the_installment():
    pays = payments_table(pay(100.0, "2026-02-10"))  # 26 days late
    t = build(plans_table(plan(**P3)), pays, as_of="2026-02-12")
    assert statuses(t) == ["paid", "upcoming", "upcoming"]
    assert status_row(t)["status"] == "on track"


def test_partial_payment():
    pays = payments_table(pay(100.0, "2026-01-15"), pay(60.0, "2026-02-15"))
    t = build(plans_table(plan(**P3)), pays, as_of="2026-02-16")
    assert paid(t) == [10000, 6000, 0]
    assert statuses(t) == ["paid", "partial", "upcoming"]
    s = status_row(t)
    assert s["status"] == "on track"  # still within grace
    assert s["next_due_date"] == pd.Timestamp("2026-02-15")
    assert int(s["next_due_cents"]) == 4000
    assert int(s["remaining_cents"]) == 14000
    t = build(plans_table(plan(**P3)), pays, as_of="2026-02-25")
    assert status_row(t)["status"] == "behind"


def test_doubled_payment_carries_forward():
    pays = payments_table(pay(200.0, "2026-01-15"))
    t = build(plans_table(plan(**P3)), pays, as_of="2026-02-25")
    assert paid(t) == [10000, 10000, 0]
    assert statuses(t) == ["paid", "paid", "upcoming"]
    assert status_row(t)["status"] == "on track"


def test_overpayment_beyond_total_completes_plan():
    pays = payments_table(pay(350.0, "2026-01-15"))
    t = build(plans_table(plan(**P3)), pays, as_of="2026-02-25")
    assert paid(t) == [10000, 10000, 10000]
    s = status_row(t)
    assert s["status"] == "completed"
    assert int(s["paid_to_date_cents"]) == 35000 and int(s["remaining_cents"]) == 0


def test_missed_due_and_upcoming_statuses_use_grace():
    t = build(plans_table(plan(**P3)), as_of="2026-01-20")  # due Jan 15 + 5 grace = Jan 20
    assert statuses(t) == ["due", "upcoming", "upcoming"]
    t = build(plans_table(plan(**P3)), as_of="2026-01-21")
    assert statuses(t) == ["missed", "upcoming", "upcoming"]
    s = status_row(t)
    assert s["status"] == "behind" and int(s["installments_missed"]) == 1


def test_grace_days_per_plan_vs_setting():
    t = build(plans_table(plan(**P3, grace_days=10)), as_of="2026-01-25")
    assert statuses(t)[0] == "due"
    assert int(t.installments["grace_days"].iloc[0]) == 10
    t = build(plans_table(plan(**P3)), as_of="2026-01-25")
    assert statuses(t)[0] == "missed"
    t = build(plans_table(plan(**P3)), as_of="2026-01-25", settings=Settings(plan_grace_days=15))
    assert statuses(t)[0] == "due"
    assert int(t.installments["grace_days"].iloc[0]) == 15
    t = build(plans_table(plan(**P3, grace_days=0)), as_of="2026-01-16",
              settings=Settings(plan_grace_days=15))
    assert statuses(t)[0] == "missed"


def test_defaulted_after_three_missed_or_setting():
    t = build(plans_table(plan(start="2026-01-15", count=6)), as_of="2026-03-25")
    s = status_row(t)
    assert int(s["installments_missed"]) == 3 and s["status"] == "defaulted"
    t = build(plans_table(plan(start="2026-01-15", count=6)), as_of="2026-02-25")
    assert status_row(t)["status"] == "behind"
    t = build(plans_table(plan(start="2026-01-15", count=6)), as_of="2026-02-25",
              settings=Settings(extra={"plan_default_after": "2"}))
    assert status_row(t)["status"] == "defaulted"


def test_payment_after_as_of_is_ignored():
    pays = payments_table(pay(100.0, "2026-02-01"))
    t = build(plans_table(plan(**P3)), pays, as_of="2026-01-25")
    assert paid(t) == [0, 0, 0]


def test_payment_naming_the_plan_counts_even_from_someone_else():
    pays = payments_table(pay(100.0, "2026-01-15", patient_id=None, reference="pp 104",
                              kind="patient"),
                          pay(100.0, "2026-02-15", patient_id="MRN-9", invoice="PP-104"))
    t = build(plans_table(plan(**P3)), pays, as_of="2026-02-25")
    assert paid(t) == [10000, 10000, 0]


def test_payment_applied_to_plan_invoice_counts_via_applications():
    pays = payments_table(pay(100.0, "2026-01-15", patient_id=None, invoice="INV-9999"),
                          pay(80.0, "2026-01-16", patient_id=None))
    apps = applications_table((0, "INV-1001", 100.0), (1, "INV-1001", 50.0),
                              (1, "INV-5555", 30.0))
    t = build(plans_table(plan(**P3)), pays, apps, as_of="2026-02-25")
    assert int(status_row(t)["paid_to_date_cents"]) == 15000
    assert paid(t) == [10000, 5000, 0]


def test_payment_recorded_on_plan_invoice_without_applications():
    pays = payments_table(pay(100.0, "2026-01-15", patient_id=None, invoice="INV-01001"))
    t = build(plans_table(plan(**P3)), pays, as_of="2026-01-25")
    assert paid(t) == [10000, 0, 0]


def test_patient_payment_without_invoice_counts_other_invoice_does_not():
    pays = payments_table(pay(100.0, "2026-01-15"),  # no invoice: toward the plan
                          pay(100.0, "2026-01-15", invoice="INV-2000"),  # another invoice
                          pay(100.0, "2026-01-15", patient_id="MRN-7"))  # another patient
    t = build(plans_table(plan(**P3)), pays, as_of="2026-01-25")
    assert int(status_row(t)["paid_to_date_cents"]) == 10000


def test_patient_payment_applied_elsewhere_does_not_count():
    pays = payments_table(pay(100.0, "2026-01-15"))
    apps = applications_table((0, "INV-2000", 100.0))
    t = build(plans_table(plan(**P3)), pays, apps, as_of="2026-01-25")
    assert int(status_row(t)["paid_to_date_cents"]) == 0


def test_duplicates_adjustments_and_insurance_do_not_count():
    pays = payments_table(pay(100.0, "2026-01-15"),
                          pay(100.0, "2026-01-15", duplicate=True),
                          pay(100.0, "2026-01-15", kind="adjustment", invoice="INV-1001"),
                          pay(100.0, "2026-01-15", kind="insurance", invoice="INV-1001",
                              patient_id=None))
    t = build(plans_table(plan(**P3)), pays, as_of="2026-01-25")
    assert int(status_row(t)["paid_to_date_cents"]) == 10000


def test_payment_counts_once_to_one_plan():
    plans = plans_table(plan(plan="PP-1", invoice="INV-1", **P3),
                        plan(plan="PP-2", invoice="INV-2", start="2026-02-01", count=3,
                             installment=100.0))
    # same patient on both plans: a payment naming PP-2 goes to PP-2 only; one without an
    # invoice goes to the patient's plan that started first
    pays = payments_table(pay(100.0, "2026-01-10", reference="PP-2"),
                          pay(100.0, "2026-01-10"))
    t = build(plans, pays, as_of="2026-01-25")
    assert int(status_row(t, "PP1")["paid_to_date_cents"]) == 10000
    assert int(status_row(t, "PP2")["paid_to_date_cents"]) == 10000
    assert int(t.plan_status["paid_to_date_cents"].sum()) == 20000


def test_payment_applied_to_two_plans_counts_toward_the_first_with_what_it_got():
    plans = plans_table(plan(plan="PP-1", invoice="INV-1", **P3),
                        plan(plan="PP-2", invoice="INV-2", start="2026-02-01", count=3,
                             installment=100.0))
    pays = payments_table(pay(100.0, "2026-01-15", patient_id=None))
    apps = applications_table((0, "INV-2", 70.0), (0, "INV-1", 20.0), (0, "INV-1", 10.0))
    t = build(plans, pays, apps, as_of="2026-01-25")
    assert int(status_row(t, "PP1")["paid_to_date_cents"]) == 3000
    assert int(status_row(t, "PP2")["paid_to_date_cents"]) == 0


def test_plan_invoice_paid_off_outside_the_plan_completes_it():
    pays = payments_table(pay(100.0, "2026-01-15"))
    totals = invoice_totals_table(("INV-1001", 300.0, 0.0))
    t = build(plans_table(plan(**P3)), pays, invoice_totals=totals, as_of="2026-04-30")
    s = status_row(t)
    assert s["status"] == "completed"
    assert int(s["remaining_cents"]) == 0
    assert bool(s["closed_by_invoices"])
    assert statuses(t) == ["paid", "closed", "closed"]
    keys = plan_invoice_keys(t.plan_status)
    assert keys.to_dict("records") == [
        {"invoice_key": "INV1001", "plan": "PP-104", "plan_completed": True}]


def test_plan_invoice_with_balance_keeps_plan_open():
    totals = invoice_totals_table(("INV-1001", 300.0, 200.0))
    t = build(plans_table(plan(**P3)), payments_table(pay(100.0, "2026-01-15")),
              invoice_totals=totals, as_of="2026-01-25")
    assert status_row(t)["status"] == "on track"
    keys = plan_invoice_keys(t.plan_status)
    assert keys.to_dict("records") == [
        {"invoice_key": "INV1001", "plan": "PP-104", "plan_completed": False}]


def test_plan_invoice_keys_several_invoices_and_plans():
    plans = plans_table(plan(plan="PP-1", invoice="INV-1"), dict(plan="PP-1", invoice="INV-2"),
                        plan(plan="PP-2", invoice="INV-3", patient_id="MRN-9"))
    keys = plan_invoice_keys(build(plans).plan_status)
    assert sorted(keys["invoice_key"]) == ["INV1", "INV2", "INV3"]
    assert dict(zip(keys["invoice_key"], keys["plan"])) == {
        "INV1": "PP-1", "INV2": "PP-1", "INV3": "PP-2"}


@pytest.mark.parametrize("invoices", [["INV3", "INV9", "INV1"], ["INV3", "INV1", "INV2"], []])
def test_plan_marks_are_what_mapping_each_column_gives(invoices):
    plans = plans_table(plan(plan="PP-1", invoice="INV-1"), {"plan": "PP-1", "invoice": "INV-2"},
                        plan(plan="PP-2", invoice="INV-3", patient_id="MRN-9"))
    in_plan = plan_invoice_keys(build(plans).plan_status)
    in_plan.loc[in_plan["plan"] == "PP-2", "plan_completed"] = True
    keys = pd.Series(invoices, index=range(7, 7 + len(invoices)), dtype="str", name="invoice_key")
    plan_of, completed = plan_marks(keys, in_plan)
    marks = in_plan.set_index("invoice_key")
    pd.testing.assert_series_equal(plan_of, keys.map(marks["plan"]))
    pd.testing.assert_series_equal(completed, keys.map(marks["plan_completed"]))


# ---------------------------------------------------------------------------------------------
# bad plan rows


def _invalid_by_column(t: PlanTables) -> dict[str, pd.Series]:
    out = {}
    for _, f in t.invalid.iterrows():
        col = f["explanation"].split("column ")[1].split(":")[0]
        out[col] = f
    return out


def test_bad_plan_rows_become_invalid_row_findings():
    plans = plans_table(
        plan(plan="PP-1"),                                        # row 2 fine
        plan(plan="PP-2", installment=None),                      # row 3
        plan(plan="PP-3", start=None),                            # row 4
        plan(plan="PP-4", frequency="fortnightly-ish"),           # row 5
        plan(plan="PP-5", count=None, total=None),                # row 6
        plan(plan="PP-6", installment=0.0),                       # row 7
        dict(plan=None, installment=50.0, start="2026-01-01", count=2),  # row 8 no plan id
    )
    t = build(plans)
    assert list(t.plan_status["plan"]) == ["PP-1"]
    assert set(t.installments["plan"]) == {"PP-1"}
    inv = t.invalid
    assert set(inv["type"]) == {"INVALID_ROW"}
    assert set(inv["severity"]) == {"high"}
    assert list(inv.columns[:len(FINDING_COLUMNS)]) == list(FINDING_COLUMNS)
    by_source = {s: e for s, e in zip(inv["source"], inv["explanation"])}
    assert sorted(by_source) == [f"PaymentPlans row {r}" for r in range(3, 9)]
    assert by_source["PaymentPlans row 3"].startswith("PaymentPlans row 3, column Installment:")
    assert "PP-2" in by_source["PaymentPlans row 3"]
    assert "column Start" in by_source["PaymentPlans row 4"]
    assert "column Frequency" in by_source["PaymentPlans row 5"]
    assert "fortnightly-ish" in by_source["PaymentPlans row 5"]
    assert "neither Count nor Total" in by_source["PaymentPlans row 6"]
    assert "column Installment" in by_source["PaymentPlans row 7"]
    assert "column Plan" in by_source["PaymentPlans row 8"]
    assert list(inv["source_sheet"].unique()) == ["PaymentPlans"]
    assert sorted(int(r) for r in inv["source_row"]) == list(range(3, 9))
    assert inv["key"].is_unique
    assert all(e.endswith(".") for e in inv["explanation"])


def test_row_with_several_problems_gets_one_finding_per_column():
    t = build(plans_table(plan(installment=None, start=None)))
    assert t.plan_status.empty
    assert sorted(t.invalid["reason"]) == ["Installment: missing installment amount",
                                           "Start: missing start date"]


def test_negative_grace_days_is_low_and_default_used():
    t = build(plans_table(plan(**P3, grace_days=-3)), as_of="2026-01-19")
    assert list(t.invalid["severity"]) == ["low"]
    assert "column Grace days" in t.invalid["explanation"].iloc[0]
    assert int(t.installments["grace_days"].iloc[0]) == 5
    assert len(t.plan_status) == 1


def test_absurd_count_is_invalid_not_a_memory_blowup():
    t = build(plans_table(plan(count=None, total=1_000_000.0, installment=0.01)))
    assert t.plan_status.empty
    assert "more than 1000 installments" in t.invalid["explanation"].iloc[0]


def test_continuation_row_is_not_invalid_but_plan_without_terms_is():
    t = build(plans_table(dict(plan="PP-9", invoice="INV-1")))
    assert t.plan_status.empty
    assert set(t.invalid["reason"]) >= {"Installment: missing installment amount",
                                        "Start: missing start date"}


# ---------------------------------------------------------------------------------------------
# scale and properties


def test_many_plans_vectorised():
    n = 3000
    starts = pd.date_range("2025-01-01", periods=n, freq="D")
    rows = [plan(plan=f"PP-{i}", patient_id=f"MRN-{i}", invoice=f"INV-{i}",
                 start=str(starts[i].date()), count=12, installment=50.0,
                 frequency=("weekly", "biweekly", "monthly")[i % 3]) for i in range(n)]
    pays = [pay(120.0, str(starts[i].date()), patient_id=f"MRN-{i}") for i in range(n)]
    t = build(plans_table(*rows), payments_table(*pays), as_of="2034-01-01")
    assert len(t.installments) == 12 * n
    assert len(t.plan_status) == n
    assert int(t.installments["paid_cents"].sum()) == 12000 * n


@hsettings(max_examples=40, deadline=None)
@given(inst=st.integers(1, 50_000), total=st.one_of(st.none(), st.integers(1, 2_000_000)),
       count=st.one_of(st.none(), st.integers(1, 40)),
       freq=st.sampled_from(["weekly", "biweekly", "monthly", None]),
       day=st.integers(0, 1500), paid_total=st.integers(0, 3_000_000))
def test_schedule_and_allocation_properties(inst, total, count, freq, day, paid_total):
    if count is None and total is None:
        count = 3
    if count is None and -(-total // inst) > 1000:
        return
    start = pd.Timestamp("2025-01-01") + pd.Timedelta(days=day)
    plans = plans_table(plan(installment=inst / 100, total=None if total is None else total / 100,
                             count=count, frequency=freq, start=str(start.date())))
    pays = payments_table(pay(paid_total / 100, "2025-01-01")) if paid_total else None
    t = build(plans, pays, as_of="2030-01-01")
    ins = t.installments
    expected_total = total if total is not None else count * inst
    assert int(ins["amount_cents"].sum()) == expected_total
    assert (ins["amount_cents"] > 0).all()
    assert ins["due_date"].is_monotonic_increasing and ins["due_date"].is_unique
    assert ins["due_date"].iloc[0] == start
    alloc = ins["paid_cents"].to_numpy(dtype=np.int64)
    assert alloc.sum() == min(paid_total, expected_total)
    assert (alloc <= ins["amount_cents"].to_numpy(dtype=np.int64)).all()
    # waterfall: an installment gets money only when all earlier ones are fully paid
    full = alloc == ins["amount_cents"].to_numpy(dtype=np.int64)
    for i in range(1, len(alloc)):
        if alloc[i] > 0:
            assert full[:i].all()
    if freq in (None, "monthly"):
        assert all(d.day == min(start.day, d.days_in_month) for d in ins["due_date"])


def test_applications_by_invoice_position_count_as_by_key():
    plans = plans_table(plan(plan="PP-1", invoice="INV-1", **P3),
                        plan(plan="PP-2", invoice="INV-2", start="2026-02-01", count=3,
                             installment=100.0))
    pays = payments_table(pay(100.0, "2026-01-15", patient_id=None),
                          pay(80.0, "2026-01-16", patient_id=None))
    apps = applications_table((0, "INV-2", 70.0), (0, "INV-1", 30.0), (1, "INV-3", 80.0))
    totals = invoice_totals_table(("INV-3", 80.0, 0.0), ("INV-1", 300.0, 270.0),
                                  ("INV-2", 300.0, 230.0))
    by_key = build(plans, pays, apps, totals, as_of="2026-01-25")
    by_position = build_plans(plans, pays, apps, totals, Settings(), pd.Timestamp("2026-01-25"),
                              np.array([2, 1, 0]))
    assert int(status_row(by_key, "PP1")["paid_to_date_cents"]) == 3000
    for got, expected in ((by_position.plan_status, by_key.plan_status),
                          (by_position.installments, by_key.installments)):
        pd.testing.assert_frame_equal(got, expected)
