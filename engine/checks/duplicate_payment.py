"""DUPLICATE_PAYMENT: the same money recorded twice.

Same payer, same amount, same reference and the same invoice or claim (normalise.prepare_payments
marks the second and later postings). One EFT paying several claims of equal amount is normal and
is not a duplicate, because the claims differ. The duplicate posting is left out of balances so
that the invoice is not also reported as overpaid.
"""

from __future__ import annotations

import pandas as pd

from engine.checks._common import money, payment_fields
from engine.context import Context

TYPE = "DUPLICATE_PAYMENT"


def check(ctx: Context) -> pd.DataFrame:
    p = ctx.payments
    if p.empty:
        return pd.DataFrame()
    dup = p[p["duplicate"]]
    if dup.empty:
        return pd.DataFrame()
    target = p["invoice_key"].fillna(p["claim_key"])
    group = pd.DataFrame({"_payer": p["payer_key"].fillna(""), "_amount": p["amount_cents"],
                          "_ref": p["reference_key"], "_target": target})
    same = ["_payer", "_amount", "_ref", "_target"]
    originals = (p[~p["duplicate"]].assign(**group[~p["duplicate"]])
                 .sort_values(["date", "row"], kind="mergesort")
                 .drop_duplicates(same))
    d = dup.assign(**group[p["duplicate"]]).merge(
        originals[same + ["payment", "source"]], on=same, how="left", suffixes=("", "_first"))
    d.index = dup.index
    return pd.DataFrame({
        "type": TYPE,
        "severity": "high",
        "key": d["_payer"] + "|" + d["_ref"].astype(str) + "|" + d["_target"].astype(str) + "|"
               + d["_amount"].astype(str) + "|" + d["row"].astype(str),
        **payment_fields(d),
        "invoice": d["invoice"],
        "claim": d["claim"],
        "expected": d["amount_cents"],
        "actual": d["amount_cents"] * 2,
        "explanation": ("Payment " + d["payment"] + " (" + money(d["amount_cents"])
                        + ", reference " + d["reference"].fillna("") + ") repeats "
                        + d["payment_first"].fillna("an earlier payment") + " ("
                        + d["source_first"].fillna("") + ") on the same invoice."),
        "action": "If the money arrived once, void the second posting; if it arrived twice, "
                  "refund or re-apply the extra payment.",
    })
