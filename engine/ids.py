"""Identifiers stay text; matching uses a normalised key.

Staff type `INV-00123`, `inv 123 ` and `INV123` for the same invoice, and a number cell holding
1001 arrives as 1001.0. The display value is kept exactly as typed; the key is what joins.
"""

from __future__ import annotations

import re
import unicodedata

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


_ACCENTS = re.compile(r"[\u0300-\u036f]")
_NOT_KEY = re.compile(r"[^0-9A-Z]")
_LEADING_ZEROS = re.compile(r"(?<![0-9])0+(?=[0-9])")
_NOT_NAME = re.compile(r"[^0-9A-Z ]")
_SPACES = re.compile(r"\s+")


def _fold(text: str) -> str:
    if text.isascii():  # NFKD leaves ASCII alone and it holds no combining marks
        return text
    return _ACCENTS.sub("", unicodedata.normalize("NFKD", text))


def _fold_accents(text: pd.Series) -> pd.Series:
    """`José` → `Jose`, full-width `１２` → `12`: letters are not dropped for carrying an accent."""
    s = text.astype("str").str.normalize("NFKD")
    return s.str.replace(r"[\u0300-\u036f]", "", regex=True)


def _key(text: str) -> str:
    return _LEADING_ZEROS.sub("", _NOT_KEY.sub("", _fold(text).upper()))


def _name(text: str) -> str:
    return _SPACES.sub(" ", _NOT_NAME.sub(" ", _fold(text).upper())).strip()


def _per_distinct(text: pd.Series, fn) -> pd.Series:
    """`fn` once per distinct text (ids and names repeat across rows), blanks → NA.

    Same result as the element-wise pandas string methods, without their per-call overhead.
    """
    s = text.astype("str")
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    keys = np.array([fn(u) or None for u in np.asarray(uniques, dtype=object)] + [None],
                    dtype=object)
    return pd.Series(keys[codes], index=text.index, dtype="str", name=text.name)


def normalize_key(text: pd.Series) -> pd.Series:
    """Matching key: upper case, only letters and digits, no leading zeros in digit runs."""
    return _per_distinct(text, _key)


def normalize_name(text: pd.Series) -> pd.Series:
    """Person or payer name key: upper case, single spaces, punctuation dropped."""
    return _per_distinct(text, _name)
