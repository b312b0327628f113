"""Errors that mean "the input is wrong", as opposed to bugs.

An InputError carries where the problem is (file, sheet, row or 835 segment) so that the command
line, the Excel button and reports can all say it in one sentence. It never carries patient data:
messages name places and expectations, not values from identifying columns.
"""

from __future__ import annotations


class InputError(Exception):
    """Bad input or usage: the run cannot go on. Exit status 2 on the command line."""

    def __init__(self, message: str, *, file: str | None = None, sheet: str | None = None,
                 row: int | None = None, column: str | None = None, segment: int | None = None):
        self.message = message
        self.file = file
        self.sheet = sheet
        self.row = row
        self.column = column
        self.segment = segment
        super().__init__(self.describe())

    def describe(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.sheet:
            where.append(f"sheet {self.sheet}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        if self.segment is not None:
            where.append(f"segment {self.segment}")
        return f"{', '.join(where)}: {self.message}" if where else self.message
