"""The sample generator: deterministic, messy as intended, valid 835s, complete ground truth."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from engine.sample import generate

AS_OF = dt.date(2026, 3, 31)
ALL_TYPES = {
    "OVERDUE", "SHORT_PAID", "OVERPAID", "DUPLICATE_PAYMENT", "UNAPPLIED_PAYMENT",
    "MISAPPLIED_PAYMENT", "DUPLICATE_INVOICE", "INVALID_ROW", "DENIED", "UNDERPAID",
    "PAYER_OVERPAID", "PATIENT_RESPONSIBILITY", "CHARGE_MISMATCH", "REMIT_WITHOUT_CLAIM",
    "CLAIM_WITHOUT_REMIT", "REVERSAL", "RECOUPMENT", "REMIT_UNBALANCED", "POSTING_MISMATCH",
    "ERA_WITHOUT_DEPOSIT", "DEPOSIT_WITHOUT_ERA", "DEPOSIT_AMOUNT_MISMATCH",
    "PLAN_MISSED_INSTALLMENT", "PLAN_SHORT_INSTALLMENT",
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("s200"), invoices=200, seed=7, as_of=AS_OF)


@pytest.fixture(scope="module")
def sheets(sample):
    wb = CalamineWorkbook.from_path(str(sample.workbook))
    return {name: wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names}


def _cents(value) -> int:
    if isinstance(value, float):
        return round(value * 100)
    text = str(value).replace("$", "").replace(",", "")
    neg = text.startswith("(")
    cents = round(float(text.strip("()")) * 100)
    return -cents if neg else cents


def _key(text) -> str:
    s = re.sub(r"[^0-9A-Z]", "", str(text).upper())
    return re.sub(r"(?<![0-9])0+(?=[0-9])", "", s)


# ------------------------------------------------------------------ determinism
def test_same_seed_same_bytes_different_seed_differs(tmp_path, sample):
    again = generate(tmp_path / "a", invoices=200, seed=7, as_of=AS_OF)
    assert again.workbook.read_bytes() == sample.workbook.read_bytes()
    assert [p.name for p in again.remits] == [p.name for p in sample.remits]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(again.remits, sample.remits))
    assert again.planted == sample.planted
    other = generate(tmp_path / "b", invoices=200, seed=8, as_of=AS_OF)
    assert other.workbook.read_bytes() != sample.workbook.read_bytes()


# ------------------------------------------------------------------ workbook shape
def test_sheets_and_header_rows(sheets):
    assert set(sheets) >= {"Invoices", "Payments", "Deposits", "FeeSchedule", "PaymentPlans",
                           "Settings", "Dashboard"}
    expected = {"Invoices": (3, "Inv #"), "Payments": (2, "Payment ID"),
                "Deposits": (0, "Deposit Date"), "FeeSchedule": (0, "Payor"),
                "PaymentPlans": (1, "Plan #"), "Settings": (0, "Setting")}
    for name, (row, first) in expected.items():
        assert sheets[name][row][0] == first, name
    assert sheets["Invoices"][3] == ["Inv #", "MRN", "Patient Name", "DOS", "Bill Date", "Due",
                                     "Insurance", "Claim #", "CPT Code", "Mod", "Units", "Billed"]
    settings = {r[0]: r[1] for r in sheets["Settings"][1:]}
    assert settings["terms_days"] == "30" and settings["remit_folder"] == "remits"
    assert settings["practice_name"] == "Riverside Family Clinic"


def test_headers_are_synonyms_the_reader_knows(sheets):
    from engine.tables import SHEETS
    norm = lambda h: re.sub(r"[^a-z0-9#]", "", h.lower())  # noqa: E731
    header_rows = {"Invoices": 3, "Payments": 2, "Deposits": 0, "FeeSchedule": 0,
                   "PaymentPlans": 1, "Settings": 0}
    for name, row in header_rows.items():
        known = {}
        for f in SHEETS[name]:
            for h in (f.header, *f.synonyms):
                known[norm(h)] = f.name
        for header in sheets[name][row]:
            assert norm(header) in known, (name, header)


def test_messy_invoice_features(sample, sheets):
    rows = sheets["Invoices"]
    assert rows[0][0].startswith("Riverside Family Clinic") and rows[1][0]  # title lines
    data = rows[4:]
    assert any(r[0] == "Total" for r in data[-2:]), "totals row at the bottom"
    total_row = next(r for r in data if r[0] == "Total")
    assert isinstance(total_row[11], float) and total_row[11] > 0  # cached SUM value
    body = [r for r in data if r[0] and r[0] != "Total"]
    assert any(isinstance(r[11], str) and r[11].startswith("$") for r in body), "text amounts"
    assert any(isinstance(r[3], str) and re.fullmatch(r"\d\d/\d\d/\d{4}", r[3]) for r in body)
    assert any(isinstance(r[3], dt.date) for r in body)
    assert all(isinstance(r[1], str) and len(r[1]) == 8 and r[1].startswith("0") for r in body)
    assert sum(1 for r in data if not any(r)) >= 2, "blank rows inside and above the total"
    # several service lines share an invoice number (same patient and DOS)
    lines = defaultdict(list)
    for r in body:
        lines[r[0]].append(r)
    assert any(len(v) > 1 and len({x[2] for x in v}) == 1 for v in lines.values())
    # the Billed text amounts excluded, the SUM's cached value is the numeric cells' sum
    numeric = sum(_cents(r[11]) for r in body if isinstance(r[11], float))
    assert round(total_row[11] * 100) == numeric
    wb = openpyxl.load_workbook(sample.workbook)
    ws = wb["Invoices"]
    assert "A1:L1" in [str(m) for m in ws.merged_cells.ranges]
    hidden = [r for r, d in ws.row_dimensions.items() if d.hidden]
    assert hidden and all(ws.cell(r, 1).value for r in hidden), "hidden rows hold real data"
    assert ws.cell(len(rows), 12).value.startswith("=SUM(")
    dash = wb["Dashboard"]
    assert dash._charts and isinstance(dash["B14"].value, str) and dash["B14"].value.startswith("=")


def test_payments_hold_text_amounts_refunds_and_unreadable_cells(sheets, sample):
    rows = sheets["Payments"]
    body = rows[3:]
    amounts = [r[8] for r in body]
    assert {"TBD", "n/a"} <= set(amounts)
    assert any(isinstance(a, str) and a.startswith("(") for a in amounts), "refund (45.00)"
    assert any(isinstance(r[1], str) and r[1].startswith("02/30/") for r in body)
    assert {r[6] for r in body} >= {"EFT", "Card", "Cash", "Check", "Write-off"}
    assert any(r[2] == "" for r in body), "some payments name no invoice"
    for key in sample.planted_of("INVALID_ROW"):
        if key["sheet"] == "Payments":
            row = rows[int(key["row"]) - 1]
            assert row[0] == key["payment"]
            assert (row[8] in ("TBD", "n/a")) if key["column"] == "Amount" else \
                row[1].startswith("02/30/")


# ------------------------------------------------------------------ 835 syntax and balancing
def _transactions(path: Path):
    text = path.read_text()
    assert text.startswith("ISA") and len(text.split("~")[0]) == 105
    segs = [s.strip() for s in text.split("~") if s.strip()]
    assert segs[0].startswith("ISA") and segs[-1].startswith("IEA") and segs[-2].startswith("GE")
    current = None
    n_st = 0
    for s in segs:
        el = s.split("*")
        if el[0] == "ST":
            current = [el]
            n_st += 1
        elif current is not None:
            current.append(el)
            if el[0] == "SE":
                assert int(el[1]) == len(current), f"{path.name}: SE count"
                assert el[2] == current[0][2]
                yield current
                current = None
    assert current is None
    ge = segs[-2].split("*")
    assert int(ge[1]) == n_st


def test_835_files_parse_and_balance(sample):
    assert sample.remits and all(p.suffix == ".835" for p in sample.remits)
    unbalanced = {k["trace"] for k in sample.planted_of("REMIT_UNBALANCED")}
    recoup = {k["trace"] for k in sample.planted_of("RECOUPMENT")}
    seen_status, seen_methods, seen_plb = set(), set(), set()
    n_tx = 0
    for path in sample.remits:
        for tx in _transactions(path):
            n_tx += 1
            seg = {s[0] for s in tx}
            assert {"BPR", "TRN", "N1", "LX", "CLP", "SE"} <= seg
            bpr = next(s for s in tx if s[0] == "BPR")
            trace = next(s for s in tx if s[0] == "TRN")[2]
            seen_methods.add(bpr[4])
            clp_paid = plb = 0
            for s in tx:
                if s[0] == "CLP":
                    seen_status.add(s[2])
                    clp_paid += _cents(s[4])
                elif s[0] == "PLB":
                    for i in range(3, len(s), 2):
                        plb += _cents(s[i + 1])
                        seen_plb.add(s[i].split(":")[0])
            assert _cents(bpr[2]) == clp_paid - plb or trace in unbalanced, (path.name, trace)
            if trace in unbalanced:
                assert _cents(bpr[2]) != clp_paid - plb
            if trace in recoup:
                assert plb > 0
            if bpr[1] == "H":
                assert _cents(bpr[2]) == 0 and bpr[4] == "NON"
    assert n_tx > 10
    assert {"1", "4", "22"} <= seen_status
    assert {"ACH", "NON"} <= seen_methods
    assert {"WO", "L6"} <= seen_plb


def test_835_claims_and_lines_balance(sample):
    for path in sample.remits:
        for tx in _transactions(path):
            claims = []
            for s in tx:
                if s[0] == "CLP":
                    claims.append({"clp": s, "lines": []})
                elif s[0] == "SVC":
                    claims[-1]["lines"].append({"svc": s, "cas": 0})
                elif s[0] == "CAS":
                    amt = sum(_cents(s[i]) for i in range(3, len(s), 3) if s[i])
                    claims[-1]["lines"][-1]["cas"] += amt
            for c in claims:
                clp = c["clp"]
                for ln in c["lines"]:
                    assert _cents(ln["svc"][2]) - ln["cas"] == _cents(ln["svc"][3])
                assert (_cents(clp[3]) - sum(ln["cas"] for ln in c["lines"])
                        == _cents(clp[4])), clp
                assert sum(_cents(ln["svc"][2]) for ln in c["lines"]) == _cents(clp[3])


def test_deposits_match_remittances_by_trace(sample, sheets):
    deposits = defaultdict(int)
    for r in sheets["Deposits"][1:]:
        m = re.search(r"TRN\*1\*(\d+)\*", r[1])
        if m:
            deposits[m.group(1).lstrip("0")] += _cents(r[2])
    no_dep = {k["trace"].lstrip("0") for k in sample.planted_of("ERA_WITHOUT_DEPOSIT")}
    mismatch = {k["trace"].lstrip("0") for k in sample.planted_of("DEPOSIT_AMOUNT_MISMATCH")}
    for path in sample.remits:
        for tx in _transactions(path):
            bpr = next(s for s in tx if s[0] == "BPR")
            trace = next(s for s in tx if s[0] == "TRN")[2].lstrip("0")
            if bpr[1] == "H":
                assert trace not in deposits
            elif trace in no_dep:
                assert trace not in deposits
            elif trace in mismatch:
                assert deposits[trace] != _cents(bpr[2])
            else:
                assert deposits[trace] == _cents(bpr[2]), trace


# ------------------------------------------------------------------ ground truth
def test_manifest_lists_every_planted_type(sample):
    assert sample.planted_types() == ALL_TYPES
    kinds = {k for k, _ in sample.clean_examples}
    assert kinds >= {"typo_reference", "settled_invoice", "partial_payment_claim_pending",
                     "contractual_write_off", "sequestration_co253", "notification_only_835"}
    assert sample.workbook.name == "clinic.xlsx" and sample.as_of == AS_OF


def test_clean_invoices_balance(sample, sheets):
    """Every invoice not planted as a problem is settled, pending, or not yet due."""
    inv_rows = [r for r in sheets["Invoices"][4:] if r[0] and r[0] != "Total"]
    billed = defaultdict(int)
    for r in inv_rows:
        if r[11] != "":
            billed[_key(r[0])] += _cents(r[11])
    paid = defaultdict(int)
    for r in sheets["Payments"][3:]:
        if r[8] in ("TBD", "n/a") or (isinstance(r[1], str) and r[1].startswith("02/30")):
            continue
        paid[_key(r[2])] += _cents(r[8])
    involved = set()
    for _t, key in sample.planted + sample.clean_examples:
        for field in ("invoice", "belongs_to", "recorded"):
            if field in key:
                involved.add(_key(key[field]))
    plans = {_key(r[2]) for r in sheets["PaymentPlans"][2:]}
    open_ = [k for k in billed if k not in involved | plans and paid[k] not in (0, billed[k])]
    # insurance invoices still open are waiting for a remittance or the patient's recent share
    assert len(open_) <= len(billed) * 0.02, open_[:10]


def test_typo_references_name_no_invoice(sample, sheets):
    invoices = {_key(r[0]) for r in sheets["Invoices"][4:] if r[0]}
    typos = [k for kind, k in sample.clean_examples if kind == "typo_reference"]
    assert typos
    for k in typos:
        assert _key(k["recorded"]) not in invoices and _key(k["invoice"]) in invoices


def test_remits_false_writes_no_835(tmp_path):
    m = generate(tmp_path, invoices=150, seed=3, as_of=AS_OF, remits=False)
    assert m.remits == [] and not (tmp_path / "remits").exists()
    assert m.planted_types() <= ALL_TYPES and "OVERDUE" in m.planted_types()
    assert "DENIED" not in m.planted_types()


def test_ten_thousand_invoices(tmp_path):
    m = generate(tmp_path, invoices=10_000, seed=11, as_of=AS_OF)
    assert m.rows["Invoices"] > 10_000 and m.rows["Payments"] > 10_000
    assert m.planted_types() == ALL_TYPES
    assert len(m.planted_of("OVERDUE")) >= 50
    wb = CalamineWorkbook.from_path(str(m.workbook))
    rows = wb.get_sheet_by_name("Invoices").to_python()
    assert rows[3][0] == "Inv #" and rows[-1][0] == "Total"
    assert sum(1 for r in rows[4:] if r[0] and r[0] != "Total") == m.rows["Invoices"]
    pay = wb.get_sheet_by_name("Payments").to_python()
    assert len(pay) - 3 == m.rows["Payments"]
    assert pay[-1][0] == f"P-{m.rows['Payments']:06d}"
