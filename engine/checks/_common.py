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
def remitted(ctx: Context) -> pd.Series:
    """Whether each invoice_totals row has a remitted claim."""
    claims = ctx.remits.get("claims")
    keys = claims["invoice_key"].dropna() if claims is not None and len(claims) else ()
    return ctx.invoice_totals["invoice_key"].isin(keys)


@per_context
def _claim_invoice_fields(ctx: Context) -> pd.DataFrame:
    return invoices_by_key(ctx)[["invoice", "patient", "patient_id", "payer", "service_date"]]


def claim_fields(claims: pd.DataFrame, ctx: Context) -> dict[str, pd.Series]:
    """Claim, Invoice, Trace, Payer, Patient, Service date and Source of remitted claim rows."""
    inv = (_claim_invoice_fields(ctx).reindex(claims["invoice_key"].to_numpy())
           .set_axis(claims.index))
    return {
        "claim": claims["claim"],
        "invoice": inv["invoice"],
        "trace": claims["trace"],
        "payer": claims["payer"].fillna(inv["payer"]),
        "patient": inv["patient"].fillna(inv["patient_id"]).fillna(claims["patient"]),
        "service_date": claims["service_date"].fillna(inv["service_date"]),
        "source": claims["source"],
        "source_sheet": claims["file"],
        "source_row": claims["segment"],
    }


def claim_key(claims: pd.DataFrame, suffix: str = "") -> pd.Series:
    """Stable identity of a remitted claim: trace, claim number and status, not the file name."""
    return (claims["trace_key"].fillna("").astype(str) + "|" + claims["claim_key"].fillna("").astype(str)
            + "|" + claims["status"].fillna("").astype(str) + suffix)


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
    return pd.Series(None, index=index.index, dtype="object")


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
    not be read belong to it — a line of the invoice, or a payment naming its invoice or claim
    number in any column — because its balance leaves them out until they are corrected; else ""."""
    out = pd.Series("", index=invoices.index, dtype="object")
    if not ctx.left_out:
        return out
    numbers = pd.concat([pd.DataFrame({"invoice_key": invoices["invoice_key"].to_numpy(),
                                       "key": invoices[k].to_numpy(dtype=object)})
                         for k in ("invoice_key", "claim_key")], ignore_index=True).dropna()
    for sheet, fields, says in (("Invoices", ("invoice_key",), _LINE_SAYS),
                                ("Payments", ("invoice_key", "claim_key", "reference_key"),
                                 _PAYMENT_SAYS)):
        rows = ctx.left_out.get(sheet)
        if rows is None or rows.empty:
            continue
        named = pd.concat([pd.DataFrame({"key": rows[f].to_numpy(dtype=object),
                                         "source": rows["source"].to_numpy(dtype=object)})
                           for f in fields], ignore_index=True).dropna()
        pairs = numbers.merge(named, on="key").drop_duplicates(["invoice_key", "source"])
        if pairs.empty:
            continue
        grouped = pairs.groupby("invoice_key", sort=False)["source"]
        text = grouped.agg(_listing) + grouped.size().gt(1).map({False: says[0], True: says[1]})
        note = invoices["invoice_key"].map(text)
        out = out + np.where(note.notna(), " " + note.fillna(""), "")
    return out
