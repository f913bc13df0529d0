"""The mapping import's pieces: percentages back to counts, layout recognition, refusing
respondent-level and over-large files, the mapping's saved form, reference figures."""

from __future__ import annotations

import csv
import io
import zipfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import file_limits
from app.domain.importing import parse_results
from app.domain.importing_read import UnreadableFile
from app.domain.mapping import (
    Mapping,
    MappingError,
    QuestionColumns,
    RespondentLevelFile,
    convert,
    convert_references,
    counts_from_percentages,
    is_native,
    percentage,
    read_sample,
    signature,
    suggest,
    suggest_references,
)
from app.domain.references import parse_references
from tests.mapping_files import danish


def write_csv(path: Path, rows: list[list[object]], separator: str = ";") -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=separator).writerows(rows)
    return path


def converted(path: Path, mapping: Mapping) -> tuple[list[Any], str]:
    out = io.StringIO()
    problems = convert(path, mapping, out)
    return problems, out.getvalue()


# --- percentages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "decimals"),
    [
        ("87,5 %", Fraction(175, 2), 1),
        ("87.5", Fraction(175, 2), 1),
        ("88 %", Fraction(88), 0),
        ("100,0%", Fraction(100), 1),
        ("33,33 %", Fraction(3333, 100), 2),
        ("0", Fraction(0), 0),
    ],
)
def test_printed_percentages(text: str, value: Fraction, decimals: int) -> None:
    assert percentage(text) == (value, decimals)


@pytest.mark.parametrize("text", ["101 %", "-1", "abc", "12,3,4"])
def test_not_percentages(text: str) -> None:
    assert percentage(text) is None


def printed(numbers: list[int], n: int, decimals: int) -> list[tuple[Fraction, int]]:
    texts = [f"{danish(100 * number / n, decimals)} %" for number in numbers]
    values = [percentage(text) for text in texts]
    assert all(value is not None for value in values)
    return values  # type: ignore[return-value]


@st.composite
def whole_counts(draw: st.DrawFn) -> tuple[list[int], int]:
    """Counts over 2..11 options, and the decimals their percentages are printed with; the
    total is at most 100 (0 decimals) or 1,000 (1 decimal), where the printed percentages
    tell the counts for certain."""
    decimals = draw(st.sampled_from([0, 1]))
    k = draw(st.integers(2, 11))
    n = draw(st.integers(1, 100 if decimals == 0 else 1000))
    cuts = sorted(draw(st.lists(st.integers(0, n), min_size=k - 1, max_size=k - 1)))
    numbers = [high - low for low, high in zip([0, *cuts], [*cuts, n], strict=True)]
    return numbers, decimals


@settings(max_examples=300, deadline=None)
@given(whole_counts())
def test_any_whole_counts_come_back_from_their_printed_percentages(
    case: tuple[list[int], int],
) -> None:
    numbers, decimals = case
    n = sum(numbers)
    assert counts_from_percentages(printed(numbers, n, decimals), n) == numbers


@settings(max_examples=300, deadline=None)
@given(whole_counts(), st.data())
def test_a_perturbed_percentage_is_refused(
    case: tuple[list[int], int], data: st.DataObject
) -> None:
    numbers, decimals = case
    n = sum(numbers)
    shown = printed(numbers, n, decimals)
    index = data.draw(st.integers(0, len(numbers) - 1))
    value, places = shown[index]
    step = Fraction(2, 10**places)  # two printed units: never the same count's rounding
    shown[index] = (value + step if value + step <= 100 else value - step, places)
    assert isinstance(counts_from_percentages(shown, n), str)


def test_percentages_that_do_not_add_up_are_refused() -> None:
    assert counts_from_percentages(printed([1, 1], 2, 0), 3) == "percent_not_counts"


def test_too_few_decimals_for_many_answers_are_ambiguous() -> None:
    # 600 answers at whole per cents: 33 % is anything from 195 to 201 answers.
    shown = [(Fraction(33), 0), (Fraction(33), 0), (Fraction(34), 0)]
    assert counts_from_percentages(shown, 600) == "percent_ambiguous"
    # Two decimals pin them down.
    assert counts_from_percentages(printed([198, 198, 204], 600, 2), 600) == [198, 198, 204]


