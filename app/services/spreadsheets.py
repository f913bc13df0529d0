"""Downloads: CSV and XLSX whose text cells never become formulas, and file names in
`Content-Disposition` that any unit code or name cannot break (issue 17).

A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula
by Excel and LibreOffice; it gets a leading apostrophe (OWASP's CSV-injection advice). Numbers
stay numbers. Every export builds its response with `csv_response` or `xlsx_response`, every
other download names its file with `content_disposition`.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import quote

from flask import Response, make_response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value: Any) -> Any:
    """A text cell that a spreadsheet shows as text; any other value as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in row]


def content_disposition(file_name: str, *, inline: bool = False) -> str:
    """`attachment; filename="..."` per RFC 6266: an ASCII name of safe characters, and the
    full name as `filename*` (RFC 5987, UTF-8, percent-encoded) when it differs."""
    name = file_name.replace("/", "_").replace("\\", "_")
    decomposed = unicodedata.normalize("NFKD", name)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    ascii_name = letters.encode("ascii", "replace").decode("ascii")  # "é" -> "e", "Ø" -> "?"
    fallback = re.sub(r"[^A-Za-z0-9._()+-]", "_", ascii_name).strip(".") or "download"
    value = f'{"inline" if inline else "attachment"}; filename="{fallback}"'
    if fallback != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


def download(content: bytes | str, file_name: str, content_type: str, *,
             inline: bool = False) -> Response:  # fmt: skip
    response = make_response(content)
    response.headers["Content-Type"] = content_type
    response.headers["Content-Disposition"] = content_disposition(file_name, inline=inline)
    return response


def csv_response(header: Sequence[Any], rows: Iterable[Sequence[Any]], file_name: str, *,
                 number: Callable[[float], str] | None = None) -> Response:  # fmt: skip
    """A semicolon CSV with a BOM (Excel then reads UTF-8); `number` formats floats."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(safe_row(header))
    for row in rows:
        writer.writerow(
            [
                number(value) if number is not None and isinstance(value, float) else value
                for value in safe_row(row)
            ]
        )
    return download("\ufeff" + out.getvalue(), file_name, "text/csv; charset=utf-8")


def xlsx_response(sheet_title: str, header: Sequence[Any], rows: Iterable[Sequence[Any]],
                  file_name: str) -> Response:  # fmt: skip
    """One sheet: text cells as text (never formulas), numbers as numbers.

    Control characters that XML cannot hold (a vertical tab pasted into a title) become a
    space instead of failing the export. The workbook is made in memory: openpyxl's write-only
    mode keeps temporary files, left behind when an export fails half-way."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = str(sheet_title)[:31]
    sheet.append(_xlsx_row(header))
    for row in rows:
        sheet.append(_xlsx_row(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return download(buffer.getvalue(), file_name, XLSX_TYPE)


def _xlsx_row(row: Iterable[Any]) -> list[Any]:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return [
        ILLEGAL_CHARACTERS_RE.sub(" ", value) if isinstance(value, str) else value
        for value in safe_row(row)
    ]
