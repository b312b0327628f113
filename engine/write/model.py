"""What the pipeline hands to a writer: result sheets as typed column tables.

The pipeline computes every value first; a writer only lays them out. Keeping this model small
and independent of any xlsx library is what lets the workbook writer (zip-level, lossless) and the
Excel button (xlwings) share one description of the results.

Column kinds and the dtypes their data must have:

| kind      | dtype of the DataFrame column                  | shown as                      |
|-----------|------------------------------------------------|-------------------------------|
| text      | str / object (missing: NA or None)             | text, never a formula         |
| money     | Int64 integer cents                            | currency, 2 decimals          |
| date      | datetime64 (missing: NaT)                      | yyyy-mm-dd                    |
| datetime  | datetime64                                     | yyyy-mm-dd hh:mm              |
| int       | Int64                                          | whole number                  |
| percent   | float64 in [0, 1]                              | 0%                            |
| number    | float64                                        | 0.00                          |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

Kind = Literal["text", "money", "date", "datetime", "int", "percent", "number"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "text"
    width: float | None = None  # characters; None: the writer sizes it from the data


@dataclass(frozen=True)
class Link:
    """A hyperlink from the cells of `column` to a row of a sheet in the same workbook.

    `target_sheet` and `target_row` are Series aligned with the block's data (NA: no link).
    """

    column: str
    target_sheet: pd.Series
    target_row: pd.Series


@dataclass(frozen=True)
class Block:
    """One Excel table (ListObject) on a result sheet, optionally with a title line above it."""

    table_name: str  # unique in the workbook, letters/digits/underscore
    columns: tuple[Column, ...]
    data: pd.DataFrame  # one column per Column.name, in that order
    title: str | None = None
    links: tuple[Link, ...] = ()
    severity_column: str | None = None  # rows coloured by its value: high / medium / low / info


@dataclass(frozen=True)
class Chart:
    """A bar chart of one block's `value_column` per `category_column`."""

    title: str
    block: int  # index into ResultSheet.blocks
    category_column: str
    value_column: str


@dataclass(frozen=True)
class ResultSheet:
    name: str
    blocks: tuple[Block, ...]
    charts: tuple[Chart, ...] = ()
    notes: tuple[str, ...] = ()  # plain lines written above the first block (e.g. run date)
    freeze_header: bool = True
    extra: dict = field(default_factory=dict)
