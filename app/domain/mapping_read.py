"""Reading any CSV or XLSX file as sheets of text rows, bounded, for the mapping import.

CSV goes through importing_read.read_file (encoding detection, streaming). XLSX is read with
openpyxl in read-only mode, every sheet, after its unpacked size was checked from the zip's
directory alone. A cell formatted as a percentage in Excel is read as the percentage it
shows ("87.5 %" for 0.875 formatted "0.0%"), so its printed rounding is known.
"""

from __future__ import annotations

import datetime
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

from app.domain import file_limits
from app.domain.importing_problems import Problem, problem
from app.domain.importing_read import RowSource, UnreadableFile, UnreadableRow, read_file

Result = TypeVar("Result")
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
# How many rows above a table's header may hold titles ("Enhed: 2025stxA").
MAX_TITLE_ROWS = 30
# Rows of one sheet, as importing_read allows a file.
MAX_ROWS = 2_000_000


@dataclass
class SheetRows:
    """One sheet (or the CSV file) as rows of cell texts, from its first row."""

    name: str
    rows: Iterator[list[str]]


Consume = Callable[[str, Iterator[SheetRows]], Result]


def read_sheets(path: Path, consume: Consume[Result], *, all_sheets: bool = True) -> Result:
    """Hand the format ("csv" | "xlsx") and the file's sheets to `consume`; return its result.

    Raises UnreadableFile for an empty, damaged, foreign or over-large file. For a CSV file,
    `consume` may be called twice (a file found not to be UTF-8 part-way is read again as
    Windows-1252).
    """
    with path.open("rb") as stream:
        head = stream.read(file_limits.MAX_HEADER_BYTES)
        stream.seek(0)
        if head[:4] in _ZIP_SIGNATURES:
            size_problem = file_limits.xlsx_size_problem(stream)
            if size_problem is not None:
                raise UnreadableFile(size_problem, "xlsx")
            return _read_xlsx(stream, consume, all_sheets)
        stripped = head.removeprefix(b"\xef\xbb\xbf")
        first_line = stripped.split(b"\n", 1)[0]
        separator = b";" if first_line.count(b";") > first_line.count(b",") else b","
        width = file_limits.count_csv_columns(stripped, separator)
        if stripped.strip() and width is None:
            # The first line does not end within the bytes read: too many columns, or a cell
            # far too long; either way it is refused without reading the line.
            if stripped.count(separator) >= file_limits.MAX_COLUMNS:
                limit = file_limits.MAX_COLUMNS
                raise UnreadableFile(
                    problem("too_many_columns", row=1, value=f"over {limit}", limit=limit), "csv"
                )
            raise UnreadableFile(problem("cell_too_long", row=1, limit=file_limits.MAX_CELL), "csv")
        if width is not None and width > file_limits.MAX_COLUMNS:
            too_many = file_limits.header_columns_problem(width)
            assert too_many is not None  # noqa: S101 - width is above the limit
            raise UnreadableFile(too_many, "csv")

        def from_source(source: RowSource) -> Result:
            return consume("csv", iter([SheetRows("", _csv_rows(source.rows))]))

        return read_file(stream, from_source)


def _csv_rows(rows: Iterator[list[str]]) -> Iterator[list[str]]:
    try:
        yield from rows
    except UnreadableRow:
        raise
    except Exception as exc:  # csv.Error: an unclosed quote, a field over the csv limit
        too_long = "field larger than field limit" in str(exc)
        raise UnreadableRow("cell_too_long" if too_long else "malformed_csv") from exc


def row_problem(unreadable: UnreadableRow) -> Problem:
    """The problem an UnreadableRow stands for."""
    details: dict[str, object] = dict(getattr(unreadable, "details", {}) or {})
    if unreadable.code == "cell_too_long":
        details.setdefault("limit", file_limits.MAX_CELL)
    elif unreadable.code == "too_many_columns":
        details.setdefault("limit", file_limits.MAX_COLUMNS)
    try:
        value = getattr(unreadable, "value", "")
        return problem(unreadable.code, None, None, value, **details)  # type: ignore[arg-type]
    except KeyError:  # a placeholder the reader did not fill
        return problem("malformed_csv")


def _read_xlsx(stream: BinaryIO, consume: Consume[Result], all_sheets: bool) -> Result:
    import openpyxl  # only needed for XLSX

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged zip or XML
        raise UnreadableFile(problem("damaged_xlsx"), "xlsx") from exc
    try:
        names = list(workbook.sheetnames)
        if not names:
            raise UnreadableFile(problem("damaged_xlsx"), "xlsx")
        if not all_sheets:
            names = names[:1]
        sheets = (SheetRows(name, _xlsx_rows(workbook[name])) for name in names)
        return consume("xlsx", sheets)
    finally:
        workbook.close()


def _xlsx_rows(sheet: object) -> Iterator[list[str]]:
    try:
        sheet.reset_dimensions()  # type: ignore[attr-defined]
        for number, cells in enumerate(sheet.iter_rows(), start=1):  # type: ignore[attr-defined]
            row = [_cell_text(cell) for cell in cells]
            while row and row[-1] == "":
                row.pop()
            if len(row) > file_limits.MAX_COLUMNS:
                raise UnreadableRow("too_many_columns", len(row))
            if max(map(len, row), default=0) > file_limits.MAX_CELL:
                raise UnreadableRow("cell_too_long")
            if number > MAX_ROWS:
                raise UnreadableRow("too_many_rows", limit=f"{MAX_ROWS:_}".replace("_", "."))
            yield row
    except UnreadableRow:
        raise
    except Exception as exc:  # damaged sheet XML surfaces only while reading it
        raise UnreadableRow("damaged_xlsx") from exc


def _cell_text(cell: object) -> str:
    value = getattr(cell, "value", None)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    number_format = getattr(cell, "number_format", "") or ""
    if isinstance(value, int | float) and "%" in number_format:
        decimals = _format_decimals(number_format)
        return f"{value * 100:.{decimals}f} %"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _format_decimals(number_format: str) -> int:
    """The decimals an Excel number format shows before its % sign: "0.0%" -> 1."""
    before = number_format.split(";", 1)[0].split("%", 1)[0]
    _, dot, decimals = before.rpartition(".")
    if not dot:
        return 0
    return min(sum(1 for char in decimals if char in "0#?"), 10)


def check_cells(row: list[str], row_number: int) -> None:
    """Refuse a sample row that is too wide or has a cell too long."""
    if len(row) > file_limits.MAX_COLUMNS:
        wide = file_limits.header_columns_problem(len(row))
        assert wide is not None  # noqa: S101 - the row is wider than the limit
        raise UnreadableFile(wide)
    for cell in row:
        if len(cell) > file_limits.MAX_CELL:
            long_cell = file_limits.cell_problem(cell, row_number, None)
            assert long_cell is not None  # noqa: S101 - the cell is longer than the limit
            raise UnreadableFile(long_cell)
