"""Round trips: the generator's native file, turned into a survey tool's layout, converted back
through the mapping, gives the same units, questions and counts as the native file."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.importing import ImportResult, KnownUnit, parse_results
from app.domain.mapping import (
    Mapping,
    convert,
    is_native,
    read_sample,
    signature,
    suggest,
)
from tests import mapping_files


@pytest.fixture(scope="module")
def natives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("native")
    return {kind: mapping_files.generate(kind, folder / f"{kind}.csv") for kind in ("gym", "apv")}


def _parse(path: Path, template: ImportResult | None = None, **kwargs: object) -> ImportResult:
    with path.open("rb") as handle:
        return parse_results(
            handle, template=None if template is None else template.questions, **kwargs
        )  # type: ignore[arg-type]


def _converted(path: Path, mapping: Mapping, tmp_path: Path) -> Path:
    out = io.StringIO()
    problems = convert(path, mapping, out)
    assert problems == []
    target = tmp_path / "converted.csv"
    target.write_text(out.getvalue(), encoding="utf-8")
    return target


def _results(result: ImportResult) -> dict[tuple[str, str], tuple[tuple[int, ...] | None, int]]:
    return {
        (row.unit_code, row.question_code): (row.counts, row.dont_know) for row in result.results
    }


def _units(result: ImportResult, fields: tuple[str, ...]) -> dict[str, tuple[object, ...]]:
    return {unit.code: tuple(getattr(unit, name) for name in fields) for unit in result.units}


ALL_UNIT_FIELDS = ("name", "parent_code", "invited", "respondents")


def _assert_same(
    native: ImportResult,
    converted: ImportResult,
    unit_fields: tuple[str, ...] = ALL_UNIT_FIELDS,
    *,
    leaves_only: bool = False,
) -> None:
    assert converted.ok, converted.errors[:5]
    assert _results(converted) == _results(native)
    expected = _units(native, unit_fields)
    if leaves_only:
        answered = {row.unit_code for row in native.results}
        expected = {code: values for code, values in expected.items() if code in answered}
    assert _units(converted, unit_fields) == expected
    assert [q.code for q in converted.questions] == [q.code for q in native.questions]


@pytest.mark.parametrize("kind", ["gym", "apv"])
def test_native_file_needs_no_mapping(natives: dict[str, Path], kind: str) -> None:
    sample = read_sample(natives[kind])
    assert sample.layout == "native" and is_native(sample)


@pytest.mark.parametrize("kind", ["gym", "apv"])
@pytest.mark.parametrize(
    ("values", "decimals", "per_question"),
    [("counts", 0, False), ("percent", 1, False), ("percent", 0, True)],
)
def test_long_layout_round_trip(
    natives: dict[str, Path],
    tmp_path: Path,
    kind: str,
    values: str,
    decimals: int,
    per_question: bool,
) -> None:
    native_file = mapping_files.read_native(natives[kind])
    source = tmp_path / "long.csv"
    mapping_files.write_long(
        native_file, source, values=values, decimals=decimals, per_question_count=per_question
    )
    sample = read_sample(source)
    assert (sample.layout, sample.values) == ("long", values)
    mapping = suggest(sample)
    assert mapping.columns["unit_id"] == "Enhed"
    assert mapping.columns["question_id"] == "Spørgsmål"
    if per_question:
        assert mapping.columns["count"] == "Antal svar"
    native = _parse(natives[kind])
    converted = _parse(_converted(source, mapping, tmp_path), native)
    _assert_same(native, converted)


@pytest.mark.parametrize("kind", ["gym", "apv"])
@pytest.mark.parametrize(
    ("values", "option_names", "thousands"),
    [("counts", "labels", False), ("counts", "numbers", True), ("percent", "labels", False)],
)
def test_wide_layout_round_trip(
    natives: dict[str, Path],
    tmp_path: Path,
    kind: str,
    values: str,
    option_names: str,
    thousands: bool,
) -> None:
    native_file = mapping_files.read_native(natives[kind])
    source = tmp_path / "wide.csv"
    mapping_files.write_wide(
        native_file, source, values=values, option_names=option_names, thousands=thousands
    )
    sample = read_sample(source)
    assert (sample.layout, sample.values) == ("wide", values)
    mapping = suggest(sample)
    assert len(mapping.questions) == len(native_file.questions())
    native = _parse(natives[kind])
    converted = _parse(_converted(source, mapping, tmp_path), native)
    _assert_same(native, converted)


@pytest.mark.parametrize("kind", ["gym", "apv"])
def test_option_rows_round_trip(natives: dict[str, Path], tmp_path: Path, kind: str) -> None:
    native_file = mapping_files.read_native(natives[kind])
    source = tmp_path / "pivot.csv"
    mapping_files.write_option_rows(native_file, source)
    sample = read_sample(source)
    assert sample.layout == "long"
    mapping = suggest(sample)
    assert mapping.columns["option"] == "Svarmulighed"
    assert mapping.values == "counts"  # counts beside the percentages: the counts are read
    native = _parse(natives[kind])
    converted = _parse(_converted(source, mapping, tmp_path), native)
    _assert_same(native, converted, ("parent_code", "respondents"))


@pytest.mark.parametrize(
    ("kind", "values"), [("gym", "counts"), ("gym", "percent"), ("apv", "counts")]
)
def test_sheet_per_unit_round_trip(
    natives: dict[str, Path], tmp_path: Path, kind: str, values: str
) -> None:
    native_file = mapping_files.read_native(natives[kind])
    source = tmp_path / "sheets.xlsx"
    mapping_files.write_sheets(native_file, source, values=values, unit_in="cell")
    sample = read_sample(source)
    assert (sample.layout, sample.values) == ("sheets", values)
    mapping = suggest(sample)
    assert mapping.sheet_unit == "Enhed"
    assert mapping.cells["respondents"] == "Antal besvarelser"
    native = _parse(natives[kind])
    known = {u.code: KnownUnit(u.code, u.parent_code) for u in native.units}
    converted = _parse(_converted(source, mapping, tmp_path), native, known_units=known)
    _assert_same(native, converted, ("name", "invited", "respondents"), leaves_only=True)


@pytest.mark.parametrize("kind", ["gym"])
def test_option_sheets_round_trip(natives: dict[str, Path], tmp_path: Path, kind: str) -> None:
    native_file = mapping_files.read_native(natives[kind])
    source = tmp_path / "option-sheets.xlsx"
    mapping_files.write_option_sheets(native_file, source)
    sample = read_sample(source)
    assert sample.layout == "sheets"
    mapping = suggest(sample)
    assert mapping.sheet_unit == "Enhed:"
    native = _parse(natives[kind])
    known = {u.code: KnownUnit(u.code, u.parent_code) for u in native.units}
    converted = _parse(_converted(source, mapping, tmp_path), native, known_units=known)
    _assert_same(native, converted, ("respondents",), leaves_only=True)


def test_saved_mapping_reapplies_to_next_years_file(
    natives: dict[str, Path], tmp_path: Path
) -> None:
    """A mapping saved as a profile (its dict) finds next year's file by signature and
    converts it unchanged."""
    this_year = tmp_path / "2025.csv"
    mapping_files.write_wide(mapping_files.read_native(natives["gym"]), this_year)
    sample = read_sample(this_year)
    saved = suggest(sample).to_dict()
    next_native = mapping_files.generate("gym", tmp_path / "gym-2026.csv", year=2026, seed=2)
    next_year = tmp_path / "2026.csv"
    mapping_files.write_wide(mapping_files.read_native(next_native), next_year)
    next_sample = read_sample(next_year)
    if signature(next_sample) != signature(sample):
        pytest.skip("next year's questionnaire differs")  # the generator keeps it; safety
    mapping = Mapping.from_dict(saved)
    native = _parse(next_native)
    converted = _parse(_converted(next_year, mapping, tmp_path), native)
    _assert_same(native, converted)


@st.composite
def tables(draw: st.DrawFn) -> dict[str, dict[str, list[int]]]:
    """unit -> question -> counts over its k options (the same k for a question)."""
    questions = {f"Q-{i + 1}": draw(st.integers(2, 7)) for i in range(draw(st.integers(1, 3)))}
    units = [f"U-{i + 1:02d}" for i in range(draw(st.integers(1, 6)))]
    table: dict[str, dict[str, list[int]]] = {}
    for unit in units:
        n = draw(st.integers(1, 100))  # one number of answers per unit: every question
        table[unit] = {}
        for question, k in questions.items():
            cuts = sorted(draw(st.lists(st.integers(0, n), min_size=k - 1, max_size=k - 1)))
            table[unit][question] = [b - a for a, b in zip([0, *cuts], [*cuts, n], strict=True)]
    return table


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(table=tables(), layout=st.sampled_from(["wide", "long"]), decimals=st.sampled_from([0, 1]))
def test_any_table_of_counts_survives_printed_percentages(
    tmp_path: Path, table: dict[str, dict[str, list[int]]], layout: str, decimals: int
) -> None:
    """Whole counts, printed as a tool prints percentages with the unit's number of answers,
    in either layout, convert back to exactly those counts."""
    source = tmp_path / f"{layout}-{decimals}.csv"
    questions = next(iter(table.values()))
    k_max = max(len(counts) for counts in questions.values())
    rows: list[list[str]]
    if layout == "wide":
        header = ["Enhed", "Antal besvarelser"] + [
            f"{q}_{o}" for q, counts in questions.items() for o in range(1, len(counts) + 1)
        ]
        rows = [header]
        for unit, answers in table.items():
            n = sum(next(iter(answers.values())))
            line = [unit, str(n)]
            for counts in answers.values():
                line += mapping_files.percentages(counts, n, decimals)
            rows.append(line)
    else:
        header = ["Enhed", "Spørgsmål", "Antal besvarelser"]
        header += [f"Svar {o}" for o in range(1, k_max + 1)]
        rows = [header]
        for unit, answers in table.items():
            for question, counts in answers.items():
                n = sum(counts)
                shown = mapping_files.percentages(counts, n, decimals)
                rows.append([unit, question, str(n), *shown, *[""] * (k_max - len(counts))])
    with source.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=";").writerows(rows)
    sample = read_sample(source)
    assert (sample.layout, sample.values) == (layout, "percent")
    out = io.StringIO()
    assert convert(source, suggest(sample), out) == []
    found: dict[str, dict[str, list[int]]] = {}
    for row in csv.DictReader(io.StringIO(out.getvalue()), delimiter=";"):
        if row["question_id"]:
            counts = [row[f"n_{o}"] for o in range(1, k_max + 1) if row.get(f"n_{o}")]
            found.setdefault(row["unit_id"], {})[row["question_id"]] = [int(c) for c in counts]
    assert found == table
