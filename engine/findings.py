"""Findings: the one table every check produces and every writer shows.

A check returns a DataFrame with the columns of FINDING_COLUMNS (snake_case; missing ones are
filled here) plus `key`: the identity of the underlying problem (for example the invoice's
matching key). `finalize` turns type + key into the stable `id`, so the same problem gets the
same ID on every run and staff notes can follow it. Money columns are Int64 cents;
`difference` is always actual − expected where both are known.

Checks build their frame with `index=` their rows' index and `copy=False`: without the index
pandas first unions the indexes of all the columns, which costs more than many a small check.
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
# dtypes as objects: a dtype given by name costs a registry lookup (tens of µs) on every use
_INT64 = pd.Int64Dtype()
_MICROSECONDS = np.dtype("datetime64[us]")
_TEXT = pd.api.types.pandas_dtype("str")


def empty() -> pd.DataFrame:
    return normalize(pd.DataFrame({"type": pd.Series([], dtype="str")}))


def normalize(df: pd.DataFrame) -> pd.DataFrame:
    """Give a check's output every contract column with its dtype, in order."""
    columns: dict[str, pd.Series] = {}
    absent = pd.Series(pd.NA, index=df.index, dtype=object)
    for name, _header, kind in COLUMNS:
        col = df.get(name, absent)
        if kind == "money":
            columns[name] = col.astype(_INT64)
        elif kind == "date":
            columns[name] = pd.to_datetime(col, errors="coerce").astype(_MICROSECONDS)
        elif name in df:
            columns[name] = object_column(col.to_numpy(dtype=object), col.index)
        else:
            columns[name] = pd.Series([None] * len(df), index=df.index, dtype=object)
    for name in EXTRA_COLUMNS:
        columns[name] = df.get(name, absent)
    columns["difference"] = columns["difference"].fillna(
        columns["actual"] - columns["expected"]).astype(_INT64)
    return pd.DataFrame(columns, index=df.index)


def object_column(values, index: pd.Index | None = None) -> pd.Series:
    """The values as an object column of Python objects (not inferred as `str`), with None (not
    NaN or NA) where missing: how finding and plan tables hold text."""
    values = np.asarray(values, dtype=object)
    return pd.Series(np.where(pd.isna(values), None, values), index=index, dtype=object)


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
    return pd.Series([one(t, k) for t, k in zip(types.tolist(), keys.astype(str).tolist())],
                     index=types.index, dtype=object)


def _stacked(frames: list[pd.DataFrame]) -> dict[str, pd.Series] | None:
    """The columns of `normalize(pd.concat(frames, ignore_index=True))`, built from numpy arrays.

    The checks hand over a couple of dozen small frames whose columns differ in dtype; pd.concat's
    block bookkeeping for them costs tens of milliseconds even for a few rows. None when a column
    is held in a dtype not handled here (then pd.concat decides, as before).
    """
    sizes = [len(f) for f in frames]
    index = pd.RangeIndex(sum(sizes))
    # each frame's columns taken once, by position: a look-up by name costs several times more
    by_name = [dict(f.items()) for f in frames]
    columns: dict[str, pd.Series] = {}
    money: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # (cents, missing)
    for name, _header, kind in COLUMNS:
        parts = [f.get(name) for f in by_name]
        dtypes = {p.dtype for p in parts if p is not None}
        if kind == "money":
            if not dtypes <= {np.dtype("int64"), _INT64}:
                return None
            cents = np.concatenate([_cents(p, n) for p, n in zip(parts, sizes)])
            missing = np.concatenate([np.ones(n, bool) if p is None else p.array.isna()
                                      for p, n in zip(parts, sizes)])
            if name == "difference":  # actual − expected where both are known and it is not
                (actual, no_actual), (expected, no_expected) = money["actual"], money["expected"]
                filled = missing & ~no_actual & ~no_expected
                cents = np.where(filled, actual - expected, cents)
                missing = missing & ~filled
            money[name] = cents, missing
            columns[name] = pd.Series(pd.arrays.IntegerArray(cents, missing), index=index)
        elif kind == "date":
            if not all(isinstance(d, np.dtype) and d.kind == "M" for d in dtypes):
                return None
            columns[name] = pd.Series(np.concatenate([
                np.full(n, np.datetime64("NaT", "us")) if p is None
                else p.to_numpy().astype(_MICROSECONDS) for p, n in zip(parts, sizes)]),
                index=index)
        else:
            if not dtypes <= {np.dtype(object), _TEXT}:
                return None
            columns[name] = object_column(np.concatenate([
                np.full(n, None) if p is None else p.to_numpy(dtype=object)
                for p, n in zip(parts, sizes)]), index)
    for name in EXTRA_COLUMNS:  # kept as pd.concat joins them, when every frame has them
        present = sum(name in f for f in by_name)
        if present == len(frames):
            columns[name] = _joined([f[name] for f in by_name], index)
        elif present:
            return None
        else:
            columns[name] = pd.Series(pd.NA, index=index, dtype=object)
    return columns


