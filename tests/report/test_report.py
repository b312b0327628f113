"""The discrepancy report, payer scorecard, letters and redaction, on the demo workbook."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from builders import DEPOSIT_HEADER, INVOICE_HEADER, PAYMENT_HEADER, reconcile_rows
from engine.history import PriorRun, compare, finding_rows
from engine.letters import appeal_data, held_statements, statement_data, write_letters
from engine.report import render_html, report_data, write_report
from engine.results import build_report
from engine.runner import run_workbook
from engine.sample import generate
from engine.scorecard import scorecard

AS_OF = pd.Timestamp("2026-03-31")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    m = generate(folder, invoices=120, as_of=AS_OF.date())
    o = run_workbook(m.workbook, as_of=AS_OF, out=folder / "out.xlsx",
                     report=folder / "report.html", export=folder / "redacted.csv", redact=True)
    rep = build_report(o.result)
    cur = finding_rows(rep.findings)
    prior = [PriorRun("2026-W12", "2026-03-16", "2026-03-17", {f["id"]: f for f in cur[2:]}),
             PriorRun("2026-W13", "2026-03-23", "2026-03-24",
                      {f["id"]: f for f in cur[4:] + [dict(cur[0], id="OLD-1")]})]
    history = compare(cur, prior, "2026-03-31")
    write_report(rep, o.result, folder / "history.html", history=history)
    return {"folder": folder, "result": o.result, "rep": rep, "history": history,
            "html": (folder / "report.html").read_text(encoding="utf-8")}


def patient_values(result) -> set[str]:
    ctx = result.ctx
    out: set[str] = set()
    for frame in (ctx.tables["Invoices"], ctx.tables["Payments"], ctx.remits["claims"]):
        for col in ("patient", "patient_id"):
            out |= {str(v) for v in frame[col].dropna() if len(str(v).strip()) >= 3}
    out.discard("Unknown remitter")
    return out


def test_report_renders_for_the_demo(demo):
    html, f = demo["html"], demo["rep"].findings
    for heading in ("Payer scorecard", "Findings by what to do", "Open balances by payer and age",
                    "Findings by type (amount at stake)", "Open balance by age", "Input files"):
        assert heading in html
    for fid in f["id"]:
        assert fid in html
    assert html.count("<svg") >= 2 and "<script" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # self-contained
    assert "@media print" in html and "break-before: page" in html
    # grouped by action, most severe group first, with severity colours
    first_group = html.split('<section class="group"')[1]
    assert "#c0392b" in first_group.split(">")[0]


def test_report_with_history_shows_trend_and_labels(demo):
    html = (demo["folder"] / "history.html").read_text()
    assert "Week by week" in html and "Week-over-week trend" in html
    assert ">New<" in html and ">Reopened<" in html and "Open 3 weeks" in html
    assert "OLD-1" in html  # resolved since last week


def test_autoescaped(tmp_path):
    result = reconcile_rows({"Invoices": [
        INVOICE_HEADER, ["INV-1", "P1", "<script>alert(1)</script>", dt.date(2026, 1, 2),
                         dt.date(2026, 1, 2), "Self-pay", 100.0]]})
    html = render_html(report_data(build_report(result), result, redacted=False))
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)" in html


def test_scorecard_adds_up(demo):
    result = demo["result"]
    sc = scorecard(result).set_index("payer")
    claims = result.ctx.remits["claims"]
    eff = claims[claims["effective"]]
    assert sc["claims"].sum() == len(eff)
    assert sc["paid_cents"].sum() == eff["paid_cents"].sum()
    assert sc["denied"].sum() == eff["denied"].sum()
    f = result.findings
    u = f[f["type"] == "UNDERPAID"]
    assert sc["underpaid_cents"].sum() == (u["expected"] - u["actual"]).sum()
    assert ((sc["denial_rate"] >= 0) & (sc["denial_rate"] <= 1)).all()
    assert (sc["avg_days_to_payment"].dropna() > 0).all()
    assert "Medicare (MEDICARE PART B)" in sc.index  # the workbook's name, then the 835's
    assert any(sc["top_denials"].map(len))


def test_scorecard_without_remittances():
    result = reconcile_rows({"Invoices": [
        INVOICE_HEADER, ["INV-1", "P1", "Ann Lee", dt.date(2026, 1, 2), dt.date(2026, 1, 2),
                         "Aetna", 100.0]]})
    sc = scorecard(result)
    assert sc.loc[0, "payer"] == "Aetna" and sc.loc[0, "claims"] == 1
    assert sc.loc[0, "paid_cents"] == 0


def test_letters(demo, tmp_path):
    result = demo["result"]
    f = result.findings
    claims = set(f.loc[f["type"].isin(["DENIED", "UNDERPAID"]), "claim"])
    appeals = appeal_data(result)
    assert {a["claim"] for a in appeals} == claims
    for a in appeals:
        assert a["lines"] and a["requested"] > 0 and a["payer"]
        if a["kind"] == "appeal":
            assert a["reasons"] and ":" in a["reasons"][0]
    statements = statement_data(result)
    assert statements and all(s["total"] > 0 for s in statements)
    ptr = f[f["type"] == "PATIENT_RESPONSIBILITY"]
    assert set(ptr["invoice"]) <= ({i["invoice"] for s in statements for i in s["invoices"]}
                                   | {h["invoice"] for h in held_statements(result)})
    out = write_letters(result, tmp_path / "letters")
    assert out.appeals == len(appeals) and out.statements == len(statements)
    some = next(a for a in appeals if a["kind"] == "appeal")
    text = (tmp_path / "letters" / f"appeal-{some['claim']}.html").read_text()
    assert some["claim"] in text and "What we request" in text
    assert "$" in text and some["reasons"][0].split(":")[0] in text
    index = (tmp_path / "letters" / "index.html").read_text()
    assert index.count("<li>") == len(appeals) + len(statements)
    # staff edit a copy of the template beside the workbook; it wins
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "statement.html.j2").write_text(
        "<article class='letter'>OUR OWN WORDING {{ letter.total | money }}</article>")
    write_letters(result, tmp_path / "custom-out", templates=custom)
    one = next((tmp_path / "custom-out").glob("statement-*.html")).read_text()
    assert "OUR OWN WORDING $" in one


def test_no_statement_bills_an_invoice_whose_rows_could_not_be_read(tmp_path):
    """INV-1's only payment row has an amount nobody can read: the balance may be $0, so its
    patient gets no bill until the row is corrected; INV-2 is billed as usual."""
    result = reconcile_rows({
        "Invoices": [INVOICE_HEADER,
                     ["INV-1", "P1", "Ann Lee", dt.date(2025, 12, 1), dt.date(2025, 12, 1),
                      "Self-pay", 100.0],
                     ["INV-2", "P1", "Ann Lee", dt.date(2025, 12, 3), dt.date(2025, 12, 3),
                      "Self-pay", 80.0]],
        "Payments": [PAYMENT_HEADER,
                     ["PAY-1", dt.date(2026, 1, 5), "INV-1", "P1", "Self-pay", "card", "", "TBD"]]})
    overdue = result.findings[result.findings["type"] == "OVERDUE"]
    assert set(overdue["invoice"]) == {"INV-1", "INV-2"}
    (statement,) = statement_data(result)
    assert [i["invoice"] for i in statement["invoices"]] == ["INV-2"]
    assert statement["total"] == 8000
    assert held_statements(result) == [{"invoice": "INV-1", "sources": ["Payments row 2"]}]
    out = write_letters(result, tmp_path / "letters")
    assert (out.statements, out.held) == (1, 1)
    index = (tmp_path / "letters" / "index.html").read_text()
    assert "Statements not written yet" in index and "Invoice INV-1: Payments row 2" in index
    assert "Ann Lee" in index and "INV-1" not in index.split("Statements not written")[0]


def test_redaction_everywhere(demo, tmp_path):
    result, rep = demo["result"], demo["rep"]
    names = patient_values(result)
    assert len(names) > 40
    write_report(rep, result, tmp_path / "redacted.html", redacted=True, history=demo["history"])
    letters = write_letters(result, tmp_path / "letters", redacted=True)
    outputs = {"report": (tmp_path / "redacted.html").read_text(),
               "export": (demo["folder"] / "redacted.csv").read_text(encoding="utf-8-sig")}
    outputs.update({p.name: p.read_text() for p in letters.files})
    for label, text in outputs.items():
        low = text.lower()
        leaked = [n for n in names if re.search(rf"(?<!\w){re.escape(n.lower())}(?!\w)", low)]
        assert not leaked, (label, leaked[:5])
    assert re.search(r"[A-Z]\.[A-Z]\. #[0-9a-f]{6}", outputs["report"])
    assert "patient names and IDs redacted" in outputs["report"]
    # and unredacted, the names are there (the check above is not vacuous)
    assert any(n in demo["html"] for n in names) is False  # run() report was redacted too
    plain = (demo["folder"] / "history.html").read_text()
    assert sum(n in plain for n in names) > 5


# ---------------------------------------------------------------------------------- Chromium
def chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required on CI")
        pytest.skip("chromium not installed")
    return found


CHECK = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message)));
window.addEventListener('load', () => {
  const svgs = [...document.querySelectorAll('svg')].map(s => {
    const r = s.getBoundingClientRect();
    return {w: r.width, h: r.height, rects: s.querySelectorAll('rect').length,
            label: s.getAttribute('aria-label')}; });
  const pre = document.createElement('pre'); pre.id = 'recon-check';
  pre.textContent = JSON.stringify({svgs, errors: window.__errors,
    resources: performance.getEntriesByType('resource').length,
    width: document.documentElement.scrollWidth});
  document.body.appendChild(pre);
});
</script>"""


