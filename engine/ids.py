"""Identifiers stay text; matching uses a normalised key.

Staff type `INV-00123`, `inv 123 ` and `INV123` for the same invoice, and a number cell holding
1001 arrives as 1001.0. The display value is kept exactly as typed; the key is what joins.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def cell_text(values: pd.Series) -> pd.Series:
    """Cell values as display text: whole-number floats lose their `.0`, blanks become NA."""
    kinds = values.map(type)
    out = values.astype("object").copy()
    is_float = kinds.isin((float, np.float64))
    if is_float.any():
        f = values[is_float].astype("float64")
        whole = np.isfinite(f) & (f == np.floor(f)) & (f.abs() < 1e15)
        text = f.astype(str)
        text[whole] = f[whole].astype("int64").astype(str)
        text[~np.isfinite(f)] = None
        out[is_float] = text
    is_int = kinds.isin((int, np.int64))
    if is_int.any():
        out[is_int] = values[is_int].astype(str)
    other = ~(is_float | is_int | kinds.eq(str) | values.isna())
    if other.any():
        out[other] = values[other].astype(str)
    s = pd.Series(out, index=values.index, dtype="str").str.strip()
    return s.where(s != "", pd.NA)


def _fold_accents(text: pd.Series) -> pd.Series:
    """`José` → `Jose`, full-width `１２` → `12`: letters are not dropped for carrying an accent."""
    s = text.astype("str").str.normalize("NFKD")
    return s.str.replace(r"[\u0300-\u036f]", "", regex=True)


def normalize_key(text: pd.Series) -> pd.Series:
    """Matching key: upper case, only letters and digits, no leading zeros in digit runs."""
    s = _fold_accents(text).str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
    s = s.str.replace(r"(?<![0-9])0+(?=[0-9])", "", regex=True)
    return s.where(s.notna() & (s != ""), pd.NA)


def normalize_name(text: pd.Series) -> pd.Series:
    """Person or payer name key: upper case, single spaces, punctuation dropped."""
    s = _fold_accents(text).str.upper().str.replace(r"[^0-9A-Z ]", " ", regex=True)
    s = s.str.replace(r"\s+", " ", regex=True).str.strip()
    return s.where(s.notna() & (s != ""), pd.NA)
