"""What every check sees: the normalised, matched tables of one run, read-only.

Checks are pure functions `check(ctx) -> findings DataFrame`; they never read files, print or
raise for bad data. The pipeline builds one Context after reading and matching.

Tables beyond the input sheets (engine.tables documents those):

`invoice_totals` — one row per invoice (invoice lines grouped by `invoice_key`):
    invoice, invoice_key, claim, claim_key, patient, patient_key, patient_id, patient_id_key,
    payer, payer_key, service_date, invoice_date (datetime64), due_date (datetime64: the Due date
    column, else invoice date + terms_days, else service date + terms_days; NaT if none),
    billed_cents, insurance_paid_cents, patient_paid_cents, adjusted_cents, paid_cents
    (insurance + patient), balance_cents (billed − paid − adjusted) — all Int64 cents, never NA —
    lines (int), sheet, row, source (of the invoice's first row), match_method (str or NA),
    match_confidence (float or NaN), in_plan (bool), plan (str or NA), plan_completed (bool).

`payments` — the Payments table plus:
    payment (label shown to staff: Payment ID, else "Payments row N"),
    kind ("insurance" | "patient" | "adjustment"), duplicate (bool: a second recording of the
    same money, see checks.duplicate_payment; not applied to balances).

`applications` — how payments were applied; one row per (payment, invoice) pair:
    payment_index (label of the payment's row in `payments`), invoice_key, applied_cents (Int64),
    method (str), confidence (float in [0, 1]), recorded_invoice_key (what the staff recorded,
    or NA). Only matches at or above `match_threshold` are here.

`match_candidates` — matches considered but not applied (below threshold or ambiguous), same
    columns as applications; shown to staff in explanations.

`installments`, `plan_status` — see engine.plans.

`remits` — the engine.x12 Remit tables by name ("transactions", "claims", "lines",
    "adjustments", "plb", "problems"); `claims` and `lines` gain `invoice_key` (NA when the
    remitted claim matches no invoice). Empty dict when the run has no remittances.

`claim_invoice_at` — each `remits["claims"]` row's invoice as a position in `invoice_totals`
    (-1: none), as engine.match.remits found it (the pipeline's invoice_totals are the invoices
    matched against, row for row); None when not known (the checks then look the keys up).

`deposit_matches` — see engine.match.deposits.

`waiting` — payments that name an invoice whose row could not be read (see
    engine.normalise.waiting_payments): payment_index, named, source. They are not matched
    elsewhere by evidence or by a near number.

`waiting_deposits` — traces named by Deposits rows that could not be read (see
    engine.match.deposits.waiting_deposits): trace_key, source.

`left_out` — by sheet, the rows the reader left out because a required cell could not be read
    (each has an INVALID_ROW finding), with the columns of that sheet's table holding what could
    be read; a sheet without such rows is absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.settings import Settings


@dataclass(frozen=True)
class Context:
    as_of: pd.Timestamp
    settings: Settings
    tables: dict[str, pd.DataFrame]  # input sheets by canonical name (engine.tables.SHEETS)
    invoice_totals: pd.DataFrame
    payments: pd.DataFrame
    applications: pd.DataFrame
    match_candidates: pd.DataFrame
    installments: pd.DataFrame = field(default_factory=pd.DataFrame)
    plan_status: pd.DataFrame = field(default_factory=pd.DataFrame)
    remits: dict[str, pd.DataFrame] = field(default_factory=dict)  # engine.x12 tables
    deposit_matches: pd.DataFrame = field(default_factory=pd.DataFrame)  # engine.match.deposits
    left_out: dict[str, pd.DataFrame] = field(default_factory=dict)  # unreadable input rows
    waiting: pd.DataFrame = field(default_factory=pd.DataFrame)  # engine.normalise
    waiting_deposits: pd.DataFrame = field(default_factory=pd.DataFrame)  # engine.match.deposits
    claim_invoice_at: np.ndarray | None = None  # engine.match.remits

    def table(self, name: str) -> pd.DataFrame:
        return self.tables.get(name, pd.DataFrame())

    def unreadable_rows(self, invoices: pd.DataFrame) -> dict[str, dict[object, list[str]]]:
        """By sheet ("Invoices", "Payments"), the sources of left-out rows that belong to each
        invoice of `invoices` (invoice_totals rows), by invoice_key: a line of the invoice, or a
        payment naming its invoice or claim number in any column. Its balance leaves them out
        until they are corrected, so what it says the patient or payer owes may be wrong."""
        found: dict[str, dict[object, list[str]]] = {}
        if not self.left_out:
            return found
        invoice_keys = invoices["invoice_key"].to_numpy(dtype=object)
        numbers = [invoice_keys, invoices["claim_key"].to_numpy(dtype=object)]
        for sheet, fields in (("Invoices", ("invoice_key",)),
                              ("Payments", ("invoice_key", "claim_key", "reference_key"))):
            rows = self.left_out.get(sheet)
            if rows is None or rows.empty:
                continue
            sources = _sources_by_number(rows, fields)
            if not sources:
                continue
            # the few unreadable rows are looked up from the invoices, in the invoices' order
            by_invoice: dict[object, list[str]] = {}
            for number in numbers:
                for at in np.flatnonzero(pd.Index(number).isin(list(sources))
                                         & pd.notna(invoice_keys)):
                    by_invoice.setdefault(invoice_keys[at], []).extend(sources[number[at]])
            if by_invoice:
                found[sheet] = by_invoice
        return found


def _sources_by_number(rows: pd.DataFrame, fields: tuple[str, ...]) -> dict[object, list[str]]:
    """The sources of unreadable `rows` under each number they name in one of `fields`."""
    source = rows["source"].to_numpy(dtype=object)
    found: dict[object, list[str]] = {}
    for name in fields:
        number = rows[name].to_numpy(dtype=object)
        for at in np.flatnonzero(pd.notna(number) & pd.notna(source)):
            found.setdefault(number[at], []).append(source[at])
    return found
