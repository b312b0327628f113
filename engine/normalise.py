"""Normalise read tables into the shapes the matcher and checks work on.

Invoices arrive one row per service line; reconciliation is per invoice. Payments arrive as
postings; the engine needs to know whose money each is (insurance, patient, or a write-off that
moves no money) and which postings are the same money recorded twice, before anything is matched.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.positions import first_of_each
from engine.settings import Settings

_ADJUSTMENT = r"(?i)write[\s\-]*off|adjust|contractual|discount|w/o|courtesy|bad\s*debt"
_PATIENT_PAYERS = {"SELF", "SELF PAY", "SELFPAY", "PATIENT", "GUARANTOR", "PT", "SELF PAID",
                   "PRIVATE PAY", "CASH PAY"}
_PATIENT_METHODS = r"(?i)^\s*(?:card|cash|credit\s*card|debit\s*card|visa|mastercard|amex|cc)\b"


def invoice_totals(invoices: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """One row per invoice: billed total, the first line's identity and dates, the due date.

    What a groupby on the invoice key in row order gives (invoices in the order of their first
    line, each column's first value that is not missing), but the key is numbered once and the
    figures add up on the numbers: grouping ten string columns cost more than all the rest.
    """
    row = invoices["row"].to_numpy()
    in_order = bool((row[1:] >= row[:-1]).all())  # as read: no need to reorder the keys
    lines = np.arange(len(row)) if in_order else np.argsort(row, kind="stable")  # in row order
    keys = invoices["invoice_key"].to_numpy()
    invoice = pd.factorize(keys if in_order else keys[lines])[0]  # -1: no invoice key
    # numbered in order of appearance: an invoice's first line has a number above all before it
    first = first_of_each(invoice)
    n = len(first)
    of_line = np.full(len(invoices), -1)  # each line's invoice number, by position in `invoices`
    of_line[lines] = invoice
    keyed = of_line >= 0
    size = np.bincount(of_line[keyed], minlength=n)

    def first_of(column: str):
        return _first_valid(invoices[column].array, lines, invoice, first, size > 1)

    def earliest(column: str) -> np.ndarray:
        return _least(invoices[column].to_numpy(), of_line, n)

    billed = np.zeros(n, dtype="int64")
    np.add.at(billed, of_line[keyed],
              invoices["amount_cents"].to_numpy(dtype="int64", na_value=0)[keyed])
    key = invoices["invoice_key"].array.take(lines[first])
    invoice_text = first_of("invoice")
    # no claim number: the invoice's is the claim's (filled in place: a fillna copies)
    claim, claim_key = first_of("claim"), first_of("claim_key")
    blank = claim.isna()
    claim[blank] = invoice_text[blank]
    blank = claim_key.isna()
    claim_key[blank] = key[blank]
    out = pd.DataFrame({
        "invoice_key": key,
        "invoice": invoice_text,
        "claim": claim,
        "patient": first_of("patient"),
        "patient_key": first_of("patient_key"),
        "patient_id": first_of("patient_id"),
        "patient_id_key": first_of("patient_id_key"),
        "payer": first_of("payer"),
        "payer_key": first_of("payer_key"),
        "service_date": earliest("service_date"),
        "invoice_date": earliest("invoice_date"),
        "stated_due_date": earliest("due_date"),
        "billed_cents": pd.array(billed, dtype="Int64"),
        "lines": size.astype("int64"),
        "sheet": first_of("sheet"),
        "row": first_of("row").astype("int64"),
        "source": first_of("source"),
        "claim_key": claim_key,
    }, copy=False)  # every column is new
    if not n:  # as it has always been with no invoices
        out["claim_key"] = out["claim_key"].astype(object)
    terms = pd.to_timedelta(settings.terms_days, unit="D")
    base = out["invoice_date"].fillna(out["service_date"])
    out["due_date"] = out["stated_due_date"].fillna(base + terms)
    out["self_pay"] = out["payer_key"].isna() | out["payer_key"].isin(_PATIENT_PAYERS)
    return out


def _first_valid(values, lines: np.ndarray, invoice: np.ndarray, first: np.ndarray,
                 several: np.ndarray):
    """Each invoice's first of `values` (an array, by line) that is not missing (NA if none).

    `lines`: positions in row order, `invoice`: the invoice number of each (-1: none), `first`:
    each invoice's first of them, `several`: whether it has more than one line. Only those can
    have a value further down when the first is missing, and they are few: only their lines are
    looked at.
    """
    at = lines[first]
    several = np.flatnonzero(several)
    blank = several[pd.isna(values.take(at[several]))]
    if len(blank):
        wanted = np.zeros(len(first) + 1, dtype=bool)  # by invoice number; the last: none (-1)
        wanted[blank] = True
        rows = np.flatnonzero(wanted[invoice])  # of `lines`, in row order
        rows = rows[~pd.isna(values.take(lines[rows]))]
        found, its_first = np.unique(invoice[rows], return_index=True)
        at = at.copy()
        at[blank] = -1
        at[found] = lines[rows[its_first]]
    return values.take(at, allow_fill=True)


def _least(dates: np.ndarray, of_line: np.ndarray, n: int) -> np.ndarray:
    """The earliest of datetime64 `dates` of each invoice (`of_line`: each date's invoice number,
    -1: none), missing dates skipped; NaT when all are missing."""
    ints = dates.view("int64")
    known = (of_line >= 0) & ~np.isnat(dates)
    none = np.iinfo(np.int64).max
    least = np.full(n, none)
    np.minimum.at(least, of_line[known], ints[known])
    least[least == none] = np.datetime64("NaT").astype(dates.dtype).view("int64")
    return least.view(dates.dtype)


def prepare_payments(payments: pd.DataFrame) -> pd.DataFrame:
    """Label, kind and duplicate flag for each posting, keeping every read column.

    Adds `payment` (label), `kind` (insurance / patient / adjustment), `payer_adjustment` (a
    write-off posted under an insurer's name) and `duplicate`.
    """
    p = payments.copy(deep=False)  # copy-on-write: new columns only
    payment = p["payment_id"]
    unnamed = payment.isna().to_numpy()
    if unnamed.any():
        payment = payment.copy()
        payment[unnamed] = ["Payments row " + str(row) for row in p["row"].to_numpy()[unnamed]]
    p["payment"] = payment
    is_adjustment, patient_method = _contains(p["method"], _ADJUSTMENT, _PATIENT_METHODS)
    # payers numbered once: few, so asking each is cheap (no payer: the patient's own money)
    payer, payers = pd.factorize(p["payer_key"])
    is_patient = (np.append(payers.isin(_PATIENT_PAYERS), True)[payer]
                  | (p["payer_key"].to_numpy() == p["patient_key"].to_numpy()) | patient_method)
    kind = np.where(is_adjustment, 2, np.where(is_patient, 1, 0))
    p["kind"] = pd.Series(["insurance", "patient", "adjustment"]).array.take(kind)
    # a write-off on the payer's behalf: what a remittance's contractual reduction also says
    p["payer_adjustment"] = is_adjustment & ~is_patient
    p["duplicate"] = _duplicates(p, is_adjustment)
    return p


def _contains(text: pd.Series, *patterns: str) -> list[np.ndarray]:
    """`str.contains` run once per distinct value: a payments sheet uses a handful of methods.
    A missing value is taken as ""."""
    codes, distinct = pd.factorize(text)
    distinct = pd.Series(np.append(distinct.to_numpy(dtype=object), ""), dtype="str")
    return [distinct.str.contains(pattern, regex=True).to_numpy(dtype=bool)[codes]  # -1: ""
            for pattern in patterns]


def _duplicates(p: pd.DataFrame, is_adjustment: np.ndarray) -> pd.Series:
    """The second and later postings of the same money: same payer, amount, reference and target.

    One EFT paying several claims of equal amount is normal, so the target (invoice or claim)
    must be the same too, and a posting without a reference is never called a duplicate.
    A posting that shares its amount and target with no other is none (nearly all are such):
    those two are compared first, as numbers, and only the few postings left in full.
    """
    target = p["invoice_key"].fillna(p["claim_key"]).to_numpy()
    target_code = pd.factorize(target)[0]  # -1: no target
    amount_code = pd.factorize(p["amount_cents"].array, use_na_sentinel=False)[0]
    rows = np.flatnonzero((target_code >= 0) & ~is_adjustment)
    pair = target_code[rows] * (amount_code.max(initial=0) + 1) + amount_code[rows]
    rows = rows[pd.Index(pair).duplicated(keep=False)]
    reference = p["reference_key"].to_numpy()[rows]
    rows, reference = rows[~pd.isna(reference)], reference[~pd.isna(reference)]
    # in posting order (date, then row): the first posting of the same money is the original
    order = np.lexsort((p["row"].to_numpy()[rows], p["date"].to_numpy()[rows]))
    rows, reference = rows[order], reference[order]
    # object columns: plain strings hash faster than a str column
    money = pd.DataFrame({
        "payer": pd.Series(p["payer_key"].to_numpy()[rows], dtype=object).fillna(""),
        "amount": p["amount_cents"].array[rows],
        "ref": pd.Series(reference, dtype=object),
        "target": pd.Series(target[rows], dtype=object)})
    dup = np.zeros(len(p), dtype=bool)
    dup[rows] = money.duplicated(keep="first").to_numpy()
    return pd.Series(dup, index=p.index)


WAITING_COLUMNS = ("payment_index", "named", "source")


def waiting_payments(payments: pd.DataFrame, left_out: pd.DataFrame | None,
                     invoices: pd.DataFrame) -> pd.DataFrame:
    """Payments that name an invoice whose row could not be read (no readable invoice has that
    number): (payment_index, named = the number as typed on the payment, source = where the
    unreadable row is). Named in the Invoice or Claim column; in the Reference column only by the
    same patient, because a reference is often a check number that can equal any number."""
    empty = pd.DataFrame({c: pd.Series([], dtype="object") for c in WAITING_COLUMNS})
    if left_out is None or left_out.empty or payments.empty:
        return empty
    known = set(invoices["invoice_key"]) | set(invoices["claim_key"].dropna())
    rows = pd.concat([pd.DataFrame({
        "key": left_out[k].to_numpy(dtype=object),
        "source": left_out["source"].to_numpy(dtype=object),
        "row_patient": left_out["patient_id_key"].to_numpy(dtype=object)})
        for k in ("invoice_key", "claim_key")], ignore_index=True)
    rows = rows[rows["key"].notna() & ~rows["key"].isin(known)].drop_duplicates("key")
    patient = payments["patient_id_key"].to_numpy(dtype=object)
    parts = []
    for order, field in enumerate(("invoice", "claim", "reference")):
        has = payments[f"{field}_key"].notna().to_numpy()
        parts.append(pd.DataFrame({
            "payment_index": payments.index[has], "order": order, "field": field,
            "key": payments[f"{field}_key"].to_numpy(dtype=object)[has],
            "named": payments[field].to_numpy(dtype=object)[has], "patient": patient[has]}))
    m = pd.concat(parts, ignore_index=True).merge(rows, on="key")
    same = m["row_patient"].isna() | m["patient"].isna() | (m["row_patient"] == m["patient"])
    m = m[(m["field"] != "reference") | same]
    m = m.sort_values(["payment_index", "order"], kind="mergesort").drop_duplicates(
        "payment_index")
    return m[list(WAITING_COLUMNS)].astype("object").reset_index(drop=True)