def test_no_answers_means_every_percentage_is_zero() -> None:
    assert counts_from_percentages([(Fraction(0), 0), (Fraction(0), 0)], 0) == [0, 0]
    assert counts_from_percentages([(Fraction(50), 0), (Fraction(50), 0)], 0) == (
        "percent_not_counts"
    )


# --- converting percentages row by row ---------------------------------------------------------

WIDE_PERCENT = [
    ["Afdeling", "Antal besvarelser", "PT-1 Uenig", "PT-1 Hverken eller", "PT-1 Enig"],
    ["A-1", "8", "12,5 %", "37,5 %", "50,0 %"],
    ["A-2", "3", "33,3 %", "33,3 %", "33,4 %"],  # 33.4 % cannot be 1 of 3
    ["A-3", "7", "14,3 %", "28,6 %", "57,1 %"],
]


def test_a_percentage_row_that_cannot_be_counts_is_refused_by_row(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "wide.csv", WIDE_PERCENT)
    sample = read_sample(source)
    assert (sample.layout, sample.values) == ("wide", "percent")
    mapping = suggest(sample)
    assert mapping.columns == {"unit_id": "Afdeling", "respondents": "Antal besvarelser"}
    problems, text = converted(source, mapping)
    assert [(p.row, p.column, p.code) for p in problems] == [
        (3, "pt-1 uenig", "percent_not_counts")
    ]
    assert problems[0].value == "33,3 %; 33,3 %; 33,4 %"
    assert "3 besvarelser" in problems[0].message_da and "3 answers" in problems[0].message_en
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == ["unit_id", "respondents", "question_id", "n_1", "n_2", "n_3"]
    assert rows[1:] == [["A-1", "8", "PT-1", "1", "3", "4"], ["A-3", "7", "PT-1", "1", "2", "4"]]


def test_percentages_need_a_number_of_answers() -> None:
    mapping = Mapping(
        "wide", "percent", {"unit_id": "Afdeling"}, [QuestionColumns("Q", ["a", "b"])]
    )
    with pytest.raises(MappingError) as refused:
        convert(Path("/nonexistent"), mapping, io.StringIO())
    assert "number of answers" in str(refused.value)
    assert "antallet af besvarelser" in refused.value.message_da


def test_counts_that_are_not_whole_numbers_are_named(tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "long.csv",
        [
            ["Enhed", "Spørgsmål", "Helt uenig", "Uenig", "Hverken enig eller uenig", "Enig",
             "Helt enig"],
            ["T-1", "PT-1", "1", "2", "3", "4", "5"],
            ["T-1", "PT-2", "1", "2,5", "3", "4", "5"],
            ["T-2", "PT-1", "1", "", "3", "4", "5"],
            ["T-2", "PT-2", "1.234", "2", "3", "4", ""],
        ],
    )  # fmt: skip
    problems, text = converted(source, suggest(read_sample(source)))
    assert [(p.row, p.column, p.value, p.code) for p in problems] == [
        (3, "uenig", "2,5", "mapping_not_count"),
        (4, "uenig", "", "mapping_gap"),
    ]
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[-1] == ["T-2", "PT-2", "1234", "2", "3", "4", ""]  # Danish thousands


