"""Invoice balances from what was applied: billed − insurance paid − patient paid − adjusted.

Runs after matching (and after remittances and plans are known); the checks then only compare.
Every amount is Int64 cents and never NA here: an invoice with nothing applied has 0 paid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def settle(invoices: pd.DataFrame, payments: pd.DataFrame, applications: pd.DataFrame,
           remitted: pd.DataFrame | None = None, invoice_at: np.ndarray | None = None,
           remitted_at: np.ndarray | None = None) -> pd.DataFrame:
    """invoice_totals with paid, adjusted and balance columns and the match summary.

    With remittances (`remitted`: engine.match.remits per_invoice), what the payer says it paid
    on an invoice is its insurance money, whatever was posted (POSTING_MISMATCH reports the
    difference), and the contractual reductions on the remittance are its adjustments in place
    of write-offs posted in the payer's name; the practice's own write-offs still count.
    `invoice_at`: each application's invoice as a position in `invoices` (-1: none), as
    match_payments gives it (Matches.invoice_at); without it, found by the invoice key.
    `remitted_at`: each `remitted` row's invoice as a position in `invoices`, as match_remits
    gives it (RemitMatch.per_invoice_at); without it, found by the invoice key.
    """
    # in posting order (date, then row) of the payments; positions, so no merged frame is built
    payment_at = payments.index.get_indexer(applications["payment_index"])
    posted = np.flatnonzero(payment_at >= 0)
    posted = posted[np.lexsort((payments["row"].to_numpy()[payment_at[posted]],
                                payments["date"].to_numpy()[payment_at[posted]]))]
    payment_at = payment_at[posted]
    # every per-invoice figure sums on invoice numbers: string keys are costly to group, so the
    # look-ups between invoices, remittances and applications are integer ones. Given as
    # positions in `invoices`, those are the numbers (invoice_totals has one row per invoice key,
    # none missing); else the invoices' keys and the others' are numbered in one pass
    n_remitted = len(remitted) if remitted is not None else 0
    if invoice_at is not None and (remitted_at is not None or not n_remitted):
        uniques = invoices["invoice_key"].to_numpy()
        invoice_code, remit_code = np.arange(len(invoices)), remitted_at
    else:
        remitted_keys = [remitted["invoice_key"].to_numpy()] if n_remitted else []
        app_keys = [applications["invoice_key"].to_numpy()[posted]] if invoice_at is None else []
        codes, uniques = pd.factorize(np.concatenate([invoices["invoice_key"].to_numpy()]
                                                     + remitted_keys + app_keys))
        invoice_code = codes[:len(invoices)]  # -1: no invoice key
        remit_code = codes[len(invoices):len(invoices) + n_remitted]
    invoice = (codes[len(codes) - len(posted):] if invoice_at is None
               else np.append(invoice_code, -1)[invoice_at[posted]])
    known = np.flatnonzero(invoice >= 0)
    at_known = invoice[known]
    n = len(uniques)
    applied = applications["applied_cents"].to_numpy(dtype="int64")[posted][known]
    kind = payments["kind"].to_numpy(dtype=object)[payment_at[known]]
    by_payer = payments["payer_adjustment"].to_numpy(dtype=bool)[payment_at[known]]
    per = {}
    for column, rows in (("insurance", kind == "insurance"), ("patient", kind == "patient"),
                         ("adjustment", kind == "adjustment"), ("by_payer", by_payer)):
        per[column] = np.zeros(n, dtype="int64")
        np.add.at(per[column], at_known, np.where(rows, applied, 0))
    per["confidence"] = np.full(n, np.nan)  # the lowest; NaN counts only where all are
    np.fmin.at(per["confidence"], at_known,
               applications["confidence"].to_numpy(dtype="float64")[posted][known])
    last = np.zeros(n, dtype="int64")  # each invoice's last application, in posting order
    np.maximum.at(last, at_known, known)
    applied_to = np.bincount(at_known, minlength=n) > 0  # by number: some application's invoice
    at = np.where(np.append(applied_to, False)[invoice_code], invoice_code, -1)  # -1: none

    def take(column: str, missing=0) -> np.ndarray:
        return np.append(per[column], missing)[at]

    out = invoices.copy(deep=False)  # copy-on-write: new columns only
    for kind_, column in (("insurance", "insurance_paid_cents"), ("patient", "patient_paid_cents"),
                          ("adjustment", "adjusted_cents")):
        out[column] = pd.array(take(kind_).astype("int64"), dtype="Int64")
    out["posted_insurance_cents"] = out["insurance_paid_cents"]
    remit_columns = ("remit_paid_cents", "remit_pr_cents", "remit_adjusted_cents",
                     "remit_charge_cents")
    if n_remitted:
        remit_of = np.full(len(uniques) + 1, -1)  # by number; the last: no invoice key
        remit_of[remit_code] = np.arange(n_remitted)
        remit_at = remit_of[invoice_code]
        for column in remit_columns:
            out[column] = remitted[column].astype("Int64").array.take(remit_at, allow_fill=True)
        denied = remitted["denied"].fillna(False).astype(bool).to_numpy()
        out["denied"] = np.where(remit_at >= 0, denied[remit_at], False)
        has = out["remit_paid_cents"].notna()
        out["insurance_paid_cents"] = out["remit_paid_cents"].where(has, out["insurance_paid_cents"])
        # the remittance's contractual reductions replace write-offs posted in the payer's name
        posted_by_payer = take("by_payer").astype("int64")
        out["adjusted_cents"] = (out["adjusted_cents"] - posted_by_payer
                                 + out["remit_adjusted_cents"]).where(has, out["adjusted_cents"])
    else:
        for column in remit_columns:
            out[column] = pd.Series(pd.NA, index=out.index, dtype="Int64")
        out["denied"] = False
    out["paid_cents"] = (out["insurance_paid_cents"] + out["patient_paid_cents"]).astype("Int64")
    out["balance_cents"] = (out["billed_cents"] - out["paid_cents"] - out["adjusted_cents"]).astype("Int64")
    methods = _joined_methods(applications["method"].iloc[posted], invoice, n)
    payment_index = applications["payment_index"].to_numpy()[posted]
    mapped = len(known) > 0 and len(out) > 0  # else Series.map, for its dtypes when nothing maps
    if mapped:
        last_payment = pd.Series(payment_index[last], copy=False)
    else:  # by invoice key (an index of many keys costs a check of each)
        numbers = np.flatnonzero(applied_to)
        by_key = pd.Index(uniques[numbers], dtype=applications["invoice_key"].dtype)
        methods = methods.iloc[numbers].set_axis(by_key)
        last_payment = pd.Series(payment_index[last[numbers]], copy=False).set_axis(by_key)
    out["match_method"] = (methods.array.take(at, allow_fill=True) if mapped
                           else out["invoice_key"].map(methods))
    out["match_confidence"] = take("confidence", np.nan).astype("float64")
    out["last_payment_index"] = (last_payment.array.take(at, allow_fill=True) if mapped
                                 else out["invoice_key"].map(last_payment))
    if "in_plan" not in out:
        out["in_plan"] = False
        out["plan"] = pd.Series(pd.NA, index=out.index, dtype="object")
        out["plan_completed"] = False
    return out


def _joined_methods(match_method: pd.Series, invoice: np.ndarray, n_invoices: int) -> pd.Series:
    """`exact invoice, fuzzy reference` per invoice (numbered 0 … n_invoices - 1 in `invoice`):
    its distinct match methods, sorted."""
    if match_method.empty:
        return pd.Series(dtype="str")
    method, methods = pd.factorize(match_method)  # a handful of methods: sort those, not rows
    names = np.sort(np.asarray(methods, dtype=object))
    # the set of methods of each invoice as bits (Python ints when 63 bits do not hold them all)
    bits = "int64" if len(names) < 63 else object
    bit = np.array([1 << int(r) for r in np.searchsorted(names, methods)], dtype=bits)
    known = (invoice >= 0) & (method >= 0)
    sets = np.zeros(n_invoices, dtype=bits)
    np.bitwise_or.at(sets, invoice[known], bit[method[known]])
    which, distinct = pd.factorize(sets)
    texts = np.array([", ".join(n for r, n in enumerate(names) if s >> r & 1) for s in distinct],
                     dtype=object)
    return pd.Series(texts[which], dtype=match_method.dtype)
