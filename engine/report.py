"""The exported discrepancy report: data computed here, formatting in templates/report.html.j2.

The HTML is self-contained (inline CSS and SVG charts, no scripts, no external files) so it can be
mailed to a practice manager or archived for an auditor; the PDF is the same HTML printed by a
headless Chromium. Templates autoescape: a patient name or note typed with `<script>` is text.

What it shows, in the order a practice manager reads it: headline numbers (findings, money at
stake, new and resolved since last week when the run history is known), charts (findings by type
with their amounts, open balance by age, the weekly trend), the payer scorecard, open balances by
payer and age, then the findings grouped by what to do about them (severity colours, how long each
has been open), what was resolved since last week, and the input files with checksums.

With `redacted`, every patient name and patient identifier read from the inputs (workbook sheets
and 835 files, either name order) is replaced wherever it appears in the report — columns and
free text alike — by initials and a short stable hash (engine.write.export.redact_value).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import jinja2
import pandas as pd

from engine.errors import InputError
from engine.findings import SEVERITIES, TYPES
from engine.money import format_cents
from engine.pipeline import Result
from engine.results import Report, finding_amount
from engine.write.export import redact_value

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SEVERITY_COLOURS = {"high": "#c0392b", "medium": "#e67e22", "low": "#c9a227", "info": "#5d6d7e"}
SEVERITY_TINTS = {"high": "#fdecea", "medium": "#fef3e6", "low": "#fcf8e3", "info": "#f2f4f6"}
_SEV_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_ACRONYMS = {"era": "ERA"}  # an 835 is an ERA (electronic remittance advice), not an era
TYPE_LABELS = {t: " ".join(_ACRONYMS.get(w.lower(), w)
                           for w in t.replace("_", " ").capitalize().split())
               for t in TYPES}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=jinja2.select_autoescape(["html", "j2", "xml"]),
                             undefined=jinja2.StrictUndefined)
    env.filters["money"] = lambda c: "" if c is None or pd.isna(c) else format_cents(int(c))
    env.filters["day"] = lambda d: "" if d is None or pd.isna(d) else pd.Timestamp(d).strftime("%Y-%m-%d")
    env.filters["pct"] = lambda x: "" if x is None or pd.isna(x) else f"{100 * x:.0f}%"
    env.filters["num"] = lambda x, d=0: "" if x is None or pd.isna(x) else f"{x:,.{d}f}"
    return env


# ---------------------------------------------------------------------------------- redaction
class Redactor:
    """Replaces patient names and identifiers found in the inputs, anywhere in text."""

    def __init__(self, values: set[str]):
        values = {v.strip() for v in values if isinstance(v, str) and len(v.strip()) >= 3}
        self.values = values
        if values:
            alts = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
            self._re = re.compile(rf"(?<![\w])(?:{alts})(?![\w])", re.IGNORECASE)
        else:
            self._re = None

    @classmethod
    def from_result(cls, result: Result) -> Redactor:
        ctx = result.ctx
        found: set[str] = set()
        frames = [ctx.tables.get(n, pd.DataFrame()) for n in ("Invoices", "Payments",
                                                             "PaymentPlans")]
        frames += [ctx.invoice_totals, ctx.remits.get("claims", pd.DataFrame())]
        for frame in frames:
            for col in ("patient", "patient_id"):
                if col in frame:
                    found |= set(frame[col].dropna().astype(str))
        names = {v for v in found if any(ch.isalpha() for ch in v)}
        for name in names:  # "Smith, John" ↔ "John Smith"
            if "," in name:
                last, first = name.split(",", 1)
                found.add(f"{first.strip()} {last.strip()}")
            elif len(parts := name.split()) >= 2:
                found.add(f"{parts[-1]}, {' '.join(parts[:-1])}")
        return cls(found)

    def text(self, value: str) -> str:
        if self._re is None:
            return value
        return self._re.sub(lambda m: str(redact_value(m.group(0))), value)

    def scrub(self, obj):
        """A copy of `obj` (dicts, lists, tuples, strings) with every occurrence replaced."""
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, dict):
            return {k: self.scrub(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.scrub(v) for v in obj]
        if isinstance(obj, tuple):
            return tuple(self.scrub(v) for v in obj)
        return obj


# ---------------------------------------------------------------------------------- charts
TEXT_UNITS_PER_CHAR = 6.5


def bar_chart(labels: list[str], values: list[int], *, width: int = 560, bar: int = 22,
              colour: str | list[str] = "#2e6da4", notes: list[str] | None = None,
              label_w: int = 190) -> dict:
    """Geometry of a horizontal bar chart, in SVG user units; values are cents. The longest bar
    leaves room after it for the longest amount and note shown beside a bar (11px Arial: about
    6.5 units a character), so no text runs off the chart's edge."""
    top = max([abs(v) for v in values] + [1])
    rows = []
    colours = colour if isinstance(colour, list) else [colour] * len(values)
    shown = [len(format_cents(v)) + (len(f" · {notes[i]}") if notes else 0)
             for i, v in enumerate(values)]
    room = max(110, round(TEXT_UNITS_PER_CHAR * max(shown, default=0)) + 12)
    for i, (label, value) in enumerate(zip(labels, values)):
        length = round(max(width - label_w - room, 60) * abs(value) / top)
        rows.append({"label": label, "y": i * (bar + 6), "w": max(length, 1), "value": value,
                     "text_x": label_w + max(length, 1) + 6, "colour": colours[i],
                     "note": (notes[i] if notes else "")})
    return {"width": width, "height": max(len(rows) * (bar + 6), bar), "bar": bar,
            "label_w": label_w, "rows": rows, "colour": colours[0] if colours else "#2e6da4"}