def test_xlsx_percent_cells_are_read_as_printed(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Resultater"
    sheet.append(["Enhed", "Antal besvarelser", "Q-1 Nej", "Q-1 Ja"])
    sheet.append(["E-1", 7, 6 / 7, 1 / 7])
    for cell in sheet[2][2:]:
        cell.number_format = "0.0%"
    source = tmp_path / "percent.xlsx"
    workbook.save(source)
    sample = read_sample(source)
    assert sample.sheets[0].rows[0][2:] == ["85.7 %", "14.3 %"]
    assert sample.values == "percent"
    problems, text = converted(source, suggest(sample))
    assert problems == []
    assert text.splitlines()[1] == "E-1;7;Q-1;6;1"


# --- recognising layouts ---------------------------------------------------------------------


def test_english_long_file_with_percentages_per_question(tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "en.csv",
        [
            ["Department", "Department name", "Question", "Question text", "Responses",
             "Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree",
             "Strongly agree"],
            ["D1", "Finance", "Q1", "I like my job", "4", "0%", "25%", "25%", "50%", "0%"],
            ["D1", "Finance", "Q2", "I feel safe", "3", "0%", "0%", "33%", "33%", "33%"],
        ],
        separator=",",
    )  # fmt: skip
    sample = read_sample(source)
    assert (sample.layout, sample.values) == ("long", "percent")
    mapping = suggest(sample)
    assert mapping.columns["unit_id"] == "Department"
    assert mapping.columns["unit_name"] == "Department name"
    assert mapping.columns["question_id"] == "Question"
    assert mapping.columns["question_text"] == "Question text"
    assert mapping.columns["count"] == "Responses"  # it changes within the unit: per question
    assert [q.options for q in mapping.questions] == [
        ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"]
    ]
    problems, text = converted(source, mapping)
    assert problems == []
    assert text.splitlines()[1:] == [
        "D1;Finance;Q1;I like my job;0;1;1;2;0",
        "D1;Finance;Q2;I feel safe;0;0;1;1;1",
    ]


def test_native_file_is_recognised(tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "native.csv",
        [["unit_id", "question_id", "n_1", "n_2"], ["A", "Q", "1", "2"]],
    )
    sample = read_sample(source)
    assert sample.layout == "native" and is_native(sample)


def test_signature_follows_the_header_not_the_figures(tmp_path: Path) -> None:
    first = write_csv(tmp_path / "a.csv", WIDE_PERCENT)
    other_figures = write_csv(
        tmp_path / "b.csv", [WIDE_PERCENT[0], ["Z-9", "4", "25 %", "25 %", "50 %"]]
    )
    other_header = write_csv(
        tmp_path / "c.csv", [[*WIDE_PERCENT[0], "PT-2 Enig"], [*WIDE_PERCENT[1], "1"]]
    )
    signatures = [signature(read_sample(path)) for path in (first, other_figures, other_header)]
    assert len(signatures[0]) == 64 and int(signatures[0], 16) >= 0
    assert signatures[0] == signatures[1] != signatures[2]


def test_unreadable_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(UnreadableFile) as refused:
        read_sample(empty)
    assert refused.value.problem.code == "empty_file"
    binary = tmp_path / "x.pdf"
    binary.write_bytes(b"%PDF-1.4\x00\x01\x02" * 100)
    with pytest.raises(UnreadableFile) as refused:
        read_sample(binary)
    assert refused.value.problem.code == "not_csv_or_xlsx"


# --- respondent-level files -----------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        ["Respondent ID", "Afdeling", "Spm 1", "Spm 2"],
        ["Afdeling", "E-mail", "Q1", "Q2"],
        ["CPR-nr.", "Klasse", "Q1"],
        ["Elev-id", "Klasse", "GYM-01"],
        ["Navn", "Afdeling", "PT-1"],
        ["Medarbejdernr.", "Afdeling", "PT-1"],
        ["Svar-ID", "Enhed", "PT-1"],
    ],
)
def test_a_header_naming_a_person_is_refused(tmp_path: Path, header: list[str]) -> None:
    source = write_csv(tmp_path / "people.csv", [header, ["1"] * len(header)])
    with pytest.raises(RespondentLevelFile) as refused:
        read_sample(source)
    assert "aggregate" in refused.value.reason_en and "frequency table" in refused.value.reason_en
    assert "enkeltpersoners svar" in refused.value.reason_da.lower()
    assert "frekvenstabellen" in refused.value.reason_da


def test_a_wide_file_of_single_answers_is_refused(tmp_path: Path) -> None:
    rows: list[list[object]] = [["Afdeling", "PT-1 svar", "PT-2 svar", "KA-1 svar"]]
    rows += [[f"A-{i % 3}", 1 + i % 5, 1 + (i * 7) % 5, "Nej"] for i in range(30)]
    source = write_csv(tmp_path / "answers.csv", rows)
    with pytest.raises(RespondentLevelFile) as refused:
        read_sample(source)
    assert "one person's answers" in refused.value.reason_en


def test_a_long_file_of_single_answers_is_refused(tmp_path: Path) -> None:
    rows: list[list[object]] = [["Enhed", "Spørgsmål", "Svar"]]
    rows += [["T-1", f"PT-{i % 4 + 1}", "Enig"] for i in range(12)]
    with pytest.raises(RespondentLevelFile):
        read_sample(write_csv(tmp_path / "answers.csv", rows))


def test_an_aggregate_wide_file_is_not_mistaken_for_answers(tmp_path: Path) -> None:
    rows: list[list[object]] = [["Afdeling", "PT-1 Uenig", "PT-1 Enig"]]
    rows += [[f"A-{i}", 1 + i % 5, 2] for i in range(30)]  # each unit once
    assert read_sample(write_csv(tmp_path / "agg.csv", rows)).layout == "wide"