def browse(browser: str, page: Path) -> tuple[str, str]:
    with tempfile.TemporaryDirectory() as profile:
        run = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
             "--window-size=1280,2000", "--virtual-time-budget=5000", "--dump-dom",
             page.as_uri()], capture_output=True, text=True, timeout=120)
    return run.stdout, run.stderr


def test_report_in_headless_chromium(demo, tmp_path):
    browser = chromium()
    page = tmp_path / "page.html"
    html = (demo["folder"] / "history.html").read_text()
    # the report itself, untouched: no console messages at all
    page.write_text(html)
    _dom, err = browse(browser, page)
    assert ":CONSOLE" not in err, err
    # with a measuring script added: every chart has a size and bars
    page.write_text(html.replace("</head>", CHECK + "</head>", 1))
    dom, err = browse(browser, page)
    found = re.search(r'<pre id="recon-check">(.*?)</pre>', dom, re.S)
    assert found, err[-2000:]
    check = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert check["errors"] == [] and check["resources"] == 0
    labels = {s["label"] for s in check["svgs"]}
    assert {"Findings by type", "Open balance by age", "Findings week by week"} <= labels
    for s in check["svgs"]:
        assert s["w"] > 100 and s["h"] > 50 and s["rects"] > 0, s
    assert ":CONSOLE" not in err


