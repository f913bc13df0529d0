"""Downloads: CSV and XLSX whose text cells never become formulas, and file names in
`Content-Disposition` that any unit code or name cannot break (issue 17).

A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula
by Excel and LibreOffice; it gets a leading apostrophe (OWASP's CSV-injection advice). Numbers
stay numbers. Every export builds its response with `csv_response` or `xlsx_response`, every
other download names its file with `content_disposition`.

Exports say what the screen says (issue 18): the caller gives translated column names and
words; numbers stay numbers. A CSV writes decimals with the user's decimal sign (a comma in
Danish, so Danish Excel reads them as numbers), `;` between cells and a UTF-8 BOM; an XLSX has
a frozen, bold header row, numbers and dates as real cells. `export_file_name` makes a name
that says what the file holds, for which measurement and unit, and when it was made.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from flask import Response, has_request_context, make_response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Letters NFKD cannot take apart, written as Danes write them without the letter.
DANISH_LETTERS = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "Æ": "Ae", "Ø": "Oe", "Å": "Aa"})
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
    decomposed = unicodedata.normalize("NFKD", name.translate(DANISH_LETTERS))
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    ascii_name = letters.encode("ascii", "replace").decode("ascii")  # "é" -> "e", "Ø" -> "Oe"
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


def export_file_name(what: str, *parts: Any, extension: str, today: date | None = None) -> str:
    """`kompas-<what>-<part>-...-<YYYY-MM-DD>.<extension>`: what the file holds (in the user's
    language), then e.g. the measurement and the unit, then the day it was made, so two
    downloads never share a name. Empty parts are left out; each part loses characters a file
    name cannot hold (`content_disposition` adds an ASCII-only name beside it)."""
    words = ["kompas", what, *(str(p) for p in parts if p not in (None, "")),
             (today or date.today()).isoformat()]  # fmt: skip
    slugs = [slug for slug in (_slug(word) for word in words) if slug]
    return "-".join(slugs) + "." + extension


def _slug(text: str, limit: int = 40) -> str:
    cleaned = re.sub(r"[^\w.]+", "-", text.strip(), flags=re.UNICODE).strip("-.")
    return cleaned[:limit].rstrip("-.")


def decimal_sign() -> str:
    """The decimal sign of the user's language: "," in Danish, "." in English."""
    if not has_request_context():
        return "."
    from babel.numbers import get_decimal_symbol
    from flask_babel import get_locale

    locale = get_locale()
    return get_decimal_symbol(locale) if locale is not None else "."


def csv_response(header: Sequence[Any], rows: Iterable[Sequence[Any]], file_name: str, *,
                 number: Callable[[float], str] | None = None) -> Response:  # fmt: skip
    """A semicolon CSV with a BOM (Excel then reads UTF-8). Decimals are written with the
    user's decimal sign (or by `number`), one decimal; dates as YYYY-MM-DD, which Excel reads
    as dates in every language."""
    sign = decimal_sign()
    if number is None:

        def number(value: float) -> str:
            return f"{value:.1f}".replace(".", sign)

    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(safe_row(header))
    for row in rows:
        writer.writerow([_csv_cell(value, number) for value in safe_row(row)])
    return download("\ufeff" + out.getvalue(), file_name, "text/csv; charset=utf-8")


def _csv_cell(value: Any, number: Callable[[float], str]) -> Any:
    if isinstance(value, float):
        return number(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else value


def xlsx_response(sheet_title: str, header: Sequence[Any], rows: Iterable[Sequence[Any]],
                  file_name: str) -> Response:  # fmt: skip
    """One sheet: text cells as text (never formulas), numbers as numbers (decimals shown
    with one decimal, in the reader's own decimal sign), dates as date cells; the header row
    bold and frozen, so it stays in view while scrolling, with a filter on every column.

    Control characters that XML cannot hold (a vertical tab pasted into a title) become a
    space instead of failing the export. The workbook is made in memory: openpyxl's write-only
    mode keeps temporary files, left behind when an export fails half-way."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _sheet_title(sheet_title)
    sheet.append(_xlsx_row(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [len(str(value)) for value in header]
    for row in rows:
        values = _xlsx_row(row)
        sheet.append(values)
        for index, value in enumerate(values):
            if index >= len(widths):
                widths.append(0)
            widths[index] = max(widths[index], len(str(value)) if value is not None else 0)
    for column in sheet.iter_cols(min_row=2):
        for cell in column:
            if isinstance(cell.value, float):
                cell.number_format = "0.0"
            elif isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 8), 60)
    sheet.freeze_panes = "A2"
    if sheet.max_row > 1:
        sheet.auto_filter.ref = sheet.dimensions
    buffer = io.BytesIO()
    workbook.save(buffer)
    return download(buffer.getvalue(), file_name, XLSX_TYPE)


def _sheet_title(title: str) -> str:
    # Excel refuses a sheet name longer than 31 characters or with any of []:*?/\
    return re.sub(r"[\[\]:*?/\\]", " ", str(title))[:31] or "Kompas"


def _xlsx_row(row: Iterable[Any]) -> list[Any]:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return [
        ILLEGAL_CHARACTERS_RE.sub(" ", value) if isinstance(value, str) else value
        for value in safe_row(row)
    ]