# --- limits ---------------------------------------------------------------------------------


def test_a_header_with_too_many_columns_is_refused_from_its_first_line(tmp_path: Path) -> None:
    source = tmp_path / "wide.csv"
    source.write_text(";".join(f"c{i}" for i in range(6000)) + "\n" + "1;" * 5999 + "1\n")
    with pytest.raises(UnreadableFile) as refused:
        read_sample(source)
    assert refused.value.problem.code == "too_many_columns"
    assert "6000" in refused.value.problem.message_en


def test_a_million_columns_are_refused_without_reading_the_line(tmp_path: Path) -> None:
    source = tmp_path / "million.csv"
    source.write_bytes(b",".join([b"x"] * 1_000_000) + b"\n")
    with pytest.raises(UnreadableFile) as refused:
        read_sample(source)
    assert refused.value.problem.code == "too_many_columns"
    assert "over 5000 columns" in refused.value.problem.message_en
    assert "over 5000 kolonner" in refused.value.problem.message_da
    one_huge_cell = tmp_path / "cell.csv"
    one_huge_cell.write_bytes(b"Enhed;" + b"x" * 1_000_000 + b"\n")
    with pytest.raises(UnreadableFile) as refused:
        read_sample(one_huge_cell)
    assert refused.value.problem.code == "cell_too_long"


def test_a_cell_too_long_is_refused(tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "long-cell.csv", [["Enhed", "x" * 1001, "PT-1 Enig"], ["A", "1", "2"]]
    )
    with pytest.raises(UnreadableFile) as refused:
        read_sample(source)
    assert refused.value.problem.code == "cell_too_long"


