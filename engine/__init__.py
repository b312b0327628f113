"""Reconciliation engine for billing workbooks and X12 835 remittances.

The pipeline (engine.pipeline) reads the staff's workbook and remittance files into typed tables
(engine.tables documents them), matches payments to invoices, runs the registered checks
(engine.checks) and writes result sheets back without touching anything else in the file.
"""

__version__ = "0.1.0"
