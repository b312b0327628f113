"""Small pieces the checks share: the identifying columns of an invoice or payment finding."""

from __future__ import annotations

import pandas as pd

from engine.money import format_cents


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
    return cents.map(lambda c: format_cents(None if pd.isna(c) else int(c)))


def day_text(dates: pd.Series) -> pd.Series:
    return dates.dt.strftime("%Y-%m-%d").fillna("")


def days_between(later: pd.Timestamp, earlier: pd.Series) -> pd.Series:
    return (later - earlier).dt.days


def claim_fields(claims: pd.DataFrame, invoices: pd.DataFrame) -> dict[str, pd.Series]:
    """Claim, Invoice, Trace, Payer, Patient, Service date and Source of remitted claim rows."""
    inv = invoices.set_index("invoice_key")
    key = claims["invoice_key"]
    patient = key.map(inv["patient"]).fillna(key.map(inv["patient_id"])).fillna(claims["patient"])
    return {
        "claim": claims["claim"],
        "invoice": key.map(inv["invoice"]),
        "trace": claims["trace"],
        "payer": claims["payer"].fillna(key.map(inv["payer"])),
        "patient": patient,
        "service_date": claims["service_date"].fillna(key.map(inv["service_date"])),
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


def unreadable_payments_note(ctx, invoice_keys: pd.Series) -> pd.Series:
    """For each invoice, " Payments row 84 names this invoice but could not be read, ..." when a
    left-out payment row names it (its money is not counted until the row is corrected), else ""."""
    rows = ctx.left_out.get("Payments")
    if rows is None or rows.empty:
        return pd.Series("", index=invoice_keys.index, dtype="object")
    named = rows["invoice_key"].fillna(rows["claim_key"]).astype("object")
    sources = rows["source"].astype("object")[named.notna()]
    named = named[named.notna()]
    out = pd.Series("", index=invoice_keys.index, dtype="object")
    if named.empty:
        return out
    where = sources.groupby(named.to_numpy(), sort=False).agg(" and ".join)
    count = named.value_counts()
    found = invoice_keys.map(where)
    hit = found.notna().to_numpy()
    tail = invoice_keys[hit].map(count).gt(1).map({
        True: " name this invoice but could not be read, so their money is not counted until "
              "they are corrected.",
        False: " names this invoice but could not be read, so its money is not counted until it "
               "is corrected."})
    out[hit] = " " + found[hit].astype(str) + tail
    return out
