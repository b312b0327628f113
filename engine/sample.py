"""A seeded, realistic clinic workbook (plus X12 835 files) with known problems planted in it.

Why this exists: `recon demo`, the tests and the benchmarks all need a billing workbook that looks
like the ones staff really keep — title lines above the header, header names that vary, amounts
typed as text, hidden and blank rows, a totals row, a staff dashboard with a chart — and whose
*correct* reconciliation is known. `generate` writes one and returns a `Manifest`: `planted` is the
ground truth (every problem put in on purpose, as finding Type + key), `clean_examples` are
situations that look suspicious but must produce no finding (a typo'd reference on a correct
payment, a sequestration cut, a notification-only 835, ...). Everything else is clean by
construction: insurance postings equal the remittance's claim payments, contractual write-offs
close the balance, patients pay their share, deposits equal remittance totals by trace and card /
cash / check deposits equal that day's batch.

How: each invoice gets a *scenario* (clean or one planted problem) up front; dates, lines,
adjudication, postings, deposits and plans then follow from the scenario with vectorised NumPy
(no per-invoice Python), so 1,000,000 invoices take minutes, not hours. The workbook is written
by xlsxwriter (titles, merged cells, formats, formulas, chart, small sheets, and the first and last
data row of the two big sheets); the bulk rows of `Invoices` and `Payments` are then streamed
into those two sheets' XML, because xlsxwriter costs ~8 µs per cell (~6 minutes of cell calls at
1M invoices). Same seed → byte-identical files (fixed creation date, fixed zip timestamps).

`remits=False` writes the same workbook without the 835 files; `planted` then keeps only the
problems visible without remittances (sections A, D, E of discrepancies.md). Note that the engine
will then also see the remitted claims as CLAIM_WITHOUT_REMIT and the EFT deposits as
DEPOSIT_WITHOUT_ERA, which is expected there.
"""

from __future__ import annotations

import datetime as dt
import itertools
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xlsxwriter
from numpy.dtypes import StringDType

STR = StringDType()
FIXED_CREATED = dt.datetime(2026, 1, 1, 9, 0, 0)
PRACTICE = "Riverside Family Clinic"
_EPOCH_TO_EXCEL = 25569  # Excel serial of 1970-01-01

# ---------------------------------------------------------------------------------- reference data
PAYERS = ("Medicare", "Aetna", "BCBS", "UnitedHealthcare", "Cigna", "Self-pay")
SELF = 5
_PAYER_WEIGHTS = np.array([0.26, 0.15, 0.17, 0.15, 0.11, 0.16])
_PAYER_FACTOR = np.array([1.00, 1.14, 1.09, 1.12, 1.17])
_PAYER_835 = (  # name on N1*PR, payer id (REF*2U / TRN03), filing indicator, payday (Mon=0), city
    ("MEDICARE PART B", "12202", "MB", 1, ("DALLAS", "TX", "75201")),
    ("AETNA", "60054", "CI", 2, ("HARTFORD", "CT", "06156")),
    ("BLUE CROSS BLUE SHIELD", "00590", "BL", 3, ("CHICAGO", "IL", "60601")),
    ("UNITEDHEALTHCARE", "87726", "CI", 0, ("MINNETONKA", "MN", "55343")),
    ("CIGNA", "62308", "CI", 4, ("BLOOMFIELD", "CT", "06002")),
)
# CPT, chargemaster price, Medicare rate (cents); the first five are E/M visits
CPTS = np.array(["99213", "99214", "99203", "99204", "99395", "36415", "81002", "93000", "90471",
                 "90686", "87880", "11102"], dtype=STR)
_CHARGE = np.array([15000, 22000, 19000, 28000, 26000, 2500, 2000, 8500, 4000, 4500, 5500, 21000])
_MEDICARE = np.array([9200, 13000, 11200, 16800, 12400, 300, 350, 1700, 1800, 2200, 1650, 10400])
_N_EM = 5
# contract rate per payer × CPT, in cents
CONTRACT = np.rint(_MEDICARE[None, :] * _PAYER_FACTOR[:, None]).astype(np.int64)

_FIRST = ("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
          "Richard Susan Joseph Jessica Thomas Sarah Carlos Karen Daniel Lisa Matthew Nancy "
          "Anthony Betty Mark Sandra Luis Ashley Steven Kimberly Paul Emily Andrew Donna Kevin "
          "Michelle Brian Carol Priya Wei Fatima Omar").split()
_LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
         "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
         "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
         "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
         "Roberts Patel Chen Okafor Kowalski").split()

# ---------------------------------------------------------------------------------- scenarios
# (name, self-pay?, share of invoices). Clean fills whatever is left; every planted scenario gets at
# least one invoice so a 100-invoice workbook still holds every finding type.
_SCENARIOS = (
    ("overdue", True, 0.008), ("short_paid", True, 0.003), ("overpaid", True, 0.003),
    ("misapplied_a", True, 0.003), ("misapplied_b", True, 0.003), ("dup_invoice", True, 0.003),
    ("plan_clean", True, 0.003), ("plan_missed", True, 0.003), ("plan_short", True, 0.003),
    ("typo", True, 0.005), ("unreferenced", True, 0.004), ("refund", True, 0.002),
    ("denied", False, 0.003), ("denied_line", False, 0.003), ("underpaid", False, 0.004),
    ("payer_overpaid", False, 0.003), ("pr_unpaid", False, 0.003),
    ("charge_mismatch", False, 0.003), ("no_remit", False, 0.003), ("reversal", False, 0.003),
    ("posting_mismatch", False, 0.003), ("dup_payment", False, 0.003),
    ("remit_no_claim", False, 0.003), ("deductible", False, 0.002),
    ("pending_copay", False, 0.002), ("sequestration", False, 0.002),
)
SC = {name: i + 2 for i, (name, _s, _r) in enumerate(_SCENARIOS)}
SC["self_clean"], SC["ins_clean"] = 0, 1
_RECENT_REMIT = ("denied", "denied_line", "pr_unpaid")   # left open on purpose: keep them not due
_MAX_CLAIMS_PER_TX = 400
EXCEL_MAX_ROWS = 1_048_576

# which planted types stay meaningful without the 835 files
_WORKBOOK_TYPES = {"OVERDUE", "SHORT_PAID", "OVERPAID", "DUPLICATE_PAYMENT", "UNAPPLIED_PAYMENT",
                   "MISAPPLIED_PAYMENT", "DUPLICATE_INVOICE", "PLAN_MISSED_INSTALLMENT",
                   "PLAN_SHORT_INSTALLMENT", "INVALID_ROW"}


@dataclass
class Manifest:
    workbook: Path
    remits: list[Path]
    as_of: dt.date
    planted: list[tuple[str, dict]] = field(default_factory=list)
    clean_examples: list[tuple[str, dict]] = field(default_factory=list)
    invoices: int = 0
    rows: dict[str, int] = field(default_factory=dict)  # data rows written per sheet

    def planted_types(self) -> set[str]:
        return {t for t, _ in self.planted}

    def planted_of(self, kind: str) -> list[dict]:
        return [k for t, k in self.planted if t == kind]


# ---------------------------------------------------------------------------------- text helpers
def _s(values) -> np.ndarray:
    return np.asarray(values).astype(STR)