def test_pdf_has_pages(demo, tmp_path):
    chromium()
    pdf = tmp_path / "report.pdf"
    write_report(demo["rep"], demo["result"], pdf, history=demo["history"])
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
        pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    else:
        pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert pages >= 2


def test_type_labels_read_as_words_with_era_as_an_acronym():
    from engine.report import TYPE_LABELS

    assert TYPE_LABELS["ERA_WITHOUT_DEPOSIT"] == "ERA without deposit"
    assert TYPE_LABELS["DEPOSIT_WITHOUT_ERA"] == "Deposit without ERA"
    assert TYPE_LABELS["PLAN_MISSED_INSTALLMENT"] == "Plan missed installment"


def test_a_deposit_finding_shows_its_trace_under_reference():
    """The report's reference column holds the invoice, else the claim, payment, plan or trace:
    a bank deposit with no remittance is named there by its trace, under a heading that says
    reference (not "Invoice / claim", which it is not)."""
    result = reconcile_rows({
        "Invoices": [INVOICE_HEADER, ["INV-1", "P1", "Ann Lee", dt.date(2026, 1, 2),
                                      dt.date(2026, 1, 2), "Aetna", 100.0]],
        "Deposits": [DEPOSIT_HEADER, [dt.date(2026, 3, 9), 812.17,
                                      "ACH CREDIT TRN*1*712345678*1999999999\\", "Aetna"]]})
    data = report_data(build_report(result), result, redacted=False)
    rows = [r for g in data["groups"] for r in g["rows"] if r["type"] == "DEPOSIT_WITHOUT_ERA"]
    assert [r["ref"] for r in rows] == ["712345678"]
    html = render_html(data)
    assert "<th>Reference</th>" in html and "Invoice / claim" not in html
    assert "<td>712345678</td>" in html


def test_bar_texts_stay_inside_the_chart():
    """The amount and note beside the longest bar fit before the chart's right edge, however
    long the amount or the note."""
    from engine.money import format_cents
    from engine.report import TEXT_UNITS_PER_CHAR, bar_chart

    for values, notes in (([89115, 120, 5], ["1 finding", "2 findings", "1 finding"]),
                          ([123456789012, 99], ["12,345 findings", "1 finding"]),
                          ([500, 400], None)):
        chart = bar_chart(["Denied", "Underpaid", "Short paid"][:len(values)], values,
                          notes=notes)
        for row in chart["rows"]:
            text = format_cents(row["value"]) + (f" · {row['note']}" if notes else "")
            assert row["text_x"] + TEXT_UNITS_PER_CHAR * len(text) <= chart["width"]
        assert max(r["w"] for r in chart["rows"]) >= 60  # the bars still show
