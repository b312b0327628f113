"""PLAN_MISSED_INSTALLMENT and PLAN_SHORT_INSTALLMENT, fed by engine.plans as in the pipeline."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
from builders import INVOICE_HEADER, PAYMENT_HEADER, reconcile_rows  # tests/conftest.py

from engine.checks import plan_missed_installment, plan_short_installment
from engine.context import Context
from engine.findings import FINDING_COLUMNS, finalize
from engine.plans import build_plans
from engine.settings import Settings
from engine.tables import columns_of

# ---------------------------------------------------------------------------------------------
# small tables with the reader's columns (engine.tables.columns_of)


def _key(v):
    if v is None:
        return None
    k = re.sub(r"[^0-9A-Z]", "", str(v).upper())
    return re.sub(r"(?<![0-9])0+(?=[0-9])", "", k) or None


def plans_table(*rows: dict) -> pd.DataFrame:
    recs = []
    for i, r in enumerate(rows):
        rec = {c: None for c in columns_of("PaymentPlans")}
        rec.update(sheet="PaymentPlans", row=r.get("row", i + 2))
        rec["source"] = f"PaymentPlans row {rec['row']}"
        for k, v in r.items():
            if k in ("installment", "total"):
                rec[f"{k}_cents"] = None if v is None else round(v * 100)
            elif k != "row":
                rec[k] = v
        for c in ("plan", "patient_id", "invoice"):
            rec[f"{c}_key"] = _key(rec[c])
        recs.append(rec)
    df = pd.DataFrame(recs, columns=columns_of("PaymentPlans"))
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        if c in ("row", "installment_cents", "total_cents", "count", "grace_days"):
            out[c] = df[c].astype("Int64")
        elif c == "start":
            out[c] = pd.to_datetime(df[c]).astype("datetime64[us]")
        else:
            out[c] = df[c].astype("str")
    return out


def payments_table(*rows: dict) -> pd.DataFrame:
    cols = columns_of("Payments")
    recs = []
    for i, r in enumerate(rows):
        rec = {c: None for c in cols}
        rec.update(sheet="Payments", row=i + 2, source=f"Payments row {i + 2}",
                   amount_cents=round(r["amount"] * 100), date=r["date"],
                   patient_id=r.get("patient_id", "MRN-0042"), invoice=r.get("invoice"))
        for c in ("invoice", "patient_id"):
            rec[f"{c}_key"] = _key(rec[c])
        recs.append(rec)
    df = pd.DataFrame(recs, columns=cols)
    out = pd.DataFrame(index=df.index)
    for c in cols:
        if c in ("row", "amount_cents"):
            out[c] = df[c].astype("Int64")
        elif c == "date":
            out[c] = pd.to_datetime(df[c]).astype("datetime64[us]")
        else:
            out[c] = df[c].astype("str")
    out["payment"] = out["source"]
    out["kind"] = pd.Series(["patient"] * len(out), dtype="str")
    out["duplicate"] = pd.Series([False] * len(out), dtype="bool")
    return out


def invoice_totals_table(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame({
        "invoice": pd.Series([r[0] for r in rows], dtype="str"),
        "invoice_key": pd.Series([_key(r[0]) for r in rows], dtype="str"),
        "billed_cents": pd.array([round(r[1] * 100) for r in rows], dtype="Int64"),
        "balance_cents": pd.array([round(r[2] * 100) for r in rows], dtype="Int64"),
    })


def plan(**kw) -> dict:
    base = dict(plan="PP-104", installment=150.0, start="2026-01-15", patient_id="MRN-0042",
                invoice="INV-1001", frequency="monthly", count=4, row=7)
    base.update(kw)
    return base


def pay(amount: float, date: str, **kw) -> dict:
    return dict(amount=amount, date=date, **kw)


def context(plans, payments=(), as_of="2026-03-01", settings=None, invoice_totals=None):
    settings = settings or Settings()
    as_of = pd.Timestamp(as_of)
    pays = payments_table(*payments)
    t = build_plans(plans, pays, None, invoice_totals, settings, as_of)
    return Context(as_of=as_of, settings=settings, tables={"PaymentPlans": plans},
                   invoice_totals=pd.DataFrame(), payments=pays, applications=pd.DataFrame(),
                   match_candidates=pd.DataFrame(), installments=t.installments,
                   plan_status=t.plan_status)


def run(module, ctx) -> pd.DataFrame:
    out = module.check(ctx)
    assert isinstance(out, pd.DataFrame)
    return out


# ---------------------------------------------------------------------------------------------
# PLAN_MISSED_INSTALLMENT


def test_type_constants():
    assert plan_missed_installment.TYPE == "PLAN_MISSED_INSTALLMENT"
    assert plan_short_installment.TYPE == "PLAN_SHORT_INSTALLMENT"


def test_missed_installment_finding():
    # installments due Jan 15, Feb 15, Mar 15, Apr 15; Jan and Feb paid, Mar not
    ctx = context(plans_table(plan()), [pay(150.0, "2026-01-15"), pay(150.0, "2026-02-16")],
                  as_of="2026-04-01")
    f = run(plan_missed_installment, ctx)
    assert len(f) == 1
    r = f.iloc[0]
    assert r["type"] == "PLAN_MISSED_INSTALLMENT"
    assert r["severity"] == "medium"
    assert r["plan"] == "PP-104" and r["patient"] == "MRN-0042" and r["invoice"] == "INV-1001"
    assert int(r["expected"]) == 15000 and int(r["actual"]) == 0
    assert int(r["difference"]) == -15000
    assert r["explanation"] == ("Installment 3 of plan PP-104 ($150.00, due 2026-03-15) has not "
                                "been paid, 12 days past the grace period.")
    assert r["action"].startswith("Contact the patient about the missed installment")
    assert r["source"] == "PaymentPlans row 7"
    assert r["source_sheet"] == "PaymentPlans" and int(r["source_row"]) == 7
    assert r["key"] == "PP104|3"


def test_missed_severity_high_with_two_missed_and_ids_stable():
    ctx = context(plans_table(plan()), [pay(150.0, "2026-01-15")], as_of="2026-04-01")
    f = run(plan_missed_installment, ctx)
    assert list(f["key"]) == ["PP104|2", "PP104|3"]
    assert set(f["severity"]) == {"high"}
    out = finalize([f])
    assert list(out.columns[:len(FINDING_COLUMNS)]) == list(FINDING_COLUMNS)
    again = finalize([run(plan_missed_installment, context(
        plans_table(plan()), [pay(150.0, "2026-01-15")], as_of="2026-04-01"))])
    assert list(out["id"]) == list(again["id"])


def test_missed_near_miss_on_last_grace_day_is_no_finding():
    # due Mar 15 + 5 grace days = Mar 20: not yet missed on Mar 20
    ctx = context(plans_table(plan()), [pay(300.0, "2026-02-01")], as_of="2026-03-20")
    assert run(plan_missed_installment, ctx).empty
    ctx = context(plans_table(plan()), [pay(300.0, "2026-02-01")], as_of="2026-03-21")
    assert len(run(plan_missed_installment, ctx)) == 1


def test_paid_one_day_late_within_grace_is_no_finding():
    ctx = context(plans_table(plan()),
                  [pay(150.0, "2026-01-16"), pay(150.0, "2026-02-16"), pay(150.0, "2026-03-16")],
                  as_of="2026-04-01")
    assert run(plan_missed_installment, ctx).empty
    assert run(plan_short_installment, ctx).empty


def test_grace_days_per_plan_vs_setting():
    plans = plans_table(plan(grace_days=10))
    ctx = context(plans, [pay(300.0, "2026-02-01")], as_of="2026-03-24")
    assert run(plan_missed_installment, ctx).empty
    ctx = context(plans_table(plan()), [pay(300.0, "2026-02-01")], as_of="2026-03-24")
    assert len(run(plan_missed_installment, ctx)) == 1
    ctx = context(plans_table(plan()), [pay(300.0, "2026-02-01")], as_of="2026-03-24",
                  settings=Settings(plan_grace_days=10))
    assert run(plan_missed_installment, ctx).empty


def test_partial_payment_is_not_missed_but_short():
    ctx = context(plans_table(plan()), [pay(150.0, "2026-01-15"), pay(100.0, "2026-02-15")],
                  as_of="2026-02-28")
    assert run(plan_missed_installment, ctx).empty
    f = run(plan_short_installment, ctx)
    assert len(f) == 1


def test_no_findings_when_plan_invoice_paid_off_outside_the_plan():
    totals = invoice_totals_table(("INV-1001", 600.0, 0.0))
    ctx = context(plans_table(plan()), [pay(100.0, "2026-01-15")], as_of="2026-06-01",
                  invoice_totals=totals)
    assert ctx.plan_status["status"].iloc[0] == "completed"
    assert run(plan_missed_installment, ctx).empty
    assert run(plan_short_installment, ctx).empty


def test_no_findings_for_upcoming_installments():
    ctx = context(plans_table(plan(start="2026-05-01")), as_of="2026-03-01")
    assert run(plan_missed_installment, ctx).empty
    assert run(plan_short_installment, ctx).empty


# ---------------------------------------------------------------------------------------------
# PLAN_SHORT_INSTALLMENT


def test_short_installment_finding():
    ctx = context(plans_table(plan()), [pay(150.0, "2026-01-15"), pay(100.0, "2026-02-15")],
                  as_of="2026-02-15")
    f = run(plan_short_installment, ctx)
    assert len(f) == 1
    r = f.iloc[0]
    assert r["type"] == "PLAN_SHORT_INSTALLMENT" and r["severity"] == "low"
    assert r["plan"] == "PP-104" and r["patient"] == "MRN-0042" and r["invoice"] == "INV-1001"
    assert (int(r["expected"]), int(r["actual"]), int(r["difference"])) == (15000, 10000, -5000)
    assert r["explanation"] == ("Installment 2 of plan PP-104 ($150.00, due 2026-02-15) was only "
                                "partly paid: $100.00 received, $50.00 still owed.")
    assert "$50.00" in r["action"]
    assert r["source"] == "PaymentPlans row 7" and int(r["source_row"]) == 7
    assert r["key"] == "PP104|2"


def test_short_near_miss_prepaid_part_of_future_installment():
    # $50 extra before the second installment is due: not short yet
    ctx = context(plans_table(plan()), [pay(200.0, "2026-01-15")], as_of="2026-02-14")
    assert run(plan_short_installment, ctx).empty
    ctx = context(plans_table(plan()), [pay(200.0, "2026-01-15")], as_of="2026-02-15")
    assert len(run(plan_short_installment, ctx)) == 1


def test_short_within_tolerance_is_no_finding():
    ctx = context(plans_table(plan()), [pay(149.50, "2026-01-15")], as_of="2026-01-31")
    assert run(plan_short_installment, ctx).empty
    ctx = context(plans_table(plan()), [pay(148.50, "2026-01-15")], as_of="2026-01-31")
    assert len(run(plan_short_installment, ctx)) == 1


def test_overpayment_carries_forward_no_short():
    ctx = context(plans_table(plan()), [pay(300.0, "2026-01-15")], as_of="2026-02-20")
    assert run(plan_short_installment, ctx).empty
    assert run(plan_missed_installment, ctx).empty


# ---------------------------------------------------------------------------------------------
# robustness


def test_empty_context_gives_empty_findings():
    ctx = Context(as_of=pd.Timestamp("2026-03-01"), settings=Settings(), tables={},
                  invoice_totals=pd.DataFrame(), payments=pd.DataFrame(),
                  applications=pd.DataFrame(), match_candidates=pd.DataFrame())
    for module in (plan_missed_installment, plan_short_installment):
        out = run(module, ctx)
        assert out.empty
        assert "type" in out


def test_bad_values_in_installments_do_not_raise():
    ins = pd.DataFrame({
        "plan": ["PP-1", "PP-2"], "plan_key": ["PP1", "PP2"], "number": [1, 1],
        "due_date": [pd.NaT, pd.Timestamp("2026-01-01")],
        "amount_cents": pd.array([None, 1000], dtype="Int64"),
        "paid_cents": pd.array([None, None], dtype="Int64"),
        "grace_days": pd.array([None, None], dtype="Int64"),
    })
    ctx = Context(as_of=pd.Timestamp("2026-03-01"), settings=Settings(), tables={},
                  invoice_totals=pd.DataFrame(), payments=pd.DataFrame(),
                  applications=pd.DataFrame(), match_candidates=pd.DataFrame(),
                  installments=ins)
    f = run(plan_missed_installment, ctx)
    assert list(f["key"]) == ["PP2|1"]
    assert run(plan_short_installment, ctx).empty


# ---------------------------------------------------------------------------------------------
# through the real reader and pipeline (tests/conftest.py)


def test_end_to_end_with_reader_and_pipeline():
    sheets = {
        "Invoices": [INVOICE_HEADER,
                     ["INV-1001", "MRN-0042", "Pat Doe", dt.date(2025, 12, 1),
                      dt.date(2025, 12, 1), "Self pay", 600.0],
                     ["INV-2002", "MRN-0077", "Sam Roe", dt.date(2025, 12, 1),
                      dt.date(2025, 12, 1), "Self pay", 300.0]],
        "Payments": [PAYMENT_HEADER,
                     ["R1", dt.date(2026, 1, 15), "INV-1001", "MRN-0042", "Self pay", "card",
                      "A1", 150.0],
                     ["R2", dt.date(2026, 2, 16), None, "MRN-0042", "Self pay", "card", "A2",
                      100.0],
                     ["R3", dt.date(2026, 1, 10), "INV-2002", "MRN-0077", "Self pay", "card",
                      "A3", 300.0]],
        "PaymentPlans": [["Plan ID", "Patient ID", "Invoice", "Installment Amount", "Start Date",
                          "Frequency", "Installments", "Total", "Grace"],
                         ["PP-104", "MRN-0042", "INV-1001", 150.0, dt.date(2026, 1, 15),
                          "monthly", 4, None, None],
                         ["PP-200", "MRN-0077", "INV-2002", 100.0, dt.date(2026, 1, 1),
                          "weekly", None, 300.0, 2],
                         ["PP-300", "MRN-0099", None, 50.0, dt.date(2026, 1, 1),
                          "fortnightly-ish", 3, None, None]],
    }
    res = reconcile_rows(sheets, as_of=dt.date(2026, 3, 31))
    ctx = res.ctx
    ps = ctx.plan_status.set_index("plan")
    assert ps.loc["PP-104", "status"] == "behind"
    assert int(ps.loc["PP-104", "paid_to_date_cents"]) == 25000
    assert ps.loc["PP-200", "status"] == "completed"  # paid off in full up front
    assert "PP-300" not in ps.index
    totals = ctx.invoice_totals.set_index("invoice")
    assert bool(totals.loc["INV-1001", "in_plan"])
    assert not bool(totals.loc["INV-2002", "in_plan"])

    missed = run(plan_missed_installment, ctx)
    short = run(plan_short_installment, ctx)
    assert list(missed["key"]) == ["PP104|3"]
    assert list(short["key"]) == ["PP104|2"]
    assert int(short["actual"].iloc[0]) == 10000
    assert missed["source"].iloc[0] == "PaymentPlans row 2"
    # the bad frequency is an INVALID_ROW finding of the run
    inv = res.findings[res.findings["type"] == "INVALID_ROW"]
    assert any("PaymentPlans row 4, column Frequency" in e for e in inv["explanation"])
    # invoices in a plan are not OVERDUE / SHORT_PAID
    assert not ((res.findings["invoice"] == "INV-1001")
                & res.findings["type"].isin(["OVERDUE", "SHORT_PAID"])).any()
