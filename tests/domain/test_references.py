"""Reading the ministry's key figures: Danish numbers, suppressed cells left out (never 0),
every bad row named."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.references import (
    NotANumber,
    format_danish_number,
    level_of,
    parse_danish_number,
    parse_references,
)

THEMES = ["Faglig individuel trivsel", "Social trivsel", "Læringsmiljø", "Mobning"]
QUESTIONS = {"MO-01": "Er du blevet mobbet på skolen i dette skoleår?", "FT-01": "Jeg klarer mig"}
HEADER = ["År", "Niveau", "Indikator", "Gennemsnit", "Andel (%)", "Antal"]


def parse(*rows: list[str], header: list[str] = HEADER, year: int | None = None):  # type: ignore[no-untyped-def]
    return parse_references([header, *rows], indicators=THEMES, questions=QUESTIONS, year=year)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3,6", 3.6),
        ("2.351", 2351.0),
        ("100,0 %", 100.0),
        ("1.234,5", 1234.5),
        ("45,2%", 45.2),
        ("12\u00a0345", 12345.0),
        ("3.6", 3.6),  # a spreadsheet's own number
        ("4", 4.0),
    ],
)
def test_danish_numbers(text: str, value: float) -> None:
    assert parse_danish_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", " ", "-", "–", "*", "..", "x"])
def test_suppressed_cells_are_none_not_zero(text: str) -> None:
    assert parse_danish_number(text) is None


@pytest.mark.parametrize("text", ["abc", "3,6,1", "=1+2", "1.23.4,5", "3,", "1e999x"])
def test_not_numbers_are_refused(text: str) -> None:
    with pytest.raises(NotANumber):
        parse_danish_number(text)


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False))
def test_danish_round_trip(value) -> None:  # type: ignore[no-untyped-def]
    for decimals in (1, 2):
        text = format_danish_number(float(value), decimals)
        assert parse_danish_number(text) == pytest.approx(round(float(value), decimals), abs=1e-6)
        assert parse_danish_number(text + " %") == parse_danish_number(text)


@given(st.integers(min_value=1000, max_value=10**9))
def test_thousands_separators_are_never_decimals(value: int) -> None:
    text = format_danish_number(value, 0)
    assert "." in text
    assert parse_danish_number(text) == value


@given(st.text(alphabet="0123456789.,%- abc", max_size=12))
def test_any_text_is_a_number_none_or_refused(text: str) -> None:
    try:
        value = parse_danish_number(text)
    except NotANumber:
        return
    assert value is None or isinstance(value, float)


def test_levels() -> None:
    assert level_of("Landsplan") == ("national", "Landsplan")
    assert level_of("Hele landet") == ("national", "Landsplan")
    assert level_of("STX") == ("sector", "stx")
    assert level_of(" Aarhus  Kommune ") == ("municipality", "Aarhus Kommune")


def test_rows_with_danish_numbers_and_suppressed_cells() -> None:
    parsed = parse(
        ["2025", "Landsplan", "Social trivsel", "3,9", "62,5 %", "12.345"],
        ["2025", "stx", "social trivsel", "4,0", "-", ""],  # share and count suppressed
        ["2025", "Aarhus", "Læringsmiljø", "-", "-", "-"],  # all suppressed: left out
        ["2025", "Landsplan", "Mobning", "", "4,1", "12.345"],
        ["2025", "Landsplan", "", "", "", ""],  # an empty-ish row with a level: named
    )
    assert [(p.row, p.code) for p in parsed.problems] == [(6, "missing_indicator")]
    rows = {(r.label, r.indicator): r for r in parsed.rows}
    national = rows[("Landsplan", "Social trivsel")]
    assert (national.average, national.share, national.count) == (3.9, 62.5, 12345)
    stx = rows[("stx", "Social trivsel")]
    assert stx.source == "sector" and stx.share is None and stx.count is None
    assert ("Aarhus", "Læringsmiljø") not in rows
    assert parsed.suppressed_rows == 1
    assert rows[("Landsplan", "Mobning")].average is None


def test_question_rows_by_text_or_code() -> None:
    parsed = parse(
        ["2025", "Landsplan", "Er du blevet mobbet på skolen i dette skoleår", "", "3,2", "900"],
        ["2025", "stx", "FT-01", "4,1", "", ""],
        header=["år", "niveau", "spørgsmål", "gennemsnit", "andel", "antal"],
    )
    assert parsed.ok
    assert [r.question_code for r in parsed.rows] == ["MO-01", "FT-01"]
    assert all(r.indicator == "" for r in parsed.rows)


def test_bad_rows_are_named() -> None:
    parsed = parse(
        ["2025", "Landsplan", "Social trivsel", "6,1", "", ""],
        ["20x5", "Landsplan", "Social trivsel", "3,1", "", ""],
        ["2025", "Landsplan", "Ukendt", "3,1", "", ""],
        ["2025", "Landsplan", "Læringsmiljø", "3,1", "120 %", ""],
        ["2025", "Landsplan", "Læringsmiljø", "3,1", "", "12,5"],
        ["2025", "Landsplan", "Mobning", "=SUM(A1:A3)", "", ""],
        ["2025", "Landsplan", "Faglig individuel trivsel", "3,1", "", ""],
        ["2025", "landsplan", "Faglig individuel trivsel", "3,2", "", ""],
    )
    assert [(p.row, p.code) for p in parsed.problems] == [
        (2, "bad_average"),
        (3, "bad_year"),
        (4, "unknown_indicator"),
        (5, "bad_share"),
        (6, "bad_count"),
        (7, "bad_average"),
        (9, "duplicate"),
    ]
    assert not parsed.ok


def test_missing_columns_and_year_from_outside() -> None:
    parsed = parse(["Landsplan", "Social trivsel"], header=["niveau", "indikator"])
    assert {p.value for p in parsed.problems} == {"year", "average"}
    parsed = parse(
        ["Landsplan", "Social trivsel", "3,5"],
        header=["niveau", "indikator", "gennemsnit"],
        year=2024,
    )
    assert parsed.ok and parsed.rows[0].year == 2024


def test_an_empty_file_is_refused() -> None:
    assert not parse_references([], indicators=THEMES, questions=QUESTIONS).ok
    assert [p.code for p in parse().problems] == ["no_rows"]
