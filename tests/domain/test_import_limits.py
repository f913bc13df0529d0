"""Limits on a results file (issue 20), each refused with its own message before memory
grows: the issue's attack files (a 7.9 MB CSV with a million columns, an XLSX "bomb"), made
here, are refused in a fresh process, timed, with that process's peak memory measured."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from app.domain import importing_read
from app.domain.file_limits import MAX_CELL, MAX_COLUMNS
from app.domain.importing import parse_results

ROOT = Path(__file__).resolve().parents[2]

# Parses the file in a fresh interpreter; prints seconds, peak memory and the problems. Peak
# memory is VmHWM, the high-water mark of this program's own memory: ru_maxrss would start at
# the parent's size (Linux keeps it across fork and exec), which is the whole test run's.
CHILD = """
import json, sys, time
from pathlib import Path
from app.domain.importing import parse_results
start = time.perf_counter()
with Path(sys.argv[1]).open("rb") as stream:
    result = parse_results(stream)
seconds = time.perf_counter() - start
print(json.dumps({
    "seconds": seconds,
    "peak_mb": next(
        int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM:")
    ) / 1024,
    "errors": [[e.code, e.row, e.message_da, e.message_en] for e in result.errors],
    "openpyxl_loaded": "openpyxl" in sys.modules,
}))
"""


def refused_in_child(path: Path) -> dict:
    output = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def test_a_csv_with_a_million_columns_is_refused_at_once_in_little_memory(tmp_path: Path) -> None:
    path = tmp_path / "million.csv"
    header = "unit_id;" + ";".join(f"c{i}" for i in range(1_000_000))
    path.write_text(header[:7_888_000] + "\nA;1\n")
    assert 7.8e6 < path.stat().st_size < 8e6
    found = refused_in_child(path)
    assert [error[0] for error in found["errors"]] == ["too_many_columns"]
    code, row, danish, english = found["errors"][0]
    assert row == 1
    assert "højst 5000" in danish and "at most 5000" in english
    assert found["seconds"] < 2
    assert found["peak_mb"] < 200


def test_an_xlsx_bomb_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            chunk = b"<row><c><v>1</v></c></row>" * 40_000
            for _ in range(300 * 1024 * 1024 // len(chunk)):
                sheet.write(chunk)
    assert path.stat().st_size < 4e6
    found = refused_in_child(path)
    assert [error[0] for error in found["errors"]] == ["xlsx_too_large"]
    assert "højst 200 MB" in found["errors"][0][2]
    assert found["seconds"] < 2
    assert found["peak_mb"] < 200
    assert not found["openpyxl_loaded"]  # refused from the zip's directory alone


def test_more_rows_than_the_limit_are_refused_with_the_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(importing_read, "MAX_ROWS", 3)
    lines = ["unit_id;question_id;scale;n_1;n_2", "A;;;;"]
    lines += [f"A-{i};Q1;a|b;1;2" for i in range(3)]  # row 5: the fourth below the header
    result = parse_results(io.BytesIO("\n".join(lines).encode()))
    assert not result.ok
    assert [(e.code, e.row) for e in result.errors] == [("too_many_rows", 5)]
    assert "3" in result.errors[0].message_da
    # At the limit exactly, the file is read.
    result = parse_results(io.BytesIO("\n".join(lines[:4]).encode()))
    assert "too_many_rows" not in [e.code for e in result.errors]


def test_a_csv_cell_over_the_limit_stops_the_reader_at_its_row() -> None:
    lines = ["unit_id;question_id;question_text", "A;;", f"A-1;Q1;{'x' * (MAX_CELL + 1)}"]
    result = parse_results(io.BytesIO("\n".join(lines).encode()))
    assert [(e.code, e.row) for e in result.errors] == [("malformed_csv", 3)]
    assert "for lang" in result.errors[0].message_da
    fits = ["unit_id;question_id;question_text", "A;;", f"A-1;Q1;{'x' * MAX_CELL}"]
    result = parse_results(io.BytesIO("\n".join(fits).encode()))
    assert "malformed_csv" not in [e.code for e in result.errors]


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_an_xlsx_cell_over_the_limit_is_refused_with_its_row() -> None:
    data = xlsx([["unit_id", "question_id"], ["A", None], ["A-1", "x" * (MAX_CELL + 1)]])
    result = parse_results(io.BytesIO(data))
    assert [(e.code, e.row) for e in result.errors] == [("cell_too_long", 3)]
    assert f"{MAX_CELL}" in result.errors[0].message_en


def test_an_xlsx_header_wider_than_the_limit_is_refused() -> None:
    data = xlsx([["unit_id", "question_id", *(f"c{i}" for i in range(MAX_COLUMNS))]])
    result = parse_results(io.BytesIO(data))
    assert [(e.code, e.row) for e in result.errors] == [("too_many_columns", 1)]
    assert str(MAX_COLUMNS + 2) in result.errors[0].message_da


def test_a_header_at_the_column_limit_is_read() -> None:
    header = ["unit_id", "question_id", *(f"c{i}" for i in range(MAX_COLUMNS - 2))]
    data = (";".join(header) + "\nA" + ";" * (MAX_COLUMNS - 1) + "\n").encode()
    result = parse_results(io.BytesIO(data))
    assert "too_many_columns" not in [e.code for e in result.errors]
