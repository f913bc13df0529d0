"""Turning an uploaded results file into rows of text cells, whatever its format.

The format is told by the content, never by the file name: an XLSX file is a zip archive
(its first bytes are a zip signature), anything else must be text. Text is read as UTF-8
(with or without BOM) and, when it is not valid UTF-8, as Windows-1252, the encoding of
Excel's plain "CSV" on Danish Windows. CSV is decoded and split while it streams, so a
50 MB file is never held in memory as one string.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import chain, islice, repeat
from typing import BinaryIO, TextIO, TypeVar

from app.domain import file_limits
from app.domain.file_limits import MAX_CELL, MAX_COLUMNS
from app.domain.importing_problems import Problem, problem

# Limits on any file read here, refused before memory grows (see also app/domain/file_limits):
# rows after the header, and characters in one cell. The csv module's field limit is the
# cell limit: a longer CSV cell stops the reader at once (csv.Error "field larger than field
# limit"), whatever its row. Every CSV file the app reads goes through read_file.
MAX_ROWS = 2_000_000
csv.field_size_limit(MAX_CELL)
# The header line is read in chunks of this size while its columns are counted.
_HEADER_CHUNK = 64 * 1024
# A header past the column limit is counted to its end (to say how many columns it has) for
# at most this many bytes: time, not memory, is what a longer one would cost.
_HEADER_COUNT_BYTES = 64 * 1024 * 1024

_SNIFF_BYTES = 64 * 1024
# A CSV file is split into rows a block of whole lines of about this many characters at a time.
_BLOCK_CHARS = 256 * 1024
_UTF8_BOM = codecs.BOM_UTF8
# How a zip archive (and so an XLSX file) starts: a file, an empty archive, a split one.
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
# Control bytes that never occur in a text file (tab, newlines and form feed excluded).
_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\x0c")

Result = TypeVar("Result")


class UnreadableFile(Exception):
    """The file cannot be read at all; `problem` says why."""

    def __init__(self, file_problem: Problem, file_format: str = "") -> None:
        super().__init__(file_problem.code)
        self.problem = file_problem
        self.file_format = file_format


class UnreadableRow(Exception):
    """Reading stopped at a row that cannot be read (damaged XLSX data, a limit passed);
    `details` fill the problem's message (e.g. limit=)."""

    def __init__(self, code: str, value: object = "", **details: object) -> None:
        super().__init__(code)
        self.code = code
        self.value = value
        self.details = details


def _limited(rows: Iterator[list[str]]) -> Iterator[list[str]]:
    """`rows` (header first), stopping with UnreadableRow after MAX_ROWS rows below the
    header. islice and chain run in C: the common case costs nothing per row."""
    return chain(islice(rows, MAX_ROWS + 1), _none_left(rows))


def _none_left(rows: Iterator[list[str]]) -> Iterator[list[str]]:
    for _ in rows:
        raise UnreadableRow("too_many_rows", limit=f"{MAX_ROWS:_}".replace("_", "."))
    yield from ()


@dataclass
class RowSource:
    """The rows of a file as lists of cell texts, header row first."""

    format: str  # "csv" | "xlsx"
    encoding: str | None  # "utf-8", "utf-8-sig", "cp1252"; None for XLSX
    rows: Iterator[list[str]]
    notices: list[Problem] = field(default_factory=list)
    # With a progress listener: to be called every PROGRESS_EVERY rows (cheap; it looks at
    # how far the file has been read and tells the listener about every tenth of it).
    tick: Callable[[], None] | None = None


# Called with the share of the file read so far (0.0-1.0), about every tenth of it.
ReadProgress = Callable[[float], None]
# Rows between two looks at how far the file has been read (a power of two minus one is
# the mask a row loop tests: `row_number & PROGRESS_MASK == 0`).
PROGRESS_EVERY = 4096
PROGRESS_MASK = PROGRESS_EVERY - 1


