"""MISAPPLIED_PAYMENT: recorded against invoice A while patient, amount and date say invoice B."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.checks._common import invoices_by_key, money, payment_fields
from engine.context import Context

TYPE = "MISAPPLIED_PAYMENT"


def check(ctx: Context) -> pd.DataFrame:
    a = ctx.applications
    recorded = a["recorded_invoice_key"].to_numpy(dtype=object)
    keys = a["invoice_key"].to_numpy(dtype=object)
    try:  # a missing recorded key (None, NaN) differs from every key: only rows that differ
        differ = np.flatnonzero(recorded != keys)  # are asked whether they have one
    except TypeError:  # a pd.NA among them, which is neither equal nor unequal
        differ = np.flatnonzero(pd.notna(recorded))
        differ = differ[recorded[differ] != keys[differ]]
    moved = a.iloc[differ[pd.notna(recorded[differ])]]
    if moved.empty:
        return pd.DataFrame()
    p = ctx.payments.loc[moved["payment_index"]]
    p.index = moved.index
    names = invoices_by_key(ctx)["invoice"]
    recorded = moved["recorded_invoice_key"].map(names)
    belongs = moved["invoice_key"].map(names)
    return pd.DataFrame({
        "type": TYPE,
        "severity": "high",
        "key": p["payment"] + "|" + moved["recorded_invoice_key"] + "|" + moved["invoice_key"],
        **payment_fields(p),
        "invoice": recorded,
        "actual": p["amount_cents"],
        "explanation": ("Payment " + p["payment"] + " of " + money(p["amount_cents"])
                        + " was recorded against invoice " + recorded
                        + ", but its patient, amount and date match invoice " + belongs + "."),
        "action": "Move the payment from invoice " + recorded + " to invoice " + belongs + ".",
    }, index=moved.index, copy=False)
