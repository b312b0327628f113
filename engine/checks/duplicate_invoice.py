"""DUPLICATE_INVOICE: one invoice number on rows that cannot be lines of one invoice.

Rows sharing an invoice number are service lines of one invoice when they have the same patient
and the same service date; a different patient or a different date means two invoices were given
the same number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.context import Context
from engine.positions import shares_number

TYPE = "DUPLICATE_INVOICE"


def check(ctx: Context) -> pd.DataFrame:
    inv = ctx.table("Invoices")
    if inv.empty:
        return pd.DataFrame()
    # a number on one row cannot clash: invoice_totals counts each number's lines and names its
    # first row, so one-line invoices are left out by their sheet row number (an integer look-up);
    # the other rows' keys are numbered, and the rows sharing one compared on numbers, in row order
    row = inv["row"].to_numpy()
    t = ctx.invoice_totals
    maybe = np.flatnonzero(~np.isin(row, t["row"].to_numpy()[t["lines"].to_numpy() == 1]))
    invoice = pd.factorize(inv["invoice_key"].array[maybe])[0]  # -1: no number, never a clash
    shares = shares_number(invoice)
    shared, invoice = maybe[shares], invoice[shares]
    order = np.argsort(row[shared], kind="stable")
    shared, invoice = shared[order], invoice[order]
    patient_id, patient = inv["patient_id_key"].array[shared], inv["patient_key"].array[shared]
    who_codes = pd.factorize(patient_id.fillna(patient))[0]  # -1: no patient known
    dos = inv["service_date"].to_numpy()[shared]
    dos_known = ~np.isnat(dos)
    # the first (known) patient and service date of each invoice number, on every line
    first_who = _first_known(invoice, who_codes >= 0)
    first_dos = _first_known(invoice, dos_known)
    other_who = (who_codes >= 0) & (first_who >= 0) & (who_codes != who_codes[first_who])
    conflict = other_who | (dos_known & (first_dos >= 0) & (dos != dos[first_dos]))
    at = np.flatnonzero(conflict)
    at = at[np.sort(np.unique(invoice[at], return_index=True)[1])]  # each number's first clash
    if not len(at):
        return pd.DataFrame()
    bad = inv.iloc[shared[at]]
    first_source = _first_known(invoice, inv["source"].notna().to_numpy()[shared])[at]
    first_source = pd.Series(inv["source"].array.take(np.where(first_source >= 0,
                                                               shared[first_source], -1),
                                                      allow_fill=True), index=bad.index)
    why = pd.Series(np.where(other_who[at], "a different patient", "a different service date"),
                    index=bad.index)
    return pd.DataFrame({
        "type": TYPE,
        "severity": "high",
        "key": bad["invoice_key"],
        "invoice": bad["invoice"],
        "patient": bad["patient"].fillna(bad["patient_id"]),
        "payer": bad["payer"],
        "service_date": bad["service_date"],
        "explanation": ("Invoice number " + bad["invoice"] + " is used on " + first_source
                        + " and on " + bad["source"] + " with " + why
                        + ", so they cannot be lines of one invoice."),
        "action": "Give one of the two invoices its own number (and correct any payments posted to it).",
        "source": first_source + "; " + bad["source"],
        "source_sheet": bad["sheet"],
        "source_row": bad["row"],
    }, index=bad.index, copy=False)


def _first_known(group: np.ndarray, known: np.ndarray) -> np.ndarray:
    """For each row, the position of the first row of its group where `known` (a groupby
    transform("first"), which skips missing values), -1 when the group has none."""
    first = np.full(group.max(initial=-1) + 1, -1, dtype=np.intp)
    at = np.flatnonzero(known)
    found, first_at = np.unique(group[at], return_index=True)
    first[found] = at[first_at]
    return first[group]
