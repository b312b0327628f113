"""Findings: the one table every check produces and every writer shows.

A check returns a DataFrame with the columns of FINDING_COLUMNS (snake_case; missing ones are
filled here) plus `key`: the identity of the underlying problem (for example the invoice's
matching key). `finalize` turns type + key into the stable `id`, so the same problem gets the
same ID on every run and staff notes can follow it. Money columns are Int64 cents;
`difference` is always actual − expected where both are known.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

TYPES = (
    "OVERDUE", "SHORT_PAID", "OVERPAID", "DUPLICATE_PAYMENT", "UNAPPLIED_PAYMENT",
    "MISAPPLIED_PAYMENT", "DUPLICATE_INVOICE",
    "DENIED", "UNDERPAID", "PAYER_OVERPAID", "PATIENT_RESPONSIBILITY", "CHARGE_MISMATCH",
    "REMIT_WITHOUT_CLAIM", "CLAIM_WITHOUT_REMIT", "REVERSAL", "RECOUPMENT", "REMIT_UNBALANCED",
    "POSTING_MISMATCH",
    "ERA_WITHOUT_DEPOSIT", "DEPOSIT_WITHOUT_ERA", "DEPOSIT_AMOUNT_MISMATCH",
    "PLAN_MISSED_INSTALLMENT", "PLAN_SHORT_INSTALLMENT",
    "INVALID_ROW",
)
SEVERITIES = ("high", "medium", "low", "info")

# (snake_case export header, sheet header, kind)
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("id", "ID", "text"),
    ("type", "Type", "text"),
    ("severity", "Severity", "text"),
    ("invoice", "Invoice", "text"),
    ("claim", "Claim", "text"),
    ("payment", "Payment", "text"),
    ("trace", "Trace", "text"),
    ("plan", "Plan", "text"),
    ("patient", "Patient", "text"),
    ("payer", "Payer", "text"),
    ("service_date", "Service date", "date"),
    ("expected", "Expected", "money"),
    ("actual", "Actual", "money"),
    ("difference", "Difference", "money"),
    ("reason", "Reason", "text"),
    ("explanation", "Explanation", "text"),
    ("action", "Action", "text"),
    ("source", "Source", "text"),
    ("status", "Status", "text"),
    ("owner", "Owner", "text"),
    ("note", "Note", "text"),
)
FINDING_COLUMNS = tuple(c[0] for c in COLUMNS)
MONEY_COLUMNS = ("expected", "actual", "difference")
STAFF_COLUMNS = ("status", "owner", "note")
# internal columns kept beside the contract ones: where the source row is, for links
EXTRA_COLUMNS = ("key", "source_sheet", "source_row", "amount")

_SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def empty() -> pd.DataFrame:
    return normalize(pd.DataFrame({"type": pd.Series([], dtype="str")}))


def normalize(df: pd.DataFrame) -> pd.DataFrame:
    """Give a check's output every contract column with its dtype, in order."""
    columns: dict[str, pd.Series] = {}
    absent = pd.Series(pd.NA, index=df.index, dtype="object")
    for name, _header, kind in COLUMNS:
        col = df.get(name, absent)
        if kind == "money":
            columns[name] = col.astype("Int64")
        elif kind == "date":
            columns[name] = pd.to_datetime(col, errors="coerce").astype("datetime64[us]")
        elif name in df:
            columns[name] = object_column(col.to_numpy(dtype=object), col.index)
        else:
            columns[name] = pd.Series([None] * len(df), index=df.index, dtype="object")
    for name in EXTRA_COLUMNS:
        columns[name] = df.get(name, absent)
    columns["difference"] = columns["difference"].fillna(
        columns["actual"] - columns["expected"]).astype("Int64")
    return pd.DataFrame(columns, index=df.index)


def object_column(values, index: pd.Index | None = None) -> pd.Series:
    """The values as an object column of Python objects (not inferred as `str`), with None (not
    NaN or NA) where missing: how finding and plan tables hold text."""
    values = np.asarray(values, dtype=object)
    return pd.Series(np.where(pd.isna(values), None, values), index=index, dtype="object")


PREFIX = {
    "OVERDUE": "OVD", "SHORT_PAID": "SHP", "OVERPAID": "OVP", "DUPLICATE_PAYMENT": "DPY",
    "UNAPPLIED_PAYMENT": "UAP", "MISAPPLIED_PAYMENT": "MAP", "DUPLICATE_INVOICE": "DIN",
    "DENIED": "DEN", "UNDERPAID": "UND", "PAYER_OVERPAID": "POV", "PATIENT_RESPONSIBILITY": "PTR",
    "CHARGE_MISMATCH": "CHG", "REMIT_WITHOUT_CLAIM": "RWC", "CLAIM_WITHOUT_REMIT": "CWR",
    "REVERSAL": "REV", "RECOUPMENT": "RCP", "REMIT_UNBALANCED": "RUB", "POSTING_MISMATCH": "PST",
    "ERA_WITHOUT_DEPOSIT": "EWD", "DEPOSIT_WITHOUT_ERA": "DWE", "DEPOSIT_AMOUNT_MISMATCH": "DAM",
    "PLAN_MISSED_INSTALLMENT": "PMI", "PLAN_SHORT_INSTALLMENT": "PSI", "INVALID_ROW": "INV",
}


def make_id(types: pd.Series, keys: pd.Series) -> pd.Series:
    """Stable finding IDs: a short readable prefix of the type and a hash of type + key."""
    def one(t: str, k: str) -> str:
        digest = hashlib.sha1(f"{t}|{k}".encode()).hexdigest()[:10].upper()
        return f"{PREFIX.get(t, 'FND')}-{digest}"
    return pd.Series([one(t, k) for t, k in zip(types, keys.astype(str))], index=types.index,
                     dtype="object")


def finalize(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate the checks' findings, assign IDs, order deterministically."""
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return empty()
    df = normalize(pd.concat(frames, ignore_index=True))
    df["key"] = df["key"].astype(str)
    df["id"] = make_id(df["type"], df["key"])
    # the same problem reported twice (e.g. by two routes) is one finding
    df = df.drop_duplicates("id", keep="first")
    rank = df["severity"].map(_SEVERITY_RANK).fillna(len(SEVERITIES))
    type_rank = df["type"].map({t: i for i, t in enumerate(TYPES)}).fillna(len(TYPES))
    df = (df.assign(_r=rank, _t=type_rank)
            .sort_values(["_r", "_t", "source_sheet", "source_row", "id"], kind="mergesort",
                         na_position="last")
            .drop(columns=["_r", "_t"]).reset_index(drop=True))
    return df


def severity_by_days(days: pd.Series, medium: int = 30, high: int = 90) -> pd.Series:
    """low up to `medium` days, medium up to `high`, high beyond."""
    out = pd.Series("low", index=days.index, dtype="object")
    out[days > medium] = "medium"
    out[days > high] = "high"
    return out
