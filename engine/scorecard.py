"""Payer scorecard: how each insurer treats the practice, computed from one run.

Per payer: claims remitted, charged, paid, denial rate, the most frequent denial reasons (in
words), the underpaid total (UNDERPAID findings: contracted − received) and the average days from
invoice date to the payer's payment date (835 BPR date). With 835 remittances the numbers come from
the remitted claims (reversed claims and their reversals left out); without remittances, from the
workbook's insurance invoices and the payments applied to them.
"""

from __future__ import annotations

import pandas as pd

from engine.pipeline import Result
from engine.x12.codes import reason_text

COLUMNS = ["payer", "claims", "charged_cents", "paid_cents", "denied", "denial_rate",
           "top_denials", "underpaid_cents", "underpaid_claims", "avg_days_to_payment",
           "paid_claims"]


def _label_map(claims: pd.DataFrame, invoices: pd.DataFrame) -> dict[str, str]:
    """835 payer name → the name staff use in the workbook (most frequent), when they differ."""
    inv_payer = claims["invoice_key"].map(invoices.set_index("invoice_key")["payer"])
    out = {}
    for name, group in inv_payer.groupby(claims["payer"].fillna("Unknown payer")):
        common = group.dropna().value_counts()
        label = str(name)
        if len(common) and str(common.index[0]).strip().upper() != label.strip().upper():
            label = f"{common.index[0]} ({name})"
        out[str(name)] = label
    return out


def _underpaid(findings: pd.DataFrame) -> pd.DataFrame:
    u = findings[findings["type"] == "UNDERPAID"]
    short = (u["expected"] - u["actual"]).fillna(0).astype("int64")
    g = pd.DataFrame({"payer": u["payer"].fillna("Unknown payer"), "short": short})
    return g.groupby("payer").agg(underpaid_cents=("short", "sum"),
                                  underpaid_claims=("short", "size"))


def scorecard(result: Result) -> pd.DataFrame:
    ctx = result.ctx
    claims = ctx.remits.get("claims")
    if claims is not None and len(claims):
        return _from_remits(result)
    return _from_workbook(result)


def _from_remits(result: Result) -> pd.DataFrame:
    ctx = result.ctx
    inv = ctx.invoice_totals
    claims = ctx.remits["claims"]
    c = claims[claims["effective"]] if "effective" in claims else claims[claims["status"] != "22"]
    c = c.assign(payer=c["payer"].fillna("Unknown payer"))
    tx = ctx.remits.get("transactions", pd.DataFrame())
    paid_on = (c["transaction_index"].map(tx.set_index("transaction_index")["payment_date"])
               if len(tx) else pd.Series(pd.NaT, index=c.index))
    inv_i = inv.set_index("invoice_key")
    billed_on = c["invoice_key"].map(inv_i["invoice_date"]).fillna(
        c["invoice_key"].map(inv_i["service_date"]))
    days = (pd.to_datetime(paid_on) - pd.to_datetime(billed_on)).dt.days
    days = days.where((c["paid_cents"] > 0).fillna(False).astype(bool))
    denied = c["denied"].fillna(False).astype(bool) if "denied" in c else \
        pd.Series(c["status"] == "4", index=c.index)
    reasons = pd.Series([reason_text(g, r) if isinstance(r, str) else "no reason given"
                         for g, r in zip(c.get("denial_group", pd.Series(None, index=c.index)),
                                         c.get("denial_reason", pd.Series(None, index=c.index)))],
                        index=c.index)
    lines = ctx.remits.get("lines", pd.DataFrame())
    line_reasons = pd.DataFrame(columns=["payer", "reason"])
    if len(lines) and "denied" in lines:
        ln = lines[lines["denied"].fillna(False).astype(bool)]
        if len(ln):
            payer = ln["claim_index"].map(claims.set_index("claim_index")["payer"])
            line_reasons = pd.DataFrame({
                "payer": payer.fillna("Unknown payer"),
                "reason": [reason_text(g, r) for g, r in zip(ln["denial_group"], ln["denial_reason"])]})
    labels = _label_map(c, inv)
    under = _underpaid(result.findings)
    rows = []
    for payer, g in c.groupby("payer", sort=True):
        d = denied[g.index]
        all_reasons = pd.concat([reasons[g.index][d],
                                 line_reasons.loc[line_reasons["payer"] == payer, "reason"]])
        top = all_reasons.value_counts().head(3)
        pd_days = days[g.index].dropna()
        rows.append({
            "payer": labels.get(payer, payer), "claims": len(g),
            "charged_cents": int(g["charge_cents"].fillna(0).sum()),
            "paid_cents": int(g["paid_cents"].fillna(0).sum()),
            "denied": int(d.sum()), "denial_rate": float(d.mean()) if len(g) else 0.0,
            "top_denials": [(str(k), int(v)) for k, v in top.items()],
            "underpaid_cents": int(under["underpaid_cents"].get(payer, 0)),
            "underpaid_claims": int(under["underpaid_claims"].get(payer, 0)),
            "avg_days_to_payment": float(pd_days.mean()) if len(pd_days) else None,
            "paid_claims": int((g["paid_cents"] > 0).sum()),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def _from_workbook(result: Result) -> pd.DataFrame:
    ctx = result.ctx
    t = ctx.invoice_totals
    ins = t[~t["self_pay"].astype(bool) & t["payer"].notna()] if "self_pay" in t else \
        t[t["payer"].notna()]
    if ins.empty:
        return pd.DataFrame(columns=COLUMNS)
    p, a = ctx.payments, ctx.applications
    first_paid = pd.Series(dtype="datetime64[ns]")
    if len(a) and len(p):
        ins_pay = p[p["kind"] == "insurance"]
        app = a[a["payment_index"].isin(ins_pay.index)]
        when = pd.to_datetime(app["payment_index"].map(ins_pay["date"]))
        first_paid = when.groupby(app["invoice_key"].to_numpy()).min()
    paid_on = pd.to_datetime(ins["invoice_key"].map(first_paid.to_dict()).astype("object"))
    days = (paid_on - pd.to_datetime(ins["invoice_date"].fillna(ins["service_date"]))).dt.days
    denied = ins["denied"].fillna(False).astype(bool) if "denied" in ins else \
        pd.Series(False, index=ins.index)
    under = _underpaid(result.findings)
    rows = []
    for payer, g in ins.groupby("payer", sort=True):
        d = denied[g.index]
        pd_days = days[g.index].dropna()
        rows.append({
            "payer": payer, "claims": len(g), "charged_cents": int(g["billed_cents"].sum()),
            "paid_cents": int(g["insurance_paid_cents"].sum()), "denied": int(d.sum()),
            "denial_rate": float(d.mean()), "top_denials": [],
            "underpaid_cents": int(under["underpaid_cents"].get(payer, 0)),
            "underpaid_claims": int(under["underpaid_claims"].get(payer, 0)),
            "avg_days_to_payment": float(pd_days.mean()) if len(pd_days) else None,
            "paid_claims": int((g["insurance_paid_cents"] > 0).sum()),
        })
    return pd.DataFrame(rows, columns=COLUMNS)
