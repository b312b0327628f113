"""Letters from templates: payer appeals / reimbursement requests and patient statements.

- An **appeal** (or, for UNDERPAID, a reimbursement request) for each remitted claim with a
  DENIED or UNDERPAID finding — one letter per claim even when several of its lines were denied:
  payer, claim and payer claim number, patient, service lines with what was charged, allowed and
  paid, the reason codes in words, the amount and what is requested.
- A **patient statement** for each patient with a balance the patient owes: PATIENT_RESPONSIBILITY
  findings (the payer assigned a share to the patient) and OVERDUE / SHORT_PAID findings on
  self-pay invoices (an insurance invoice nobody paid is a claim to chase, not a patient bill).
  An invoice with rows that could not be read (a line, or a payment naming it) is left off its
  statement and listed on the index instead, naming those rows: its balance is not known until
  they are corrected, and a patient is not sent a bill that may be wrong.

Data is computed here; the wording lives in `templates/letters/` (`appeal.html.j2`,
`statement.html.j2`, `_page.html.j2` for the page and print style). Staff change the wording by
copying a template into a folder named `letter-templates` beside the workbook and editing it
there: a template in that folder wins over the built-in one, and upgrades never overwrite it.

Output: one HTML file per letter (`appeal-<claim>.html`, `statement-<code>.html` — file names carry
no patient names), an `index.html` listing them, and with `pdf=True` one `letters.pdf` holding every
letter on its own pages, printed by the same headless Chromium as the report.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import pandas as pd

from engine.money import format_cents
from engine.pipeline import Result
from engine.x12.codes import denial_category, reason_text

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "letters"
OVERRIDE_FOLDER = "letter-templates"
STATEMENT_TYPES = ("PATIENT_RESPONSIBILITY", "OVERDUE", "SHORT_PAID")
SELF_PAY_ONLY = ("OVERDUE", "SHORT_PAID")

ENCLOSURES = {
    "eligibility": "a copy of the patient's insurance card and the eligibility verification for "
                   "the date of service",
    "authorization": "the prior authorization (number and approval) obtained for this service",
    "timely filing": "the clearinghouse acceptance report showing the claim was submitted on time",
    "medical necessity": "the medical records and physician notes supporting medical necessity",
    "bundling": "the coding documentation showing the service was separately identifiable",
    "coordination of benefits": "the primary payer's explanation of benefits",
    "missing information": "the corrected claim information",
    "duplicate claim": "the remittance of the original claim and the reason this claim differs",
    "non-covered": "the patient's signed advance beneficiary notice, if any",
    "other": "the documentation supporting the charges",
}


@dataclass
class Letters:
    folder: Path
    files: list[Path] = field(default_factory=list)
    appeals: int = 0
    statements: int = 0
    held: int = 0  # statements not written: rows of their invoice could not be read
    pdf: Path | None = None


def _environment(extra_folder: Path | None) -> jinja2.Environment:
    search = [str(extra_folder)] if extra_folder is not None and extra_folder.is_dir() else []
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(search + [str(TEMPLATES)]),
                             autoescape=jinja2.select_autoescape(["html", "j2", "xml"]),
                             undefined=jinja2.StrictUndefined)
    env.filters["money"] = lambda c: "" if c is None or pd.isna(c) else format_cents(int(c))
    env.filters["day"] = lambda d: "" if d is None or pd.isna(d) else \
        pd.Timestamp(d).strftime("%B %-d, %Y")
    return env


def _none(v: object) -> object:
    return None if v is None or (not isinstance(v, (str, list, dict)) and pd.isna(v)) else v


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-")[:60] or "letter"


def _code(text: str) -> str:
    return hashlib.sha256(str(text).strip().upper().encode()).hexdigest()[:8]


# ------------------------------------------------------------------------------------- appeals
def _claim_index(f: pd.Series, claims: pd.DataFrame, lines: pd.DataFrame) -> int | None:
    file, seg = f.get("source_sheet"), f.get("source_row")
    hit = claims[(claims["file"] == file) & (claims["segment"] == seg)]
    if len(hit):
        return int(hit["claim_index"].iloc[0])
    hit = lines[(lines["file"] == file) & (lines["segment"] == seg)] if len(lines) else lines
    if len(hit):
        return int(hit["claim_index"].iloc[0])
    same = claims[(claims["claim"] == f.get("claim")) & claims.get("effective", True)]
    return int(same["claim_index"].iloc[-1]) if len(same) else None


def appeal_data(result: Result) -> list[dict]:
    """One dict per claim with a DENIED or UNDERPAID finding (template `appeal.html.j2`)."""
    ctx = result.ctx
    f = result.findings
    f = f[f["type"].isin(("DENIED", "UNDERPAID"))]
    claims = ctx.remits.get("claims", pd.DataFrame())
    if f.empty or claims.empty:
        return []
    lines = ctx.remits.get("lines", pd.DataFrame())
    adj = ctx.remits.get("adjustments", pd.DataFrame())
    tx = ctx.remits.get("transactions", pd.DataFrame())
    inv = ctx.invoice_totals.set_index("invoice_key")
    by_claim: dict[int, list[pd.Series]] = {}
    for _, row in f.iterrows():
        ci = _claim_index(row, claims, lines)
        if ci is not None:
            by_claim.setdefault(ci, []).append(row)
    out = []
    cl = claims.set_index("claim_index")
    txi = tx.set_index("transaction_index") if len(tx) else pd.DataFrame()
    for ci, rows in by_claim.items():
        c = cl.loc[ci]
        t = txi.loc[c["transaction_index"]] if len(txi) and c["transaction_index"] in txi.index \
            else None
        ln = lines[lines["claim_index"] == ci] if len(lines) else lines
        service = []
        for _, l in ln.iterrows():
            la = adj[adj["line_index"] == l["line_index"]] if len(adj) else adj
            service.append({
                "service_date": _none(l["service_date"]) or _none(c["service_date"]),
                "code": l["cpt"] + (f"-{l['modifiers']}" if _none(l["modifiers"]) else ""),
                "units": (int(l["units"]) if _none(l["units"]) is not None
                          and float(l["units"]).is_integer() else _none(l["units"])),
                "charge": _none(l["charge_cents"]), "allowed": _none(l["allowed_cents"]),
                "contract": _none(l.get("contract_cents")), "paid": _none(l["paid_cents"]),
                "denied": bool(_none(l.get("denied")) or False),
                "adjustments": [f"{a['group']}-{a['reason']}: "
                                f"{reason_text(a['group'], a['reason']).split(': ', 1)[-1]} "
                                f"({format_cents(int(a['amount_cents']))})"
                                for _, a in la.iterrows()]})
        claim_adj = adj[(adj["claim_index"] == ci) & adj["line_index"].isna()] if len(adj) else adj
        kinds = {r["type"] for r in rows}
        denied = "DENIED" in kinds
        reasons, categories = [], []
        for r in rows:
            if _none(r["reason"]):
                reasons.append(str(r["reason"]))
        for g, code in ((c.get("denial_group"), c.get("denial_reason")),) + tuple(
                (l.get("denial_group"), l.get("denial_reason")) for _, l in ln.iterrows()
                if bool(_none(l.get("denied")) or False)):
            if isinstance(code, str):
                categories.append(denial_category(code))
        requested = 0
        for r in rows:
            e, a = _none(r["expected"]), _none(r["actual"])
            requested += max(int(e or 0) - int(a or 0), 0)
        invoice_key = c.get("invoice_key")
        invoice = inv.loc[invoice_key] if isinstance(invoice_key, str) and invoice_key in inv.index \
            else None
        patient = (_none(invoice["patient"]) if invoice is not None else None) or _none(c["patient"])
        patient_id = (_none(invoice["patient_id"]) if invoice is not None else None) or \
            _none(c["patient_id"])
        out.append({
            "kind": "appeal" if denied else "reimbursement request",
            "types": sorted(kinds),
            "payer": _none(c["payer"]) or (rows[0]["payer"]),
            "payer_id": _none(t["payer_id"]) if t is not None else None,
            "claim": c["claim"], "payer_claim": _none(c["payer_claim"]),
            "invoice": _none(invoice["invoice"]) if invoice is not None else rows[0]["invoice"],
            "patient": patient, "patient_id": patient_id,
            "service_date": _none(c["service_date"]) or _none(rows[0]["service_date"]),
            "remit_date": _none(t["payment_date"]) if t is not None else None,
            "trace": _none(c["trace"]), "charge": _none(c["charge_cents"]),
            "paid": _none(c["paid_cents"]), "status": c["status"],
            "lines": service,
            "claim_adjustments": [f"{a['group']}-{a['reason']}: "
                                  f"{reason_text(a['group'], a['reason']).split(': ', 1)[-1]} "
                                  f"({format_cents(int(a['amount_cents']))})"
                                  for _, a in claim_adj.iterrows()],
            "reasons": list(dict.fromkeys(reasons)),
            "enclosures": [ENCLOSURES[k] for k in dict.fromkeys(categories)] if denied else [],
            "underpaid": "UNDERPAID" in kinds,
            "contracted": next((int(r["expected"]) for r in rows if r["type"] == "UNDERPAID"
                                and _none(r["expected"]) is not None), None),
            "received": next((int(r["actual"]) for r in rows if r["type"] == "UNDERPAID"
                              and _none(r["actual"]) is not None), None),
            "requested": requested,
            "findings": [r["id"] for r in rows],
        })
    out.sort(key=lambda d: (str(d["payer"]), str(d["claim"])))
    return out


# ------------------------------------------------------------------------------------- statements
def statement_data(result: Result) -> list[dict]:
    """One dict per patient owing a balance (template `statement.html.j2`)."""
    return _statements(result)[0]


def held_statements(result: Result) -> list[dict]:
    """Invoices a statement would bill but rows that could not be read belong to (a line of it,
    or a payment naming it): until they are corrected its balance is not known, and a patient is
    not sent a bill that may be wrong. One dict per invoice: invoice, sources (which rows)."""
    return _statements(result)[1]


def _statements(result: Result) -> tuple[list[dict], list[dict]]:
    ctx = result.ctx
    f = result.findings
    t = ctx.invoice_totals.set_index("invoice_key")
    f = f[f["type"].isin(STATEMENT_TYPES) & f["invoice"].notna()]
    if f.empty:
        return [], []
    keys = pd.Series([k for k in t.index], index=t["invoice"].astype(str).to_numpy())
    keys = keys[~keys.index.duplicated()]
    wanted: dict[str, list[str]] = {}
    for _, r in f.iterrows():
        key = keys.get(str(r["invoice"]))
        if key is None:
            continue
        inv = t.loc[key]
        if r["type"] in SELF_PAY_ONLY and not bool(inv.get("self_pay", False)):
            continue
        if int(inv["balance_cents"]) <= 0:
            continue
        who = _none(inv["patient_key"]) or _none(inv["patient_id_key"]) or str(r["patient"])
        wanted.setdefault(str(who), [])
        if key not in wanted[str(who)]:
            wanted[str(who)].append(key)
    billed = ctx.invoice_totals[ctx.invoice_totals["invoice_key"].isin(
        [k for owed in wanted.values() for k in owed])]
    unknown: dict[object, list[str]] = {}
    for by_invoice in ctx.unreadable_rows(billed).values():
        for key, sources in by_invoice.items():
            unknown.setdefault(key, []).extend(sources)
    held = [{"invoice": t.loc[key, "invoice"], "sources": list(dict.fromkeys(sources))}
            for key, sources in unknown.items()]
    held.sort(key=lambda h: str(h["invoice"]))
    wanted = {who: [k for k in owed if k not in unknown] for who, owed in wanted.items()}
    wanted = {who: owed for who, owed in wanted.items() if owed}
    lines_of = ctx.tables.get("Invoices", pd.DataFrame())
    out = []
    for who, inv_keys in wanted.items():
        rows = []
        for key in inv_keys:
            inv = t.loc[key]
            codes = []
            if len(lines_of):
                codes = [c for c in lines_of.loc[lines_of["invoice_key"] == key, "cpt"].dropna()
                         .astype(str).tolist()]
            rows.append({"invoice": inv["invoice"], "service_date": _none(inv["service_date"]),
                         "invoice_date": _none(inv["invoice_date"]),
                         "due_date": _none(inv["due_date"]),
                         "services": ", ".join(dict.fromkeys(codes)),
                         "billed": int(inv["billed_cents"]),
                         "insurance_paid": int(inv["insurance_paid_cents"]),
                         "adjusted": int(inv["adjusted_cents"]),
                         "patient_paid": int(inv["patient_paid_cents"]),
                         "balance": int(inv["balance_cents"]),
                         "payer": _none(inv["payer"]) if not bool(inv.get("self_pay", False))
                         else None})
        first = t.loc[inv_keys[0]]
        rows.sort(key=lambda r: (r["service_date"] is None, r["service_date"] or 0, r["invoice"]))
        out.append({"patient": _none(first["patient"]) or _none(first["patient_id"]) or who,
                    "patient_id": _none(first["patient_id"]), "code": _code(who),
                    "invoices": rows, "total": sum(r["balance"] for r in rows),
                    "pay_by": ctx.as_of + pd.Timedelta(days=30)})
    out.sort(key=lambda d: d["code"])
    return out, held


# ------------------------------------------------------------------------------------- writing
def practice(result: Result) -> dict:
    s = result.ctx.settings
    return {"name": s.practice_name or result.inputs.path.stem,
            "phone": s.extra.get("practice_phone"), "address": s.extra.get("practice_address"),
            "npi": s.extra.get("practice_npi")}


def write_letters(result: Result, folder: Path, *, redacted: bool = False, pdf: bool = False,
                  templates: Path | None = None) -> Letters:
    """Write every appeal and statement of this run into `folder` (created)."""
    from engine.report import Redactor, html_to_pdf

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if templates is None:
        templates = result.inputs.path.parent / OVERRIDE_FOLDER
    env = _environment(templates)
    scrub = Redactor.from_result(result).scrub if redacted else (lambda x: x)
    common = {"practice": practice(result), "as_of": result.ctx.as_of, "redacted": redacted}
    appeal_t = env.get_template("appeal.html.j2")
    statement_t = env.get_template("statement.html.j2")
    page_t = env.get_template("_page.html.j2")
    out = Letters(folder)
    bodies: list[tuple[str, str, str]] = []  # (file name, title, html fragment)
    for a in appeal_data(result):
        a = scrub(a)
        body = appeal_t.render(letter=a, **common)
        name = f"appeal-{_slug(a['claim'])}.html"
        bodies.append((name, f"{a['kind'].capitalize()} — {a['payer']}, claim {a['claim']}", body))
        out.appeals += 1
    statements, held = _statements(result)
    for s in statements:
        s = scrub(s)
        body = statement_t.render(letter=s, **common)
        bodies.append((f"statement-{s['code']}.html",
                       f"Patient statement — {s['patient']} ({format_cents(s['total'])})", body))
        out.statements += 1
    for name, title, body in bodies:
        path = folder / name
        _atomic_text(path, page_t.render(title=title, bodies=[_markup(body)],
                                         **common))
        out.files.append(path)
    index = folder / "index.html"
    _atomic_text(index, page_t.render(title=f"Letters — {common['practice']['name']}",
                                      bodies=[], index=[(n, t) for n, t, _b in bodies],
                                      held=held, **common))
    out.held = len(held)
    out.files.append(index)
    if pdf and bodies:
        out.pdf = folder / "letters.pdf"
        html_to_pdf(page_t.render(title="Letters", bodies=[_markup(b) for _n, _t, b in bodies],
                                  **common), out.pdf)
        out.files.append(out.pdf)
    return out


def _markup(text: str):
    from markupsafe import Markup
    return Markup(text)


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