def trend_chart(trend: pd.DataFrame, *, width: int = 560, height: int = 230) -> dict | None:
    """Weekly columns: findings carried over + new/reopened stacked above the axis, resolved
    below it; the money at stake written under each week."""
    if trend is None or len(trend) == 0:
        return None
    t = trend.tail(12).reset_index(drop=True)
    left, right, top_pad, bottom_pad = 40, 10, 18, 44
    up = max(int(t["open"].max()), 1)
    down = max(int(t["resolved"].max()), 0)
    plot_h = height - top_pad - bottom_pad
    scale = plot_h / (up + down if up + down else 1)
    axis_y = top_pad + up * scale
    slot = (width - left - right) / len(t)
    bar_w = min(46, slot * 0.6)
    weeks = []
    for i, r in t.iterrows():
        x = left + i * slot + (slot - bar_w) / 2
        fresh = int(r["new"]) + int(r["reopened"])
        carried = int(r["open"]) - fresh
        h_carried = carried * scale
        h_fresh = fresh * scale
        h_res = int(r["resolved"]) * scale
        weeks.append({
            "x": round(x, 1), "w": round(bar_w, 1), "cx": round(x + bar_w / 2, 1),
            "carried_y": round(axis_y - h_carried, 1), "carried_h": round(h_carried, 1),
            "fresh_y": round(axis_y - h_carried - h_fresh, 1), "fresh_h": round(h_fresh, 1),
            "resolved_y": round(axis_y, 1), "resolved_h": round(h_res, 1),
            "open": int(r["open"]), "fresh": fresh, "resolved": int(r["resolved"]),
            "label": str(r["week"]), "amount": int(r["amount_cents"]),
            "top_label_y": round(axis_y - h_carried - h_fresh - 4, 1),
            "res_label_y": round(axis_y + h_res + 11, 1),
        })
    return {"width": width, "height": height, "axis_y": round(axis_y, 1), "left": left,
            "right": width - right, "weeks": weeks, "label_y": height - 24,
            "amount_y": height - 10}


# ---------------------------------------------------------------------------------- data
def _mask(action: str) -> str:
    """The action with its specifics (invoice numbers, amounts) blanked: the grouping key."""
    return re.sub(r"\S*\d\S*", "…", action or "").strip()


def _missing(v: object) -> bool:
    return v is None or (not isinstance(v, (str, list, dict, tuple)) and bool(pd.isna(v)))


def _history_label(h, fid: str) -> tuple[str, str]:
    if h is None:
        return "", ""
    label = h.label(fid)
    css = {"New": "new", "Reopened": "reopened"}.get(label, "open" if label else "")
    return label, css


