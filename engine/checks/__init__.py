"""The checks: one discrepancy family per module, run in this order.

Each module has `TYPE` and a pure `check(ctx) -> DataFrame` (engine.findings columns plus `key`).
Order only decides which finding comes first when two report the same problem; it is fixed so
runs are deterministic.
"""

from __future__ import annotations

from engine.checks import (
    charge_mismatch,
    claim_without_remit,
    denied,
    deposit_amount_mismatch,
    deposit_without_era,
    duplicate_invoice,
    duplicate_payment,
    era_without_deposit,
    misapplied_payment,
    overdue,
    overpaid,
    patient_responsibility,
    payer_overpaid,
    plan_missed_installment,
    plan_short_installment,
    posting_mismatch,
    recoupment,
    remit_unbalanced,
    remit_without_claim,
    reversal,
    short_paid,
    unapplied_payment,
    underpaid,
)

CHECKS = (
    # A. invoices and posted payments
    duplicate_invoice,
    duplicate_payment,
    misapplied_payment,
    unapplied_payment,
    overpaid,
    short_paid,
    overdue,
    # B. remittances against claims
    remit_unbalanced,
    remit_without_claim,
    reversal,
    denied,
    underpaid,
    payer_overpaid,
    charge_mismatch,
    posting_mismatch,
    patient_responsibility,
    claim_without_remit,
    recoupment,
    # C. remittances against bank deposits
    era_without_deposit,
    deposit_amount_mismatch,
    deposit_without_era,
    # D. payment plans
    plan_missed_installment,
    plan_short_installment,
)
