"""The CSV reader's fast path (`importing_read.csv_rows`) gives exactly the rows, and the
errors, of the csv module it stands in for, on any text, as the file is read (lines as
`io.TextIOWrapper(newline="")` splits them)."""

from __future__ import annotations

import csv
import io
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import importing_read
from app.domain.file_limits import MAX_CELL
from app.domain.importing_read import csv_rows

# Cells made of what a CSV parser treats specially, and of plain text, and cells around the
# field limit (the csv module stops at a longer cell: so must the fast path).
CELL_PIECES = st.sampled_from(
    ['"', '""', ";", ",", "\r", "\n", "\r\n", " ", "\x00", "æøå", "a", "12", "x" * (MAX_CELL - 1)]
)
CELLS = st.lists(CELL_PIECES, max_size=4).map("".join)
LINES = st.lists(st.lists(CELLS, max_size=6).map(";".join), max_size=8)
ENDINGS = st.sampled_from(["\n", "\r\n", "\r", ""])


def outcome(reader: object) -> tuple[list[list[str]], str | None]:
    """Every row a reader gives, and the error it stops with (None: it reached the end)."""
    rows: list[list[str]] = []
    try:
        for row in reader:  # type: ignore[attr-defined]
            rows.append(row)
    except csv.Error as error:
        return rows, str(error)
    return rows, None


def lines_of(text: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(text.encode()), encoding="utf-8", newline="")


@settings(max_examples=500, deadline=None)
@given(LINES, ENDINGS, st.sampled_from([";", ","]), st.integers(1, 40) | st.just(None))
def test_the_fast_path_reads_any_text_as_the_csv_module_does(
    lines: list[str], ending: str, separator: str, block_chars: int | None
) -> None:
    """Whatever the blocks the file is read in (a few characters: a quoted cell spans
    blocks, a block mixes plain and other lines; None: the whole text is one block)."""
    text = ending.join(lines)
    expected = outcome(csv.reader(lines_of(text), delimiter=separator))
    with patch.object(importing_read, "_BLOCK_CHARS", block_chars or importing_read._BLOCK_CHARS):
        assert outcome(csv_rows(lines_of(text), separator)) == expected


@pytest.mark.parametrize("block_chars", [1, 12, 1 << 18])
def test_a_quoted_cell_spanning_lines_is_one_row_and_the_next_line_is_read_after_it(
    block_chars: int,
) -> None:
    text = 'unit;text;n\nA;"two\nlines; one cell";3\nB;plain;4\r\n\r\nC;"say ""hi""";5'
    with patch.object(importing_read, "_BLOCK_CHARS", block_chars):
        rows = list(csv_rows(lines_of(text), ";"))
    assert rows == [
        ["unit", "text", "n"],
        ["A", "two\nlines; one cell", "3"],
        ["B", "plain", "4"],
        [],
        ["C", 'say "hi"', "5"],
    ]


def test_a_cell_past_the_limit_stops_the_reader_as_the_csv_module_does() -> None:
    text = "a;b\n" + "c;" + "x" * (MAX_CELL + 1) + "\nd;e\n"
    rows, error = outcome(csv_rows(lines_of(text), ";"))
    assert rows == [["a", "b"]]
    assert error is not None and "field larger than field limit" in error
