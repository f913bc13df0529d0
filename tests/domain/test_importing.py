"""The results import engine against spec/import-format.md (the contract) and issue 4."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import FrozenInstanceError, dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.importing import (
    ERROR_CODES,
    MAX_ERRORS,
    ImportResult,
    KnownUnit,
    Problem,
    QuestionSpec,
    ResultRow,
    UnitRow,
    parse_results,
)

GEN_RESULTS = Path(__file__).resolve().parents[3] / "shared" / "tools" / "gen_results.py"
SPEC_EXAMPLE = """\
unit_id;unit_name;parent_id;unit_type;invited;question_id;theme;scale;direction;zero_tolerance;n_1;n_2;n_3;n_4;n_5;n_dont_know
AK;Åby Kommune;;kommune;;;;;;;;;;;;
AK-BF;Børn & Familie;AK;forvaltning;;;;;;;;;;;;
AK-BF-07;Dagplejen Nord;AK-BF;team;9;PT-1;Min enhed – psykologisk tryghed;Helt uenig|Uenig|Hverken eller|Enig|Helt enig;higher_better;no;0;1;2;3;1;0
AK-BF-07;Dagplejen Nord;AK-BF;team;9;KA-1;Krænkende adfærd;Nej|Ja, en enkelt gang|Ja, flere gange;lower_better;yes;6;1;0;;;0
"""  # noqa: E501 - the spec's example, verbatim


def parse_bytes(data: bytes, **options: Any) -> ImportResult:
    return parse_results(io.BytesIO(data), **options)


def parse_text(text: str, encoding: str = "utf-8", **options: Any) -> ImportResult:
    return parse_bytes(text.encode(encoding), **options)


def xlsx_bytes(
    rows: Sequence[Sequence[object]], sheet: str = "results", other_sheets: Sequence[str] = ()
) -> bytes:
    workbook = openpyxl.Workbook()
    first = workbook.active
    for name in other_sheets:
        workbook.create_sheet(name)
    first.title = sheet
    for row in rows:
        first.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def codes(problems: Sequence[Problem]) -> list[str]:
    return [found.code for found in problems]


# --- a small file to break in one place at a time ------------------------------------------

COLUMNS = [
    "unit_id",
    "parent_id",
    "invited",
    "respondents",
    "question_id",
    "scale",
    "direction",
    "zero_tolerance",
    "n_1",
    "n_2",
    "n_3",
    "n_dont_know",
]
ROOT = {"unit_id": "A"}  # row 2: a unit-only row
GOOD = {
    "unit_id": "A-1",
    "parent_id": "A",
    "invited": "10",
    "respondents": "8",
    "question_id": "Q1",
    "scale": "Nej|Lidt|Ja",
    "direction": "lower_better",
    "zero_tolerance": "yes",
    "n_1": "4",
    "n_2": "2",
    "n_3": "1",
    "n_dont_know": "1",
}
Q1 = QuestionSpec("Q1", "Q1", "", ("Nej", "Lidt", "Ja"), "lower_better", True)


def good(**changes: str) -> dict[str, str]:
    return {**GOOD, **changes}


def file_with(*rows: Mapping[str, str], columns: Sequence[str] = COLUMNS) -> bytes:
    lines = [";".join(columns), *(";".join(row.get(name, "") for name in columns) for row in rows)]
    return ("\r\n".join(lines) + "\r\n").encode()


def without(*names: str) -> list[str]:
    return [name for name in COLUMNS if name not in names]


def test_the_small_file_is_valid() -> None:
    result = parse_bytes(file_with(ROOT, good()))
    assert result.ok, result.errors
    assert result.results == [ResultRow("A-1", "Q1", (4, 2, 1), 7, 11 / 7, 1)]


@dataclass(frozen=True)
class Case:
    code: str
    data: bytes
    row: int | None
    column: str | None
    options: Mapping[str, Any] | None = None
    also: frozenset[str] = frozenset()  # other codes the same defect may cause


def _pdf() -> bytes:
    return b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"


def _damaged_xlsx() -> bytes:
    whole = xlsx_bytes([["unit_id", "question_id"], ["A", ""]])
    return whole[: len(whole) // 2]


def _zip_that_is_no_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    return buffer.getvalue()


WITH_N = [*COLUMNS, "n", "mean"]
WITH_N_4 = [*COLUMNS, "n_4"]
# n and mean only exist for questions that are not zero-tolerance (hits need the counts).
N_AND_MEAN = {"n_1": "", "n_2": "", "n_3": "", "n": "7", "zero_tolerance": "no"}


def summary(**changes: str) -> dict[str, str]:
    """A row with n and mean where the distribution would be."""
    return good(**{**N_AND_MEAN, **changes})


ERROR_CASES = [
    # the file as a whole
    Case("empty_file", b"", None, None),
    Case("empty_file", b"\xef\xbb\xbf \r\n", None, None),
    Case("no_rows", file_with(), None, None),
    Case("not_csv_or_xlsx", _pdf(), None, None),
    Case("not_csv_or_xlsx", b"\x00\x01binary\x00\x02" * 40, None, None),
    Case("damaged_xlsx", _damaged_xlsx(), None, None),
    Case("damaged_xlsx", _zip_that_is_no_workbook(), None, None),
    Case("malformed_csv", file_with(ROOT, good(scale="x" * 200_000)), 3, None),
    # limits (app/domain/file_limits.py); the row and XLSX-size limits need files too large
    # for this table: tests/domain/test_import_limits.py
    Case(
        "too_many_columns",
        file_with(ROOT, good(), columns=[*COLUMNS, *(f"extra_{i}" for i in range(5_000))]),
        1,
        None,
    ),
    Case("cell_too_long", xlsx_bytes([COLUMNS, ["A", *[""] * 11], ["x" * 1_001]]), 3, None),
    # the header
    Case("missing_column", file_with(good(), columns=without("unit_id")), None, "unit_id"),
    Case("missing_column", file_with(good(), columns=without("question_id")), None, "question_id"),
    Case("missing_column", file_with(ROOT, good(), columns=without("scale")), None, "scale"),
    Case("missing_column", file_with(ROOT, good(), columns=without("n_3")), 3, "n_3"),
    Case(
        "missing_answer_columns",
        file_with(ROOT, good(), columns=without("n_1", "n_2", "n_3")),
        None,
        None,
    ),
    Case(
        "repeated_column", b"unit_id;question_id;scale;n_1;n_2; N_1\r\nA;Q;a|b;1;2;1\r\n", 1, "n_1"
    ),
    # one row
    Case("too_many_cells", file_with(ROOT, good()) + b"A-2;A;;;Q1;a|b|c;;;1;1;1;0;9\r\n", 4, None),
    Case("missing_unit_id", file_with(ROOT, good(unit_id="")), 3, "unit_id"),
    Case("not_whole_number", file_with(ROOT, good(n_2="-1")), 3, "n_2"),
    Case("not_whole_number", file_with(ROOT, good(n_2="2.5")), 3, "n_2"),
    Case("not_whole_number", file_with(ROOT, good(n_2="two")), 3, "n_2"),
    Case("not_whole_number", file_with(ROOT, good(n_2="1.000")), 3, "n_2"),
    Case("not_whole_number", file_with(ROOT, good(n_dont_know="-3")), 3, "n_dont_know"),
    Case("count_too_large", file_with(ROOT, good(n_2=str(2**63))), 3, "n_2"),
    Case("count_too_large", file_with(ROOT, good(n_2="10000001,0")), 3, "n_2"),
    Case("not_whole_number", file_with(ROOT, good(invited="ten")), 3, "invited"),
    Case("not_whole_number", file_with(ROOT, good(respondents="8.5")), 3, "respondents"),
    Case("not_whole_number", file_with(ROOT, summary(n="7.5", mean="2"), columns=WITH_N), 3, "n"),
    Case("not_a_number", file_with(ROOT, summary(mean="abc"), columns=WITH_N), 3, "mean"),
    Case("mean_out_of_range", file_with(ROOT, summary(mean="3,5"), columns=WITH_N), 3, "mean"),
    Case("mean_out_of_range", file_with(ROOT, summary(mean="0.9"), columns=WITH_N), 3, "mean"),
    Case("missing_count", file_with(ROOT, good(n_2="")), 3, "n_2"),
    Case("missing_mean", file_with(ROOT, summary(), columns=WITH_N), 3, "mean"),
    Case(
        "zero_tolerance_needs_distribution",
        file_with(ROOT, summary(zero_tolerance="yes", mean="1.2"), columns=WITH_N),
        3,
        "n_1",
    ),
    Case("no_answers", file_with(ROOT, good(n_1="", n_2="", n_3="")), 3, "n_1"),
    Case(
        "no_answers",
        file_with(ROOT, summary(n="", mean="2"), columns=WITH_N),
        3,
        "n",
    ),
    Case("count_beyond_scale", file_with(ROOT, good(n_4="1"), columns=WITH_N_4), 3, "n_4"),
    Case("n_mismatch", file_with(ROOT, good(n="9"), columns=WITH_N), 3, "n"),
    Case("mean_mismatch", file_with(ROOT, good(mean="1.4"), columns=WITH_N), 3, "mean"),
    Case("counts_without_question", file_with({**ROOT, "n_2": "3"}, good()), 2, "n_2"),
    Case("missing_scale", file_with(ROOT, good(scale="")), 3, "scale"),
    Case("scale_size", file_with(ROOT, good(scale="Ja")), 3, "scale"),
    Case("scale_size", file_with(ROOT, good(scale="|".join("abcdefghijkl"))), 3, "scale"),
    Case("invalid_scale", file_with(ROOT, good(scale="Nej||Ja")), 3, "scale"),
    Case("invalid_direction", file_with(ROOT, good(direction="upwards")), 3, "direction"),
    Case("not_yes_no", file_with(ROOT, good(zero_tolerance="maybe")), 3, "zero_tolerance"),
    Case(
        "not_yes_no",
        file_with(ROOT, good(zero_tolerance="maybe")),
        3,
        "zero_tolerance",
        {"template": [Q1]},
    ),
    Case(
        "unknown_question",
        file_with(ROOT, good(question_id="Q9")),
        3,
        "question_id",
        {"template": [Q1]},
    ),
    Case(
        "question_mismatch",
        file_with(ROOT, good(scale="Nej|Ja|Lidt")),
        3,
        "scale",
        {"template": [Q1]},
    ),
    Case(
        "question_mismatch",
        file_with(ROOT, good(direction="higher_better")),
        3,
        "direction",
        {"template": [Q1]},
    ),
    Case(
        "question_mismatch",
        file_with(ROOT, good(zero_tolerance="nej")),
        3,
        "zero_tolerance",
        {"template": [Q1]},
    ),
    Case(
        "question_inconsistent",
        file_with(ROOT, good(), good(unit_id="A-2", scale="Nej|Ja|Lidt")),
        4,
        "scale",
    ),
    Case(
        "question_inconsistent",
        file_with(ROOT, good(), good(unit_id="A-2", zero_tolerance="no")),
        4,
        "zero_tolerance",
    ),
    Case(
        "unit_inconsistent",
        file_with(ROOT, good(), good(question_id="Q2", invited="11")),
        4,
        "invited",
    ),
    Case(
        "unit_inconsistent",
        file_with(ROOT, good(), good(question_id="Q2", parent_id="")),
        4,
        "parent_id",
    ),
    Case("duplicate_row", file_with(ROOT, good(), good()), 4, "question_id"),
    Case("duplicate_row", file_with(ROOT, good(), good(question_id=" Q1 ")), 4, "question_id"),
    Case("duplicate_unit_row", file_with(ROOT, good(), ROOT), 4, "unit_id"),
    Case("answers_exceed_respondents", file_with(ROOT, good(respondents="7")), 3, "respondents"),
    # the units as a whole
    Case("unknown_parent", file_with(ROOT, good(parent_id="Z")), 3, "parent_id"),
    Case("cycle", file_with(ROOT, good(parent_id="A-1")), 3, "parent_id"),
    Case("cycle", file_with({**ROOT, "parent_id": "A-1"}, good()), 2, "parent_id"),
    Case(
        "cycle",
        file_with({**ROOT, "parent_id": "B"}, good()),
        2,
        "parent_id",
        {"known_units": {"B": KnownUnit("B", "A")}},
    ),  # A → B (known) → A
    Case("respondents_exceed_invited", file_with(ROOT, good(invited="7")), 3, "respondents"),
    Case(
        "answers_exceed_invited", file_with(ROOT, good(invited="7", respondents="")), 3, "invited"
    ),
    Case(
        "parent_smaller_than_children",
        file_with({**ROOT, "respondents": "5"}, good()),
        2,
        "respondents",
    ),
    Case(
        "parent_smaller_than_children",
        file_with(
            good(unit_id="A", parent_id="", n_1="9", n_2="1", respondents="20", invited=""), good()
        ),
        2,
        "n_2",
    ),
    Case(
        "too_many_errors",
        file_with(ROOT, *(good(unit_id=f"U{i}", n_2="-1") for i in range(MAX_ERRORS + 5))),
        None,
        None,
        also=frozenset({"not_whole_number"}),
    ),
]


def _case_id(case: Case) -> str:
    return f"{case.code}-{case.column or case.row}"


@pytest.mark.parametrize("case", ERROR_CASES, ids=_case_id)
def test_each_error_kind_is_reported_with_its_row_and_column(case: Case) -> None:
    result = parse_bytes(case.data, **(case.options or {}))
    assert not result.ok
    assert result.units == [] and result.results == [] and result.questions == []
    matching = [found for found in result.errors if found.code == case.code]
    assert matching, codes(result.errors)
    assert (matching[0].row, matching[0].column) == (case.row, case.column)
    assert set(codes(result.errors)) <= {case.code, *case.also}, result.errors
    assert matching[0].message_da and matching[0].message_en
    assert matching[0].message_da != matching[0].message_en


def test_every_error_code_has_a_case() -> None:
    in_limits_tests = {"too_many_rows", "xlsx_too_large"}  # tests/domain/test_import_limits.py
    assert {case.code for case in ERROR_CASES} | in_limits_tests == ERROR_CODES


def test_errors_stop_after_the_maximum_and_say_so() -> None:
    rows = [good(unit_id=f"U{i}", n_2="-1") for i in range(MAX_ERRORS + 5)]
    result = parse_bytes(file_with(ROOT, *rows))
    assert len(result.errors) == MAX_ERRORS + 1
    assert codes(result.errors) == ["not_whole_number"] * MAX_ERRORS + ["too_many_errors"]
    assert [found.row for found in result.errors[:3]] == [3, 4, 5]


def test_an_error_message_names_the_value_found() -> None:
    result = parse_bytes(file_with(ROOT, good(n_2="2,5")))
    (error,) = result.errors
    assert error.value == "2,5"
    assert '"2,5"' in error.message_da and '"2,5"' in error.message_en


def test_a_cycle_names_every_unit_on_it() -> None:
    result = parse_bytes(file_with({**ROOT, "parent_id": "A-1"}, good()))
    assert [(found.code, found.row) for found in result.errors] == [("cycle", 2), ("cycle", 3)]
    assert "A → A-1 → A" in result.errors[0].message_en


# --- warnings and notices: the import may go ahead ------------------------------------------


def test_a_unit_moved_to_another_parent_is_a_warning() -> None:
    known = {"A": KnownUnit("A", None), "A-1": KnownUnit("A-1", "B"), "B": KnownUnit("B", "A")}
    result = parse_bytes(file_with(ROOT, good()), known_units=known)
    assert result.ok
    (warning,) = result.warnings
    assert (warning.code, warning.row, warning.column, warning.value) == (
        "unit_moved",
        3,
        "parent_id",
        "A",
    )
    assert '"B"' in warning.message_da and '"A"' in warning.message_da


def test_a_unit_without_parent_column_keeps_its_known_parent() -> None:
    result = parse_bytes(
        file_with(good(), columns=without("parent_id")),
        known_units={"A": KnownUnit("A", None), "A-1": KnownUnit("A-1", "A")},
    )
    assert result.ok
    assert result.units[0].parent_code == "A"
    assert result.warnings == []


def test_a_parent_may_be_a_known_unit_or_come_after_its_children() -> None:
    assert parse_bytes(file_with(good()), known_units={"A": KnownUnit("A", None)}).ok
    result = parse_bytes(file_with(good(), ROOT))
    assert result.ok
    assert [unit.code for unit in result.units] == ["A-1", "A"]


def test_previous_unit_id_naming_no_earlier_unit_is_a_warning() -> None:
    columns = [*COLUMNS, "previous_unit_id"]
    data = file_with(ROOT, good(previous_unit_id="OLD-1 | OLD-2"), columns=columns)
    result = parse_bytes(data, previous_unit_codes={"OLD-1"})
    assert result.ok
    assert [(w.code, w.row, w.column, w.value) for w in result.warnings] == [
        ("previous_unit_unknown", 3, "previous_unit_id", "OLD-2")
    ]
    assert result.units[1].previous_codes == ("OLD-1", "OLD-2")
    assert parse_bytes(data).warnings == []  # no earlier measurement given: not checked


def test_unknown_columns_are_ignored_with_a_notice() -> None:
    result = parse_bytes(file_with(ROOT, good(), columns=[*COLUMNS, "Kommentar"]))
    assert result.ok
    assert [(n.code, n.row, n.column) for n in result.notices] == [
        ("ignored_column", 1, "kommentar")
    ]


# --- what a valid file turns into -------------------------------------------------------------


def test_the_spec_example_parses() -> None:
    result = parse_text(SPEC_EXAMPLE)
    assert result.ok, result.errors
    assert (result.format, result.encoding, result.rows) == ("csv", "utf-8", 4)
    assert result.units == [
        UnitRow("AK", "Åby Kommune", None, "kommune", None, None, (), False),
        UnitRow("AK-BF", "Børn & Familie", "AK", "forvaltning", None, None, (), False),
        UnitRow("AK-BF-07", "Dagplejen Nord", "AK-BF", "team", 9, 7, (), True),
    ]
    assert result.questions == [
        QuestionSpec(
            "PT-1",
            "PT-1",
            "Min enhed – psykologisk tryghed",
            ("Helt uenig", "Uenig", "Hverken eller", "Enig", "Helt enig"),
            "higher_better",
            False,
        ),
        QuestionSpec(
            "KA-1",
            "KA-1",
            "Krænkende adfærd",
            ("Nej", "Ja, en enkelt gang", "Ja, flere gange"),
            "lower_better",
            True,
        ),
    ]
    assert result.results == [
        ResultRow("AK-BF-07", "PT-1", (0, 1, 2, 3, 1), 7, 25 / 7, 0),
        ResultRow("AK-BF-07", "KA-1", (6, 1, 0), 7, 8 / 7, 0),
    ]
    assert result.errors == result.warnings == result.notices == []


def test_headers_are_case_insensitive_and_spaces_are_ignored() -> None:
    text = SPEC_EXAMPLE.replace("unit_id;unit_name", " Unit_ID ;UNIT_NAME ", 1)
    assert parse_text(text).units == parse_text(SPEC_EXAMPLE).units


def test_comma_separated_file() -> None:
    rows = list(csv.reader(io.StringIO(SPEC_EXAMPLE), delimiter=";"))
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)  # "Nej|Ja, en enkelt gang|…" gets quoted
    result = parse_text(buffer.getvalue())
    assert result.ok
    assert result.questions == parse_text(SPEC_EXAMPLE).questions


def test_n_and_mean_instead_of_a_distribution() -> None:
    data = file_with(
        ROOT,
        summary(mean="1,5"),
        summary(unit_id="A-2", n="0", n_dont_know="", respondents=""),
        columns=WITH_N,
    )
    result = parse_bytes(data)
    assert result.ok, result.errors
    assert result.results == [
        ResultRow("A-1", "Q1", None, 7, 1.5, 1),
        ResultRow("A-2", "Q1", None, 0, None, 0),
    ]


def test_respondents_default_to_the_largest_answer_total() -> None:
    data = file_with(
        ROOT,
        good(respondents="", invited="20"),
        good(question_id="Q2", n_1="9", respondents="", invited="20"),
    )
    result = parse_bytes(data)
    assert result.ok
    assert result.units[1].respondents == 13  # 9 + 2 + 1 + 1 don't know
    assert result.units[0].respondents is None  # a parent without rows of its own


def test_whole_numbers_written_as_decimals_by_tools_are_accepted() -> None:
    result = parse_bytes(file_with(ROOT, good(n_1="4.0", n_2=" 2 ", n_3="1,00", invited="10")))
    assert result.ok, result.errors
    assert result.results[0].counts == (4, 2, 1)


def test_yes_no_values_in_any_spelling() -> None:
    for yes in ("yes", "JA", "1", "True"):
        assert parse_bytes(file_with(ROOT, good(zero_tolerance=yes))).questions == [Q1]
    for no in ("no", "Nej", "0", "FALSE", ""):
        (question,) = parse_bytes(file_with(ROOT, good(zero_tolerance=no))).questions
        assert question.zero_tolerance is False


def test_template_questions_need_no_question_columns() -> None:
    apv = QuestionSpec(
        "Q1", "Er du blevet mobbet?", "Krænkende adfærd", Q1.scale, "lower_better", True
    )
    columns = without("scale", "direction", "zero_tolerance")
    result = parse_bytes(file_with(ROOT, good(), columns=columns), template=[apv])
    assert result.ok, result.errors
    assert result.questions == [apv]
    # Given, they must agree with it; an empty cell leaves the template's value.
    data = file_with(ROOT, good(direction="", zero_tolerance="ja"))
    assert parse_bytes(data, template=[apv]).ok


def test_a_row_with_fewer_cells_than_the_header_is_padded() -> None:
    data = file_with(ROOT, good()) + b"A-2;A;;;Q1;Nej|Lidt|Ja;lower_better;yes;1;1;1\r\n\r\n"
    result = parse_bytes(data)
    assert result.ok, result.errors
    assert result.rows == 3  # the blank line is not a row
    assert result.results[-1] == ResultRow("A-2", "Q1", (1, 1, 1), 3, 2.0, 0)


def test_a_non_seekable_stream_is_read_and_left_open() -> None:
    class OneWay(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk = self.inner.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    stream = OneWay(SPEC_EXAMPLE.encode("cp1252", errors="replace"))
    result = parse_results(stream)  # type: ignore[arg-type]
    assert result.ok and result.encoding == "cp1252"
    seekable = io.BytesIO(SPEC_EXAMPLE.encode())
    assert parse_results(seekable).ok
    assert not seekable.closed


def test_an_upload_in_a_spooled_temporary_file_is_read_and_left_open() -> None:
    with tempfile.SpooledTemporaryFile(max_size=100) as upload:
        upload.write(SPEC_EXAMPLE.encode())
        upload.seek(0)
        assert parse_results(upload).results == parse_text(SPEC_EXAMPLE).results  # type: ignore[arg-type]
        assert not upload.closed


# --- encodings ---------------------------------------------------------------------------


def test_a_windows_1252_file_from_excel_reads_with_the_right_letters_and_a_notice() -> None:
    result = parse_text(SPEC_EXAMPLE.replace("–", "-"), encoding="cp1252")
    assert result.ok, result.errors
    assert result.encoding == "cp1252"
    assert codes(result.notices) == ["encoding_cp1252"]
    assert [unit.name for unit in result.units] == [
        "Åby Kommune",
        "Børn & Familie",
        "Dagplejen Nord",
    ]
    assert result.questions[1].theme == "Krænkende adfærd"


def test_non_utf8_late_in_a_large_file_restarts_as_windows_1252() -> None:
    filler = [good(unit_id=f"U{i:05d}") for i in range(3000)]  # > 64 KiB of plain ASCII
    text = (
        file_with(ROOT, *filler).decode() + "Æble;A;;;Q1;Nej|Lidt|Ja;lower_better;yes;1;1;1;0\r\n"
    )
    result = parse_text(text, encoding="cp1252")
    assert result.ok, result.errors
    assert result.encoding == "cp1252" and codes(result.notices) == ["encoding_cp1252"]
    assert result.units[-1].code == "Æble"


def test_utf8_with_and_without_bom() -> None:
    plain = parse_text(SPEC_EXAMPLE)
    with_bom = parse_text(SPEC_EXAMPLE, encoding="utf-8-sig")
    assert with_bom.encoding == "utf-8-sig" and plain.encoding == "utf-8"
    assert with_bom.units == plain.units and with_bom.results == plain.results
    assert with_bom.notices == []


# --- XLSX ------------------------------------------------------------------------------------


def spec_example_rows() -> list[list[object]]:
    rows: list[list[object]] = []
    for row in csv.reader(io.StringIO(SPEC_EXAMPLE), delimiter=";"):
        rows.append([int(cell) if cell.isdigit() else (cell or None) for cell in row])
    return rows


def test_an_xlsx_file_named_csv_is_read_as_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    path.write_bytes(xlsx_bytes(spec_example_rows()))
    with path.open("rb") as stream:
        result = parse_results(stream)
    assert result.ok, result.errors
    assert (result.format, result.encoding) == ("xlsx", None)
    expected = parse_text(SPEC_EXAMPLE)
    assert (result.units, result.questions, result.results) == (
        expected.units,
        expected.questions,
        expected.results,
    )


def test_xlsx_sheet_results_is_read_else_the_first() -> None:
    rows = spec_example_rows()
    chosen = parse_bytes(xlsx_bytes(rows, sheet="results", other_sheets=["Forside"]))
    assert chosen.ok and chosen.notices == []
    first = parse_bytes(xlsx_bytes(rows, sheet="Data", other_sheets=["Noter"]))
    assert first.ok
    assert [(n.code, n.value) for n in first.notices] == [("sheet_used", "Data")]


def test_xlsx_numbers_stored_as_floats_are_whole_numbers_but_fractions_are_not() -> None:
    rows = spec_example_rows()
    rows[3][10] = 0.0
    assert parse_bytes(xlsx_bytes(rows)).ok
    rows[3][11] = 1.5
    result = parse_bytes(xlsx_bytes(rows))
    assert [(e.code, e.row, e.column, e.value) for e in result.errors] == [
        ("not_whole_number", 4, "n_2", "1.5")
    ]


def test_xlsx_damaged_inside_a_sheet_is_reported() -> None:
    whole = zipfile.ZipFile(io.BytesIO(xlsx_bytes(spec_example_rows())))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as damaged:
        for item in whole.infolist():
            content = whole.read(item)
            if item.filename.startswith("xl/worksheets/sheet"):
                content = content[: len(content) * 2 // 3]  # the XML stops mid-way
            damaged.writestr(item, content)
    result = parse_bytes(buffer.getvalue())
    assert codes(result.errors) == ["damaged_xlsx"]
    assert result.errors[0].row is not None  # found while reading the rows, not on opening
    assert result.format == "xlsx"


def test_results_are_frozen_like_any_result_row() -> None:
    (first, second) = parse_text(SPEC_EXAMPLE).results
    assert type(first) is ResultRow
    assert first == ResultRow("AK-BF-07", "PT-1", (0, 1, 2, 3, 1), 7, 25 / 7, 0)
    assert hash(first) == hash(ResultRow("AK-BF-07", "PT-1", (0, 1, 2, 3, 1), 7, 25 / 7, 0))
    with pytest.raises(FrozenInstanceError):
        first.n = 8  # type: ignore[misc]


def test_xlsx_rows_are_numbered_as_excel_shows_them() -> None:
    rows = spec_example_rows()
    rows.insert(2, [None] * len(rows[0]))  # an empty row 3
    rows[4][11] = -1
    result = parse_bytes(xlsx_bytes(rows))
    assert [(e.code, e.row) for e in result.errors] == [("not_whole_number", 5)]


# --- the project's generator -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["gym", "apv"])
def test_generated_files_parse_without_errors(kind: str, tmp_path: Path) -> None:
    if not GEN_RESULTS.exists():
        pytest.skip(f"{GEN_RESULTS} is not here (the CI has ../shared)")
    path = tmp_path / f"{kind}.csv"
    subprocess.run(
        [sys.executable, str(GEN_RESULTS), kind, "--year", "2025", "-o", str(path)], check=True
    )
    with path.open(encoding="utf-8", newline="") as text:
        rows = list(csv.DictReader(text, delimiter=";"))
    with path.open("rb") as stream:
        result = parse_results(stream)
    assert result.ok, result.errors[:5]
    assert len(result.units) == len({row["unit_id"] for row in rows})
    assert len(result.questions) == len({row["question_id"] for row in rows} - {""})
    assert len(result.results) == sum(1 for row in rows if row["question_id"])
    assert result.rows == len(rows)
    # The questionnaire the file defines is, as a template, one the file agrees with.
    with path.open("rb") as stream:
        again = parse_results(stream, template=result.questions)
    assert again.ok and again.results == result.results


# --- Hypothesis: any valid result set, in every format ----------------------------------------

HEADER = [
    "unit_id",
    "unit_name",
    "parent_id",
    "unit_type",
    "invited",
    "respondents",
    "previous_unit_id",
    "question_id",
    "question_text",
    "theme",
    "scale",
    "direction",
    "zero_tolerance",
]
TEXT = st.text(alphabet="abcxyzæøåÆØÅ ,;\"'-–?&", min_size=1, max_size=10).map(str.strip)
LABEL = TEXT.filter(bool)
YES = ["yes", "Ja", "1", "TRUE"]
NO = ["no", "nej", "0", "False", ""]

Figures = tuple[tuple[int, ...] | None, int, int]  # counts, n, don't know


@dataclass
class ResultSet:
    """A valid file as rows of Python values, and what parsing it must give."""

    columns: list[str]
    rows: list[list[object]]  # None for an empty cell
    units: list[UnitRow]
    questions: list[QuestionSpec]
    results: list[ResultRow]


@st.composite
def result_sets(draw: st.DrawFn) -> ResultSet:
    questions = [
        QuestionSpec(
            code=f"Q{number}",
            text=draw(LABEL),
            theme=draw(st.sampled_from(["", "Social trivsel", "Krænkende adfærd"])),
            scale=tuple(draw(st.lists(LABEL, min_size=k, max_size=k))),
            direction=draw(st.sampled_from(["higher_better", "lower_better"])),
            zero_tolerance=draw(st.booleans()),
        )
        for number, k in enumerate(
            draw(st.lists(st.integers(2, 11), min_size=1, max_size=3)), start=1
        )
    ]
    without_distribution = {
        q.code for q in questions if not q.zero_tolerance and draw(st.integers(0, 3)) == 0
    }
    unit_count = draw(st.integers(2, 6))
    parents = [None, *(draw(st.integers(0, index - 1)) for index in range(1, unit_count))]
    children = {
        index: [child for child in range(unit_count) if parents[child] == index]
        for index in range(unit_count)
    }
    has_rows = [not children[index] or draw(st.booleans()) for index in range(unit_count)]
    codes_ = [f"U{index}-{draw(st.sampled_from(['a', 'Æ', 'x y']))}" for index in range(unit_count)]

    # Figures bottom-up (a child's index is larger than its parent's), so that a parent's
    # own figures are its children's plus something of its own, as a real tool's are.
    figures: dict[int, dict[str, Figures]] = {}
    own_figures: dict[int, dict[str, Figures]] = {}
    respondents_figure: dict[int, int] = {}
    largest_totals: dict[int, int] = {}
    units: dict[int, UnitRow] = {}
    for index in reversed(range(unit_count)):
        below: dict[str, Figures] = {}
        for child in children[index]:
            for code, (counts, n, dont_know) in figures[child].items():
                if code in below:
                    sum_counts, sum_n, sum_dont_know = below[code]
                    if counts is not None and sum_counts is not None:
                        counts = tuple(a + b for a, b in zip(counts, sum_counts, strict=True))
                    below[code] = (counts, n + sum_n, dont_know + sum_dont_know)
                else:
                    below[code] = (counts, n, dont_know)
        own: dict[str, Figures] = {}
        if has_rows[index]:
            for question in questions:
                k = len(question.scale)
                base_counts, base_n, base_dont_know = below.get(question.code, ((0,) * k, 0, 0))
                extra = draw(st.lists(st.integers(0, 6), min_size=k, max_size=k))
                counts = tuple(a + b for a, b in zip(base_counts or (0,) * k, extra, strict=True))
                dont_know = base_dont_know + draw(st.integers(0, 2))
                if question.code in without_distribution:
                    own[question.code] = (None, base_n + sum(extra), dont_know)
                else:
                    own[question.code] = (counts, sum(counts), dont_know)
        own_figures[index] = own
        figures[index] = {**below, **own}
        from_children = sum(respondents_figure[child] for child in children[index])
        largest_total = max((n + dk for _, n, dk in own.values()), default=0)
        largest_totals[index] = largest_total
        respondents: int | None = None
        if (children[index] and has_rows[index]) or draw(st.booleans()):
            respondents = max(largest_total, from_children) + draw(st.integers(0, 3))
        respondents_figure[index] = (
            respondents
            if respondents is not None
            else largest_total
            if has_rows[index]
            else from_children
        )
        invited = draw(
            st.one_of(
                st.none(),
                st.integers(0, 3).map(lambda extra, index=index: respondents_figure[index] + extra),
            )
        )
        units[index] = UnitRow(
            code=codes_[index],
            name=draw(st.one_of(st.just(codes_[index]), LABEL)),
            parent_code=None if parents[index] is None else codes_[parents[index]],
            unit_type=draw(st.sampled_from(["", "afdeling", "team"])),
            invited=invited,
            respondents=respondents
            if respondents is not None or not has_rows[index]
            else largest_total,
            previous_codes=tuple(
                draw(st.lists(st.sampled_from(["OLD-1", "OLD-2"]), unique=True, max_size=2))
            ),
            has_own_rows=has_rows[index],
        )

    width = max(len(q.scale) for q in questions)
    columns = [*HEADER, *(f"n_{option}" for option in range(1, width + 1)), "n_dont_know"]
    if without_distribution:
        columns += ["n", "mean"]
    means: dict[tuple[int, str], float | None] = {}
    rows: list[tuple[int, str | None, list[object]]] = []
    for index, unit in units.items():
        explicit_respondents = unit.respondents
        if unit.has_own_rows and unit.respondents == largest_totals[index]:
            # the default, the largest answer total, gives the same: leave it out or not
            explicit_respondents = draw(st.sampled_from([unit.respondents, None]))
        unit_cells: list[object] = [
            unit.code,
            draw(st.sampled_from([unit.name, unit.name if unit.name != unit.code else None])),
            unit.parent_code,
            unit.unit_type or None,
            unit.invited,
            explicit_respondents,
            "|".join(unit.previous_codes) or None,
        ]
        if not unit.has_own_rows or draw(st.booleans()):
            rows.append((index, None, [*unit_cells, *[None] * (len(columns) - 7)]))
        for question in questions if unit.has_own_rows else ():
            counts, n, dont_know = own_figures[index][question.code]
            answers: list[object] = [None] * (width + 1)
            if counts is not None:
                answers[: len(counts)] = counts
            answers[width] = dont_know or draw(st.sampled_from([0, None]))
            extra: list[object] = []
            if without_distribution:
                mean = None
                if counts is None and n:
                    mean = draw(st.integers(100, len(question.scale) * 100)) / 100
                means[(index, question.code)] = mean
                extra = [n, mean] if counts is None else [None, None]
            question_cells: list[object] = [
                question.code,
                question.text,
                question.theme or None,
                "|".join(question.scale),
                question.direction
                if question.direction == "lower_better"
                else draw(st.sampled_from(["higher_better", "Higher_Better", None])),
                draw(st.sampled_from(YES if question.zero_tolerance else NO)) or None,
            ]
            rows.append((index, question.code, [*unit_cells, *question_cells, *answers, *extra]))
    rows = draw(st.permutations(rows))

    expected_units: dict[str, UnitRow] = {}
    expected_questions: dict[str, QuestionSpec] = {}
    expected_results: list[ResultRow] = []
    by_code = {question.code: question for question in questions}
    for index, code, _ in rows:
        expected_units.setdefault(units[index].code, units[index])
        if code is None:
            continue
        expected_questions.setdefault(code, by_code[code])
        counts, n, dont_know = own_figures[index][code]
        mean = (
            means[(index, code)]
            if counts is None
            else sum(option * count for option, count in enumerate(counts, 1)) / n
            if n
            else None
        )
        expected_results.append(ResultRow(units[index].code, code, counts, n, mean, dont_know))
    return ResultSet(
        columns,
        [cells for _, _, cells in rows],
        list(expected_units.values()),
        list(expected_questions.values()),
        expected_results,
    )


def as_csv(
    result_set: ResultSet, separator: str, bom: bool, *, whole: Callable[[int], str] = str
) -> bytes:
    """The result set as CSV, whole numbers written by `whole`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator)
    writer.writerow(result_set.columns)
    writer.writerows(
        [
            ["" if cell is None else whole(cell) if type(cell) is int else cell for cell in row]
            for row in result_set.rows
        ]
    )
    return buffer.getvalue().encode("utf-8-sig" if bom else "utf-8")