def _money(cents) -> np.ndarray:
    """Integer cents → '1234.50' / '-45.00' (X12 and XML number text)."""
    c = np.asarray(cents, dtype=np.int64)
    a = np.abs(c)
    txt = _s(a // 100) + "." + np.strings.zfill(_s(a % 100), 2)
    return np.where(c < 0, "-" + txt, txt)


def _money_display(cents) -> np.ndarray:
    """Integer cents → '$1,234.50' (how staff type amounts as text)."""
    a = np.abs(np.asarray(cents, dtype=np.int64))
    d, c = a // 100, a % 100
    th = d // 1000
    dollars = np.where(th > 0, _s(th) + "," + np.strings.zfill(_s(d % 1000), 3), _s(d))
    return "$" + dollars + "." + np.strings.zfill(_s(c), 2)


def _iso(days) -> np.ndarray:
    return np.datetime_as_string(np.asarray(days, dtype="datetime64[D]")).astype(STR)


def _ymd(days) -> np.ndarray:
    return np.strings.replace(_iso(days), "-", "")


def _mdy(days) -> np.ndarray:
    iso = _iso(days)
    return (np.strings.slice(iso, 5, 7) + "/" + np.strings.slice(iso, 8, 10) + "/"
            + np.strings.slice(iso, 0, 4))


def _xml_text(values: np.ndarray) -> np.ndarray:
    special = ((np.strings.find(values, "&") >= 0) | (np.strings.find(values, "<") >= 0)
               | (np.strings.find(values, ">") >= 0))
    if not special.any():
        return values
    v = values[special]
    v = np.strings.replace(np.strings.replace(np.strings.replace(v, "&", "&amp;"), "<", "&lt;"),
                           ">", "&gt;")
    out = values.copy()
    out[special] = v
    return out


def _day(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def _weekday(days):
    return (np.asarray(days) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0


def _add_months(days, months):
    """Same day of month `months` later (callers keep the day ≤ 28, so no clamping needed)."""
    d = np.asarray(days).astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    dom = (d - m.astype("datetime64[D]")).astype(np.int64)
    return ((m + np.asarray(months)).astype("datetime64[D]").astype(np.int64) + dom)


def _dom(days) -> np.ndarray:
    """Day of month (1..31) of epoch days."""
    d = np.asarray(days).astype("datetime64[D]")
    return (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1


def _segments(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Indices start[i] .. start[i]+count[i]-1 for every i, concatenated (vectorised ranges)."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offs = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + offs


# ---------------------------------------------------------------------------------- the build
class _Clinic:
    """All generated data as parallel NumPy arrays; one method per stage."""

    def __init__(self, n: int, seed: int, as_of: dt.date, lean: bool = False):
        self.n, self.seed, self.as_of, self.lean = n, seed, as_of, lean
        self.rng = np.random.default_rng(seed)
        self.A = _day(as_of)
        self.planted: list[tuple[str, dict]] = []
        self.clean: list[tuple[str, dict]] = []

    def build(self) -> None:
        self.patients()
        self.scenarios()
        self.invoice_dates()
        self.lines()
        self.adjudicate()
        self.claims_and_transactions()
        self.payments()
        self.deposits()
        self.invoice_rows()

    # ------------------------------------------------------------------ patients
    def patients(self) -> None:
        rng = self.rng
        p = max(60, int(self.n * 0.55))
        self.n_pat = p
        mrn = 1000 + np.arange(p, dtype=np.int64) * 13 + rng.integers(0, 13, p)
        self.mrn = np.strings.zfill(_s(mrn), 8)
        self.first = np.array(_FIRST, dtype=STR)[rng.integers(0, len(_FIRST), p)]
        self.last = np.array(_LAST, dtype=STR)[rng.integers(0, len(_LAST), p)]
        self.pname = self.first + " " + self.last

    # ------------------------------------------------------------------ scenarios and payers
    def scenarios(self) -> None:
        rng, n = self.rng, self.n
        counts = [max(1, int(round(n * r))) for _name, _self, r in _SCENARIOS]
        if sum(counts) > n * 0.8:
            raise ValueError(f"too few invoices ({n}) for the planted problems; use 100 or more")
        order = rng.permutation(n)
        sc = np.zeros(n, dtype=np.int8)
        payer = rng.choice(6, size=n, p=_PAYER_WEIGHTS)
        sc[payer != SELF] = SC["ins_clean"]
        pos = 0
        for (name, self_pay, _r), k in zip(_SCENARIOS, counts):
            idx = order[pos:pos + k]
            pos += k
            sc[idx] = SC[name]
            if self_pay:
                payer[idx] = SELF
            elif name == "sequestration":
                payer[idx] = 0
            else:
                payer[idx] = rng.integers(0, 5, k)
        self.sc, self.payer = sc, payer
        self.pat = rng.integers(0, self.n_pat, n)
        # the misapplied pair: payment of patient B recorded on A's invoice — A and B differ
        a, b = self.where("misapplied_a"), self.where("misapplied_b")
        m = min(len(a), len(b))
        self.mis_a, self.mis_b = a[:m], b[:m]
        same = self.pat[self.mis_a] == self.pat[self.mis_b]
        self.pat[self.mis_b[same]] = (self.pat[self.mis_b[same]] + 1) % self.n_pat
        base = 10 ** max(4, len(str(n)))  # a dropped digit can never name a real invoice
        self.num = base + np.arange(n, dtype=np.int64)
        self.inv = "INV-" + _s(self.num)
        claim = self.inv.copy()
        resub = (rng.random(n) < 0.03) & (payer != SELF)
        claim[resub] = claim[resub] + "-1"
        rnc = self.sc == SC["remit_no_claim"]
        claim[rnc] = "RF" + _s(self.num[rnc])  # a claim of another billing system
        self.claim = np.where(payer == SELF, "", claim)
        self.is_ins = payer != SELF

    def where(self, name: str) -> np.ndarray:
        return np.flatnonzero(self.sc == SC[name])

    def of(self, *names: str) -> np.ndarray:
        return np.isin(self.sc, [SC[x] for x in names])

    # ------------------------------------------------------------------ dates
    def invoice_dates(self) -> None:
        rng, n, A = self.rng, self.n, self.A
        U = lambda lo, hi, size=n: rng.integers(lo, hi + 1, size)  # noqa: E731
        dos = A - U(1, 180)
        inv = np.minimum(dos + U(0, 3), A)
        explicit = rng.random(n) < 0.08

        def set_inv(mask, lo, hi):
            k = int(mask.sum())
            inv[mask] = A - U(lo, hi, k)
            dos[mask] = inv[mask] - U(0, 3, k)

        set_inv(self.of("overdue", "short_paid"), 45, 150)
        set_inv(self.of("overpaid", "misapplied_a", "misapplied_b", "typo", "unreferenced",
                        "refund", "remit_no_claim", "underpaid", "payer_overpaid",
                        "charge_mismatch", "posting_mismatch", "dup_payment", "deductible",
                        "sequestration"), 30, 150)
        set_inv(self.of("dup_invoice"), 1, 20)
        set_inv(self.of(*_RECENT_REMIT), 14, 24)
        set_inv(self.of("no_remit"), 35, 80)
        set_inv(self.of("reversal"), 60, 150)
        set_inv(self.of("pending_copay"), 8, 14)
        self.dos, self.inv_date = dos, inv
        self.plans()
        due = np.where(explicit, self.inv_date + 30, -1)  # -1: blank → terms apply
        nr = self.of("no_remit")
        due[nr] = A + U(5, 30, int(nr.sum()))
        pc = self.of("pending_copay")
        due[pc] = inv[pc] + 7  # past due, but the claim is still within follow-up days
        due[self.of(*_RECENT_REMIT)] = -1
        self.due = due
        # remittance date: the payer's weekly payday after a processing lag
        lag = U(7, 18)
        lag[self.of(*_RECENT_REMIT)] = U(3, 6, int(self.of(*_RECENT_REMIT).sum()))
        x = self.inv_date + lag
        payday = np.array([p[3] for p in _PAYER_835] + [0])[self.payer]
        self.remit_day = x + (payday - _weekday(x)) % 7
        self.has_remit = (self.is_ins & (self.remit_day <= A)
                          & ~self.of("no_remit", "pending_copay"))

    def plans(self) -> None:
        """Payment plans for the plan scenarios: schedule, and which installments get paid."""
        rng, A = self.rng, self.A
        idx = np.concatenate([self.where("plan_clean"), self.where("plan_missed"),
                              self.where("plan_short")])
        kind = np.concatenate([np.full(len(self.where(k)), j) for j, k in
                               enumerate(("plan_clean", "plan_missed", "plan_short"))])
        m = len(idx)
        freq = np.where(kind == 0, rng.integers(0, 3, m), 0)  # 0 monthly, 1 biweekly, 2 weekly
        grace = np.where(rng.random(m) < 0.5, -1, rng.choice([7, 10], m))  # -1: blank → 5
        g = np.where(grace < 0, 5, grace)
        count = rng.integers(4, 9, m)
        k = rng.integers(1, 3, m)  # index of the installment that goes wrong
        due_k = np.where(kind == 1, A - g - rng.integers(3, 13, m), A - rng.integers(2, 16, m))
        due_k = due_k - np.maximum(_dom(due_k) - 28, 0)  # day of month ≤ 28: no clamping
        clean_start = A - rng.integers(20, 100, m)
        clean_start = clean_start - np.maximum(_dom(clean_start) - 28, 0)
        start = np.where(kind == 0, clean_start, _add_months(due_k, -k))
        self.plan_idx, self.plan_kind, self.plan_freq = idx, kind, freq
        self.plan_grace, self.plan_count, self.plan_k, self.plan_start = grace, count, k, start
        self.inv_date[idx] = start - rng.integers(10, 31, m)
        self.dos[idx] = self.inv_date[idx] - rng.integers(0, 4, m)

    # ------------------------------------------------------------------ service lines
    def lines(self) -> None:
        rng, n = self.rng, self.n
        nl = rng.choice([1, 2, 3], size=n, p=[0.75, 0.18, 0.07])
        if self.lean:
            nl[:] = 1
        nl[self.of("denied_line")] = np.maximum(nl[self.of("denied_line")], 2)
        nl[self.plan_idx] = np.maximum(nl[self.plan_idx], 2)
        self.nlines = nl
        self.line_start = np.cumsum(nl) - nl
        L = int(nl.sum())
        li = np.repeat(np.arange(n), nl)
        pos = np.arange(L) - self.line_start[li]
        cpt = np.where(pos == 0, rng.integers(0, _N_EM, L),
                       np.where(pos == 1, rng.integers(_N_EM, 9, L), rng.integers(9, 12, L)))
        cpt[self.line_start[self.plan_idx]] = 3  # plans are for bigger bills (99204)
        units = np.where((CPTS[cpt] == "90471") & (rng.random(L) < 0.3), 2, 1)
        mod = np.where((pos == 0) & (nl[li] > 1), "25", "").astype(STR)
        self.li, self.lpos, self.cpt, self.units, self.mod = li, pos, cpt, units, mod
        self.charge = _CHARGE[cpt] * units
        self.billed = np.bincount(li, weights=self.charge, minlength=n).astype(np.int64)

    # ------------------------------------------------------------------ adjudication (835 side)
    def adjudicate(self) -> None:
        """Per line: allowed, patient responsibility, sequestration, contractual, paid."""
        rng, li = self.rng, self.li
        L = len(li)
        payer = self.payer[li]
        sc = self.sc[li]
        ins = payer != SELF
        contract = np.where(ins, CONTRACT[np.minimum(payer, 4), self.cpt] * self.units, 0)
        factor = np.ones(L)
        factor[sc == SC["underpaid"]] = rng.uniform(0.70, 0.85, int((sc == SC["underpaid"]).sum()))
        po = sc == SC["payer_overpaid"]
        factor[po] = rng.uniform(1.12, 1.25, int(po.sum()))
        allowed = np.rint(contract * factor).astype(np.int64)
        allowed = np.minimum(allowed, self.charge - 100 * ins)
        em = self.cpt < _N_EM
        copay = rng.choice([2000, 3000, 4000], L)
        pr = np.where(payer == 0, np.rint(allowed * 0.2),
                      np.where(em, np.minimum(copay, allowed),
                               np.where(rng.random(L) < 0.3, np.rint(allowed * 0.2), 0)))
        pr = pr.astype(np.int64)
        pr_code = np.where(payer == 0, 2, np.where(em, 3, 2))
        ded = sc == SC["deductible"]
        if self.lean:  # no patient share to post, except where a scenario is about it
            pr[~np.isin(sc, [SC["pr_unpaid"], SC["pending_copay"]])] = 0
        pr[ded], pr_code[ded] = allowed[ded], 1
        seq = np.where(payer == 0, np.rint((allowed - pr) * 0.02), 0).astype(np.int64)
        deny = np.zeros(L, dtype=np.int64)
        d_claim = sc == SC["denied"]
        deny[d_claim] = rng.choice([29, 197], int(d_claim.sum()))
        last_line = self.lpos == self.nlines[li] - 1
        deny[(sc == SC["denied_line"]) & last_line] = 197
        denied = deny > 0
        allowed[denied], pr[denied], seq[denied] = 0, 0, 0
        remit_charge = self.charge.copy()
        cm = (sc == SC["charge_mismatch"]) & (self.lpos == 0)
        remit_charge[cm] -= rng.integers(10, 41, int(cm.sum())) * 100
        remit_charge[cm] = np.maximum(remit_charge[cm], allowed[cm] + 100)
        paid = allowed - pr - seq
        co45 = np.where(denied, 0, remit_charge - allowed)
        self.allowed, self.pr, self.pr_code, self.seq = allowed, pr, pr_code, seq
        self.deny, self.paid, self.co45, self.remit_charge = deny, paid, co45, remit_charge
        self.contract = contract
        n = self.n
        self.c_paid = np.bincount(li, weights=paid, minlength=n).astype(np.int64)
        self.c_pr = np.bincount(li, weights=pr, minlength=n).astype(np.int64)
        self.c_charge = np.bincount(li, weights=remit_charge, minlength=n).astype(np.int64)
        self.c_denied = np.bincount(li, weights=np.where(denied, self.charge, 0),
                                    minlength=n).astype(np.int64)

    # ------------------------------------------------------------------ claims → transactions
    def claims_and_transactions(self) -> None:
        """Claim entries (a claim inside one 835 transaction), grouped into transactions."""
        rng, A = self.rng, self.A
        rem = np.flatnonzero(self.has_remit)
        rev = self.where("reversal")
        rev = rev[self.has_remit[rev]]
        # kind 0 normal, 1 reversal (status 22, negated), 2 correction
        ce_inv = np.concatenate([rem, rev, rev])
        ce_kind = np.concatenate([np.zeros(len(rem)), np.ones(len(rev)), np.full(len(rev), 2)]
                                 ).astype(np.int8)
        ce_day = self.remit_day[ce_inv].copy()
        ce_day[ce_kind > 0] += 14
        ce_day = np.minimum(ce_day, A)  # reversals: ≥ 60 days old, so this never merges days
        notify = (self.sc[ce_inv] == SC["deductible"]).astype(np.int64)
        payer = self.payer[ce_inv]
        order = np.lexsort((ce_kind, self.num[ce_inv], notify, ce_day, payer))
        ce_inv, ce_kind, ce_day, notify, payer = (a[order] for a in
                                                  (ce_inv, ce_kind, ce_day, notify, payer))
        group = np.stack([payer, ce_day, notify], axis=1)
        new_group = np.ones(len(ce_inv), dtype=bool)
        new_group[1:] = np.any(group[1:] != group[:-1], axis=1)
        gid = np.cumsum(new_group) - 1
        gstart = np.flatnonzero(new_group)
        rank = np.arange(len(ce_inv)) - gstart[gid]
        chunk = rank // _MAX_CLAIMS_PER_TX
        new_tx = new_group | (np.r_[True, chunk[1:] != chunk[:-1]])
        ce_tx = np.cumsum(new_tx) - 1
        self.ce_inv, self.ce_kind, self.ce_tx = ce_inv, ce_kind, ce_tx
        sign = np.where(ce_kind == 1, -1, 1)
        self.ce_paid = self.c_paid[ce_inv] * sign
        first = np.flatnonzero(new_tx)
        n_tx = len(first)
        self.tx_payer, self.tx_day = payer[first], ce_day[first]
        self.tx_notify = notify[first].astype(bool)
        self.tx_claims = np.bincount(ce_tx, minlength=n_tx)
        self.tx_paid = np.bincount(ce_tx, weights=self.ce_paid, minlength=n_tx).astype(np.int64)
        trace_num = 100000000 + np.arange(n_tx, dtype=np.int64) * 7 + rng.integers(0, 7, n_tx)
        self.tx_trace = np.strings.zfill(_s(trace_num), 10)
        # transaction-level plants, each on its own money-moving transaction
        cand = np.flatnonzero(~self.tx_notify & (self.tx_paid >= 5000))
        cand = cand[rng.permutation(len(cand))]
        k = max(1, int(round(n_tx * 0.01)))
        roles = ("recoup", "unbalanced", "no_deposit", "deposit_mismatch", "interest")
        self.tx_role = {}
        for j, role in enumerate(roles):
            self.tx_role[role] = cand[j * k:(j + 1) * k]
        self.tx_plb = np.zeros(n_tx, dtype=np.int64)  # Σ PLB amounts (positive = takeback)
        r = self.tx_role["recoup"]
        self.tx_plb[r] = np.minimum(self.tx_paid[r] * 3 // 10, rng.integers(2000, 15000, len(r)))
        i = self.tx_role["interest"]
        self.tx_plb[i] = -rng.integers(50, 400, len(i))
        self.tx_bpr = self.tx_paid - self.tx_plb
        u = self.tx_role["unbalanced"]
        self.tx_bpr_written = self.tx_bpr.copy()
        self.tx_bpr_written[u] += rng.integers(10, 51, len(u)) * 100
        self.tx_bpr_written[self.tx_notify] = 0
        # files: one per payer per payday
        fkey = self.tx_payer * 100000 + self.tx_day
        _, self.tx_file = np.unique(fkey, return_inverse=True)
        self.inv_trace = np.full(self.n, "", dtype=STR)
        normal = ce_kind == 0
        self.inv_trace[ce_inv[normal]] = self.tx_trace[ce_tx[normal]]
        self.inv_rev_trace = np.full(self.n, "", dtype=STR)
        rv = ce_kind == 1
        self.inv_rev_trace[ce_inv[rv]] = self.tx_trace[ce_tx[rv]]

    # ------------------------------------------------------------------ Payments sheet rows
    def payments(self) -> None:
        rng, A, n = self.rng, self.A, self.n
        cols: dict[str, list] = {k: [] for k in ("day", "inv", "pat", "payer", "method", "ref",
                                                 "cents", "role", "owner")}
        unknown = np.int64(-1)

        def add(day, inv_idx, pat, payer, method, ref, cents, role=0, owner=None):
            m = max(np.size(v) for v in (day, inv_idx, pat, payer, method, ref, cents, role,
                                         owner if owner is not None else 0))
            b = lambda v, dt_=None: np.broadcast_to(np.asarray(v, dtype=dt_), (m,))  # noqa: E731
            cols["day"].append(b(day, np.int64))
            cols["inv"].append(b(inv_idx, np.int64))
            cols["pat"].append(b(pat, np.int64))
            cols["payer"].append(b(payer, np.int64))
            cols["method"].append(b(method, STR))
            cols["ref"].append(b(ref, STR))
            cols["cents"].append(b(cents, np.int64))
            cols["role"].append(b(role, np.int64))
            cols["owner"].append(b(-1 if owner is None else owner, np.int64))

        R = {"plain": 0, "dup2": 1, "overpaid2": 2, "mis": 3, "unapplied": 4, "tbd": 5,
             "na": 6, "bad_date": 7, "refund": 8, "typo": 9, "unref": 10, "posting": 11}
        self.ROLE = R
        pay_method = np.array(["Card", "Check", "Cash"], dtype=STR)

        def patient_ref(method: np.ndarray) -> np.ndarray:
            m = len(method)
            card = "A" + _s(rng.integers(100000, 999999, m))
            chk = _s(rng.integers(1001, 9999, m))
            return np.where(method == "Card", card, np.where(method == "Check", chk, ""))

        def patient_pay(idx, day, cents, role=0, inv_override=None):
            method = pay_method[rng.choice(3, len(idx), p=[0.6, 0.25, 0.15])]
            add(day, idx if inv_override is None else inv_override, self.pat[idx], SELF,
                method, patient_ref(method), cents, role, owner=idx)

        # insurance postings: one per remitted claim that paid something, reference = trace
        posted = np.flatnonzero(self.has_remit & (self.c_paid > 0) & ~self.of("remit_no_claim"))
        amount = self.c_paid[posted].copy()
        pm = self.sc[posted] == SC["posting_mismatch"]
        amount[pm] -= np.minimum(900, amount[pm] // 2)
        day = self.remit_day[posted]
        add(day, posted, self.pat[posted], self.payer[posted], "EFT", self.inv_trace[posted],
            amount, np.where(pm, R["posting"], 0), owner=posted)
        self.posted_ins = np.zeros(n, dtype=np.int64)
        self.posted_ins[posted] = amount
        dp = posted[self.sc[posted] == SC["dup_payment"]]
        add(np.minimum(self.remit_day[dp] + 1, A), dp, self.pat[dp], self.payer[dp], "EFT",
            self.inv_trace[dp], self.c_paid[dp], R["dup2"], owner=dp)
        # contractual write-offs close what insurance and the patient's share do not cover
        wo = np.flatnonzero(self.has_remit & ~self.of("denied", "remit_no_claim"))
        wo_amt = (self.billed[wo] - self.c_denied[wo] - self.posted_ins[wo] - self.c_pr[wo])
        keep = wo_amt > 0
        if self.lean:  # the remittance's CO-45 stands in for the posted write-off
            keep &= self.sc[wo] != SC["ins_clean"]
        wo = wo[keep]
        wo_amt = wo_amt[keep]
        wmeth = np.where(rng.random(len(wo)) < 0.8, "Write-off", "Adjustment")
        wref = np.where(self.payer[wo] == 0, "CO-45/CO-253", "CO-45")
        add(self.remit_day[wo], wo, self.pat[wo], self.payer[wo], wmeth, wref, wo_amt, owner=wo)
        # patients pay their share after the remittance (except the planted unpaid share)
        prp = np.flatnonzero(self.has_remit & (self.c_pr > 0) & ~self.of("pr_unpaid",
                                                                        "remit_no_claim"))
        patient_pay(prp, np.minimum(self.remit_day[prp] + rng.integers(1, 21, len(prp)), A),
                    self.c_pr[prp])
        # pending claim, copay taken at the visit
        pc = self.where("pending_copay")
        add(self.dos[pc], pc, self.pat[pc], SELF, "Card", patient_ref(np.full(len(pc), "Card",
                                                                         dtype=STR)),
            np.minimum(3000, self.billed[pc]), owner=pc)
        # self-pay: paid in full at the visit or within ~3 weeks, if that day has come
        sp = np.flatnonzero(self.of("self_clean", "misapplied_a", "typo", "unreferenced",
                                    "overpaid", "refund"))
        delay = np.where(rng.random(len(sp)) < 0.6, 0, rng.integers(1, 26, len(sp)))
        pday = np.where(delay == 0, self.dos[sp], self.inv_date[sp] + delay)
        keep = pday <= A
        sp, pday = sp[keep], pday[keep]
        extra = np.where(self.sc[sp] == SC["refund"], 4500, 0)
        role = np.select([self.sc[sp] == SC["typo"], self.sc[sp] == SC["unreferenced"]],
                         [R["typo"], R["unref"]], 0)
        patient_pay(sp, pday, self.billed[sp] + extra, role)
        self.paid_day = np.full(n, -1, dtype=np.int64)
        self.paid_day[sp] = pday
        # planted patient-side problems
        op = self.where("overpaid")
        add(np.minimum(self.paid_day[op] + rng.integers(3, 20, len(op)), A), op, self.pat[op],
            SELF, "Check", _s(rng.integers(1001, 9999, len(op))),
            rng.integers(25, 61, len(op)) * 100, R["overpaid2"], owner=op)
        rf = self.where("refund")
        add(np.minimum(self.paid_day[rf] + 10, A), rf, self.pat[rf], SELF, "Refund",
            "Refund chk " + _s(rng.integers(5001, 5999, len(rf))), -4500, R["refund"], owner=rf)
        sh = self.where("short_paid")
        patient_pay(sh, self.inv_date[sh] + rng.integers(0, 20, len(sh)),
                    self.billed[sh] * rng.integers(30, 71, len(sh)) // 100)
        b, a = self.mis_b, self.mis_a
        patient_pay(b, np.minimum(self.inv_date[b] + rng.integers(0, 10, len(b)), A),
                    self.billed[b], R["mis"], inv_override=a)
        self.plan_payments(add, patient_ref)
        # money nobody can place: unknown payer, no usable reference
        k_un = max(1, int(round(n * 0.003)))
        add(A - rng.integers(1, 90, k_un), unknown, unknown, SELF, "Check",
            np.where(rng.random(k_un) < 0.5, "", "??"), rng.integers(1500, 30000, k_un) + 37,
            R["unapplied"])
        # unreadable rows: amount "TBD" / "n/a", a date that does not exist
        settled = np.flatnonzero(self.sc == SC["self_clean"])
        settled = settled[self.paid_day[settled] >= 0]
        k_bad = max(1, int(round(n * 0.001)))
        for role in ("tbd", "na", "bad_date"):
            pick = settled[rng.integers(0, len(settled), k_bad)]
            add(self.paid_day[pick], pick, self.pat[pick], SELF, "Check",
                _s(rng.integers(1001, 9999, k_bad)), 2500, R[role], owner=pick)
        P = {k: np.concatenate(v) for k, v in cols.items()}
        order = np.lexsort((np.arange(len(P["day"])), P["day"]))
        self.P = {k: v[order] for k, v in P.items()}

    def plan_payments(self, add, patient_ref) -> None:
        """Installments paid on their due dates; the planted plans miss or short one."""
        A = self.A
        idx, kind = self.plan_idx, self.plan_kind
        m = len(idx)
        total = self.billed[idx]
        count = self.plan_count
        inst = total // count
        self.plan_total, self.plan_inst = total, inst
        self.plan_id = "PP-" + np.strings.zfill(_s(np.arange(1, m + 1)), 4)
        kmax = int(count.max()) if m else 0
        for j in range(kmax):  # at most 8 installments: a loop over installment numbers only
            due = np.where(self.plan_freq == 0, _add_months(self.plan_start, j),
                           self.plan_start + j * np.where(self.plan_freq == 1, 14, 7))
            amt = np.where(j == count - 1, total - inst * (count - 1), inst)
            pay = (j < count) & (due <= A)
            pay &= ~((kind == 1) & (j >= self.plan_k))        # missed: nothing from k on
            pay &= ~((kind == 2) & (j > self.plan_k))
            amt = np.where((kind == 2) & (j == self.plan_k), inst // 2, amt)
            sel = np.flatnonzero(pay)
            if len(sel):
                meth = np.where(np.arange(len(sel)) % 3 == 2, "Check", "Card").astype(STR)
                add(due[sel], idx[sel], self.pat[idx[sel]], SELF, meth, patient_ref(meth),
                    amt[sel], owner=idx[sel])

    # ------------------------------------------------------------------ Deposits sheet rows
    def deposits(self) -> None:
        rng, A = self.rng, self.A
        P, R = self.P, self.ROLE
        # one ACH credit per money-moving 835 transaction, by trace
        tx = np.flatnonzero(~self.tx_notify)
        tx = tx[~np.isin(tx, self.tx_role["no_deposit"])]
        amount = self.tx_bpr_written[tx].copy()
        mm = np.isin(tx, self.tx_role["deposit_mismatch"])
        amount[mm] -= rng.integers(150, 2500, int(mm.sum()))
        trace = self.tx_trace[tx]
        trace = np.where(rng.random(len(tx)) < 0.3, np.strings.lstrip(trace, "0"), trace)
        tin = np.array(["1" + p[1].zfill(9) for p in _PAYER_835], dtype=STR)[self.tx_payer[tx]]
        desc = ("ACH CREDIT " + np.array([p[0][:16] for p in _PAYER_835], dtype=STR)[
            self.tx_payer[tx]] + " HCCLAIMPMT TRN*1*" + trace + "*" + tin + "\\")
        ddays = np.minimum(self.tx_day[tx] + rng.integers(0, 2, len(tx)), A)
        # card / cash / check batches: the day's real money of one method
        real = np.isin(P["method"], ["Card", "Cash", "Check"]) & ~np.isin(
            P["role"], [R["tbd"], R["na"], R["bad_date"]])
        meth_code = np.select([P["method"] == "Card", P["method"] == "Cash"], [0, 1], 2)
        key = P["day"][real] * 3 + meth_code[real]
        ukey, inv = np.unique(key, return_inverse=True)
        bsum = np.bincount(inv, weights=P["cents"][real]).astype(np.int64)
        bday, bmeth = ukey // 3, ukey % 3
        bcount = np.bincount(inv)
        bdesc = np.select(
            [bmeth == 0, bmeth == 1],
            ["CARD SETTLEMENT MERCH 4471 BATCH " + _ymd(bday),
             np.full(len(bday), "BRANCH DEPOSIT CASH", dtype=STR)],
            "REMOTE DEPOSIT " + _s(bcount) + " CHECKS")
        # money the bank received that nothing in the workbook or the 835s explains
        k = max(1, int(round(len(tx) * 0.01)))
        xday = A - rng.integers(1, 60, k)
        xdesc = ("ACH CREDIT HCCLAIMPMT TRN*1*" + _s(rng.integers(700000000, 799999999, k))
                 + "*1999999999\\")
        xamt = rng.integers(5000, 90000, k) + 17
        days = np.concatenate([ddays, bday, xday])
        D = {"day": days, "desc": np.concatenate([desc, bdesc, xdesc]),
             "cents": np.concatenate([amount, bsum, xamt]),
             "role": np.concatenate([np.zeros(len(tx) + len(bday), dtype=np.int64),
                                     np.ones(k, dtype=np.int64)])}
        order = np.lexsort((np.arange(len(days)), days))
        self.D = {kk: v[order] for kk, v in D.items()}

    # ------------------------------------------------------------------ Invoices sheet rows
    def invoice_rows(self) -> None:
        """Line rows in invoice order, minus claims we never billed, plus duplicate invoices."""
        keep = self.sc[self.li] != SC["remit_no_claim"]
        rows = np.flatnonzero(keep)
        di = self.where("dup_invoice")
        # the duplicate: same number typed later for another patient and another day
        self.inv_rows = np.concatenate([rows, self.line_start[di]])
        self.inv_row_dup = np.r_[np.zeros(len(rows), bool), np.ones(len(di), bool)]


# ---------------------------------------------------------------------------------- sheet model
@dataclass
class _Col:
    header: str
    text: np.ndarray            # STR; "" where the cell is a number or blank
    num: np.ndarray | None = None  # XML number text (STR) where a number; "" for none
    fmt: str | None = None      # format name for numbers


@dataclass
class _Sheet:
    name: str
    header_row: int             # 0-based row of the header
    cols: list[_Col]
    excel_rows: np.ndarray      # 0-based row of each data row
    hidden: np.ndarray          # bool per data row
    titles: list[str] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)


def _split(text: np.ndarray, num: np.ndarray, is_text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.where(is_text, text, ""), np.where(is_text, "", num)


class _Writer:
    """xlsxwriter for structure, formats, small sheets; streamed XML for the big sheets' rows."""

    def __init__(self, path: Path):
        self.path = path
        self.wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False,
                                                  "strings_to_formulas": False,
                                                  "strings_to_urls": False})
        self.wb.set_properties({"created": FIXED_CREATED, "author": "Front desk",
                                "company": PRACTICE, "title": "Billing workbook"})
        wb = self.wb
        self.fmt = {
            "money": wb.add_format({"num_format": "$#,##0.00"}),
            "date": wb.add_format({"num_format": "mm/dd/yyyy"}),
            "int": wb.add_format({"num_format": "0"}),
            "text": wb.add_format({"num_format": "@"}),
            "header": wb.add_format({"bold": True, "bg_color": "#DCE6F1", "bottom": 1}),
            "title": wb.add_format({"bold": True, "font_size": 14, "align": "center"}),
            "italic": wb.add_format({"italic": True, "font_color": "#666666"}),
            "total": wb.add_format({"bold": True, "num_format": "$#,##0.00", "top": 1}),
            "bold": wb.add_format({"bold": True}),
        }
        self.streamed: list[tuple[int, _Sheet]] = []  # (sheet number, sheet)
        self.n_sheets = 0

    def add(self, sheet: _Sheet, stream: bool = False):
        ws = self.wb.add_worksheet(sheet.name)
        self.n_sheets += 1
        for r, t in enumerate(sheet.titles):
            if t:
                ws.write_string(r, 0, t, self.fmt["title"] if r == 0 else self.fmt["italic"])
        for c, col in enumerate(sheet.cols):
            ws.write_string(sheet.header_row, c, col.header, self.fmt["header"])
        for c, w in enumerate(sheet.widths):
            ws.set_column(c, c, w)
        n = len(sheet.excel_rows)
        rows = range(n) if not stream or n <= 2 else (0, n - 1)
        for i in rows:
            self._write_row(ws, sheet, i)
        if stream and n > 2:
            self.streamed.append((self.n_sheets, sheet))
        return ws

    def _write_row(self, ws, sheet: _Sheet, i: int) -> None:
        r = int(sheet.excel_rows[i])
        if sheet.hidden[i]:
            ws.set_row(r, None, None, {"hidden": True})
        for c, col in enumerate(sheet.cols):
            t = str(col.text[i])
            if t:
                ws.write_string(r, c, t, self.fmt["text"] if col.fmt == "text" else None)
            elif col.num is not None and str(col.num[i]):
                ws.write_number(r, c, float(col.num[i]), self.fmt[col.fmt] if col.fmt else None)

    def close(self) -> None:
        self.wb.close()
        if self.streamed:
            self._splice()

    def _splice(self) -> None:
        """Stream the middle rows of the big sheets into the sheet XML xlsxwriter wrote."""
        tmp = self.path.with_suffix(".tmp.xlsx")
        self.path.replace(tmp)
        targets = {f"xl/worksheets/sheet{k}.xml": s for k, s in self.streamed}
        with zipfile.ZipFile(tmp) as zin, zipfile.ZipFile(self.path, "w") as zout:
            for info in zin.infolist():
                data = zin.read(info.filename)
                if info.filename not in targets:
                    zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
                    continue
                sheet = targets[info.filename]
                xml = data.decode("utf-8")
                last = int(sheet.excel_rows[-1]) + 1
                cut = xml.index(f'<row r="{last}"')
                out_info = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                out_info.compress_type = zipfile.ZIP_DEFLATED
                out_info._compresslevel = 1  # fast deflate; no public setter before 3.13
                out_info.external_attr = info.external_attr
                with zout.open(out_info, "w", force_zip64=True) as fh:
                    fh.write(xml[:cut].encode("utf-8"))
                    for chunk in self._rows_xml(sheet, 1, len(sheet.excel_rows) - 1):
                        fh.write(chunk.encode("utf-8"))
                    fh.write(xml[cut:].encode("utf-8"))
        tmp.unlink()

    def _rows_xml(self, sheet: _Sheet, lo: int, hi: int, chunk: int = 100_000):
        letters = [chr(ord("A") + c) for c in range(len(sheet.cols))]
        style = {k: f.xf_index for k, f in self.fmt.items()}
        for a in range(lo, hi, chunk):
            b = min(a + chunk, hi)
            rn = _s(sheet.excel_rows[a:b] + 1)
            parts = [np.where(sheet.hidden[a:b], '<row r="' + rn + '" hidden="1">',
                              '<row r="' + rn + '">').tolist()]
            for c, col in enumerate(sheet.cols):
                t = col.text[a:b]
                s_attr = f' s="{style["text"]}"' if col.fmt == "text" else ""
                cell = np.where(t != "", f'{s_attr} t="inlineStr"><is><t>' + _xml_text(t)
                                + "</t></is></c>", "")
                if col.num is not None:
                    v = col.num[a:b]
                    s_num = f' s="{style[col.fmt]}"' if col.fmt else ""
                    cell = np.where(v != "", f'{s_num}><v>' + v + "</v></c>", cell)
                cell = np.where(cell != "", f'<c r="{letters[c]}' + rn + '"' + cell, "")
                parts.append(cell.tolist())
            parts.append(["</row>"] * (b - a))
            # row-major: row open, its cells, row close — one C-level join per chunk
            yield "".join(itertools.chain.from_iterable(zip(*parts)))


# ---------------------------------------------------------------------------------- sheets
def _invoices_sheet(c: _Clinic) -> tuple[_Sheet, dict]:
    rng = np.random.default_rng(c.seed + 1)
    rows, dup = c.inv_rows, c.inv_row_dup
    inv = c.li[rows]
    m = len(rows)
    pat = c.pat[inv].copy()
    dos = c.dos[inv].copy()
    invd = c.inv_date[inv].copy()
    pat[dup] = (pat[dup] + 1 + rng.integers(0, c.n_pat - 1, int(dup.sum()))) % c.n_pat
    dos[dup] -= rng.integers(1, 6, int(dup.sum()))
    invd[dup] = dos[dup] + 1
    # layout: titles, header on row 4, a few blank rows, hidden rows, blank + totals at the end
    header_row = 3
    n_blank = min(3, max(0, m // 50))
    gaps = np.sort(rng.choice(np.arange(10, m - 5), n_blank, replace=False)) if n_blank else []
    shift = np.zeros(m, dtype=np.int64)
    for g in gaps:
        shift[g:] += 1
    excel_rows = header_row + 1 + np.arange(m) + shift
    hidden = np.zeros(m, dtype=bool)
    hidden[rng.choice(m, max(2, m // 200), replace=False)] = True
    # messy values: text dates, text amounts, an unreadable optional date
    text_dos = rng.random(m) < 0.02
    text_inv = rng.random(m) < 0.01
    text_amt = rng.random(m) < 0.02
    text_amt[dup] = False
    ser = lambda d: _s(d + _EPOCH_TO_EXCEL)  # noqa: E731
    due = c.due[inv]
    due_num = np.where(due >= 0, ser(np.maximum(due, 0)), "")
    due_txt = np.full(m, "", dtype=STR)
    cand = np.flatnonzero((c.sc[inv] == SC["self_clean"]) & (c.paid_day[inv] >= 0)
                          & (c.lpos[rows] == 0) & ~dup & ~hidden)
    bad_due = cand[rng.choice(len(cand), min(len(cand), max(1, c.n // 1000)), replace=False)]
    due_txt[bad_due], due_num[bad_due] = "ASAP", ""
    amount = c.charge[rows]
    sheet = _Sheet(
        "Invoices", header_row,
        [_Col("Inv #", c.inv[inv]),
         _Col("MRN", c.mrn[pat], fmt="text"),
         _Col("Patient Name", c.pname[pat]),
         _Col("DOS", *_split(_mdy(dos), ser(dos), text_dos), fmt="date"),
         _Col("Bill Date", *_split(_mdy(invd), ser(invd), text_inv), fmt="date"),
         _Col("Due", due_txt, due_num, "date"),
         _Col("Insurance", np.array(PAYERS, dtype=STR)[c.payer[inv]]),
         _Col("Claim #", c.claim[inv]),
         _Col("CPT Code", CPTS[c.cpt[rows]]),
         _Col("Mod", c.mod[rows]),
         _Col("Units", np.full(m, "", dtype=STR), _s(c.units[rows]), "int"),
         _Col("Billed", *_split(_money_display(amount), _money(amount), text_amt), fmt="money")],
        excel_rows, hidden,
        titles=[f"{PRACTICE} — Invoices", "Exported from PracticeSuite · service lines", ""],
        widths=[12, 10, 22, 11, 11, 11, 18, 12, 9, 6, 6, 12])
    numeric_total = int(amount[~text_amt].sum())
    info = {"excel_rows": excel_rows, "bad_due": bad_due, "numeric_total": numeric_total,
            "text_amount_rows": excel_rows[text_amt] + 1, "hidden_rows": excel_rows[hidden] + 1,
            "last_row": int(excel_rows[-1]) + 1, "total_row": int(excel_rows[-1]) + 3}
    return sheet, info


def _payments_sheet(c: _Clinic) -> tuple[_Sheet, dict]:
    rng = np.random.default_rng(c.seed + 2)
    P, R = c.P, c.ROLE
    m = len(P["day"])
    role = P["role"]
    inv_idx = P["inv"]
    has_inv = inv_idx >= 0
    safe = np.where(has_inv, inv_idx, 0)
    inv_txt = np.where(has_inv, c.inv[safe], "")
    # typos: a dropped digit (never a real invoice), or only the dash missing / lower case
    num = _s(c.num[safe])
    dropped = "INV-" + np.strings.slice(num, 0, 2) + np.strings.slice(num, 3, None)
    typo = role == R["typo"]
    inv_txt = np.where(typo, dropped, inv_txt)
    cosmetic = (rng.random(m) < 0.03) & has_inv & (role == 0)
    inv_txt = np.where(cosmetic & (rng.random(m) < 0.5), "INV" + num,
                       np.where(cosmetic, "inv " + num, inv_txt))
    inv_txt = np.where(role == R["unref"], "", inv_txt)
    pat = P["pat"]
    known = pat >= 0
    psafe = np.where(known, pat, 0)
    stranger = np.array(["Harold Quimby", "Marta Vexley", "J. Doe", "Unknown remitter"],
                        dtype=STR)[np.arange(m) % 4]
    payer_name = np.array(PAYERS, dtype=STR)[P["payer"]]
    payer_col = np.where(P["payer"] == SELF, "Patient", payer_name)
    day = P["day"]
    text_day = (rng.random(m) < 0.015) & (role == 0)
    day_txt = np.where(text_day, _mdy(day), "")
    day_num = np.where(text_day, "", _s(day + _EPOCH_TO_EXCEL))
    bad_date = role == R["bad_date"]
    day_txt = np.where(bad_date, "02/30/" + np.strings.slice(_iso(day), 0, 4), day_txt)
    day_num = np.where(bad_date, "", day_num)
    cents = P["cents"]
    text_amt = ((rng.random(m) < 0.01) & (role == 0)) | (role == R["refund"])
    amt_txt = np.where(text_amt, np.where(cents < 0, "(" + np.strings.lstrip(
        _money_display(cents), "$") + ")", _money_display(cents)), "")
    amt_num = np.where(text_amt, "", _money(cents))
    amt_txt = np.where(role == R["tbd"], "TBD", np.where(role == R["na"], "n/a", amt_txt))
    amt_num = np.where(np.isin(role, [R["tbd"], R["na"]]), "", amt_num)
    pid = "P-" + np.strings.zfill(_s(np.arange(1, m + 1)), 6)
    header_row = 2
    sheet = _Sheet(
        "Payments", header_row,
        [_Col("Payment ID", pid),
         _Col("Date Received", day_txt, day_num, "date"),
         _Col("Applied To", inv_txt),
         _Col("Patient #", np.where(known, c.mrn[psafe], ""), fmt="text"),
         _Col("Pt Name", np.where(known, c.pname[psafe], stranger)),
         _Col("Paid By", payer_col),
         _Col("Payment Method", P["method"]),
         _Col("Check/EFT #", P["ref"]),
         _Col("Amount Paid", amt_txt, amt_num, "money")],
        header_row + 1 + np.arange(m), np.zeros(m, dtype=bool),
        titles=[f"{PRACTICE} — Payments and adjustments", ""],
        widths=[11, 13, 13, 11, 22, 18, 15, 20, 12])
    return sheet, {"pid": pid, "inv_txt": inv_txt, "excel_rows": sheet.excel_rows + 1}


def _deposits_sheet(c: _Clinic) -> _Sheet:
    D = c.D
    m = len(D["day"])
    return _Sheet("Deposits", 0,
                  [_Col("Deposit Date", np.full(m, "", dtype=STR), _s(D["day"] + _EPOCH_TO_EXCEL),
                        "date"),
                   _Col("Description", D["desc"]),
                   _Col("Amount", np.full(m, "", dtype=STR), _money(D["cents"]), "money")],
                  np.arange(1, m + 1), np.zeros(m, dtype=bool), widths=[13, 70, 12])


def _fee_schedule_sheet() -> _Sheet:
    payer = np.repeat(np.arange(5), len(CPTS))
    cpt = np.tile(np.arange(len(CPTS)), 5)
    em = cpt < _N_EM
    payer = np.concatenate([payer, payer[em]])
    mod = np.concatenate([np.full(len(cpt), "", dtype=STR), np.full(int(em.sum()), "25",
                                                                   dtype=STR)])
    cpt = np.concatenate([cpt, cpt[em]])
    order = np.lexsort((mod, cpt, payer))
    payer, cpt, mod = payer[order], cpt[order], mod[order]
    m = len(cpt)
    return _Sheet("FeeSchedule", 0,
                  [_Col("Payor", np.array(PAYERS, dtype=STR)[payer]),
                   _Col("Proc Code", CPTS[cpt]),
                   _Col("Modifier", mod),
                   _Col("Contract Rate", np.full(m, "", dtype=STR),
                        _money(CONTRACT[payer, cpt]), "money")],
                  np.arange(1, m + 1), np.zeros(m, dtype=bool), widths=[18, 10, 9, 13])


def _plans_sheet(c: _Clinic) -> _Sheet:
    m = len(c.plan_idx)
    freq = np.array(["Monthly", "Biweekly", "Weekly"], dtype=STR)[c.plan_freq]
    grace = np.where(c.plan_grace < 0, "", _s(c.plan_grace))
    blank = np.full(m, "", dtype=STR)
    return _Sheet("PaymentPlans", 1,
                  [_Col("Plan #", c.plan_id),
                   _Col("MRN", c.mrn[c.pat[c.plan_idx]], fmt="text"),
                   _Col("Invoice #", c.inv[c.plan_idx]),
                   _Col("Plan Total", blank, _money(c.plan_total), "money"),
                   _Col("Installment Amount", blank, _money(c.plan_inst), "money"),
                   _Col("First Due", blank, _s(c.plan_start + _EPOCH_TO_EXCEL), "date"),
                   _Col("Frequency", freq),
                   _Col("# Payments", blank, _s(c.plan_count), "int"),
                   _Col("Grace Days", blank, grace, "int")],
                  np.arange(2, m + 2), np.zeros(m, dtype=bool),
                  titles=["Self-pay payment arrangements"], widths=[9, 10, 12, 11, 18, 11, 10,
                                                                    11, 11])


def _settings_sheet() -> _Sheet:
    kv = [("terms_days", "30"), ("tolerance", "1.00"), ("practice_name", PRACTICE),
          ("remit_folder", "remits")]
    m = len(kv)
    return _Sheet("Settings", 0, [_Col("Setting", _s([k for k, _ in kv])),
                                  _Col("Value", _s([v for _, v in kv]))],
                  np.arange(1, m + 1), np.zeros(m, dtype=bool), widths=[22, 28])


def _dashboard(w: _Writer, c: _Clinic, inv_info: dict) -> None:
    """The staff's own sheet: formulas with cached values and a chart; the engine must keep it."""
    ws = w.wb.add_worksheet("Dashboard")
    w.n_sheets += 1
    f = w.fmt
    ws.set_column(0, 0, 26)
    ws.set_column(1, 2, 14)
    ws.write_string(0, 0, f"{PRACTICE} — front desk dashboard", f["title"])
    ws.write_string(2, 0, "Invoice lines", f["bold"])
    ws.write_formula(2, 1, "=COUNTA(Invoices!A5:A1048575)-1", None,
                     len(inv_info["excel_rows"]) + 1)
    ws.write_string(3, 0, "Billed (per totals row)", f["bold"])
    ws.write_formula(3, 1, f"=Invoices!L{inv_info['total_row']}", f["money"],
                     inv_info["numeric_total"] / 100)
    ws.write_string(5, 0, "Payer", f["header"])
    ws.write_string(5, 1, "Invoices", f["header"])
    counts = np.bincount(c.payer, minlength=6)
    for i, name in enumerate(PAYERS):
        ws.write_string(6 + i, 0, name)
        ws.write_number(6 + i, 1, int(counts[i]))
    ws.write_string(13, 0, "Total", f["bold"])
    ws.write_formula(13, 1, "=SUM(B7:B12)", f["bold"], int(counts.sum()))
    chart = w.wb.add_chart({"type": "column"})
    chart.add_series({"name": "Invoices by payer", "categories": "=Dashboard!$A$7:$A$12",
                      "values": "=Dashboard!$B$7:$B$12"})
    chart.set_title({"name": "Payer mix"})
    chart.set_legend({"none": True})
    ws.insert_chart("D3", chart)


def _write_workbook(c: _Clinic, path: Path) -> tuple[dict, dict, dict]:
    w = _Writer(path)
    inv_sheet, inv_info = _invoices_sheet(c)
    pay_sheet, pay_info = _payments_sheet(c)
    ws = w.add(inv_sheet, stream=True)
    last = len(inv_sheet.cols) - 1
    ws.merge_range(0, 0, 0, last, inv_sheet.titles[0], w.fmt["title"])
    tr = inv_info["total_row"] - 1
    ws.write_string(tr, 0, "Total", w.fmt["bold"])
    col = chr(ord("A") + last)
    first_data = inv_sheet.header_row + 2
    ws.write_formula(tr, last, f"=SUM({col}{first_data}:{col}{inv_info['last_row']})",
                     w.fmt["total"], inv_info["numeric_total"] / 100)
    ws.freeze_panes(inv_sheet.header_row + 1, 0)
    ws = w.add(pay_sheet, stream=True)
    ws.freeze_panes(pay_sheet.header_row + 1, 0)
    w.add(_deposits_sheet(c))
    w.add(_fee_schedule_sheet())
    w.add(_plans_sheet(c))
    w.add(_settings_sheet())
    _dashboard(w, c, inv_info)
    w.close()
    rows = {"Invoices": len(inv_sheet.excel_rows), "Payments": len(pay_sheet.excel_rows),
            "Deposits": len(c.D["day"]), "PaymentPlans": len(c.plan_idx)}
    return inv_info, pay_info, rows


# ---------------------------------------------------------------------------------- 835 files
def _cas(group: str, pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """One CAS segment per row holding the non-zero (reason, amount) triplets of `group`."""
    body = np.full(len(pairs[0][1]), "", dtype=STR)
    for reason, amount in pairs:
        trip = "*" + _s(reason) + "*" + _money(amount)
        body = np.where(amount != 0, np.where(body != "", body + "*" + trip, trip), body)
    return np.where(body != "", f"CAS*{group}" + body + "~", "")


def _write_835(c: _Clinic, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.835"):
        old.unlink()
    ce_inv, kind, tx = c.ce_inv, c.ce_kind, c.ce_tx
    sign = np.where(kind == 1, -1, 1)
    n_ce = len(ce_inv)
    # claim entries → their service lines
    cel_ce = np.repeat(np.arange(n_ce), c.nlines[ce_inv])
    cel = _segments(c.line_start[ce_inv], c.nlines[ce_inv])
    sg = sign[cel_ce]
    proc = "HC:" + CPTS[c.cpt[cel]] + np.where(c.mod[cel] != "", ":" + c.mod[cel], "")
    svc = ("SVC*" + proc + "*" + _money(c.remit_charge[cel] * sg) + "*"
           + _money(c.paid[cel] * sg) + "**" + _s(c.units[cel]) + "~")
    dtm = "DTM*472*" + _ymd(c.dos[c.li[cel]]) + "~"
    co = _cas("CO", [(np.where(c.deny[cel] > 0, c.deny[cel], 45),
                      np.where(c.deny[cel] > 0, c.charge[cel], c.co45[cel]) * sg),
                     (np.full(len(cel), 253), c.seq[cel] * sg)])
    pr = _cas("PR", [(c.pr_code[cel], c.pr[cel] * sg)])
    amt = np.where(c.allowed[cel] != 0, "AMT*B6*" + _money(c.allowed[cel] * sg) + "~", "")
    line_txt = svc + dtm + co + pr + amt
    line_segs = 2 + (co != "") + (pr != "") + (amt != "")
    # claims
    status = np.where(kind == 1, "22", np.where(c.sc[ce_inv] == SC["denied"], "4", "1"))
    fi = np.array([p[2] for p in _PAYER_835], dtype=STR)[c.payer[ce_inv]]
    icn = _s(c.num[ce_inv] * 10 + c.payer[ce_inv]) + np.where(kind == 2, "02", "01")
    pat = c.pat[ce_inv]
    clp = ("CLP*" + c.claim[ce_inv] + "*" + status + "*" + _money(c.c_charge[ce_inv] * sign)
           + "*" + _money(c.c_paid[ce_inv] * sign) + "*" + _money(c.c_pr[ce_inv] * sign) + "*"
           + fi + "*" + np.strings.zfill(icn, 14) + "*11*1~"
           + "NM1*QC*1*" + np.strings.upper(c.last[pat]) + "*" + np.strings.upper(c.first[pat])
           + "****MR*" + c.mrn[pat] + "~DTM*232*" + _ymd(c.dos[ce_inv]) + "~")
    claim_segs = 3 + np.bincount(cel_ce, weights=line_segs, minlength=n_ce).astype(np.int64)
    # transactions
    n_tx = len(c.tx_trace)
    p835 = _PAYER_835
    pname = np.array([p[0] for p in p835], dtype=STR)[c.tx_payer]
    pid = np.array([p[1] for p in p835], dtype=STR)[c.tx_payer]
    addr = np.array([f"N3*PO BOX {1000 + 7 * i}~N4*{p[4][0]}*{p[4][1]}*{p[4][2]}~"
                     for i, p in enumerate(p835)], dtype=STR)[c.tx_payer]
    d8 = _ymd(c.tx_day)
    _, first_in_file = np.unique(c.tx_file, return_index=True)
    st_no = np.arange(n_tx) - first_in_file[c.tx_file] + 1
    stc = np.strings.zfill(_s(st_no), 4)
    bpr = np.where(
        c.tx_notify, "BPR*H*0*C*NON" + "*" * 12 + d8 + "~",
        "BPR*C*" + _money(c.tx_bpr_written) + "*C*ACH*CCP*01*011000015*DA*" + pid
        + "0044*1" + np.strings.zfill(pid, 9) + "**01*021000021*DA*4410098812*" + d8 + "~")
    head = ("ST*835*" + stc + "~" + bpr + "TRN*1*" + c.tx_trace + "*1"
            + np.strings.zfill(pid, 9) + "~DTM*405*" + d8 + "~N1*PR*" + pname + "~" + addr
            + "REF*2U*" + pid + "~N1*PE*RIVERSIDE FAMILY CLINIC*XX*1467503219~REF*TJ*201234567~"
            + "LX*1~")
    head_segs = 11
    plb_ref = np.where(c.tx_plb > 0, "WO:OVP" + np.strings.slice(c.tx_trace, 4, None), "L6")
    plb = np.where(c.tx_plb != 0, "PLB*1467503219*" + np.strings.slice(d8, 0, 4) + "1231*"
                   + plb_ref + "*" + _money(c.tx_plb) + "~", "")
    seg_count = (head_segs + np.bincount(tx, weights=claim_segs, minlength=n_tx).astype(np.int64)
                 + (plb != "") + 1)
    tail = plb + "SE*" + _s(seg_count) + "*" + stc + "~"
    # every piece in file order: header, (claim, its lines)..., trailer
    pieces = np.concatenate([head, clp, line_txt, tail])
    p_tx = np.concatenate([np.arange(n_tx), tx, tx[cel_ce], np.arange(n_tx)])
    p_sec = np.concatenate([np.zeros(n_tx), np.ones(n_ce), np.ones(len(cel)), np.full(n_tx, 2)])
    p_ce = np.concatenate([np.zeros(n_tx), np.arange(n_ce), cel_ce, np.zeros(n_tx)])
    p_sub = np.concatenate([np.zeros(n_tx), np.zeros(n_ce), 1 + c.lpos[cel], np.zeros(n_tx)])
    p_file = c.tx_file[p_tx]
    order = np.lexsort((p_sub, p_ce, p_sec, p_tx, p_file))
    pieces, p_file = pieces[order], p_file[order]
    bounds = np.searchsorted(p_file, np.arange(p_file.max() + 2)) if len(p_file) else [0]
    paths = []
    tx_first = first_in_file
    for f in range(len(tx_first)):
        t0 = tx_first[f]
        payer = int(c.tx_payer[t0])
        day = str(_ymd([c.tx_day[t0]])[0])
        ctl = f"{f + 1:09d}"
        n_st = int((c.tx_file == f).sum())
        sender = p835[payer][1].ljust(15)
        isa = (f"ISA*00*          *00*          *ZZ*{sender}*ZZ*{'RIVERSIDEFC':<15}*{day[2:]}*"
               f"0800*^*00501*{ctl}*0*P*:~")
        gs = f"GS*HP*{p835[payer][1]}*RIVERSIDEFC*{day}*0800*{f + 1}*X*005010X221A1~"
        body = "".join(pieces[bounds[f]:bounds[f + 1]].tolist())
        text = f"{isa}\n{gs}\n{body}GE*{n_st}*{f + 1}~\nIEA*1*{ctl}~\n"
        path = folder / f"{PAYERS[payer].lower()}_{day}.835"
        path.write_text(text, encoding="ascii", newline="")
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------------- ground truth
def _manifest(c: _Clinic, inv_info: dict, pay_info: dict, remits: bool) -> tuple[list, list]:
    P, R = c.P, c.ROLE
    pid, inv_txt = pay_info["pid"], pay_info["inv_txt"]
    planted: list[tuple[str, dict]] = []
    clean: list[tuple[str, dict]] = []
    inv = c.inv
    payer_name = np.array(PAYERS, dtype=STR)

    def each(kind, idx, **keys):
        for j in range(len(idx)):
            planted.append((kind, {k: str(v[j]) for k, v in keys.items()}))

    def by_role(role):
        return np.flatnonzero(P["role"] == R[role])

    def claim_keys(idx):
        return {"claim": c.claim[idx], "invoice": inv[idx]}

    # A. invoices and posted payments
    ov = c.where("overdue")
    each("OVERDUE", ov, invoice=inv[ov], payer=payer_name[c.payer[ov]])
    sh = c.where("short_paid")
    each("SHORT_PAID", sh, invoice=inv[sh])
    j = by_role("overpaid2")
    each("OVERPAID", j, invoice=inv[P["inv"][j]], payment=pid[j])
    j = by_role("dup2")
    each("DUPLICATE_PAYMENT", j, invoice=inv[P["inv"][j]], payment=pid[j],
         trace=P["ref"][j])
    j = by_role("unapplied")
    each("UNAPPLIED_PAYMENT", j, payment=pid[j])
    j = by_role("mis")
    order_a = np.argsort(c.mis_a)
    b = c.mis_b[order_a][np.searchsorted(c.mis_a[order_a], P["inv"][j])]
    each("MISAPPLIED_PAYMENT", j, invoice=inv[P["inv"][j]], payment=pid[j], belongs_to=inv[b])
    di = c.where("dup_invoice")
    each("DUPLICATE_INVOICE", di, invoice=inv[di])
    # E. unreadable cells
    for role, column in (("tbd", "Amount"), ("na", "Amount"), ("bad_date", "Date")):
        j = by_role(role)
        each("INVALID_ROW", j, sheet=np.full(len(j), "Payments"),
             row=pay_info["excel_rows"][j], column=np.full(len(j), column), payment=pid[j])
    bad = inv_info["bad_due"]
    each("INVALID_ROW", bad, sheet=np.full(len(bad), "Invoices"),
         row=inv_info["excel_rows"][bad] + 1, column=np.full(len(bad), "Due date"))
    # D. payment plans
    for kind, code in (("PLAN_MISSED_INSTALLMENT", 1), ("PLAN_SHORT_INSTALLMENT", 2)):
        sel = np.flatnonzero(c.plan_kind == code)
        each(kind, sel, plan=c.plan_id[sel], invoice=inv[c.plan_idx[sel]],
             installment=c.plan_k[sel] + 1)
    # B. remittances against claims
    if remits:
        d = c.where("denied")
        each("DENIED", d, **claim_keys(d), trace=c.inv_trace[d])
        d = c.where("denied_line")
        last = c.line_start[d] + c.nlines[d] - 1
        each("DENIED", d, **claim_keys(d), trace=c.inv_trace[d], cpt=CPTS[c.cpt[last]])
        for kind, name in (("UNDERPAID", "underpaid"), ("PAYER_OVERPAID", "payer_overpaid"),
                           ("PATIENT_RESPONSIBILITY", "pr_unpaid"),
                           ("CHARGE_MISMATCH", "charge_mismatch")):
            x = c.where(name)
            each(kind, x, **claim_keys(x))
        x = c.where("remit_no_claim")
        each("REMIT_WITHOUT_CLAIM", x, claim=c.claim[x], trace=c.inv_trace[x])
        x = c.where("no_remit")
        each("CLAIM_WITHOUT_REMIT", x, **claim_keys(x), payer=payer_name[c.payer[x]])
        x = c.where("reversal")
        each("REVERSAL", x, **claim_keys(x), trace=c.inv_rev_trace[x])
        x = c.where("posting_mismatch")
        each("POSTING_MISMATCH", x, **claim_keys(x), trace=c.inv_trace[x])
        t = c.tx_role
        for kind, role in (("RECOUPMENT", "recoup"), ("REMIT_UNBALANCED", "unbalanced"),
                           ("ERA_WITHOUT_DEPOSIT", "no_deposit"),
                           ("DEPOSIT_AMOUNT_MISMATCH", "deposit_mismatch")):
            x = t[role]
            each(kind, x, trace=c.tx_trace[x], payer=payer_name[c.tx_payer[x]])
        dep_rows = np.flatnonzero(c.D["role"] == 1)
        each("DEPOSIT_WITHOUT_ERA", dep_rows, sheet=np.full(len(dep_rows), "Deposits"),
             row=dep_rows + 2)
    else:
        planted = [p for p in planted if p[0] in _WORKBOOK_TYPES]
    # clean examples: must produce no finding
    def ex(kind, idx, limit=None, **keys):
        for jj in range(len(idx) if limit is None else min(limit, len(idx))):
            clean.append((kind, {k: str(v[jj]) for k, v in keys.items()}))

    j = by_role("typo")
    ex("typo_reference", j, payment=pid[j], recorded=inv_txt[j], invoice=inv[P["inv"][j]])
    j = by_role("unref")
    ex("payment_without_reference", j, payment=pid[j], invoice=inv[P["inv"][j]])
    j = by_role("refund")
    ex("refund", j, payment=pid[j], invoice=inv[P["inv"][j]])
    settled = np.flatnonzero((c.sc == SC["self_clean"]) & (c.paid_day >= 0))
    ex("settled_invoice", settled, 3, invoice=inv[settled])
    nd = np.flatnonzero((c.sc == SC["self_clean"]) & (c.paid_day < 0))
    ex("not_yet_due", nd, 3, invoice=inv[nd])
    pc = c.where("pending_copay")
    ex("partial_payment_claim_pending", pc, invoice=inv[pc])
    if remits:
        ins = np.flatnonzero((c.sc == SC["ins_clean"]) & c.has_remit)
        ex("contractual_write_off", ins, 3, invoice=inv[ins], trace=c.inv_trace[ins])
        sq = c.where("sequestration")
        sq = sq[c.has_remit[sq]]
        ex("sequestration_co253", sq, invoice=inv[sq], trace=c.inv_trace[sq])
        nt = np.flatnonzero(c.tx_notify)
        ex("notification_only_835", nt, trace=c.tx_trace[nt])
        it = c.tx_role["interest"]
        ex("interest_plb_l6", it, trace=c.tx_trace[it])
    return planted, clean


# ---------------------------------------------------------------------------------- entry point
def generate(folder: Path, *, invoices: int = 200, seed: int = 7,
             as_of: dt.date = dt.date(2026, 3, 31), remits: bool = True,
             lean: bool = False) -> Manifest:
    """Write `folder/clinic.xlsx` (and `folder/remits/*.835`); return what was planted.

    `lean=True` is the benchmark profile that fits 1,000,000 invoices into one sheet: one
    service line per invoice and about one Payments row per invoice (clean insurance claims carry
    no patient share and no posted write-off: the remittance's CO-45 closes them). The planted
    problems are the same; the default profile is unchanged.
    """
    if invoices < 100:
        raise ValueError("generate needs at least 100 invoices to plant every problem")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    clinic = _Clinic(invoices, seed, as_of, lean)
    clinic.build()
    for sheet, n_rows, above in (("Invoices", len(clinic.inv_rows), 8), ("Payments",
                                                                        len(clinic.P["day"]), 3)):
        if n_rows + above > EXCEL_MAX_ROWS:
            raise ValueError(
                f"{invoices:,} invoices need {n_rows:,} {sheet} rows; an Excel sheet holds "
                f"{EXCEL_MAX_ROWS:,}. Use at most about 400,000 invoices (lean=True: about "
                f"1,000,000).")
    path = folder / "clinic.xlsx"
    inv_info, pay_info, rows = _write_workbook(clinic, path)
    remit_paths = _write_835(clinic, folder / "remits") if remits else []
    planted, clean = _manifest(clinic, inv_info, pay_info, remits)
    return Manifest(path, remit_paths, as_of, planted, clean, invoices, rows)
