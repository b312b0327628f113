"""DUPLICATE_INVOICE: one invoice number on rows that cannot be lines of one invoice.

Rows sharing an invoice number are service lines of one invoice when they have the same patient
and the same service date; a different patient or a different date means two invoices were given
the same number.
"""

from __future__ import annotations

import pandas as pd

from engine.context import Context

TYPE = "DUPLICATE_INVOICE"


def check(ctx: Context) -> pd.DataFrame:
    inv = ctx.table("Invoices")
    if inv.empty:
        return pd.DataFrame()
    lines = inv.sort_values("row", kind="mergesort")
    who = lines["patient_id_key"].fillna(lines["patient_key"])
    lines = lines.assign(_who=who)
    g = lines.groupby("invoice_key", sort=False)
    first = g.first()
    first_who = lines["invoice_key"].map(first["_who"])
    first_dos = lines["invoice_key"].map(first["service_date"])
    conflict = ((lines["_who"].notna() & first_who.notna() & (lines["_who"] != first_who))
                | (lines["service_date"].notna() & first_dos.notna()
                   & (lines["service_date"] != first_dos)))
    bad = lines[conflict].drop_duplicates("invoice_key")
    if bad.empty:
        return pd.DataFrame()
    head = first.loc[bad["invoice_key"]]
    head.index = bad.index
    why = pd.Series("a different service date", index=bad.index)
    why[bad["_who"].notna() & (bad["_who"] != head["_who"])] = "a different patient"
    return pd.DataFrame({
        "type": TYPE,
        "severity": "high",
        "key": bad["invoice_key"],
        "invoice": bad["invoice"],
        "patient": bad["patient"].fillna(bad["patient_id"]),
        "payer": bad["payer"],
        "service_date": bad["service_date"],
        "explanation": ("Invoice number " + bad["invoice"] + " is used on " + head["source"]
                        + " and on " + bad["source"] + " with " + why
                        + ", so they cannot be lines of one invoice."),
        "action": "Give one of the two invoices its own number (and correct any payments posted to it).",
        "source": head["source"] + "; " + bad["source"],
        "source_sheet": bad["sheet"],
        "source_row": bad["row"],
    })
