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

import numpy as np
import pandas as pd

from engine.findings import normalize
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
    """One row per installment for the (valid) plans in `terms` (one row per plan)."""
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

    inst_df = pd.DataFrame({
        "_pos": pos,
        "number": pd.array(number, dtype="Int64"),
        "due_date": due.astype("datetime64[us]"),
        "amount_cents": pd.array(amount, dtype="Int64"),
    })
    inst_df = inst_df[amount > 0].reset_index(drop=True)
    for c in ("plan", "plan_key", "patient_id", "invoices", "source", "sheet", "row", "_grace"):
        inst_df[c] = terms[c].to_numpy()[inst_df["_pos"].to_numpy()]
    return inst_df


# ---------------------------------------------------------------------------------------------
# payments toward plans


def _may_count(status: pd.DataFrame, payments: pd.DataFrame,
               applications: pd.DataFrame | None) -> np.ndarray:
    """The payments that could count toward some plan (naming it, naming or applied to one of its
    invoices, or from its patient): in a big practice most payments have nothing to do with
    plans, and the rules below need not look at those."""
    plan_keys = set(status["plan_key"])
    invoices = set(status["invoice_keys"].explode().dropna())
    patients = set(status["patient_id_key"].dropna())
    maybe = np.zeros(len(payments), dtype=bool)
    for column, keys in (("reference_key", plan_keys), ("invoice_key", plan_keys | invoices),
                         ("patient_id_key", patients)):
        if column in payments:
            maybe |= payments[column].isin(keys).to_numpy()
    if applications is not None and len(applications) and "payment_index" in applications:
        to_plan = applications["invoice_key"].isin(invoices).to_numpy()
        maybe |= payments.index.isin(applications["payment_index"].to_numpy()[to_plan])
    return maybe


def _plan_payments(status: pd.DataFrame, payments: pd.DataFrame | None,
                   applications: pd.DataFrame | None, as_of: pd.Timestamp) -> pd.DataFrame:
    """(pidx = payment index label, plan_key, cents) for each payment counted toward a plan."""
    empty = pd.DataFrame({"pidx": pd.Series([], dtype="object"),
                          "plan_key": pd.Series([], dtype="object"),
                          "cents": pd.Series([], dtype="int64")})
    if payments is None or not len(payments) or not len(status):
        return empty
    used = [c for c in ("amount_cents", "date", "invoice_key", "reference_key", "patient_id_key",
                        "kind", "duplicate") if c in payments]
    payments = payments[used][_may_count(status, payments, applications)]  # narrow, then filter
    pay = pd.DataFrame({
        "pidx": payments.index.to_numpy(),
        "amount": _col(payments, "amount_cents", "Int64").array,
        "date": _dates(_col(payments, "date")).to_numpy(),
        "invoice_key": _text(_col(payments, "invoice_key")).to_numpy(),
        "reference_key": _text(_col(payments, "reference_key")).to_numpy(),
        "patient_id_key": _text(_col(payments, "patient_id_key")).to_numpy(),
        "kind": _text(_col(payments, "kind")).str.lower().to_numpy()
        if "kind" in payments else np.full(len(payments), None, dtype=object),
        "duplicate": _col(payments, "duplicate").fillna(False).astype(bool).to_numpy()
        if "duplicate" in payments else np.zeros(len(payments), dtype=bool),
    })
    pay = pay[~pay["duplicate"] & pay["amount"].notna() & (pay["kind"] != "adjustment")]
    pay = pay[~(pay["date"] > np.datetime64(pd.Timestamp(as_of).to_datetime64()))]
    if not len(pay):
        return empty
    self_pay = ~pay["kind"].isin(["insurance"])

    order = pd.Series(np.arange(len(status)), index=status["plan_key"].to_numpy())
    plan_keys = set(status["plan_key"])
    cands = []

    # 1. naming the plan
    ref_plan = pay["reference_key"].where(pay["reference_key"].isin(plan_keys))
    inv_plan = pay["invoice_key"].where(pay["invoice_key"].isin(plan_keys))
    named = ref_plan.fillna(inv_plan)
    m = named.notna()
    cands.append(pd.DataFrame({"pidx": pay.loc[m, "pidx"], "plan_key": named[m],
                               "cents": pay.loc[m, "amount"].astype("int64"), "prio": 1}))

    # 2. applied to one of its invoices (first plan listing the invoice wins)
    inv_map = (status[["plan_key", "invoice_keys"]].explode("invoice_keys")
               .dropna(subset=["invoice_keys"]).drop_duplicates("invoice_keys")
               .set_index("invoice_keys")["plan_key"])
    app_pidx: set = set()
    if applications is not None and len(applications) and "payment_index" in applications:
        app = pd.DataFrame({
            "pidx": applications["payment_index"].to_numpy(),
            "invoice_key": _text(_col(applications, "invoice_key")).to_numpy(),
            "cents": _col(applications, "applied_cents", "Int64").array,
        })
        app_pidx = set(app["pidx"])
        app = app[app["pidx"].isin(set(pay.loc[self_pay, "pidx"]))]
        app = app.assign(plan_key=app["invoice_key"].map(inv_map))
        app = app[app["plan_key"].notna() & app["cents"].notna()]
        cands.append(pd.DataFrame({"pidx": app["pidx"], "plan_key": app["plan_key"],
                                   "cents": app["cents"].astype("int64"), "prio": 2}))
    unapplied = ~pay["pidx"].isin(app_pidx)
    rec_plan = pay["invoice_key"].map(inv_map)
    m = self_pay & unapplied & rec_plan.notna()
    cands.append(pd.DataFrame({"pidx": pay.loc[m, "pidx"], "plan_key": rec_plan[m],
                               "cents": pay.loc[m, "amount"].astype("int64"), "prio": 2}))

    # 3. from the plan's patient, no invoice recorded, not applied anywhere
    by_patient = (status.dropna(subset=["patient_id_key"])
                  .sort_values(["start", "plan_key"], kind="mergesort")
                  .drop_duplicates("patient_id_key").set_index("patient_id_key")["plan_key"])
    pat_plan = pay["patient_id_key"].map(by_patient)
    m = self_pay & unapplied & pay["invoice_key"].isna() & pat_plan.notna()
    cands.append(pd.DataFrame({"pidx": pay.loc[m, "pidx"], "plan_key": pat_plan[m],
                               "cents": pay.loc[m, "amount"].astype("int64"), "prio": 3}))

    c = pd.concat(cands, ignore_index=True)
    if not len(c):
        return empty
    c = c.groupby(["pidx", "plan_key", "prio"], as_index=False, sort=False)["cents"].sum()
    c["_order"] = c["plan_key"].map(order).to_numpy()
    c = (c.sort_values(["prio", "_order"], kind="mergesort")
          .drop_duplicates("pidx", keep="first"))
    return c[["pidx", "plan_key", "cents"]].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------


