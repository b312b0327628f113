"""The `Settings` sheet: run parameters staff can change without touching code.

Defaults follow the workbook contract. Unknown keys are kept (later features read them) but never
fail a run; a known key with an unreadable value is an input problem reported with its row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from engine.errors import InputError

SHEET = "Settings"


@dataclass(frozen=True)
class Settings:
    terms_days: int = 30
    claim_followup_days: int = 30
    tolerance_cents: int = 100
    match_threshold: float = 0.85
    plan_grace_days: int = 5
    explained_reasons: tuple[str, ...] = ("253",)
    date_order: str | None = None  # None: decided per column from the data, MDY when undecidable
    decimal_comma: bool = False
    remit_folder: str | None = None
    practice_name: str | None = None
    backups_kept: int = 3
    column_map: dict[tuple[str, str], str] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)


def _norm_key(key: str) -> str:
    return key.strip().lower().replace(" ", "_")


_MAX_DAYS = 36500


def _int(value: str, key: str, row: int | None) -> int:
    # whole, not negative and not absurd: "45.5", "-5", "Infinity" and "1e400" are input errors
    try:
        number = Decimal(value.strip())
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite() or number != number.to_integral_value() \
            or not 0 <= number <= _MAX_DAYS:
        raise InputError(f"setting {key} must be a whole number of days, not {value!r}",
                         sheet=SHEET, row=row, column="Value")
    return int(number)


_YES = ("yes", "y", "true", "1", "on")
_NO = ("no", "n", "false", "0", "off")


def parse_settings(pairs: list[tuple[str, str, int | None]]) -> Settings:
    """Build Settings from (key, value, excel_row) triples read off the Settings sheet."""
    values: dict = {}
    column_map: dict[tuple[str, str], str] = {}
    extra: dict[str, str] = {}
    for raw_key, raw_value, row in pairs:
        if raw_key is None or str(raw_key).strip() == "":
            continue
        key_text = str(raw_key).strip()
        value = "" if raw_value is None else str(raw_value).strip()
        if key_text.lower().startswith("column."):
            parts = key_text.split(".", 2)
            if len(parts) != 3 or not parts[1] or not parts[2] or not value:
                raise InputError("a column mapping must read column.<Sheet>.<Column> = <header>",
                                 sheet=SHEET, row=row, column="Key")
            column_map[(parts[1].strip().lower(), parts[2].strip().lower())] = value
            continue
        key = _norm_key(key_text)
        if value == "":
            continue
        if key in ("terms_days", "claim_followup_days", "plan_grace_days", "backups_kept"):
            values[key] = _int(value, key, row)
        elif key == "tolerance":
            from engine.money import parse_money_text
            cents = parse_money_text(value)
            if cents is None or cents < 0:
                raise InputError(f"setting tolerance must be an amount such as 1.00, not {value!r}",
                                 sheet=SHEET, row=row, column="Value")
            values["tolerance_cents"] = cents
        elif key == "match_threshold":
            try:
                threshold = float(value)
            except ValueError:
                threshold = -1.0
            if not 0.0 <= threshold <= 1.0:
                raise InputError(f"setting match_threshold must be between 0 and 1, not {value!r}",
                                 sheet=SHEET, row=row, column="Value")
            values["match_threshold"] = threshold
        elif key == "explained_reasons":
            codes = [c.strip().upper() for c in value.replace(";", ",").replace(" ", ",").split(",")]
            values["explained_reasons"] = tuple(c.removesuffix(".0") for c in codes if c)
        elif key == "date_order":
            order = value.upper()
            if order not in ("MDY", "DMY"):
                raise InputError(f"setting date_order must be MDY or DMY, not {value!r}",
                                 sheet=SHEET, row=row, column="Value")
            values["date_order"] = order
        elif key == "decimal_comma":
            if value.lower() not in _YES + _NO:
                raise InputError(f"setting decimal_comma must be yes or no, not {value!r}",
                                 sheet=SHEET, row=row, column="Value")
            values["decimal_comma"] = value.lower() in _YES
        elif key in ("remit_folder", "practice_name"):
            values[key] = value
        else:
            extra[key] = value
    return Settings(column_map=column_map, extra=extra, **values)
