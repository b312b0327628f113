"""Invoice balances from what was applied: billed − insurance paid − patient paid − adjusted.

Runs after matching (and after remittances and plans are known); the checks then only compare.
Every amount is Int64 cents and never NA here: an invoice with nothing applied has 0 paid.
"""

from __future__ import annotations

import pandas as pd


def settle(invoices: pd.DataFrame, payments: pd.DataFrame, applications: pd.DataFrame,
           remitted: pd.DataFrame | None = None) -> pd.DataFrame:
    """invoice_totals with paid, adjusted and balance columns and the match summary.

    With remittances (`remitted`: engine.match.remits per_invoice), what the payer says it paid
    on an invoice is its insurance money, whatever was posted (POSTING_MISMATCH reports the
    difference), and the contractual reductions on the remittance are its adjustments in place
    of write-offs posted in the payer's name; the practice's own write-offs still count.
    """
    apps = applications.merge(payments[["kind", "payer_adjustment"]], left_on="payment_index",
                              right_index=True)
    payer_adjusted = apps[apps["payer_adjustment"]].groupby("invoice_key")["applied_cents"].sum()
    by_kind = (apps.groupby(["invoice_key", "kind"])["applied_cents"].sum()
               .unstack("kind", fill_value=0))
    out = invoices.copy()
    for kind, column in (("insurance", "insurance_paid_cents"), ("patient", "patient_paid_cents"),
                         ("adjustment", "adjusted_cents")):
        values = by_kind[kind] if kind in by_kind else pd.Series(dtype="int64")
        out[column] = out["invoice_key"].map(values).fillna(0).astype("int64").astype("Int64")
    out["posted_insurance_cents"] = out["insurance_paid_cents"]
    remit_columns = ("remit_paid_cents", "remit_pr_cents", "remit_adjusted_cents",
                     "remit_charge_cents")
    for column in remit_columns:
        out[column] = pd.Series(pd.NA, index=out.index, dtype="Int64")
    out["denied"] = False
    if remitted is not None and len(remitted):
        r = remitted.set_index("invoice_key")
        for column in remit_columns:
            out[column] = out["invoice_key"].map(r[column]).astype("Int64")
        out["denied"] = out["invoice_key"].map(r["denied"]).fillna(False).astype(bool)
        has = out["remit_paid_cents"].notna()
        out.loc[has, "insurance_paid_cents"] = out.loc[has, "remit_paid_cents"]
        # the remittance's contractual reductions replace write-offs posted in the payer's name
        posted_by_payer = out["invoice_key"].map(payer_adjusted).fillna(0).astype("int64")
        out.loc[has, "adjusted_cents"] = (out.loc[has, "adjusted_cents"] - posted_by_payer[has]
                                          + out.loc[has, "remit_adjusted_cents"])
    out["paid_cents"] = (out["insurance_paid_cents"] + out["patient_paid_cents"]).astype("Int64")
    out["balance_cents"] = (out["billed_cents"] - out["paid_cents"] - out["adjusted_cents"]).astype("Int64")
    out["match_method"] = out["invoice_key"].map(_joined_methods(apps))
    out["match_confidence"] = out["invoice_key"].map(
        apps.groupby("invoice_key")["confidence"].min()).astype("float64")
    out["last_payment_index"] = out["invoice_key"].map(
        apps.merge(payments[["date", "row"]], left_on="payment_index", right_index=True)
        .sort_values(["date", "row"], kind="mergesort").groupby("invoice_key")["payment_index"].last())
    if "in_plan" not in out:
        out["in_plan"] = False
        out["plan"] = pd.Series(pd.NA, index=out.index, dtype="object")
        out["plan_completed"] = False
    return out


def _joined_methods(apps: pd.DataFrame) -> pd.Series:
    """`exact invoice, fuzzy reference` per invoice: its distinct match methods, sorted."""
    m = (apps[["invoice_key", "method"]].drop_duplicates()
         .sort_values(["invoice_key", "method"], kind="mergesort"))
    if m.empty:
        return pd.Series(dtype="str")
    m["n"] = m.groupby("invoice_key").cumcount()
    wide = m.pivot(index="invoice_key", columns="n", values="method")
    joined = wide[0]
    for c in wide.columns[1:]:
        joined = joined + (", " + wide[c]).fillna("")
    return joined
