"""UNAPPLIED_PAYMENT: money received that the engine could not confidently tie to an invoice.

When the invoice a payment names is on a row that could not be read (and so was left out), the
explanation says which row: correcting it is what lets the payment apply.
"""

from __future__ import annotations

import pandas as pd

from engine.checks._common import invoices_by_key, money, payment_fields
from engine.context import Context

TYPE = "UNAPPLIED_PAYMENT"
_INT64 = pd.Int64Dtype()  # once: a dtype name costs a registry lookup per use


def check(ctx: Context) -> pd.DataFrame:
    p = ctx.payments
    if p.empty:
        return pd.DataFrame()
    applied = p.index.isin(ctx.applications["payment_index"].to_numpy())  # integer labels
    hit = p[~p["duplicate"] & ~applied & p["amount_cents"].notna() & (p["amount_cents"] != 0)]
    if hit.empty:
        return pd.DataFrame()
    cand = (ctx.match_candidates.sort_values("confidence", ascending=False, kind="mergesort")
            .drop_duplicates("payment_index"))
    best_at = pd.Index(cand["payment_index"]).get_indexer(hit.index)  # -1: no candidate
    inv_names = invoices_by_key(ctx)["invoice"]
    best_key = cand["invoice_key"].array.take(best_at, allow_fill=True)
    best = pd.Series(inv_names.array.take(inv_names.index.get_indexer(best_key), allow_fill=True),
                     index=hit.index).astype(object)
    conf = pd.Series(cand["confidence"].array.take(best_at, allow_fill=True), index=hit.index)
    hint = ("; the closest invoice is " + best + " at "
            + (conf * 100).round().astype(_INT64).astype(str) + "% confidence, below the "
            + f"{round(ctx.settings.match_threshold * 100)}% needed").fillna("")
    named = hit["invoice"].fillna(hit["reference"]).astype(object)
    said = ("it names " + named + ", which matches no invoice").where(named.notna(),
                                                                          "it names no invoice")
    if len(ctx.waiting):
        waiting = ctx.waiting.set_index("payment_index")
        wanted = hit.index.to_series().map(waiting["named"]).astype(object)
        row = hit.index.to_series().map(waiting["source"]).astype(object)
        said = ("it names " + wanted + ", whose row could not be read (" + row
                + "); once that row is corrected the payment can be applied").where(
                    wanted.notna(), said)
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
    }, index=hit.index, copy=False)
