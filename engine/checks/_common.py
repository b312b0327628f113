"""Small pieces the checks share: the identifying columns of an invoice, payment or claim
finding, and what several checks derive from the same run (computed once, see per_context)."""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pandas as pd

from engine.context import Context
from engine.money import money_texts

T = TypeVar("T")
_TEXT = pd.api.types.pandas_dtype("str")  # once: a dtype name costs a registry lookup per use


def invoice_fields(t: pd.DataFrame) -> dict[str, pd.Series]:
    """Invoice, Claim, Patient, Payer, Service date and Source of invoice_totals rows."""
    return {
        "invoice": t["invoice"],
        "claim": t["claim"].where(t["claim"] != t["invoice"], None),
        "patient": t["patient"].fillna(t["patient_id"]),
        "payer": t["payer"].fillna("Self-pay"),
        "service_date": t["service_date"],
        "source": t["source"],
        "source_sheet": t["sheet"],
        "source_row": t["row"],
    }


def payment_fields(p: pd.DataFrame) -> dict[str, pd.Series]:
    return {
        "payment": p["payment"],
        "patient": p["patient"].fillna(p["patient_id"]),
        "payer": p["payer"],
        "trace": p["reference"],
        "source": p["source"],
        "source_sheet": p["sheet"],
        "source_row": p["row"],
    }


def money(cents: pd.Series) -> pd.Series:
    """Amounts as text for explanations: $1,234.50."""
    return money_texts(cents)


def day_text(dates: pd.Series) -> pd.Series:
    return dates.dt.strftime("%Y-%m-%d").fillna("")


def days_between(later: pd.Timestamp, earlier: pd.Series) -> pd.Series:
    return (later - earlier).dt.days


def per_context(compute: Callable[[Context], T]) -> Callable[[Context], T]:
    """`compute(ctx)` once per Context, for what several checks derive from the same run.

    The last result is kept beside a weak reference to its Context and handed out again for that
    same Context: a Context is frozen and checks never modify what they read, so the answer
    cannot change, and the function stays pure. Callers must not modify the result.
    """
    last: tuple[weakref.ref, T] | None = None

    def forget(ref: weakref.ref) -> None:  # the run is over: do not keep its tables alive
        nonlocal last
        if last is not None and last[0] is ref:
            last = None

    @functools.wraps(compute)
    def once(ctx: Context) -> T:
        nonlocal last
        kept = last  # read once: another thread's run may replace it meanwhile
        if kept is not None and kept[0]() is ctx:
            return kept[1]
        result = compute(ctx)
        last = (weakref.ref(ctx, forget), result)
        return result
    return once


@per_context
def invoices_by_key(ctx: Context) -> pd.DataFrame:
    """invoice_totals indexed by invoice_key, for looking invoices up from other tables."""
    return ctx.invoice_totals.set_index("invoice_key")


@per_context
def claim_invoice_at(ctx: Context) -> np.ndarray:
    """The invoice_totals position of each remitted claim's invoice (-1: none, a claim without an
    invoice key included: invoice_totals has no missing key), in claims order.

    Checks that add up claims per invoice join on these integers: as match_remits found them
    (Context.claim_invoice_at), else looking a million text keys up once, not once per check."""
    claims = remit_claims(ctx)
    if claims.empty:
        return np.empty(0, dtype=np.intp)
    if ctx.claim_invoice_at is not None:
        at = ctx.claim_invoice_at.view()  # read-only below, not the Context's own array
    else:
        at = invoices_by_key(ctx).index.get_indexer(claims["invoice_key"])
    at.flags.writeable = False  # shared by the checks of the run
    return at


@per_context
def claim_has_invoice(ctx: Context) -> np.ndarray:
    """Whether each remitted claim names an invoice (its invoice_key is not missing), in claims
    order: once for every check that asks. A claim whose invoice was found has a key
    (invoice_totals has no missing key), so only the others' keys are looked at."""
    claims = remit_claims(ctx)
    if claims.empty:
        return np.empty(0, dtype=bool)
    has = claim_invoice_at(ctx) >= 0
    unknown = np.flatnonzero(~has)
    has[unknown] = pd.notna(claims["invoice_key"].array[unknown])
    has.flags.writeable = False  # shared by the checks of the run
    return has


@per_context
def remitted(ctx: Context) -> pd.Series:
    """Whether each invoice_totals row has a remitted claim (by the positions of
    claim_invoice_at, not by looking the text keys up again)."""
    t = ctx.invoice_totals
    hit = np.zeros(len(t), dtype=bool)
    at = claim_invoice_at(ctx)
    hit[at[at >= 0]] = True
    return pd.Series(hit, index=t.index, name="invoice_key")