def test_an_xlsx_that_unpacks_too_large_is_refused_before_opening(tmp_path: Path) -> None:
    source = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(source, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(file_limits.MAX_XLSX_UNCOMPRESSED // len(chunk) + 1):
                member.write(chunk)
    assert source.stat().st_size < 1_000_000
    with pytest.raises(UnreadableFile) as refused:
        read_sample(source)
    assert refused.value.problem.code == "xlsx_too_large"
    assert "200 MB" in refused.value.problem.message_en


# --- the saved mapping ------------------------------------------------------------------------

texts = st.text(min_size=1, max_size=30)
question_columns = st.builds(
    QuestionColumns,
    question_id=st.text(max_size=20),
    options=st.lists(texts, max_size=11, unique=True),
    dont_know=st.none() | texts,
    count=st.none() | texts,
    column=st.none() | texts,
)
mappings = st.builds(
    Mapping,
    layout=st.sampled_from(["long", "wide", "sheets"]),
    values=st.sampled_from(["counts", "percent"]),
    columns=st.dictionaries(st.sampled_from(["unit_id", "question_id", "option", "count"]), texts),
    questions=st.lists(question_columns, max_size=5),
    sheet_unit=texts,
    constants=st.dictionaries(st.sampled_from(["year", "level"]), texts),
    cells=st.dictionaries(st.sampled_from(["respondents", "invited", "unit_name"]), texts),
    sheet=st.text(max_size=30),
)


@given(mappings)
def test_mapping_survives_its_saved_form(mapping: Mapping) -> None:
    import json

    saved = json.loads(json.dumps(mapping.to_dict()))
    assert Mapping.from_dict(saved) == mapping


GOOD: dict[str, Any] = {
    "layout": "wide",
    "values": "counts",
    "columns": {"unit_id": "Enhed"},
    "questions": [{"question_id": "PT-1", "options": ["a", "b"]}],
}


@pytest.mark.parametrize(
    "change",
    [
        {"layout": "diagonal"},
        {"values": "fractions"},
        {"columns": {"favourite": "Enhed"}},
        {"columns": {"unit_id": 3}},
        {"columns": {"unit_id": ""}},
        {"columns": ["unit_id"]},
        {"questions": "PT-1"},
        {"questions": [{"question_id": "PT-1", "options": "a|b"}]},
        {"questions": [{"question_id": "PT-1", "options": [f"o{i}" for i in range(12)]}]},
        {"questions": [{"question_id": "PT-1", "options": ["a", "a"]}]},
        {"questions": [{"question_id": "PT-1", "options": ["a"], "weight": 2}]},
        {"questions": [{"question_id": "x" * 201, "options": ["a"]}]},
        {"questions": [{"question_id": "PT-1", "options": ["a"]}] * 2001},
        {"sheet_unit": ""},
        {"cells": {"question_id": "B2"}},
        {"extra": True},
        {"version": 2},
    ],
)
def test_malformed_mappings_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(MappingError) as refused:
        Mapping.from_dict({**GOOD, **change})
    assert str(refused.value).startswith("The mapping is malformed")
    assert refused.value.message_da.startswith("Kortlægningen er ugyldig")


@pytest.mark.parametrize("data", [None, [], "wide", 3])
def test_a_mapping_that_is_not_an_object_is_refused(data: Any) -> None:
    with pytest.raises(MappingError):
        Mapping.from_dict(data)


def test_a_mapping_naming_a_column_the_file_lacks(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "wide.csv", WIDE_PERCENT)
    mapping = Mapping.from_dict({**GOOD, "columns": {"unit_id": "Afdeling"}})
    with pytest.raises(MappingError) as refused:
        convert(source, mapping, io.StringIO())
    assert '"a"' in str(refused.value)


# --- reference figures ------------------------------------------------------------------------


def test_ministry_key_figures_through_a_mapping(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Trivsel 2025"
    sheet.append(["Elevtrivsel på de gymnasiale uddannelser, landsplan, 2025"])
    sheet.append([])
    sheet.append(["Indikator", "Indikatorgennemsnit", "Andel i høj trivsel", "Antal besvarelser"])
    sheet.append(["Social trivsel", "4,1", "87,5 %", "2.351"])
    sheet.append(["Faglig individuel trivsel", "3,8", "", "2.351"])  # share suppressed
    sheet.append(["Mobning", "-", "-", "-"])  # all suppressed
    source = tmp_path / "ministry.xlsx"
    workbook.save(source)
    sample = read_sample(source)
    mapping = suggest_references(sample)
    assert mapping.columns == {
        "indicator": "Indikator",
        "average": "Indikatorgennemsnit",
        "share": "Andel i høj trivsel",
        "count": "Antal besvarelser",
    }
    assert mapping.constants == {"year": "2025", "level": "Landsplan"}
    out = io.StringIO()
    assert convert_references(source, mapping, out) == []
    rows = list(csv.reader(io.StringIO(out.getvalue()), delimiter=";"))
    parsed = parse_references(
        rows, indicators=["Social trivsel", "Faglig individuel trivsel", "Mobning"], questions={}
    )
    assert parsed.ok, parsed.problems
    assert [(r.year, r.source, r.indicator, r.average, r.share, r.count) for r in parsed.rows] == [
        (2025, "national", "Social trivsel", 4.1, 87.5, 2351),
        (2025, "national", "Faglig individuel trivsel", 3.8, None, 2351),
    ]
    assert parsed.suppressed_rows == 1


def test_reference_mapping_needs_a_year_and_level(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "ref.csv", [["Indikator", "Gennemsnit"], ["Social trivsel", "4"]])
    mapping = suggest_references(read_sample(source))
    with pytest.raises(MappingError) as refused:
        convert_references(source, mapping, io.StringIO())
    assert "year" in str(refused.value)
    mapping.constants = {"year": "2024", "level": "stx"}
    out = io.StringIO()
    assert convert_references(source, mapping, out) == []
    assert out.getvalue().splitlines()[1] == "2024;stx;Social trivsel;;4;;"


def test_converted_results_go_through_the_native_validation(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "wide.csv", WIDE_PERCENT[:2])
    _, text = converted(source, suggest(read_sample(source)))
    result = parse_results(io.BytesIO(("\ufeff" + text).encode("utf-8")))
    # The file defines no scale and no questionnaire was chosen: the native checks speak.
    assert not result.ok and {p.code for p in result.errors} == {"missing_column"}


def test_each_converted_row_knows_where_it_came_from(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "wide.csv", WIDE_PERCENT)
    origins: list[tuple[str, int]] = []
    out = io.StringIO()
    convert(source, suggest(read_sample(source)), out, source_rows=origins)
    assert len(out.getvalue().splitlines()) == 1 + len(origins)
    assert origins == [("", 2), ("", 4)]  # row 3 was refused


def test_a_cell_too_long_while_converting_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "long-cell.csv",
        [["Enhed", "PT-1 Enig", "PT-1 Uenig"], ["A", "1", "2"], ["B", "x" * 200_000, "1"]],
    )
    with pytest.raises(UnreadableFile):
        read_sample(source)  # the sample sees it already
    mapping = Mapping("wide", "counts", {"unit_id": "Enhed"}, [
        QuestionColumns("PT-1", ["PT-1 Enig", "PT-1 Uenig"])
    ])  # fmt: skip
    problems, _ = converted(source, mapping)
    assert [p.code for p in problems] == ["cell_too_long"]


def test_a_unit_repeating_in_a_wide_file_beyond_the_sample_is_refused(tmp_path: Path) -> None:
    rows: list[list[object]] = [["Afdeling", "PT-1 Uenig", "PT-1 Enig"]]
    rows += [[f"A-{i}", 3, 4] for i in range(40)] + [["A-3", 1, 0]]
    source = write_csv(tmp_path / "wide.csv", rows)
    problems, _ = converted(source, suggest(read_sample(source)))
    assert [(p.row, p.code, p.value) for p in problems] == [(42, "mapping_unit_repeated", "A-3")]
    assert "individual answers" in problems[0].message_en and "række 5" in problems[0].message_da


def test_a_workbook_with_a_cover_sheet_names_the_sheet_with_the_table(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    cover = workbook.active
    cover.title = "Forside"
    cover.append(["APV 2026 – resultater pr. afdeling"])
    data = workbook.create_sheet("Data")
    data.append(["Rapport dannet 3. marts 2026"])
    data.append([])
    data.append(["Afdeling", "Inviterede", "Antal besvarelser", "KA-1 Nej", "KA-1 Ja"])
    data.append(["AK-BF", 1234, "1.200", 1150, 50])
    source = tmp_path / "apv.xlsx"
    workbook.save(source)
    sample = read_sample(source)
    assert sample.layout == "wide"
    mapping = suggest(sample)
    assert mapping.sheet == "Data"
    problems, text = converted(source, mapping)
    assert problems == []
    assert text.splitlines() == [
        "unit_id;invited;respondents;question_id;n_1;n_2",
        "AK-BF;1234;1200;KA-1;1150;50",
    ]


def test_a_csv_report_with_title_lines_above_its_table(tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "report.csv",
        [
            ["Frekvenstabel: Trivselsmåling 2025", "", ""],
            ["", "", ""],
            ["Enhed", "Spørgsmål", "Nej", "Ja, en enkelt gang", "Ja, flere gange"],
            ["T-1", "KA-1", "9", "1", "0"],
        ],
    )
    sample = read_sample(source)
    assert (sample.layout, sample.sheets[0].header_row) == ("long", 3)
    assert sample.sheets[0].above[0][0] == "Frekvenstabel: Trivselsmåling 2025"
    problems, text = converted(source, suggest(sample))
    assert problems == [] and text.splitlines()[1] == "T-1;KA-1;9;1;0"


def test_reference_levels_side_by_side(tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "levels.csv",
        [
            ["Indikatorgennemsnit, skoleåret 2024/25", "", "", ""],
            ["Indikator", "Landsplan", "stx", "Aarhus Kommune"],
            ["Social trivsel", "4,1", "4,2", "-"],
            ["Mobning", "1,2", "*", "1,3"],
        ],
    )
    sample = read_sample(source)
    mapping = suggest_references(sample)
    assert mapping.layout == "wide"
    assert [level.column for level in mapping.questions] == ["Landsplan", "stx", "Aarhus Kommune"]
    assert mapping.constants == {"year": "2024", "figure": "average"}
    out = io.StringIO()
    assert convert_references(source, mapping, out) == []
    rows = list(csv.reader(io.StringIO(out.getvalue()), delimiter=";"))
    parsed = parse_references(rows, indicators=["Social trivsel", "Mobning"], questions={})
    assert parsed.ok, parsed.problems
    assert sorted((r.source, r.label, r.indicator, r.average) for r in parsed.rows) == [
        ("municipality", "Aarhus Kommune", "Mobning", 1.3),
        ("national", "Landsplan", "Mobning", 1.2),
        ("national", "Landsplan", "Social trivsel", 4.1),
        ("sector", "stx", "Social trivsel", 4.2),
    ]
    assert parsed.suppressed_rows == 2  # "-" and "*": left out, never 0