def _joined(parts: list[pd.Series], index: pd.RangeIndex) -> pd.Series:
    """`pd.concat(parts, ignore_index=True)`; text (str and object) joined in numpy."""
    dtypes = {p.dtype for p in parts}
    if not dtypes <= {np.dtype(object), _TEXT}:
        return pd.concat(parts, ignore_index=True, sort=False)
    return pd.Series(np.concatenate([p.to_numpy(dtype=object) for p in parts]), index=index,
                     dtype=dtypes.pop() if len(dtypes) == 1 else object)


def _cents(money: pd.Series | None, size: int) -> np.ndarray:
    if money is None:
        return np.zeros(size, dtype="int64")
    return money.to_numpy(dtype="int64", na_value=0)


def finalize(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate the checks' findings, assign IDs, order deterministically."""
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return empty()
    columns = _stacked(frames)
    if columns is None:
        df = normalize(pd.concat(frames, ignore_index=True))
        columns = {name: df[name] for name in df.columns}
    key = columns["key"].astype(str)
    ids = make_id(columns["type"], key)
    # the same problem reported twice (e.g. by two routes) is one finding
    first = np.flatnonzero(~ids.duplicated(keep="first").to_numpy())
    rank = columns["severity"].map(_SEVERITY_RANK).fillna(len(SEVERITIES))
    type_rank = columns["type"].map({t: i for i, t in enumerate(TYPES)}).fillna(len(TYPES))
    # by severity, type, source sheet and row, id: missing last, ties in row order
    order = first[np.lexsort((_sort_codes(ids, first), _sort_codes(columns["source_row"], first),
                              _sort_codes(columns["source_sheet"], first),
                              type_rank.to_numpy()[first], rank.to_numpy()[first]))]
    df = pd.DataFrame(columns | {"key": key, "id": ids}, index=key.index, copy=False)
    return df.take(order).reset_index(drop=True)


def _sort_codes(column: pd.Series, rows: np.ndarray) -> np.ndarray:
    """Each of `rows`' values as its position among their sorted distinct values, missing ones
    after all: how DataFrame.sort_values(na_position="last") orders one of several columns it
    sorts by, without building the frame."""
    values = (column.array[rows] if isinstance(column.dtype, pd.api.extensions.ExtensionDtype)
              else column.to_numpy()[rows])  # pd.factorize cannot sort a NumpyExtensionArray
    codes, distinct = pd.factorize(values, sort=True)
    return np.where(codes < 0, len(distinct), codes)


def severity_by_days(days: pd.Series, medium: int = 30, high: int = 90) -> pd.Series:
    """low up to `medium` days, medium up to `high`, high beyond."""
    beyond_high = (days > high).to_numpy(dtype=bool, na_value=False)
    beyond_medium = (days > medium).to_numpy(dtype=bool, na_value=False)
    return pd.Series(np.select([beyond_high, beyond_medium], ["high", "medium"], "low"),
                     index=days.index, dtype=object)
