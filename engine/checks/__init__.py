"""The checks: one discrepancy family per module, run in this order.

Each module has `TYPE` and a pure `check(ctx) -> DataFrame` (engine.findings columns plus `key`).
Order only decides which finding comes first when two report the same problem; it is fixed so
runs are deterministic.
"""

from __future__ import annotations

from engine.checks import (
    duplicate_invoice,
    duplicate_payment,
    misapplied_payment,
    overdue,
    overpaid,
    short_paid,
    unapplied_payment,
)

CHECKS = (
    duplicate_invoice,
    duplicate_payment,
    misapplied_payment,
    unapplied_payment,
    overpaid,
    short_paid,
    overdue,
)