def build_plans(plans: pd.DataFrame, payments: pd.DataFrame, applications: pd.DataFrame,
                invoice_totals: pd.DataFrame, settings, as_of: pd.Timestamp) -> PlanTables:
    """Schedules, allocation and status of every payment plan; see the module docstring."""
    as_of = pd.Timestamp(as_of).normalize()
    grace_default = _settings_int(settings, "plan_grace_days", 5)
    default_after = max(_settings_int(settings, "plan_default_after", 3), 1)

    if plans is None or not len(plans):
        return PlanTables(_empty_installments(), _empty_plan_status(), normalize(
            pd.DataFrame({"type": pd.Series([], dtype="object")})))

    p = pd.DataFrame(index=plans.index)
    for c in columns_of(SHEET):
        if c in ("installment_cents", "total_cents", "count", "grace_days", "row"):
            p[c] = _col(plans, c, "Int64")
        elif c == "start":
            p[c] = _dates(_col(plans, c))
        else:
            p[c] = _text(_col(plans, c))
    p["sheet"] = p["sheet"].fillna(SHEET)
    p["source"] = p["source"].fillna(
        p["sheet"] + " row " + p["row"].astype("object").map(str))
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
    data_cols = [c for c in columns_of(SHEET) if c not in ("sheet", "row", "source")]
    bad_rows = p[no_plan & p[data_cols].notna().any(axis=1)]
    if len(bad_rows):
        problems.append(_invalid_findings(bad_rows, "plan_missing"))
    p = p[~no_plan]

    # the terms row of each plan: first row with terms, else its first row
    first_terms = p[p["_has_terms"]].drop_duplicates("plan_key")
    no_terms = p[~p["plan_key"].isin(set(first_terms["plan_key"]))].drop_duplicates("plan_key")
    t = pd.concat([first_terms, no_terms]).sort_values(["row", "_i"], kind="mergesort",
                                                       na_position="last")

    inst, total, count = t["installment_cents"], t["total_cents"], t["count"]
    checks = {
        "installment_missing": inst.isna(),
        "installment_not_positive": inst.notna() & (inst <= 0),
        "start_missing": t["start"].isna(),
        "frequency_unknown": t["_freq"].isna(),
        "no_count_or_total": count.isna() & total.isna(),
        "count_not_positive": count.notna() & (count <= 0),
        "total_not_positive": total.notna() & (total <= 0),
        "grace_negative": t["grace_days"].notna() & (t["grace_days"] < 0),
    }
    checks = {k: v.fillna(False).astype(bool) for k, v in checks.items()}
    bad = pd.Series(False, index=t.index)
    for code, mask in checks.items():
        if _PROBLEMS[code][2] == "high":
            bad |= mask
    # number of installments (only meaningful where terms are good)
    ok_inst = inst.where(~bad, 1).fillna(1).astype("int64").clip(lower=1)
    ok_total = total.where(~bad).astype("Int64")
    ok_count = count.where(~bad).astype("Int64")
    n = ok_count.where(ok_count.notna(), (ok_total + ok_inst - 1) // ok_inst)
    checks["too_many"] = (~bad & n.notna() & (n > MAX_INSTALLMENTS)).fillna(False).astype(bool)
    bad |= checks["too_many"]
    for code, mask in checks.items():
        if mask.any():
            problems.append(_invalid_findings(t[mask], code))

    invalid = (normalize(pd.concat(problems)).reset_index(drop=True) if problems else
               normalize(pd.DataFrame({"type": pd.Series([], dtype="object")})))

    good_keys = set(t.loc[~bad, "plan_key"])
    t = t[~bad].copy()
    t["_n"] = n[~bad].astype("int64")
    t["_total"] = total[~bad].where(total[~bad].notna(), t["_n"] * t["installment_cents"]) \
        .astype("int64")
    t["_grace"] = t["grace_days"].where(t["grace_days"].notna() & (t["grace_days"] >= 0),
                                        grace_default).astype("int64")

    # invoices and patient from every row of the plan
    rows = p[p["plan_key"].isin(good_keys)]
    inv = rows.dropna(subset=["invoice_key"]).drop_duplicates(["plan_key", "invoice_key"])
    inv_disp = inv.groupby("plan_key", sort=False)["invoice"].agg(", ".join)
    inv_keys = inv.groupby("plan_key", sort=False)["invoice_key"].agg(tuple)
    pat = rows.dropna(subset=["patient_id_key"]).drop_duplicates("plan_key") \
        .set_index("plan_key")[["patient_id", "patient_id_key"]]
    t = t.set_index("plan_key", drop=False)
    t["invoices"] = inv_disp.reindex(t.index).astype("object").where(
        inv_disp.reindex(t.index).notna(), None)
    keys_list = [v if isinstance(v, tuple) else () for v in inv_keys.reindex(t.index)]
    keys_arr = np.empty(len(keys_list), dtype=object)
    keys_arr[:] = keys_list
    t["invoice_keys"] = keys_arr
    t["patient_id"] = t["patient_id"].where(t["patient_id"].notna(),
                                            pat["patient_id"].reindex(t.index))
    t["patient_id_key"] = t["patient_id_key"].where(t["patient_id_key"].notna(),
                                                    pat["patient_id_key"].reindex(t.index))
    t = t.reset_index(drop=True)
    for c in ("patient_id", "patient_id_key", "invoices"):
        t[c] = t[c].astype("object").where(t[c].notna(), None)

    if not len(t):
        return PlanTables(_empty_installments(), _empty_plan_status(), invalid)

    ins = _schedule(t)

    # payments toward each plan, allocated in due order
    counted = _plan_payments(t, payments, applications, as_of)
    paid = counted.groupby("plan_key")["cents"].sum() if len(counted) else pd.Series(
        dtype="int64")
    t["_paid"] = t["plan_key"].map(paid).fillna(0).astype("int64").to_numpy()

    amount = ins["amount_cents"].astype("int64")
    cum_due = amount.groupby(ins["_pos"]).cumsum()
    prev = cum_due - amount
    pool = t["_paid"].clip(lower=0).to_numpy()[ins["_pos"].to_numpy()]
    alloc = np.clip(pool - prev.to_numpy(), 0, amount.to_numpy())
    ins["paid_cents"] = pd.array(alloc, dtype="Int64")
    ins["grace_days"] = pd.array(ins["_grace"].astype("int64"), dtype="Int64")
    ins["grace_end"] = (ins["due_date"] + pd.to_timedelta(ins["_grace"].astype("int64"), unit="D")
                        ).astype("datetime64[us]")

    # invoices paid off outside the plan close it
    closed = np.zeros(len(t), dtype=bool)
    if invoice_totals is not None and len(invoice_totals) and "invoice_key" in invoice_totals \
            and "balance_cents" in invoice_totals:
        bal = (invoice_totals.dropna(subset=["invoice_key"])
               .assign(_b=_col(invoice_totals, "balance_cents", "Int64"))
               .groupby("invoice_key", sort=False)["_b"].sum(min_count=1))
        ex = t[["plan_key", "invoice_keys"]].explode("invoice_keys").dropna(
            subset=["invoice_keys"])
        ex = ex.assign(_b=ex["invoice_keys"].map(bal))
        ex = ex[ex["_b"].notna()]
        if len(ex):
            open_any = (ex["_b"] > 0).groupby(ex["plan_key"], sort=False).any()
            closed_keys = set(open_any[~open_any].index)
            closed = t["plan_key"].isin(closed_keys).to_numpy()

    full = alloc >= amount.to_numpy()
    all_paid = pd.Series(full).groupby(ins["_pos"].to_numpy()).all() \
        .reindex(range(len(t)), fill_value=False).to_numpy()
    completed = (t["_paid"].to_numpy() >= t["_total"].to_numpy()) | all_paid | closed

    due = ins["due_date"].to_numpy()
    as_of64 = np.datetime64(as_of.to_datetime64(), "us")
    grace_end = ins["grace_end"].to_numpy()
    plan_done = completed[ins["_pos"].to_numpy()]
    status = np.select(
        [full, plan_done, due > as_of64, alloc > 0, as_of64 > grace_end],
        ["paid", "closed", "upcoming", "partial", "missed"], "due")
    ins["status"] = status.astype(object)

    pos = ins["_pos"].to_numpy()
    missed = np.bincount(pos[status == "missed"], minlength=len(t))
    late_partial = np.bincount(pos[(status == "partial") & (as_of64 > grace_end)],
                               minlength=len(t))
    open_rows = ins[~np.isin(status, ["paid", "closed"])].drop_duplicates("_pos")
    next_date = pd.Series(open_rows["due_date"].to_numpy(), index=open_rows["_pos"].to_numpy()) \
        .reindex(range(len(t)))
    next_cents = pd.Series((open_rows["amount_cents"] - open_rows["paid_cents"]).to_numpy(),
                           index=open_rows["_pos"].to_numpy()).reindex(range(len(t)))

    plan_state = np.select(
        [completed, missed >= default_after, (missed > 0) | (late_partial > 0)],
        ["completed", "defaulted", "behind"], "on track")

    total_cents = t["_total"].to_numpy()
    remaining = np.where(completed, 0, np.maximum(total_cents - t["_paid"].to_numpy(), 0))
    ps = pd.DataFrame({
        "plan": t["plan"].to_numpy(dtype=object),
        "plan_key": t["plan_key"].to_numpy(dtype=object),
        "patient_id": t["patient_id"].to_numpy(dtype=object),
        "patient_id_key": t["patient_id_key"].to_numpy(dtype=object),
        "invoices": t["invoices"].to_numpy(dtype=object),
        "invoice_keys": t["invoice_keys"].to_numpy(dtype=object),
        "total_cents": pd.array(total_cents, dtype="Int64"),
        "paid_to_date_cents": pd.array(t["_paid"].to_numpy(), dtype="Int64"),
        "remaining_cents": pd.array(remaining, dtype="Int64"),
        "next_due_date": next_date.to_numpy(dtype="datetime64[us]"),
        "next_due_cents": pd.array(next_cents.to_numpy(), dtype="Int64"),
        "installments_missed": pd.array(missed, dtype="Int64"),
        "status": plan_state.astype(object),
        "source": t["source"].to_numpy(dtype=object),
        "sheet": t["sheet"].to_numpy(dtype=object),
        "row": pd.array(t["row"].to_numpy(), dtype="Int64"),
        "installment_cents": pd.array(t["installment_cents"].to_numpy(), dtype="Int64"),
        "start": t["start"].to_numpy(dtype="datetime64[us]"),
        "frequency": t["_freq"].to_numpy(dtype=object),
        "installments": pd.array(np.bincount(pos, minlength=len(t)), dtype="Int64"),
        "grace_days": pd.array(t["_grace"].to_numpy(), dtype="Int64"),
        "closed_by_invoices": closed & ~(
            (t["_paid"].to_numpy() >= total_cents) | all_paid),
    })
    ps.loc[completed, "next_due_date"] = pd.NaT
    ps.loc[completed, "next_due_cents"] = pd.NA

    ins = ins[list(INSTALLMENT_COLUMNS)].reset_index(drop=True)
    for c in ("plan", "plan_key", "patient_id", "invoices", "source", "sheet"):
        ins[c] = ins[c].astype(object).where(ins[c].notna(), None)
    ins["row"] = ins["row"].astype("Int64")
    ins["due_date"] = ins["due_date"].astype("datetime64[us]")
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
