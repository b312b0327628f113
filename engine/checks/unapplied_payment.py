"""UNAPPLIED_PAYMENT: money received that the engine could not confidently tie to an invoice.

When the invoice a payment names is on a row that could not be read (and so was left out), the
explanation says which row: correcting it is what lets the payment apply.
"""

from __future__ import annotations

import pandas as pd

from engine.checks._common import money, payment_fields
from engine.context import Context

TYPE = "UNAPPLIED_PAYMENT"


def check(ctx: Context) -> pd.DataFrame:
    p = ctx.payments
    if p.empty:
        return pd.DataFrame()
    applied = set(ctx.applications["payment_index"])
    hit = p[~p["duplicate"] & ~p.index.isin(applied) & p["amount_cents"].notna()
            & (p["amount_cents"] != 0)]
    if hit.empty:
        return pd.DataFrame()
    cand = (ctx.match_candidates.sort_values("confidence", ascending=False, kind="mergesort")
            .drop_duplicates("payment_index").set_index("payment_index"))
    inv_names = ctx.invoice_totals.set_index("invoice_key")["invoice"]
    best = hit.index.to_series().map(cand["invoice_key"]).map(inv_names)
    conf = hit.index.to_series().map(cand["confidence"])
    hint = ("; the closest invoice is " + best + " at "
            + (conf * 100).round().astype("Int64").astype(str) + "% confidence, below the "
            + f"{round(ctx.settings.match_threshold * 100)}% needed").fillna("")
    named = hit["invoice"].fillna(hit["reference"])
    said = ("it names " + named + ", which matches no invoice").where(named.notna(),
                                                                          "it names no invoice")
    unreadable = _unreadable_rows(ctx)
    if len(unreadable):
        row = pd.Series(pd.NA, index=hit.index, dtype="object")
        for field in ("reference_key", "claim_key", "invoice_key"):  # the invoice field wins
            row = hit[field].map(unreadable).where(lambda r: r.notna(), row)
        said = ("it names " + named + ", whose row could not be read (" + row
                + "); once that row is corrected the payment can be applied").where(
                    row.notna(), said)
    return pd.DataFrame({
        "type": TYPE,
        "severity": "medium",
        "key": hit["payment"] + "|" + hit["row"].astype(str),
        **payment_fields(hit),
        "invoice": hit["invoice"],
        "actual": hit["amount_cents"],
        "explanation": ("Payment " + hit["payment"] + " of " + money(hit["amount_cents"]) + " on "
                        + hit["date"].dt.strftime("%Y-%m-%d") + " is not applied to any invoice: "
                        + said + hint + "."),
        "action": "Find the invoice this payment belongs to and record its invoice number on the "
                  "payment, or refund it if it is not ours.",
    })


def _unreadable_rows(ctx: Context) -> pd.Series:
    """Where each invoice or claim number of the left-out invoice rows is (key → "Invoices row
    9"), for numbers no readable invoice has."""
    rows = ctx.left_out.get("Invoices")
    if rows is None or rows.empty:
        return pd.Series([], dtype="object")
    known = set(ctx.invoice_totals["invoice_key"]) | set(ctx.invoice_totals["claim_key"].dropna())
    parts = [pd.Series(rows["source"].to_numpy(), index=rows[k].to_numpy())
             for k in ("invoice_key", "claim_key") if k in rows]
    where = pd.concat(parts) if parts else pd.Series([], dtype="object")
    where = where[where.index.notna() & ~where.index.isin(known)]
    return where[~where.index.duplicated(keep="first")]