def read_file(
    stream: BinaryIO,
    consume: Callable[[RowSource], Result],
    progress: ReadProgress | None = None,
) -> Result:
    """Detect the format of `stream` and hand its rows to `consume`; return what it returns.

    Raises UnreadableFile for an empty, damaged or foreign file. `consume` may be called
    twice: a CSV file that turns out not to be UTF-8 part-way through is read again from
    the start as Windows-1252, so the stream must be seekable; other streams are copied to
    a temporary file first.
    """
    own_copy: BinaryIO | None = None
    # Buffered files and the spooled temporary files uploads arrive in can be decoded as
    # they are; anything else is copied first.
    readable_as_is = isinstance(stream, io.BufferedIOBase | tempfile.SpooledTemporaryFile)
    if not (readable_as_is and stream.seekable()):
        own_copy = tempfile.TemporaryFile()  # closed in the finally below
        shutil.copyfileobj(stream, own_copy, 1 << 20)
        own_copy.seek(0)
        stream = own_copy
    try:
        start = stream.tell()
        head = stream.read(_SNIFF_BYTES)
        stream.seek(start)
        if not head.removeprefix(_UTF8_BOM).strip():
            raise UnreadableFile(problem("empty_file"))
        if head[:4] in _ZIP_SIGNATURES:
            return _read_xlsx(stream, consume)
        if _looks_binary(head):
            raise UnreadableFile(problem("not_csv_or_xlsx"))
        return _read_csv(stream, start, head, consume, progress)
    finally:
        if own_copy is not None:
            own_copy.close()


def _looks_binary(head: bytes) -> bool:
    """True for PDFs, images, old .xls and other files that are not text."""
    if b"\x00" in head or head.startswith(b"%PDF"):
        return True
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls * 100 > len(head)  # a stray control byte is tolerated, many are not


def _read_csv(
    stream: BinaryIO,
    start: int,
    head: bytes,
    consume: Callable[[RowSource], Result],
    progress: ReadProgress | None = None,
) -> Result:
    has_bom = head.startswith(_UTF8_BOM)
    header_line = head.split(b"\n", 1)[0]
    # The separators are ASCII, so the raw bytes tell them whatever the encoding.
    separator = ";" if header_line.count(b";") > header_line.count(b",") else ","
    columns = _header_columns(stream, start, separator.encode())
    too_many = file_limits.header_columns_problem(columns)
    if too_many is not None:
        raise UnreadableFile(too_many, "csv")
    if has_bom or _valid_utf8_start(head, complete=len(head) < _SNIFF_BYTES):
        encoding = "utf-8-sig" if has_bom else "utf-8"
        try:
            return _consume_text(stream, start, encoding, separator, [], consume, progress)
        except UnicodeDecodeError:
            pass  # not UTF-8 after all: read it again below as Windows-1252
    notice = problem("encoding_cp1252")
    try:
        return _consume_text(
            stream,
            start + (len(_UTF8_BOM) if has_bom else 0),
            "cp1252",
            separator,
            [notice],
            consume,
            progress,
        )
    except UnicodeDecodeError as exc:  # a byte Windows-1252 does not define either
        raise UnreadableFile(problem("not_csv_or_xlsx"), "csv") from exc


def _header_columns(stream: BinaryIO, start: int, separator: bytes) -> int:
    """The columns of the header line (an upper bound: a quoted separator counts), read in
    chunks so that a header of a million columns never sits in memory; the stream is left
    at `start`. Counting stops after _HEADER_COUNT_BYTES of a line past MAX_COLUMNS."""
    stream.seek(start)
    columns = 1
    read = 0
    try:
        while chunk := stream.read(_HEADER_CHUNK):
            line, newline, _ = chunk.partition(b"\n")
            columns += line.count(separator)
            read += len(chunk)
            if newline or (columns > MAX_COLUMNS and read >= _HEADER_COUNT_BYTES):
                break
    finally:
        stream.seek(start)
    return columns


def _valid_utf8_start(head: bytes, *, complete: bool) -> bool:
    try:
        # An incomplete final character is fine when the head was cut mid-file.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def _consume_text(
    stream: BinaryIO,
    offset: int,
    encoding: str,
    separator: str,
    notices: list[Problem],
    consume: Callable[[RowSource], Result],
    progress: ReadProgress | None = None,
) -> Result:
    stream.seek(offset)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")  # type: ignore[type-var]
    try:
        rows = _limited(csv_rows(text, separator))
        tick = _ticker(stream, offset, progress) if progress is not None else None
        return consume(RowSource("csv", encoding, rows, notices, tick))
    finally:
        text.detach()  # leave the caller's stream open


