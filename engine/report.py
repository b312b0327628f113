"""The exported discrepancy report: data computed here, formatting in templates/report.html.j2.

The HTML is self-contained (inline CSS and SVG charts, no scripts, no external files) so it can be
mailed to a practice manager or archived for an auditor; the PDF is the same HTML printed by a
headless Chromium. Templates autoescape: a patient name or note typed with `<script>` is text.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import jinja2
import pandas as pd

from engine.errors import InputError
from engine.findings import SEVERITIES
from engine.money import format_cents
from engine.pipeline import Result
from engine.results import Report, finding_amount
from engine.write.export import redact_value

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SEVERITY_COLOURS = {"high": "#c0392b", "medium": "#e67e22", "low": "#c9a227", "info": "#5d6d7e"}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=jinja2.select_autoescape(["html", "j2", "xml"]),
                             undefined=jinja2.StrictUndefined)
    env.filters["money"] = lambda c: "" if c is None or pd.isna(c) else format_cents(int(c))
    env.filters["day"] = lambda d: "" if d is None or pd.isna(d) else pd.Timestamp(d).strftime("%Y-%m-%d")
    return env


def bar_chart(labels: list[str], values: list[int], *, width: int = 560, bar: int = 22,
              colour: str = "#2e6da4") -> dict:
    """Geometry of a horizontal bar chart, in SVG user units; values are cents."""
    top = max([abs(v) for v in values] + [1])
    label_w = 190
    rows = []
    for i, (label, value) in enumerate(zip(labels, values)):
        length = round((width - label_w - 90) * abs(value) / top)
        rows.append({"label": label, "y": i * (bar + 6), "w": max(length, 1), "value": value,
                     "text_x": label_w + max(length, 1) + 6})
    return {"width": width, "height": max(len(rows) * (bar + 6), bar), "bar": bar,
            "label_w": label_w, "rows": rows, "colour": colour}


def report_data(rep: Report, result: Result, *, redacted: bool) -> dict:
    f = rep.findings.copy()
    if redacted:
        f["patient"] = f["patient"].map(redact_value)
    f["amount"] = finding_amount(f)
    groups = []
    for t in f["type"].drop_duplicates().tolist():
        rows = f[f["type"] == t]
        groups.append({"type": t, "count": len(rows), "amount": int(rows["amount"].sum()),
                       "rows": rows.to_dict(orient="records")})
    sev = {s: int((f["severity"] == s).sum()) for s in SEVERITIES}
    ctx = result.ctx
    aging_all = rep.aging[rep.aging["Payer"] == "All payers"]
    buckets = [c for c in rep.aging.columns if c not in ("Payer", "Total", "Invoices")]
    return {
        "title": ctx.settings.practice_name or result.inputs.path.stem,
        "workbook": result.inputs.path.name,
        "as_of": ctx.as_of,
        "redacted": redacted,
        "totals": rep.totals.to_dict(orient="records"),
        "severity": sev,
        "severity_colours": SEVERITY_COLOURS,
        "groups": groups,
        "count": len(f),
        "type_chart": bar_chart(rep.by_type["Type"].tolist(),
                                [int(v) for v in rep.by_type["Amount"].fillna(0)]),
        "aging_chart": bar_chart(buckets, [int(aging_all[b].iloc[0]) if len(aging_all) else 0
                                           for b in buckets], colour="#7d3c98"),
        "aging": rep.aging.to_dict(orient="records"),
        "buckets": buckets,
        "files": rep.inputs.to_dict(orient="records"),
    }


def render_html(data: dict) -> str:
    return _environment().get_template("report.html.j2").render(**data)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html: str, pdf: Path) -> None:
    browser = _chromium()
    if browser is None:
        raise InputError("a PDF report needs Chromium installed (apt-get install chromium); "
                         "ask for an .html report instead", file=str(pdf))
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run", f"--user-data-dir={tmp}/profile",
                        "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri()],
                       check=True, capture_output=True, timeout=120)


def write_report(rep: Report, result: Result, path: Path, *, redacted: bool = False) -> None:
    suffix = path.suffix.lower()
    if suffix not in (".html", ".htm", ".pdf"):
        raise InputError("--report must name an .html or .pdf file", file=str(path))
    html = render_html(report_data(rep, result, redacted=redacted))
    if suffix == ".pdf":
        html_to_pdf(html, path)
    else:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(path)