def as_xlsx(result_set: ResultSet) -> bytes:
    return xlsx_bytes([result_set.columns, *result_set.rows])


HYPOTHESIS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@HYPOTHESIS
@given(result_sets())
def test_any_valid_result_set_parses_the_same_from_csv_and_xlsx(result_set: ResultSet) -> None:
    files = {
        f"csv {separator!r}{' bom' if bom else ''}": as_csv(result_set, separator, bom)
        for separator in ";,"
        for bom in (False, True)
    }
    # As some tools write them ("3.0"), and with spaces, which only the slow path accepts.
    files["csv with 3.0"] = as_csv(result_set, ";", False, whole=lambda number: f"{number}.0")
    files["csv with spaces"] = as_csv(result_set, ";", False, whole=lambda number: f" {number} ")
    files["xlsx"] = as_xlsx(result_set)
    for name, data in files.items():
        result = parse_bytes(data)
        assert result.ok, (name, result.errors)
        assert result.units == result_set.units, name
        assert result.questions == result_set.questions, name
        assert result.results == result_set.results, name
        assert result.rows == len(result_set.rows), name
        assert result.warnings == [], name


CORRUPTIONS = [
    "negative",
    "fraction",
    "text",
    "duplicate",
    "drop_unit_id",
    "drop_question_id",
    "one_option",
    "unknown_parent",
    "cycle",
    "count_beyond_scale",
    "no_unit_id",
    "zero_tolerance",
    "too_many_cells",
    "respondents_below_answers",
]