def report_data(rep: Report, result: Result, *, redacted: bool, history=None) -> dict:
    from engine.scorecard import scorecard

    f = rep.findings.copy()
    f["amount"] = finding_amount(f)
    ctx = result.ctx
    by_id = history._by_id if history is not None else {}
    rows = []
    for r in f.to_dict(orient="records"):
        r = {k: (None if _missing(v) else v) for k, v in r.items()}
        label, css = _history_label(history, r["id"])
        r["history"], r["history_css"] = label, css
        r["weeks_open"] = by_id.get(r["id"], {}).get("weeks_open")
        r["type_label"] = TYPE_LABELS.get(r["type"], r["type"])
        r["ref"] = r.get("invoice") or r.get("claim") or r.get("payment") or r.get("plan") \
            or r.get("trace") or ""
        r["staff_status"] = r.get("status") or "Open"
        rows.append(r)
    groups: dict[str, dict] = {}
    for r in rows:
        key = _mask(r.get("action") or "No action given")
        g = groups.setdefault(key, {"action": r.get("action") or "No action given", "rows": [],
                                    "amount": 0, "worst": len(SEVERITIES), "types": []})
        g["rows"].append(r)
        g["amount"] += int(r["amount"])
        g["worst"] = min(g["worst"], _SEV_RANK.get(r["severity"], len(SEVERITIES)))
        if r["type_label"] not in g["types"]:
            g["types"].append(r["type_label"])
    group_list = sorted(groups.values(), key=lambda g: (g["worst"], -g["amount"], g["action"]))
    for g in group_list:
        g["count"] = len(g["rows"])
        g["same_action"] = len({r.get("action") for r in g["rows"]}) == 1
        g["severity"] = SEVERITIES[g["worst"]] if g["worst"] < len(SEVERITIES) else "info"
        if not g["same_action"]:  # e.g. "Move the payment from invoice … to invoice …."
            g["action"] = _mask(g["rows"][0].get("action") or "")
    sev = {s: int((f["severity"] == s).sum()) for s in SEVERITIES}
    sev_amount = {s: int(f.loc[f["severity"] == s, "amount"].sum()) for s in SEVERITIES}
    aging_all = rep.aging[rep.aging["Payer"] == "All payers"]
    buckets = [c for c in rep.aging.columns if c not in ("Payer", "Total", "Invoices")]
    bt = rep.by_type.sort_values("Amount", ascending=False, kind="mergesort")
    type_colours = []
    for t in bt["Type"]:
        worst = f.loc[f["type"] == t, "severity"].map(_SEV_RANK).min()
        type_colours.append(SEVERITY_COLOURS[SEVERITIES[int(worst)]] if pd.notna(worst)
                            else "#2e6da4")
    sc = scorecard(result)
    resolved = []
    if history is not None and len(history.resolved):
        for r in history.resolved.to_dict(orient="records"):
            r["type_label"] = TYPE_LABELS.get(r["type"], r["type"])
            resolved.append(r)
    counts = history.counts() if history is not None else None
    trend = history.trend.to_dict(orient="records") if history is not None else []
    data = {
        "title": ctx.settings.practice_name or result.inputs.path.stem,
        "workbook": result.inputs.path.name,
        "as_of": ctx.as_of,
        "week": history.week if history is not None else None,
        "previous_week": history.previous_week if history is not None else None,
        "redacted": redacted,
        "totals": rep.totals.to_dict(orient="records"),
        "severity": sev,
        "severity_amount": sev_amount,
        "severity_colours": SEVERITY_COLOURS,
        "severity_tints": SEVERITY_TINTS,
        "groups": group_list,
        "count": len(f),
        "at_stake": int(f["amount"].sum()),
        "history_counts": counts,
        "type_chart": bar_chart([TYPE_LABELS.get(t, t) for t in bt["Type"]],
                                [int(v) for v in bt["Amount"].fillna(0)], colour=type_colours,
                                notes=[f"{int(n)} finding{'s' if int(n) != 1 else ''}"
                                       for n in bt["Findings"].fillna(0)]),
        "aging_chart": bar_chart([f"{b} days" for b in buckets],
                                 [int(aging_all[b].iloc[0]) if len(aging_all) else 0
                                  for b in buckets], colour="#7d3c98", label_w=90),
        "trend_chart": trend_chart(history.trend) if history is not None else None,
        "trend": trend,
        "aging": rep.aging.to_dict(orient="records"),
        "buckets": buckets,
        "scorecard": sc.to_dict(orient="records"),
        "resolved": resolved,
        "files": rep.inputs.to_dict(orient="records"),
        "run_at": pd.Timestamp.now().strftime("%Y-%m-%d %H:%M"),
    }
    if redacted:
        red = Redactor.from_result(result)
        for g in data["groups"]:
            for r in g["rows"]:
                r["patient"] = redact_value(r["patient"]) if r.get("patient") else r.get("patient")
        data = red.scrub(data)
    return data


def render_html(data: dict) -> str:
    return _environment().get_template("report.html.j2").render(**data)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_args(browser: str, profile: Path) -> list[str]:
    return [browser, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", f"--user-data-dir={profile}"]


def html_to_pdf(html: str, pdf: Path) -> None:
    browser = _chromium()
    if browser is None:
        raise InputError("a PDF report needs Chromium installed (apt-get install chromium); "
                         "ask for an .html report instead", file=str(pdf))
    pdf = Path(pdf).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        out = Path(tmp) / "out.pdf"
        subprocess.run(chromium_args(browser, Path(tmp) / "profile")
                       + ["--no-pdf-header-footer", f"--print-to-pdf={out}", page.as_uri()],
                       check=True, capture_output=True, timeout=180)
        shutil.move(str(out), str(pdf))


def write_report(rep: Report, result: Result, path: Path, *, redacted: bool = False,
                 history=None) -> None:
    """Write the report as .html or .pdf; `history` is an engine.history.History, if known."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".html", ".htm", ".pdf"):
        raise InputError("--report must name an .html or .pdf file", file=str(path))
    html = render_html(report_data(rep, result, redacted=redacted, history=history))
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".pdf":
        html_to_pdf(html, path)
    else:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(path)