def csv_rows(text: TextIO, separator: str) -> Iterator[list[str]]:
    """The rows `csv.reader(text, delimiter=separator)` gives, errors included, in about
    half the time on a results file. `text` is read as opened with `newline=""`: each line
    ends at its first line break ("\r\n", "\n" or "\r").

    Nearly every line of a results file is plain: no quote character, not blank, shorter
    than the cell limit. The cells of such a line are the line split at the separator,
    which str.split does without the csv module's per-character state machine. The file is
    read in blocks of whole lines; a block of plain lines is split without a step of Python
    per line (`map`, chained in C). In any other block, each plain line is split and each
    other line (a quote, which may also open a cell spanning lines; a line long enough to
    hold a cell past the limit; a blank line, no row) is read by the csv module from that
    line on, for one row, taking further lines, within the block and after it, as it needs.
    """
    blocks = iter(partial(text.readlines, _BLOCK_CHARS), [])
    return chain.from_iterable(map(partial(_block_rows, text, separator), blocks))


def _block_rows(text: TextIO, separator: str, block: list[str]) -> Iterator[list[str]]:
    lines = list(map(str.rstrip, block, repeat("\r\n")))
    if all(lines) and max(map(len, lines)) < MAX_CELL and '"' not in "".join(lines):
        return map(str.split, lines, repeat(separator))
    return _mixed_rows(iter(block), text, separator)


def _mixed_rows(block: Iterator[str], text: TextIO, separator: str) -> Iterator[list[str]]:
    for line in block:
        stripped = line.rstrip("\r\n")
        if '"' in stripped or len(stripped) >= MAX_CELL:
            for row in csv.reader(chain((line,), block, text), delimiter=separator):
                yield row
                break
            continue
        yield stripped.split(separator) if stripped else []


def _ticker(stream: BinaryIO, offset: int, progress: ReadProgress) -> Callable[[], None]:
    """A function telling `progress` the share of the file read, about every tenth of it."""
    here = stream.tell()
    end = stream.seek(0, io.SEEK_END)
    stream.seek(here)
    size = max(end - offset, 1)
    next_report = [0.1]
    progress(0.0)

    def tick() -> None:
        done = (stream.tell() - offset) / size
        if done >= next_report[0]:
            progress(min(done, 1.0))
            next_report[0] = done + 0.1

    return tick


def _read_xlsx(stream: BinaryIO, consume: Callable[[RowSource], Result]) -> Result:
    # An "XLSX bomb" (a small zip unpacking to gigabytes) is refused from the zip's
    # directory, before openpyxl is even loaded.
    too_large = file_limits.xlsx_size_problem(stream)
    if too_large is not None:
        raise UnreadableFile(too_large, "xlsx")
    import openpyxl  # only needed for XLSX; keeps CSV imports light

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles, data validation…
            workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged zip or XML
        raise UnreadableFile(problem("damaged_xlsx"), "xlsx") from exc
    try:
        names = workbook.sheetnames
        if not names:
            raise UnreadableFile(problem("damaged_xlsx"), "xlsx")
        chosen = next((name for name in names if name.strip().lower() == "results"), None)
        notices = []
        if chosen is None:
            chosen = names[0]
            if len(names) > 1:
                notices.append(problem("sheet_used", value=chosen))
        rows = _limited(_xlsx_rows(workbook[chosen]))
        return consume(RowSource("xlsx", None, rows, notices))
    finally:
        workbook.close()


def _xlsx_rows(sheet: object) -> Iterator[list[str]]:
    try:
        # Tools often write a wrong sheet size; without it openpyxl reads what is there.
        sheet.reset_dimensions()  # type: ignore[attr-defined]
        width_checked = False
        for values in sheet.iter_rows(values_only=True):  # type: ignore[attr-defined]
            cells = [_cell_text(value) for value in values]
            if not width_checked:
                width_checked = True
                while cells and not cells[-1]:
                    cells.pop()  # formatted but empty cells right of the header
                if len(cells) > MAX_COLUMNS:
                    raise UnreadableRow("too_many_columns", len(cells), limit=MAX_COLUMNS)
            if max(map(len, cells), default=0) > MAX_CELL:
                raise UnreadableRow("cell_too_long", limit=MAX_CELL)
            yield cells
    except UnreadableRow:
        raise
    except Exception as exc:  # damaged sheet XML surfaces only while reading it
        raise UnreadableRow("damaged_xlsx") from exc


def _cell_text(value: object) -> str:
    """A cell as the text a CSV export of it would hold, so both formats validate alike."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Excel stores every number as a float; 3.0 is the whole number 3.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return str(value)