@HYPOTHESIS
@given(result_sets(), st.sampled_from(CORRUPTIONS), st.data())
def test_any_single_corruption_of_a_valid_file_is_reported(
    result_set: ResultSet, corruption: str, data: st.DataObject
) -> None:
    columns = list(result_set.columns)
    rows = [["" if cell is None else str(cell) for cell in row] for row in result_set.rows]
    where = {name: position for position, name in enumerate(columns)}
    question_rows = [row for row in rows if row[where["question_id"]]]
    with_counts = [row for row in question_rows if row[where["n_1"]]]
    if corruption in ("negative", "fraction", "text"):
        if not with_counts:
            corruption = "duplicate"
        else:
            row = data.draw(st.sampled_from(with_counts))
            column = where["n_1"] + data.draw(st.integers(0, 1))
            row[column] = {
                "negative": f"-{int(row[column]) + 1}",
                "fraction": f"{row[column]}.5",
                "text": "mange",
            }[corruption]
    if corruption == "duplicate":
        rows.insert(data.draw(st.integers(0, len(rows))), list(data.draw(st.sampled_from(rows))))
    elif corruption in ("drop_unit_id", "drop_question_id"):
        drop = where[corruption.removeprefix("drop_")]
        columns.pop(drop)
        for row in rows:
            row.pop(drop)
    elif corruption in ("one_option", "zero_tolerance"):
        row = data.draw(st.sampled_from(question_rows))
        if corruption == "one_option":
            row[where["scale"]] = "Kun én"
        else:
            row[where["zero_tolerance"]] = "måske"
    elif corruption == "count_beyond_scale":
        row = data.draw(st.sampled_from(question_rows))
        k = row[where["scale"]].count("|") + 1
        if where["n_1"] + k < where["n_dont_know"]:
            row[where["n_1"] + k] = "1"  # n_(k+1)
        else:  # the question fills every count column: break "don't know" instead
            row[where["n_dont_know"]] = "-1"
    elif corruption in ("unknown_parent", "cycle"):
        unit = data.draw(st.sampled_from(result_set.units[1:] or result_set.units))
        root = next(u.code for u in result_set.units if u.parent_code is None)
        descendant = next((u.code for u in result_set.units if u.parent_code == root), None)
        for row in rows:
            if corruption == "unknown_parent" and row[where["unit_id"]] == unit.code:
                row[where["parent_id"]] = "NOWHERE"
            elif corruption == "cycle" and row[where["unit_id"]] == root:
                row[where["parent_id"]] = descendant or root
    elif corruption == "no_unit_id":
        data.draw(st.sampled_from(rows))[where["unit_id"]] = ""
    elif corruption == "too_many_cells":
        data.draw(st.sampled_from(rows)).extend(["", "9"])
    elif corruption == "respondents_below_answers":
        row = data.draw(st.sampled_from(question_rows))
        unit_code = row[where["unit_id"]]
        answers = [int(cell) for cell in row[where["n_1"] : where["n_dont_know"] + 1] if cell]
        answers += [int(row[where["n"]])] if "n" in where and row[where["n"]] else []
        total = sum(answers)
        for other in rows:
            if other[where["unit_id"]] == unit_code:
                other[where["respondents"]] = str(total - 1) if total else "x"
    result = parse_bytes(as_csv(ResultSet(columns, rows, [], [], []), ";", False))  # type: ignore[arg-type]
    assert not result.ok, corruption
    assert result.errors and result.results == [] and result.units == []
