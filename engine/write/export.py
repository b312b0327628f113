"""Findings exported as CSV or JSON, for other tools and for people who open CSVs in Excel.

CSV cells that begin with `= + - @` (or a tab / carriage return) would run as formulas when the
file is opened in a spreadsheet; text cells like that get a leading apostrophe. Money columns
are exact decimal strings and stay as they are (a negative amount is data, not a formula).
With `redact`, patient names and identifiers become initials and a short stable hash.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path

import pandas as pd

from engine.errors import InputError

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
MONEY = ("expected", "actual", "difference")


def redact_value(value: object) -> object:
    """`Smith, John` → `S.J. #3f9a1c`: still tells rows apart, no longer names anyone."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return value
    text = str(value)
    words = [w for w in text.replace(",", " ").split() if w]
    initials = ".".join(w[0].upper() for w in words if w[0].isalpha())
    digest = hashlib.sha256(text.strip().upper().encode()).hexdigest()[:6]
    return f"{initials + '. ' if initials else ''}#{digest}"


def redact(frame: pd.DataFrame, columns: tuple[str, ...] = ("patient",)) -> pd.DataFrame:
    out = frame.copy()
    for c in columns:
        if c in out:
            out[c] = out[c].map(redact_value)
    return out


def inert(value: object) -> object:
    if isinstance(value, str) and value.startswith(_DANGEROUS):
        return "'" + value
    return value


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


TEXT_SCRUBBED = ("reason", "explanation", "action", "note", "owner", "invoice", "claim", "payment",
                 "trace", "plan", "payer", "source")


def export_findings(frame: pd.DataFrame, path: Path, *, redacted: bool = False,
                    scrub=None) -> None:
    """Write findings (snake_case contract columns) to .csv or .json.

    With `redacted`, the patient column is masked, and `scrub` (a text → text function that masks
    the run's patient names and IDs, engine.report.Redactor) is applied to every other text column.
    """
    path = Path(path)
    data = redact(frame) if redacted else frame
    if redacted and scrub is not None:
        for c in TEXT_SCRUBBED:
            if c in data:
                data[c] = data[c].map(lambda v: scrub(v) if isinstance(v, str) else v)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(list(data.columns))
        text_cols = [c not in MONEY for c in data.columns]
        for row in data.itertuples(index=False, name=None):
            writer.writerow(["" if v is None else (inert(v) if is_text else v)
                             for v, is_text in zip(row, text_cols)])
        _atomic_write(path, buf.getvalue().encode("utf-8-sig"))
    elif suffix == ".json":
        records = data.astype(object).where(data.notna(), None).to_dict(orient="records")
        _atomic_write(path, json.dumps({"findings": records}, indent=2, ensure_ascii=False)
                      .encode("utf-8"))
    else:
        raise InputError("--export must name a .csv or .json file", file=str(path))
