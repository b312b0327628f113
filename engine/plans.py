"""Payment plans: the installment schedule of each plan and what has been paid toward it.

`build_plans` turns the `PaymentPlans` table (engine.tables) into

`installments` — one row per scheduled installment:
    plan, plan_key, number (1-based, Int64), due_date (datetime64), amount_cents, paid_cents
    (allocated, Int64), grace_days (Int64), status (paid / partial / missed / upcoming / due /
    closed), patient_id, invoices (comma-joined display), source; plus sheet, row (the plan's
    terms row, for links) and grace_end (due_date + grace_days).

`plan_status` — one row per plan:
    plan, plan_key, patient_id, patient_id_key, invoices (display), invoice_keys (tuple),
    total_cents, paid_to_date_cents, remaining_cents, next_due_date, next_due_cents,
    installments_missed, status ("on track" / "behind" / "completed" / "defaulted"), source;
    plus sheet, row, installment_cents, start, frequency, installments (count), grace_days,
    closed_by_invoices (bool).

`invalid` — INVALID_ROW findings (engine.findings columns) for plan rows that cannot be scheduled.

Rules (discrepancies.md section D):

- One plan per Plan id; several rows with one Plan id list several invoices. The plan's terms come
  from its first row that has any terms (Installment, Start, Total, Count, Frequency); rows holding
  only Plan + Invoice (+ Patient ID) just add invoices.
- Start is the first due date; weekly / biweekly add 7 / 14 days; monthly keeps Start's day of
  month, clamped to the month's end (Jan 31 -> Feb 28/29 -> Mar 31). Blank frequency: monthly.
- Count given: that many installments; else ceil(Total / Installment). The last installment is
  whatever remains of Total (Total blank: Count x Installment). Installments that Total leaves at
  zero (Count larger than Total needs) are not scheduled.
- Grace days: the plan's column, else Settings `plan_grace_days`.
- Payments toward a plan, each counted once, to one plan, in this order of preference: naming the
  plan (reference or invoice equal to the plan id); applied to one of its invoices (the
  `applications` rows, or the recorded invoice when the payment has no application rows); a
  patient payment from the plan's patient with no invoice recorded and not applied anywhere
  (to that patient's plan with the earliest start). Duplicates, adjustments and payments dated
  after the as-of date do not count; insurance money counts only when it names the plan.
- Money is allocated in due order, all of it pooled: a payment made before an installment is due
  counts toward the earliest unpaid installment, an overpayment carries forward.
- A plan is completed when paid to date >= total, or every installment is paid, or every plan
  invoice known to `invoice_totals` has no balance left (paid off outside the plan). A completed
  plan closes its invoices; its unpaid installments get status "closed".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from engine.findings import normalize, object_column
from engine.tables import columns_of

SHEET = "PaymentPlans"
MAX_INSTALLMENTS = 1000  # more than this is a typo in Count/Total/Installment, not a plan

INSTALLMENT_COLUMNS = (
    "plan", "plan_key", "number", "due_date", "amount_cents", "paid_cents", "grace_days",
    "status", "patient_id", "invoices", "source", "sheet", "row", "grace_end",
)
PLAN_STATUS_COLUMNS = (
    "plan", "plan_key", "patient_id", "patient_id_key", "invoices", "invoice_keys",
    "total_cents", "paid_to_date_cents", "remaining_cents", "next_due_date", "next_due_cents",
    "installments_missed", "status", "source", "sheet", "row", "installment_cents", "start",
    "frequency", "installments", "grace_days", "closed_by_invoices",
)

_FREQUENCIES = {
    "weekly": "weekly", "week": "weekly", "wk": "weekly", "w": "weekly", "everyweek": "weekly",
    "biweekly": "biweekly", "fortnightly": "biweekly", "everytwoweeks": "biweekly",
    "every2weeks": "biweekly", "2weeks": "biweekly", "biwk": "biweekly",
    "monthly": "monthly", "month": "monthly", "mo": "monthly", "mthly": "monthly",
    "m": "monthly", "everymonth": "monthly",
}


@dataclass(frozen=True)
class PlanTables:
    installments: pd.DataFrame
    plan_status: pd.DataFrame
    invalid: pd.DataFrame


# ---------------------------------------------------------------------------------------------
# small helpers


def _col(df: pd.DataFrame, name: str, dtype: str | None = None) -> pd.Series:
    if df is not None and name in df:
        s = df[name]
    else:
        s = pd.Series(pd.NA, index=None if df is None else df.index, dtype="object")
    if dtype is not None:
        try:
            s = s.astype(dtype)
        except (TypeError, ValueError):  # e.g. 3.5 where a whole number belongs: unreadable
            num = pd.to_numeric(s, errors="coerce")
            s = num.where(num == np.floor(num)).astype(dtype)
    return s


def _text(s: pd.Series) -> pd.Series:
    """Text as an object column with None for blanks (stable whatever the input dtype)."""
    values = s.to_numpy(dtype=object).copy()  # to_numpy(copy=True) can return a view
    missing = pd.isna(values)
    values[missing] = None
    if not isinstance(s.dtype, pd.StringDtype):  # numbers, dates, mixed: their text
        values[~missing] = [str(v) for v in values[~missing]]
    return pd.Series(values, index=s.index, dtype=object)


def _ints(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """An Int64 column as numpy arrays: its values (0 for blanks), and where it is known."""
    return s.to_numpy(dtype=np.int64, na_value=0), s.notna().to_numpy()


def _dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, errors="coerce").astype("datetime64[us]")


def _settings_int(settings, name: str, default: int) -> int:
    value = getattr(settings, name, None)
    if value is None:
        value = (getattr(settings, "extra", None) or {}).get(name)
    try:
        return int(float(str(value).strip()))
    except (TypeError, ValueError):
        return default


def day_text(dates: pd.Series) -> list[str]:
    """yyyy-mm-dd for each date ("" for NaT), safe for any year."""
    values = pd.to_datetime(dates, errors="coerce").to_numpy(dtype="datetime64[D]")
    return ["" if t == "NaT" else t for t in np.datetime_as_string(values, unit="D")]


def money_text(cents) -> str:
    """$1,234.56 (negative: -$1,234.56)."""
    if cents is None or pd.isna(cents):
        return ""
    cents = int(cents)
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"


@cache
def _normalized_empty() -> pd.DataFrame:
    return normalize(pd.DataFrame({"type": pd.Series([], dtype="object")}))


def _no_findings() -> pd.DataFrame:
    """An empty findings table, copied from one made once (normalize costs milliseconds)."""
    return _normalized_empty().copy()


def _empty_installments() -> pd.DataFrame:
    return pd.DataFrame({
        "plan": pd.Series([], dtype="object"), "plan_key": pd.Series([], dtype="object"),
        "number": pd.Series([], dtype="Int64"), "due_date": pd.Series([], dtype="datetime64[us]"),
        "amount_cents": pd.Series([], dtype="Int64"), "paid_cents": pd.Series([], dtype="Int64"),
        "grace_days": pd.Series([], dtype="Int64"), "status": pd.Series([], dtype="object"),
        "patient_id": pd.Series([], dtype="object"), "invoices": pd.Series([], dtype="object"),
        "source": pd.Series([], dtype="object"), "sheet": pd.Series([], dtype="object"),
        "row": pd.Series([], dtype="Int64"), "grace_end": pd.Series([], dtype="datetime64[us]"),
    })


def _empty_plan_status() -> pd.DataFrame:
    ints = ("total_cents", "paid_to_date_cents", "remaining_cents", "next_due_cents",
            "installments_missed", "row", "installment_cents", "installments", "grace_days")
    out = {}
    for c in PLAN_STATUS_COLUMNS:
        if c in ints:
            out[c] = pd.Series([], dtype="Int64")
        elif c in ("next_due_date", "start"):
            out[c] = pd.Series([], dtype="datetime64[us]")
        elif c == "closed_by_invoices":
            out[c] = pd.Series([], dtype="bool")
        else:
            out[c] = pd.Series([], dtype="object")
    return pd.DataFrame(out)


# ---------------------------------------------------------------------------------------------
# validation


_PROBLEMS = {
    # code: (column header, what is wrong, severity, short reason)
    "plan_missing": ("Plan", "the plan id is missing, so the row cannot be tied to a plan",
                     "high", "missing plan id"),
    "installment_missing": ("Installment", "the installment amount is missing", "high",
                            "missing installment amount"),
    "installment_not_positive": ("Installment", "the installment amount is not above zero",
                                 "high", "installment amount not above zero"),
    "start_missing": ("Start", "the start date (first due date) is missing", "high",
                      "missing start date"),
    "frequency_unknown": ("Frequency", ("the frequency {value!r} is not weekly, biweekly or "
                                        "monthly"), "high", "unknown frequency"),
    "no_count_or_total": ("Count", ("neither Count nor Total is given, so the number of "
                                    "installments is unknown"), "high", "neither Count nor Total"),
    "count_not_positive": ("Count", "the number of installments is not above zero", "high",
                           "count not above zero"),
    "total_not_positive": ("Total", "the plan total is not above zero", "high",
                           "total not above zero"),
    "too_many": ("Count", f"the plan would have more than {MAX_INSTALLMENTS} installments",
                 "high", "too many installments"),
    "grace_negative": ("Grace days", ("the grace days are negative, so the default "
                                      "(plan_grace_days) is used instead"), "low",
                       "negative grace days"),
}


def _invalid_findings(rows: pd.DataFrame, code: str) -> pd.DataFrame:
    """INVALID_ROW findings, one per row of `rows`, for problem `code`."""
    header, what, severity, reason = _PROBLEMS[code]
    explanations, sources, keys = [], [], []
    for sheet, row, plan, freq in zip(rows["sheet"], rows["row"], rows["plan"],
                                      rows["frequency"]):
        sheet = sheet if isinstance(sheet, str) and sheet else SHEET
        row_text = "?" if pd.isna(row) else str(int(row))
        text = what.format(value=freq)
        if severity != "high":
            tail = ""
        elif code != "plan_missing" and isinstance(plan, str):
            tail = f", so plan {plan} cannot be scheduled and is left out"
        else:
            tail = "; the row is left out"
        explanations.append(f"{sheet} row {row_text}, column {header}: {text}{tail}.")
        sources.append(f"{sheet} row {row_text}")
        keys.append(f"{sheet}|{row_text}|{header}")
    if code == "plan_missing":
        action = f"Fill in the Plan cell on the {SHEET} sheet and run again."
    else:
        action = f"Correct the {header} cell of the plan on the {SHEET} sheet and run again."
    return pd.DataFrame({
        "type": "INVALID_ROW",
        "severity": severity,
        "plan": rows["plan"].to_numpy(dtype=object),
        "patient": rows["patient_id"].to_numpy(dtype=object),
        "invoice": rows["invoice"].to_numpy(dtype=object),
        "reason": f"{header}: {reason}",
        "explanation": explanations,
        "action": action,
        "source": sources,
        "source_sheet": rows["sheet"].fillna(SHEET).to_numpy(dtype=object),
        "source_row": pd.array(rows["row"].to_numpy(), dtype="Int64"),
        "key": keys,
    })


# ---------------------------------------------------------------------------------------------
# the schedule


def _schedule(terms: pd.DataFrame) -> pd.DataFrame:
    """One row per installment for the (valid) plans in `terms` (one row per plan): `_pos` (the
    plan's position in `terms`), number, due_date and amount_cents, as numpy columns."""
    n = terms["_n"].to_numpy(dtype=np.int64)
    pos = np.repeat(np.arange(len(terms)), n)
    starts = np.concatenate(([0], np.cumsum(n)[:-1])) if len(n) else np.array([], dtype=np.int64)
    number = np.arange(len(pos), dtype=np.int64) - np.repeat(starts, n) + 1
    k = number - 1

    inst = terms["installment_cents"].to_numpy(dtype=np.int64)[pos]
    total = terms["_total"].to_numpy(dtype=np.int64)[pos]
    last = number == n[pos]
    before = np.minimum(k * inst, total)
    amount = np.where(last, total - before, np.minimum(inst, total - before))

    start = terms["start"].to_numpy(dtype="datetime64[D]")[pos]
    freq = terms["_freq"].to_numpy(dtype=object)[pos]
    step = np.select([freq == "weekly", freq == "biweekly"], [7, 14], 0).astype(np.int64)
    due = start + (k * step).astype("timedelta64[D]")
    monthly = freq == "monthly"
    if monthly.any():
        s = start[monthly]
        month0 = s.astype("datetime64[M]")
        day = (s - month0.astype("datetime64[D]")).astype(np.int64)  # 0-based day of month
        month = month0 + k[monthly].astype("timedelta64[M]")
        first = month.astype("datetime64[D]")
        dim = ((month + np.timedelta64(1, "M")).astype("datetime64[D]") - first).astype(np.int64)
        due[monthly] = first + np.minimum(day, dim - 1).astype("timedelta64[D]")

    scheduled = amount > 0
    return pd.DataFrame({"_pos": pos[scheduled], "number": number[scheduled],
                         "due_date": due[scheduled].astype("datetime64[us]"),
                         "amount_cents": amount[scheduled]})


# ---------------------------------------------------------------------------------------------
# payments toward plans


def _in(values: pd.Series, keys: set) -> np.ndarray:
    """`values.isin(keys)` as an array, by one set lookup per value: for a few keys among many
    python-storage strings about twice as fast as isin, which hashes every value."""
    return np.fromiter(map(keys.__contains__, values.to_numpy(dtype=object)), bool, len(values))


def _may_count(plan_keys: set, invoices: set, patients: set, payments: pd.DataFrame,
               applications: pd.DataFrame | None, to_plan: np.ndarray | None) -> np.ndarray:
    """The payments that could count toward some plan (naming it, naming or applied to one of its
    invoices, or from its patient): in a big practice most payments have nothing to do with
    plans, and the rules below need not look at those. `to_plan`: which applications are to one
    of the plans' invoices (None: found by their invoice keys)."""
    maybe = np.zeros(len(payments), dtype=bool)
    for column, keys in (("reference_key", plan_keys), ("invoice_key", plan_keys | invoices),
                         ("patient_id_key", patients)):
        if column in payments:
            maybe |= _in(payments[column], keys)
    if applications is not None and len(applications) and "payment_index" in applications:
        if to_plan is None:
            to_plan = _in(applications["invoice_key"], invoices)
        maybe |= payments.index.isin(applications["payment_index"].to_numpy()[to_plan])
    return maybe


def _first_plan(keys: pd.Series) -> pd.Series:
    """Plan position by key: for each key in `keys` (indexed by plan position), the first plan."""
    first: dict = {}  # a plans table is small: one pass in Python costs less than pandas here
    for plan, key in zip(keys.index, keys.to_numpy(dtype=object)):
        if not pd.isna(key):
            first.setdefault(key, plan)
    return pd.Series(list(first.values()), index=pd.Index(list(first), dtype=object),
                     dtype=np.int64)


def _lookup(table: pd.Series, keys: np.ndarray, missing: int = -1) -> np.ndarray:
    """`table[key]` for each of `keys` (`table` has unique labels), `missing` for absent keys."""
    at = table.index.get_indexer(keys)
    return np.append(table.to_numpy(), missing)[at]  # at -1 (absent) takes the appended `missing`


def _paid_toward_plans(status: pd.DataFrame, payments: pd.DataFrame | None,
                       applications: pd.DataFrame | None, as_of: pd.Timestamp,
                       to_plan: np.ndarray | None = None) -> np.ndarray:
    """Cents counted toward each plan of `status` (one row per plan, in order), each payment
    counted once, to one plan: the one it names, else the first plan one of its invoices belongs
    to, else its patient's plan that starts first. `to_plan`: see `_may_count`."""
    paid = np.zeros(len(status), dtype=np.int64)
    if payments is None or not len(payments) or not len(status):
        return paid
    plan_keys = status["plan_key"].to_numpy(dtype=object)
    start = status["start"].to_numpy(dtype="datetime64[us]")
    blank_last = np.where(np.isnat(start), np.iinfo(np.int64).max, start.view(np.int64))
    by_start = np.lexsort((pd.factorize(plan_keys, sort=True)[0], blank_last))
    plan_of_key = _first_plan(pd.Series(plan_keys))
    plan_of_invoice = _first_plan(pd.Series(status["invoice_keys"].to_numpy()).explode())
    plan_of_patient = _first_plan(pd.Series(
        status["patient_id_key"].to_numpy(dtype=object)[by_start], index=by_start))

    rows = np.flatnonzero(_may_count(set(plan_keys), set(plan_of_invoice.index),
                                     set(plan_of_patient.index), payments, applications,
                                     to_plan))
    amount = _col(payments, "amount_cents", "Int64").iloc[rows]
    kind = (_text(_col(payments, "kind").iloc[rows]).str.lower().to_numpy() if "kind" in payments
            else np.full(len(rows), None, dtype=object))
    counts = (amount.notna().to_numpy() & (kind != "adjustment")
              & ~(_dates(_col(payments, "date").iloc[rows]).to_numpy()
                  > np.datetime64(pd.Timestamp(as_of).to_datetime64())))
    if "duplicate" in payments:
        counts &= ~payments["duplicate"].iloc[rows].fillna(False).astype(bool).to_numpy()
    rows, amount, kind = rows[counts], amount[counts], kind[counts]
    if not len(rows):
        return paid

    def text(column: str) -> np.ndarray:
        return _text(_col(payments, column).iloc[rows]).to_numpy()

    pidx = payments.index.to_numpy()[rows]
    self_pay = kind != "insurance"
    cents = amount.to_numpy(dtype=np.int64)
    invoice_key = text("invoice_key")

    # 1. naming the plan
    named = _lookup(plan_of_key, text("reference_key"))
    named = np.where(named >= 0, named, _lookup(plan_of_key, invoice_key))

    # 2. applied to one of its invoices: the first such plan, with what was applied to it
    applied = np.zeros(len(rows), dtype=bool)
    by_application = np.full(len(rows), -1)
    applied_cents = np.zeros(len(rows), dtype=np.int64)
    if applications is not None and len(applications) and "payment_index" in applications:
        applied = pd.Index(pidx).isin(applications["payment_index"].to_numpy())
        app_rows = np.flatnonzero(applications["payment_index"].isin(pidx[self_pay]).to_numpy())
        app_plan = _lookup(plan_of_invoice,
                           _text(_col(applications, "invoice_key").iloc[app_rows]).to_numpy())
        app_cents = _col(applications, "applied_cents", "Int64").array[app_rows]
        to_plan = (app_plan >= 0) & ~app_cents.isna()
        app_plan, app_cents = app_plan[to_plan], app_cents[to_plan].to_numpy(dtype=np.int64)
        at, paying = pd.factorize(applications["payment_index"].to_numpy()[app_rows][to_plan])
        first = np.full(len(paying), len(status))  # each payment's first plan, and its cents
        np.minimum.at(first, at, app_plan)
        on_first = app_plan == first[at]
        first_cents = np.zeros(len(paying), dtype=np.int64)
        np.add.at(first_cents, at[on_first], app_cents[on_first])
        of_payment = pd.Index(paying).get_indexer(pidx)  # -1: none applied to a plan
        by_application = np.append(first, -1)[of_payment]
        applied_cents = np.append(first_cents, 0)[of_payment]
    # ... or recorded on one when the payment has no application rows
    unapplied = self_pay & ~applied
    by_record = np.where(unapplied, _lookup(plan_of_invoice, invoice_key), -1)

    # 3. from the plan's patient, no invoice recorded, not applied anywhere
    by_patient = np.where(unapplied & pd.isna(invoice_key),
                          _lookup(plan_of_patient, text("patient_id_key")), -1)

    plan = np.select([named >= 0, by_application >= 0, by_record >= 0],
                     [named, by_application, by_record], by_patient)
    cents = np.where((named < 0) & (by_application >= 0), applied_cents, cents)
    counted = plan >= 0
    np.add.at(paid, plan[counted], cents[counted])
    return paid


# ---------------------------------------------------------------------------------------------


def build_plans(plans: pd.DataFrame, payments: pd.DataFrame, applications: pd.DataFrame,
                invoice_totals: pd.DataFrame, settings, as_of: pd.Timestamp,
                invoice_at: np.ndarray | None = None) -> PlanTables:
    """Schedules, allocation and status of every payment plan; see the module docstring.
    `invoice_at`: each application's invoice as a position in `invoice_totals` (as for
    engine.ledger.settle): which applications are to a plan's invoice is then read off the rows
    of invoice_totals found to be plan invoices, not looked up by key once more."""
    as_of = pd.Timestamp(as_of).normalize()
    grace_default = _settings_int(settings, "plan_grace_days", 5)
    default_after = max(_settings_int(settings, "plan_default_after", 3), 1)

    if plans is None or not len(plans):
        return PlanTables(_empty_installments(), _empty_plan_status(), _no_findings())

    columns = {}
    for c in columns_of(SHEET):
        if c in ("installment_cents", "total_cents", "count", "grace_days", "row"):
            columns[c] = _col(plans, c, "Int64")
        elif c == "start":
            columns[c] = _dates(_col(plans, c))
        else:
            columns[c] = _text(_col(plans, c))
    columns["sheet"] = columns["sheet"].fillna(SHEET)
    if columns["source"].isna().any():
        columns["source"] = columns["source"].fillna(
            columns["sheet"] + " row " + columns["row"].astype("object").map(str))
    p = pd.DataFrame(columns)
    p["_i"] = np.arange(len(p))
    p = p.sort_values(["row", "_i"], kind="mergesort", na_position="last")

    freq_norm = pd.Series(
        ["" if v is None else "".join(ch for ch in v.lower() if ch.isalnum())
         for v in p["frequency"]], index=p.index, dtype=object)
    p["_freq"] = pd.Series([_FREQUENCIES.get(v) if v else "monthly" for v in freq_norm],
                           index=p.index, dtype=object)
    p["_has_terms"] = (p["installment_cents"].notna() | p["start"].notna()
                       | p["total_cents"].notna() | p["count"].notna()
                       | (freq_norm != ""))

    problems: list[pd.DataFrame] = []
    no_plan = p["plan_key"].isna()
    if no_plan.any():
        data_cols = [c for c in columns_of(SHEET) if c not in ("sheet", "row", "source")]
        bad_rows = p[no_plan & p[data_cols].notna().any(axis=1)]
        if len(bad_rows):
            problems.append(_invalid_findings(bad_rows, "plan_missing"))
        p = p[~no_plan]

    # the terms row of each plan: first row with terms, else its first row
    terms_first = np.argsort(~p["_has_terms"].to_numpy(), kind="stable")
    chosen = terms_first[~p["plan_key"].iloc[terms_first].duplicated().to_numpy()]
    t = p.iloc[np.sort(chosen)]

    inst, has_inst = _ints(t["installment_cents"])
    total, has_total = _ints(t["total_cents"])
    count, has_count = _ints(t["count"])
    grace, has_grace = _ints(t["grace_days"])
    checks = {
        "installment_missing": ~has_inst,
        "installment_not_positive": has_inst & (inst <= 0),
        "start_missing": t["start"].isna().to_numpy(),
        "frequency_unknown": t["_freq"].isna().to_numpy(),
        "no_count_or_total": ~has_count & ~has_total,
        "count_not_positive": has_count & (count <= 0),
        "total_not_positive": has_total & (total <= 0),
        "grace_negative": has_grace & (grace < 0),
    }
    bad = np.zeros(len(t), dtype=bool)
    for code, mask in checks.items():
        if _PROBLEMS[code][2] == "high":
            bad |= mask
    # number of installments (only meaningful where terms are good: a positive installment, and
    # a count or a positive total)
    ok_inst = np.where(bad, 1, inst)
    n = np.where(has_count, count, (total + ok_inst - 1) // ok_inst)
    checks["too_many"] = ~bad & (n > MAX_INSTALLMENTS)
    bad |= checks["too_many"]
    for code, mask in checks.items():
        if mask.any():
            problems.append(_invalid_findings(t[mask], code))

    invalid = (normalize(pd.concat(problems)).reset_index(drop=True) if problems else
               _no_findings())

    good = ~bad
    good_keys = set(t["plan_key"][good])
    t = t[good].reset_index(drop=True)
    t["_n"] = n[good]
    t["_total"] = np.where(has_total[good], total[good], n[good] * inst[good])
    t["_grace"] = np.where(has_grace[good] & (grace[good] >= 0), grace[good], grace_default)

    # invoices and patient from every row of the plan
    # (a plans sheet is small: one pass over its rows in Python costs less than grouping it)
    invoices_of: dict = {}  # plan key -> {invoice key: invoice as written}, first row's first
    patient_of: dict = {}  # plan key -> (patient_id, patient_id_key) of its first row with one
    for plan_key, invoice, invoice_key, patient, patient_key in zip(
            *(p[c].to_numpy(dtype=object) for c in
              ("plan_key", "invoice", "invoice_key", "patient_id", "patient_id_key"))):
        if plan_key not in good_keys:
            continue
        if invoice_key is not None:
            invoices_of.setdefault(plan_key, {}).setdefault(invoice_key, invoice)
        if patient_key is not None:
            patient_of.setdefault(plan_key, (patient, patient_key))
    plan_keys = t["plan_key"].to_numpy(dtype=object)
    listed = [invoices_of.get(k, {}) for k in plan_keys]
    t["invoices"] = object_column([", ".join(v.values()) if v else None for v in listed])
    keys_arr = np.empty(len(listed), dtype=object)
    keys_arr[:] = [tuple(v) for v in listed]
    t["invoice_keys"] = keys_arr
    for at, c in enumerate(("patient_id", "patient_id_key")):
        own = t[c].to_numpy(dtype=object)  # the terms row's, else the plan's first
        first = np.array([patient_of.get(k, (None, None))[at] for k in plan_keys], dtype=object)
        t[c] = object_column(np.where(pd.isna(own), first, own))

    if not len(t):
        return PlanTables(_empty_installments(), _empty_plan_status(), invalid)

    ins = _schedule(t)
    pos = ins["_pos"].to_numpy()
    amount = ins["amount_cents"].to_numpy()
    due = ins["due_date"].to_numpy()
    scheduled = np.bincount(pos, minlength=len(t))  # installments per plan

    # the plans' invoices among invoice_totals' rows
    listed = pd.Series(t["invoice_keys"].to_numpy()).explode().dropna()  # by plan position
    plan_invoice = None
    if invoice_totals is not None and len(invoice_totals) and "invoice_key" in invoice_totals \
            and "balance_cents" in invoice_totals:
        plan_invoice = _in(invoice_totals["invoice_key"], set(listed))

    # payments toward each plan, allocated in due order
    to_plan = (np.append(plan_invoice, False)[invoice_at]  # position -1: no invoice
               if plan_invoice is not None and invoice_at is not None else None)
    paid = _paid_toward_plans(t, payments, applications, as_of, to_plan)
    before = np.cumsum(amount) - amount
    due_before = before - before[np.searchsorted(pos, pos)]  # of its plan (rows are by plan)
    alloc = np.clip(np.maximum(paid, 0)[pos] - due_before, 0, amount)
    grace = t["_grace"].to_numpy()
    grace_end = due + grace[pos].astype("timedelta64[D]")

    # invoices paid off outside the plan close it
    closed = np.zeros(len(t), dtype=bool)
    if plan_invoice is not None:
        on_plan = invoice_totals.loc[plan_invoice, ["invoice_key", "balance_cents"]]
        balance = (_col(on_plan, "balance_cents", "Int64")
                   .groupby(on_plan["invoice_key"].to_numpy(dtype=object)).sum(min_count=1))
        known = listed.map(balance).dropna()
        plans_known = np.bincount(known.index.to_numpy(), minlength=len(t)) > 0
        plans_open = np.bincount(known.index.to_numpy()[known.to_numpy(dtype=np.int64) > 0],
                                 minlength=len(t)) > 0
        closed = plans_known & ~plans_open

    full = alloc >= amount
    all_paid = (scheduled > 0) & (np.bincount(pos[~full], minlength=len(t)) == 0)
    total_cents = t["_total"].to_numpy()
    completed = (paid >= total_cents) | all_paid | closed

    as_of64 = np.datetime64(as_of.to_datetime64(), "us")
    status = np.select(
        [full, completed[pos], due > as_of64, alloc > 0, as_of64 > grace_end],
        ["paid", "closed", "upcoming", "partial", "missed"], "due")

    missed = np.bincount(pos[status == "missed"], minlength=len(t))
    late_partial = np.bincount(pos[(status == "partial") & (as_of64 > grace_end)],
                               minlength=len(t))
    # the first installment of each plan still open (completed plans have none)
    open_rows = np.flatnonzero(~np.isin(status, ["paid", "closed"]))
    open_rows = open_rows[np.unique(pos[open_rows], return_index=True)[1]]
    next_date = np.full(len(t), np.datetime64("NaT"), dtype="datetime64[us]")
    next_date[pos[open_rows]] = due[open_rows]
    next_cents = np.zeros(len(t), dtype=np.int64)
    next_cents[pos[open_rows]] = amount[open_rows] - alloc[open_rows]
    has_next = np.zeros(len(t), dtype=bool)
    has_next[pos[open_rows]] = True

    plan_state = np.select(
        [completed, missed >= default_after, (missed > 0) | (late_partial > 0)],
        ["completed", "defaulted", "behind"], "on track")

    remaining = np.where(completed, 0, np.maximum(total_cents - paid, 0))
    ps = pd.DataFrame({
        "plan": t["plan"].to_numpy(dtype=object),
        "plan_key": t["plan_key"].to_numpy(dtype=object),
        "patient_id": t["patient_id"].to_numpy(dtype=object),
        "patient_id_key": t["patient_id_key"].to_numpy(dtype=object),
        "invoices": t["invoices"].to_numpy(dtype=object),
        "invoice_keys": t["invoice_keys"].to_numpy(dtype=object),
        "total_cents": pd.array(total_cents, dtype="Int64"),
        "paid_to_date_cents": pd.array(paid, dtype="Int64"),
        "remaining_cents": pd.array(remaining, dtype="Int64"),
        "next_due_date": next_date,
        "next_due_cents": pd.arrays.IntegerArray(next_cents, ~has_next),
        "installments_missed": pd.array(missed, dtype="Int64"),
        "status": plan_state.astype(object),
        "source": t["source"].to_numpy(dtype=object),
        "sheet": t["sheet"].to_numpy(dtype=object),
        "row": pd.array(t["row"].to_numpy(), dtype="Int64"),
        "installment_cents": pd.array(t["installment_cents"].to_numpy(), dtype="Int64"),
        "start": t["start"].to_numpy(dtype="datetime64[us]"),
        "frequency": t["_freq"].to_numpy(dtype=object),
        "installments": pd.array(scheduled, dtype="Int64"),
        "grace_days": pd.array(grace, dtype="Int64"),
        "closed_by_invoices": closed & ~((paid >= total_cents) | all_paid),
    })

    def of_plan(column: str) -> pd.Series:  # the plan's text, on each of its installments
        return object_column(t[column].to_numpy(dtype=object)[pos])

    ins = pd.DataFrame({
        "plan": of_plan("plan"),
        "plan_key": of_plan("plan_key"),
        "number": pd.array(ins["number"].to_numpy(), dtype="Int64"),
        "due_date": due,
        "amount_cents": pd.array(amount, dtype="Int64"),
        "paid_cents": pd.array(alloc, dtype="Int64"),
        "grace_days": pd.array(grace[pos], dtype="Int64"),
        "status": status.astype(object),
        "patient_id": of_plan("patient_id"),
        "invoices": of_plan("invoices"),
        "source": of_plan("source"),
        "sheet": of_plan("sheet"),
        "row": t["row"].array.take(pos),
        "grace_end": grace_end,
    })
    return PlanTables(ins, ps, invalid)


def plan_invoice_keys(plan_status: pd.DataFrame) -> pd.DataFrame:
    """invoice_key, plan, plan_completed for every invoice a plan covers (first plan wins)."""
    cols = {"invoice_key": pd.Series([], dtype="object"), "plan": pd.Series([], dtype="object"),
            "plan_completed": pd.Series([], dtype="bool")}
    if plan_status is None or not len(plan_status) or "invoice_keys" not in plan_status:
        return pd.DataFrame(cols)
    df = pd.DataFrame({
        "invoice_key": plan_status["invoice_keys"].map(
            lambda v: tuple(v) if isinstance(v, (list, tuple)) else ()),
        "plan": plan_status["plan"].astype(object),
        "plan_completed": plan_status["status"].eq("completed").fillna(False).astype(bool),
    }).explode("invoice_key").dropna(subset=["invoice_key"])
    df = df.drop_duplicates("invoice_key", keep="first").reset_index(drop=True)
    df["invoice_key"] = df["invoice_key"].astype(object)
    return df[["invoice_key", "plan", "plan_completed"]]


def plan_marks(invoice_keys: pd.Series, in_plan: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """`invoice_keys.map(...)` of `in_plan`'s (plan_invoice_keys) plan and plan_completed: the
    plan each invoice is in and whether it is completed, NaN for an invoice in none. Each key is
    looked up once for both: a Series.map hashes every key again, and invoice_totals has a row
    per invoice."""
    marks = in_plan.drop_duplicates("invoice_key").set_index("invoice_key")
    at = marks.index.get_indexer(invoice_keys)  # -1: in no plan
    in_none = bool((at < 0).any()) or not len(at)  # (no keys: objects too, as Series.map gives)

    def mapped(column: str) -> pd.Series:
        values = marks[column].to_numpy()
        # as Series.map takes: NaN for an invoice in none, which makes booleans objects
        values = np.append(values.astype(object), np.nan)[at] if in_none else values[at]
        return pd.Series(values, index=invoice_keys.index, name=invoice_keys.name)
    return mapped("plan"), mapped("plan_completed")
