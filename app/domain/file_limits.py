"""Limits on an uploaded file, checked before its content can make memory grow.

Shared by the mapping import (app/domain/mapping*.py) and the native reader
(app/domain/importing_read.py). Pure Python, stdlib only.

- A header row may have at most MAX_COLUMNS columns (a CSV with a million columns is refused
  from its first line, without splitting it).
- A cell in the header or the sample rows may hold at most MAX_CELL characters.
- An XLSX file may unpack to at most MAX_XLSX_UNCOMPRESSED bytes (the sum of its zip members'
  sizes as the archive's directory states them): an "XLSX bomb" is refused before openpyxl
  opens it.
"""

from __future__ import annotations

import zipfile
from typing import BinaryIO

from app.domain.importing_problems import Problem, problem

MAX_COLUMNS = 5_000
MAX_CELL = 1_000
MAX_XLSX_UNCOMPRESSED = 200 * 1024 * 1024
# The most bytes read while looking for the end of a CSV header line.
MAX_HEADER_BYTES = MAX_COLUMNS * 64


def xlsx_size_problem(stream: BinaryIO) -> Problem | None:
    """The problem with an XLSX archive too large unpacked (or not a zip at all), else None.

    Reads only the zip's central directory; the stream is left at its start position.
    """
    start = stream.tell()
    try:
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        stream.seek(start)
        return problem("damaged_xlsx")
    stream.seek(start)
    total = sum(member.file_size for member in members)
    if total > MAX_XLSX_UNCOMPRESSED or len(members) > 10_000:
        return problem(
            "xlsx_too_large",
            value=f"{total // (1024 * 1024)} MB",
            limit=MAX_XLSX_UNCOMPRESSED // (1024 * 1024),
        )
    return None


def header_columns_problem(width: int) -> Problem | None:
    """The problem with a header row of `width` columns, else None."""
    if width > MAX_COLUMNS:
        return problem("too_many_columns", row=1, value=str(width), limit=MAX_COLUMNS)
    return None


def count_csv_columns(head: bytes, separator: bytes) -> int | None:
    """A quick upper bound of the header's columns from its raw bytes; None when the first
    line does not end within `head` (it is then longer than MAX_HEADER_BYTES)."""
    line, newline, _ = head.partition(b"\n")
    if not newline and len(head) >= MAX_HEADER_BYTES:
        return None
    return line.count(separator) + 1


def cell_problem(text: str, row: int, column: str | None) -> Problem | None:
    """The problem with a header or sample cell longer than MAX_CELL characters, else None."""
    if len(text) > MAX_CELL:
        return problem(
            "cell_too_long", row=row, column=column, value=text[:40] + "…", limit=MAX_CELL
        )
    return None
