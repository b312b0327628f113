"""xlwings Lite: the Reconcile script (paste into the xlwings Lite editor's main.py).

xlwings Lite runs Python inside Excel (Windows, macOS and Excel on the web) with Pyodide. This
script calls the same entry point as the classic add-in's Reconcile button, `engine.excel.run`,
which reads the open workbook through xlwings (no files, no python-calamine), writes the result
sheets into it and shows what it found.

Steps for staff are in docs/excel-button.md ("xlwings Lite").
"""

import xlwings as xw

try:
    from xlwings import script
except ImportError:  # an xlwings without the Lite decorator (older classic installs)
    def script(f=None, **_kwargs):
        return f if f is not None else (lambda g: g)

import engine.excel


@script
def reconcile(book: xw.Book):
    """Reconcile this workbook: adds Recon Summary, Reconciliation, Discrepancies and Aging."""
    return engine.excel.run(book)