@per_context
def _claim_invoice_fields(ctx: Context) -> tuple[pd.Index, dict]:
    """The invoice keys, and the invoice columns claim_fields reads as arrays in the same order."""
    by_key = invoices_by_key(ctx)
    return by_key.index, {name: by_key[name].array
                          for name in ("invoice", "patient", "patient_id", "payer", "service_date")}


def claim_fields(claims: pd.DataFrame, ctx: Context) -> dict[str, pd.Series]:
    """Claim, Invoice, Trace, Payer, Patient, Service date and Source of remitted claim rows."""
    keys, columns = _claim_invoice_fields(ctx)
    at = keys.get_indexer(claims["invoice_key"])  # -1: no such invoice, so missing
    inv = {name: values.take(at, allow_fill=True) for name, values in columns.items()}

    def series(values, name: str) -> pd.Series:
        return pd.Series(values, index=claims.index, name=name)
    return {
        "claim": claims["claim"],
        "invoice": series(inv["invoice"], "invoice"),
        "trace": claims["trace"],
        "payer": series(_first_present(claims["payer"].array, inv["payer"]), "payer"),
        "patient": series(_first_present(inv["patient"], inv["patient_id"],
                                         claims["patient"].array), "patient"),
        "service_date": series(_first_present(claims["service_date"].array,
                                              inv["service_date"]), "service_date"),
        "source": claims["source"],
        "source_sheet": claims["file"],
        "source_row": claims["segment"],
    }


def _first_present(values, *fallbacks):
    """`values.fillna(fallback)...` of same-length arrays, without building a Series for each."""
    out = values
    for fallback in fallbacks:
        if out.dtype != fallback.dtype:
            out = pd.Series(out).fillna(pd.Series(fallback)).array
            continue
        missing = out.isna()
        if missing.any():
            out = out.copy()
            out[missing] = fallback[missing]
    return out.copy() if out is values else out  # not a view of the caller's table


def claim_key(claims: pd.DataFrame, suffix: str | pd.Series = "") -> pd.Series:
    """Stable identity of a remitted claim: trace, claim number and status, not the file name."""
    key = (_texts(claims["trace_key"]) + "|" + _texts(claims["claim_key"]) + "|"
           + _texts(claims["status"]))
    if isinstance(suffix, str):
        return pd.Series(key + suffix, index=claims.index, dtype=_TEXT)
    return pd.Series(key, index=claims.index, dtype=_TEXT) + suffix


def _texts(column: pd.Series) -> np.ndarray:
    """`column.fillna("").astype(str)` as an array of Python str, in numpy rather than pandas."""
    if column.dtype == _TEXT:
        values = column.to_numpy(dtype=object)
        return np.where(pd.isna(values), "", values)
    return column.fillna("").astype(str).to_numpy(dtype=object)


def remit_claims(ctx) -> pd.DataFrame:
    claims = ctx.remits.get("claims")
    return claims if claims is not None else pd.DataFrame()


def text_or_none(df: pd.DataFrame, name: str) -> pd.Series:
    """A text column with None for missing values (or all None when the column is absent)."""
    if name not in df:
        return pd.Series(None, index=df.index, dtype=object)
    s = df[name].astype(object)
    return s.where(s.notna(), None)


def deposit_column(ctx, index: pd.Series, column: str) -> pd.Series:
    """A column of the Deposits table for the deposit labels in `index`."""
    deposits = ctx.table("Deposits")
    if column in deposits:
        return index.map(deposits[column])
    return pd.Series(None, index=index.index, dtype=object)


_LINE_SAYS = (  # one row, several rows
    " of this invoice could not be read, so its amount is not counted until it is corrected.",
    (" of this invoice could not be read, so their amounts are not counted until they are "
     "corrected."))
_PAYMENT_SAYS = (
    (" names this invoice but could not be read, so its money is not counted until it is "
     "corrected."),
    (" name this invoice but could not be read, so their money is not counted until they are "
     "corrected."))


def _listing(sources: pd.Series) -> str:
    items = list(dict.fromkeys(sources))
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def unreadable_note(ctx, invoices: pd.DataFrame) -> pd.Series:
    """For each invoice row of `invoices` (invoice_totals rows), a sentence when rows that could
    not be read belong to it (`Context.unreadable_rows`), because its balance leaves them out
    until they are corrected; else ""."""
    out = pd.Series("", index=invoices.index, dtype=object)
    for sheet, sources_by_invoice in ctx.unreadable_rows(invoices).items():
        says = _LINE_SAYS if sheet == "Invoices" else _PAYMENT_SAYS
        text = {key: _listing(found) + says[len(set(found)) > 1]
                for key, found in sources_by_invoice.items()}
        note = invoices["invoice_key"].map(text)
        out = out + np.where(note.notna(), " " + note.fillna(""), "")
    return out
