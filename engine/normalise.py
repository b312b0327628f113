"""Normalise read tables into the shapes the matcher and checks work on.

Invoices arrive one row per service line; reconciliation is per invoice. Payments arrive as
postings; the engine needs to know whose money each is (insurance, patient, or a write-off that
moves no money) and which postings are the same money recorded twice, before anything is matched.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.settings import Settings

_ADJUSTMENT = r"(?i)write[\s\-]*off|adjust|contractual|discount|w/o|courtesy|bad\s*debt"
_PATIENT_PAYERS = {"SELF", "SELF PAY", "SELFPAY", "PATIENT", "GUARANTOR", "PT", "SELF PAID",
                   "PRIVATE PAY", "CASH PAY"}
_PATIENT_METHODS = r"(?i)^\s*(?:card|cash|credit\s*card|debit\s*card|visa|mastercard|amex|cc)\b"


def invoice_totals(invoices: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """One row per invoice: billed total, the first line's identity and dates, the due date."""
    lines = invoices.sort_values("row", kind="mergesort")
    g = lines.groupby("invoice_key", sort=False, dropna=True)
    first = g[["invoice", "claim", "claim_key", "patient", "patient_key", "patient_id",
               "patient_id_key", "payer", "payer_key", "sheet", "row", "source"]].first()
    dates = g[["service_date", "invoice_date", "due_date"]].min()
    out = pd.DataFrame({
        "invoice": first["invoice"],
        "claim": first["claim"].fillna(first["invoice"]),
        "patient": first["patient"],
        "patient_key": first["patient_key"],
        "patient_id": first["patient_id"],
        "patient_id_key": first["patient_id_key"],
        "payer": first["payer"],
        "payer_key": first["payer_key"],
        "service_date": dates["service_date"],
        "invoice_date": dates["invoice_date"],
        "stated_due_date": dates["due_date"],
        "billed_cents": g["amount_cents"].sum().astype("Int64"),
        "lines": g.size().astype("int64"),
        "sheet": first["sheet"],
        "row": first["row"].astype("int64"),
        "source": first["source"],
    })
    out.index.name = "invoice_key"
    out = out.reset_index()
    claim_key = first["claim_key"].to_numpy()
    out["claim_key"] = np.where(pd.isna(claim_key), first.index.to_numpy(), claim_key)
    terms = pd.to_timedelta(settings.terms_days, unit="D")
    base = out["invoice_date"].fillna(out["service_date"])
    out["due_date"] = out["stated_due_date"].fillna(base + terms)
    out["self_pay"] = out["payer_key"].isna() | out["payer_key"].isin(_PATIENT_PAYERS)
    return out


def prepare_payments(payments: pd.DataFrame) -> pd.DataFrame:
    """Label, kind and duplicate flag for each posting, keeping every read column.

    Adds `payment` (label), `kind` (insurance / patient / adjustment), `payer_adjustment` (a
    write-off posted under an insurer's name) and `duplicate`.
    """
    p = payments.copy(deep=False)  # copy-on-write: new columns only
    label = p["payment_id"].to_numpy(copy=True)
    unnamed = pd.isna(label)
    label[unnamed] = ["Payments row " + str(row) for row in p["row"].to_numpy()[unnamed]]
    p["payment"] = pd.Series(label, index=p.index, dtype=p["payment_id"].dtype)
    is_adjustment, patient_method = _contains(p["method"].fillna(""), _ADJUSTMENT, _PATIENT_METHODS)
    payer = p["payer_key"]
    is_patient = (payer.isna().to_numpy() | payer.isin(_PATIENT_PAYERS).to_numpy()
                  | (payer.to_numpy() == p["patient_key"].to_numpy()) | patient_method)
    p["kind"] = np.where(is_adjustment, "adjustment", np.where(is_patient, "patient", "insurance"))
    # a write-off on the payer's behalf: what a remittance's contractual reduction also says
    p["payer_adjustment"] = is_adjustment & ~is_patient
    p["duplicate"] = _duplicates(p, is_adjustment)
    return p


def _contains(text: pd.Series, *patterns: str) -> list[np.ndarray]:
    """`str.contains` run once per distinct value: a payments sheet uses a handful of methods."""
    codes, distinct = pd.factorize(text)
    distinct = pd.Series(distinct, dtype="str")
    return [distinct.str.contains(pattern, regex=True).to_numpy(dtype=bool)[codes]
            for pattern in patterns]


def _duplicates(p: pd.DataFrame, is_adjustment: np.ndarray) -> pd.Series:
    """The second and later postings of the same money: same payer, amount, reference and target.

    One EFT paying several claims of equal amount is normal, so the target (invoice or claim)
    must be the same too, and a posting without a reference is never called a duplicate.
    """
    target = p["invoice_key"].fillna(p["claim_key"]).to_numpy()
    reference = p["reference_key"].to_numpy()
    eligible = np.flatnonzero(~pd.isna(reference) & ~pd.isna(target) & ~is_adjustment)
    # in posting order (date, then row): the first posting of the same money is the original
    rows = eligible[np.lexsort((p["row"].to_numpy()[eligible], p["date"].to_numpy()[eligible]))]
    # object columns: plain strings hash faster than a str column
    money = pd.DataFrame({
        "payer": pd.Series(p["payer_key"].fillna("").to_numpy()[rows], dtype=object),
        "amount": p["amount_cents"].array[rows],
        "ref": pd.Series(reference[rows], dtype=object),
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
