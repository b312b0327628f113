"""Turn the workbook's Remittances sheet into the same tables an 835 file gives.

Offices without 835 files paste a clearinghouse export into a Remittances sheet instead. Giving it
the shape of `Remit` means every remittance check runs once, on one kind of table, whatever the
source. Each sheet row is a remittance line: rows with a CPT are service lines, rows without one
are claim-level; rows of one (trace, claim) form one claim whose amounts are the rows' sums, and a
row's adjustment columns become one adjustment at line or claim level. One transaction is made per
trace, paying the sum of its claims (a sheet has no separate payment total to check against).
"""

from __future__ import annotations

import pandas as pd

from engine.x12.read import (ADJUSTMENT_COLUMNS, CLAIM_COLUMNS, LINE_COLUMNS, PLB_COLUMNS,
                             PROBLEM_COLUMNS, TRANSACTION_COLUMNS, Remit, _frame)


def _col(df: pd.DataFrame, name: str, dtype: str = "object") -> pd.Series:
    if name in df:
        return df[name]
    return pd.Series(pd.NA if dtype != "datetime64[us]" else pd.NaT, index=df.index,
                     dtype=dtype)


def _conform(df: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Give a built table exactly the reader's columns and dtypes."""
    template = _frame([], columns)
    out = {}
    for c in columns:
        col = df[c] if c in df else pd.Series(pd.NA, index=df.index, dtype="object")
        dtype = template[c].dtype
        if str(dtype) == "bool":
            out[c] = col.fillna(True).astype(bool)
        elif str(dtype).startswith("datetime"):
            out[c] = pd.to_datetime(col, errors="coerce").astype("datetime64[us]")
        elif str(dtype) == "Int64" or str(dtype) == "float64":
            out[c] = pd.to_numeric(col, errors="coerce").astype(dtype)
        else:
            out[c] = col.astype("object").where(col.notna(), None).astype("str")
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


def from_remittances_sheet(df: pd.DataFrame) -> Remit:
    """The Remittances sheet table (engine.tables columns) as Remit tables."""
    if df is None or not len(df):
        return Remit()
    rows = df.reset_index(drop=True).copy()
    sheet = _col(rows, "sheet").astype("object").fillna("Remittances")
    rows["file"] = sheet.astype(str)
    rows["segment"] = pd.to_numeric(_col(rows, "row"), errors="coerce").astype("Int64")
    rows["source"] = _col(rows, "source").astype("object").fillna(
        rows["file"] + " row " + rows["segment"].astype(str))
    trace_key = _col(rows, "trace_key").astype("object")
    claim_key = _col(rows, "claim_key").astype("object")
    rows["_t"] = trace_key.where(trace_key.notna(), "").astype(str)
    rows["_c"] = claim_key.where(claim_key.notna(), "").astype(str)
    for name in ("paid_cents", "billed_cents", "allowed_cents", "patient_resp_cents",
                 "adj_amount_cents"):
        rows[name] = pd.to_numeric(_col(rows, name), errors="coerce").astype("Int64")

    # transactions: one per trace (rows without a trace share one)
    t_codes, t_uniques = pd.factorize(rows["_t"], sort=False)
    rows["transaction_index"] = t_codes
    first_t = rows.groupby("transaction_index", sort=True).first()
    tx = pd.DataFrame({
        "transaction_index": first_t.index,
        "file": first_t["file"], "segment": first_t["segment"], "source": first_t["source"],
        "paid_cents": rows.groupby("transaction_index")["paid_cents"].sum(min_count=1),
        "credit_debit": "C",
        "trace": first_t.get("trace"), "trace_key": first_t.get("trace_key"),
        "payer": first_t.get("payer"), "payer_key": first_t.get("payer_key"),
        "moves_money": True, "plb_total_cents": 0, "complete": True,
    })

    # claims: one per (trace, claim)
    c_codes, _ = pd.factorize(rows["_t"] + "\x1f" + rows["_c"], sort=False)
    rows["claim_index"] = c_codes
    g = rows.groupby("claim_index", sort=True)
    first_c = g.first()
    status = first_c.get("status")
    status = (status.astype("object").where(status.notna(), "1") if status is not None
              else "1")
    claims = pd.DataFrame({
        "claim_index": first_c.index, "transaction_index": first_c["transaction_index"],
        "file": first_c["file"], "segment": first_c["segment"], "source": first_c["source"],
        "claim": first_c.get("claim"), "claim_key": first_c.get("claim_key"),
        "status": status,
        "charge_cents": g["billed_cents"].sum(min_count=1),
        "paid_cents": g["paid_cents"].sum(min_count=1),
        "patient_resp_cents": g["patient_resp_cents"].sum(min_count=1),
        "service_date": g["service_date"].min() if "service_date" in rows else pd.NaT,
        "trace": first_c.get("trace"), "trace_key": first_c.get("trace_key"),
        "payer": first_c.get("payer"), "payer_key": first_c.get("payer_key"),
        "complete": True,
    })

    # lines: rows with a CPT
    cpt = _col(rows, "cpt")
    has_cpt = cpt.notna() & (cpt.astype("object").astype(str).str.strip() != "")
    line_rows = rows[has_cpt]
    rows["line_index"] = pd.Series(pd.NA, index=rows.index, dtype="Int64")
    rows.loc[has_cpt, "line_index"] = range(int(has_cpt.sum()))
    lines = pd.DataFrame({
        "line_index": rows.loc[has_cpt, "line_index"],
        "claim_index": line_rows["claim_index"],
        "transaction_index": line_rows["transaction_index"],
        "file": line_rows["file"], "segment": line_rows["segment"],
        "source": line_rows["source"],
        "claim": _col(line_rows, "claim"), "claim_key": _col(line_rows, "claim_key"),
        "qualifier": "HC", "cpt": _col(line_rows, "cpt"), "cpt_key": _col(line_rows, "cpt_key"),
        "charge_cents": line_rows["billed_cents"], "paid_cents": line_rows["paid_cents"],
        "units": 1.0, "service_date": _col(line_rows, "service_date"),
        "allowed_cents": line_rows["allowed_cents"],
    })

    # adjustments: one per row with a group, reason or amount
    group = _col(rows, "adj_group").astype("object")
    reason = _col(rows, "adj_reason").astype("object")
    has_adj = rows["adj_amount_cents"].notna() & (group.notna() | reason.notna())
    a = rows[has_adj]
    adjustments = pd.DataFrame({
        "claim_index": a["claim_index"], "line_index": a["line_index"],
        "transaction_index": a["transaction_index"], "file": a["file"],
        "segment": a["segment"], "source": a["source"],
        "level": a["line_index"].notna().map({True: "line", False: "claim"}),
        "group": group[has_adj].astype("str").str.strip().str.upper(),
        "reason": reason[has_adj].astype("str").str.strip().str.upper(),
        "amount_cents": a["adj_amount_cents"],
    })

    return Remit(
        transactions=_conform(tx.reset_index(drop=True), TRANSACTION_COLUMNS),
        claims=_conform(claims.reset_index(drop=True), CLAIM_COLUMNS),
        lines=_conform(lines.reset_index(drop=True), LINE_COLUMNS),
        adjustments=_conform(adjustments.reset_index(drop=True), ADJUSTMENT_COLUMNS),
        plb=_frame([], PLB_COLUMNS),
        problems=_frame([], PROBLEM_COLUMNS),
    )
