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
    lines = inv[["invoice_key", "invoice", "patient_id_key", "patient_key", "patient",
                 "patient_id", "payer", "service_date", "source", "sheet", "row"]]
    lines = lines.sort_values("row", kind="mergesort")
    lines = lines.assign(_who=lines["patient_id_key"].fillna(lines["patient_key"]))
    # the first (known) patient, service date and source of each invoice number, on every line
    first = (lines.groupby("invoice_key", sort=False)[["_who", "service_date", "source"]]
             .transform("first"))
    first_who, first_dos = first["_who"], first["service_date"]
    conflict = ((lines["_who"].notna() & first_who.notna() & (lines["_who"] != first_who))
                | (lines["service_date"].notna() & first_dos.notna()
                   & (lines["service_date"] != first_dos)))
    bad = (lines.assign(_first_who=first_who, _first_source=first["source"])[conflict]
           .drop_duplicates("invoice_key"))
    if bad.empty:
        return pd.DataFrame()
    why = pd.Series("a different service date", index=bad.index)
    why[bad["_who"].notna() & (bad["_who"] != bad["_first_who"])] = "a different patient"
    return pd.DataFrame({
        "type": TYPE,
        "severity": "high",
        "key": bad["invoice_key"],
        "invoice": bad["invoice"],
        "patient": bad["patient"].fillna(bad["patient_id"]),
        "payer": bad["payer"],
        "service_date": bad["service_date"],
        "explanation": ("Invoice number " + bad["invoice"] + " is used on " + bad["_first_source"]
                        + " and on " + bad["source"] + " with " + why
                        + ", so they cannot be lines of one invoice."),
        "action": "Give one of the two invoices its own number (and correct any payments posted to it).",
        "source": bad["_first_source"] + "; " + bad["source"],
        "source_sheet": bad["sheet"],
        "source_row": bad["row"],
    }, index=bad.index, copy=False)
