"""The mapping import: results files as survey tools deliver them, turned into the native layout.

A user uploads any CSV or XLSX. `read_sample` reads a bounded sample and recognises the layout
(long: a row per unit and question, or per unit, question and option; wide: a row per unit and
a column per question and option; sheets: one sheet per unit) and whether the figures are
counts or percentages. `suggest` guesses the mapping, the user corrects it on the mapping
screen, and `convert` streams the file through it into a native results CSV, which then goes
through the same validation, preview and release as a native file: the native format
(spec/import-format.md) stays the documented contract.

Respondent-level files (a row per person) are refused from the sample: only aggregate,
statistical use of survey answers is lawful here.

Reference figures (the ministry's key figures) come through the same kind of mapping into the
canonical CSV that app/domain/references.parse_references reads.

Pure Python: no Flask, no database. openpyxl (read-only) for XLSX.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from app.domain.importing_problems import Problem, problem
from app.domain.importing_read import UnreadableFile, UnreadableRow
from app.domain.mapping_convert import (
    check_mapping,
    convert,
    counts_from_percentages,
    percentage,
    whole_count,
)
from app.domain.mapping_detect import (
    header_roles,
    is_native,
    norm,
    read_sample,
    signature,
    suggest,
    wide_columns,
)
from app.domain.mapping_read import SheetRows, read_sheets, row_problem
from app.domain.mapping_types import (
    REFERENCE_ROLES,
    ROLES,
    Mapping,
    MappingError,
    QuestionColumns,
    RespondentLevelFile,
    Sample,
    Sheet,
)
from app.domain.references import SECTORS, NotANumber, parse_danish_number

__all__ = [
    "REFERENCE_ROLES",
    "REFERENCE_HEADER",
    "ROLES",
    "Mapping",
    "MappingError",
    "Problem",
    "QuestionColumns",
    "RespondentLevelFile",
    "Sample",
    "Sheet",
    "UnreadableFile",
    "check_mapping",
    "convert",
    "convert_references",
    "counts_from_percentages",
    "header_roles",
    "is_native",
    "norm",
    "percentage",
    "read_sample",
    "signature",
    "suggest",
    "suggest_references",
    "whole_count",
    "wide_columns",
]

# The canonical reference CSV, as references.parse_references reads it.
REFERENCE_HEADER = ("år", "niveau", "indikator", "spørgsmål", "gennemsnit", "andel", "antal")
_REFERENCE_WORDS: dict[str, tuple[str, ...]] = {
    "year": ("år", "aar", "year", "skoleår", "årstal", "periode"),
    "level": ("niveau", "level", "sammenligningsniveau", "institution", "kommune", "område"),
    "indicator": ("indikator", "indicator", "tema", "theme", "trivselsindikator"),
    "question": ("spørgsmål", "spoergsmaal", "question", "spørgsmålstekst", "spm"),
    "average": ("gennemsnit", "average", "mean", "indikatorgennemsnit", "score", "gns"),
    "share": (
        "andel", "share", "andel (%)", "andel høj trivsel", "andel i høj trivsel", "procent",
        "andel %",
    ),
    "count": ("antal", "count", "antal besvarelser", "n", "besvarelser", "antal elever"),
}  # fmt: skip
_YEAR = re.compile(r"\b(20\d\d)\b")
_LEVEL_WORDS = ("landsplan", "hele landet", "national", "landsgennemsnit")


def suggest_references(sample: Sample) -> Mapping:
    """A mapping of reference figures: role -> header; a year or level the file lacks as a
    constant, found in the sheet's name or title rows where it says so."""
    sheet = sample.sheets[0]
    columns: dict[str, str] = {}
    by_word = {norm(word): role for role, words in _REFERENCE_WORDS.items() for word in words}
    for cell in sheet.header:
        role = by_word.get(norm(cell))
        if role is not None and role not in columns:
            columns[role] = cell
    constants: dict[str, str] = {}
    titles = " ".join([sheet.name, *(" ".join(row) for row in sheet.above)])
    if "year" not in columns:
        year = _YEAR.search(titles)
        if year:
            constants["year"] = year.group(1)
    figures = {"average", "share", "count"} & columns.keys()
    levels = [cell for cell in sheet.header if cell.strip() and _is_level(cell)]
    if "level" not in columns and not figures and levels:
        # The levels side by side ("Indikator; Landsplan; stx; Aarhus Kommune"): one figure.
        lowered = titles.casefold()
        figure = "share" if "andel" in lowered else "count" if "antal" in lowered else "average"
        constants["figure"] = figure
        questions = [QuestionColumns(level, [], column=level) for level in levels]
        return Mapping("wide", "counts", columns, questions, constants=constants)
    if "level" not in columns:
        lowered = titles.casefold()
        if any(word in lowered for word in _LEVEL_WORDS):
            constants["level"] = "Landsplan"
    return Mapping("long", "counts", columns, [], constants=constants)


def _is_level(header: str) -> bool:
    word = norm(header)
    return (
        word in _LEVEL_WORDS
        or word in SECTORS
        or word.endswith(" kommune")
        or word.startswith("kommune ")
    )


def convert_references(path: Path, mapping: Mapping, out: TextIO) -> list[Problem]:
    """Write the canonical reference CSV (år;niveau;indikator;spørgsmål;gennemsnit;andel;antal)
    that references.parse_references reads; return the problems (row-named)."""
    columns = mapping.columns
    unknown = set(columns) - set(REFERENCE_ROLES)
    if unknown:
        raise MappingError(
            f"{sorted(unknown)[0]} is not a role of reference figures.",
            f"{sorted(unknown)[0]} er ikke en rolle for referencetal.",
        )
    wide = mapping.layout == "wide"
    if wide:
        _check_wide_references(mapping)
    for role, english, danish in (
        ("year", "the year", "året"),
        ("level", "the level (national, sector or municipality)", "niveauet"),
    ):
        if role == "level" and wide:
            continue
        if role not in columns and not mapping.constants.get(role):
            raise MappingError(
                f"The mapping does not say {english}: a column or a value for the whole file.",
                f"Kortlægningen siger ikke {danish}: en kolonne eller en værdi for hele filen.",
            )
    if "indicator" not in columns and "question" not in columns:
        raise MappingError(
            "The mapping does not say which column holds the indicator or the question.",
            "Kortlægningen siger ikke, hvilken kolonne der har indikatoren eller spørgsmålet.",
        )
    if not wide and not {"average", "share", "count"} & columns.keys():
        raise MappingError(
            "The mapping names no column with figures (average, share or count).",
            "Kortlægningen nævner ingen kolonne med tal (gennemsnit, andel eller antal).",
        )

    def run(file_format: str, sheets: Iterator[SheetRows]) -> tuple[list[Problem], list[list[str]]]:
        chosen = next(iter(sheets), None)
        for sheet in sheets if mapping.sheet else ():
            if sheet.name == mapping.sheet:
                chosen = sheet
        if chosen is None:
            raise UnreadableFile(problem("empty_file"), file_format)
        return _reference_rows(chosen, mapping)

    try:
        problems, rows = read_sheets(path, run, all_sheets=bool(mapping.sheet))
    except UnreadableRow as unreadable:
        problems, rows = [row_problem(unreadable)], []
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(REFERENCE_HEADER)
    writer.writerows(rows)
    return problems


def _check_wide_references(mapping: Mapping) -> None:
    if not mapping.questions or not all(level.column for level in mapping.questions):
        raise MappingError(
            "The mapping does not say which column holds each level's figures.",
            "Kortlægningen siger ikke, hvilken kolonne der har hvert niveaus tal.",
        )
    if mapping.constants.get("figure", "average") not in ("average", "share", "count"):
        raise MappingError(
            "The figure of a level's column must be average, share or count.",
            "Tallet i et niveaus kolonne skal være gennemsnit, andel eller antal.",
        )


def _reference_rows(sheet: SheetRows, mapping: Mapping) -> tuple[list[Problem], list[list[str]]]:
    if mapping.layout == "wide":
        # One row per level: the level's column holds the figure the mapping names.
        figure = mapping.constants.get("figure", "average")
        per_level = [
            Mapping(
                "long",
                "counts",
                {**mapping.columns, figure: level.column or level.question_id},
                constants={**mapping.constants, "level": level.question_id},
            )
            for level in mapping.questions
        ]
        wanted_all = {norm(level.column or "") for level in mapping.questions}
        return _rows_by_level(sheet, per_level, wanted_all)
    return _rows_by_level(sheet, [mapping], set())


def _rows_by_level(
    sheet: SheetRows, mappings: list[Mapping], extra: set[str]
) -> tuple[list[Problem], list[list[str]]]:
    wanted = {name for m in mappings for name in map(norm, m.columns.values())} | extra
    problems: list[Problem] = []
    out: list[list[str]] = []
    positions: dict[str, int] | None = None  # of the header's columns, once it is found
    for number, row in enumerate(sheet.rows, start=1):
        if positions is None:
            if wanted <= {norm(cell) for cell in row}:
                positions = {norm(cell): index for index, cell in reversed(list(enumerate(row)))}
            elif number > 30:  # noqa: PLR2004
                break
            continue
        if not any(cell.strip() for cell in row):
            continue
        for mapping in mappings:
            line = _reference_line(mapping, number, row, positions, problems)
            if line is not None:
                out.append(line)
        if len(problems) >= 100 or len(out) > 20_000:  # noqa: PLR2004 - references.MAX_ROWS
            break
    if positions is None:
        names = ", ".join(f'"{name}"' for name in sorted(wanted))
        raise MappingError(
            f"The file has no header row with the columns {names}.",
            f"Filen har ingen overskriftsrække med kolonnerne {names}.",
        )
    return problems, out


def _reference_line(
    mapping: Mapping,
    number: int,
    row: list[str],
    positions: dict[str, int],
    problems: list[Problem],
) -> list[str] | None:
    def cell(role: str) -> str:
        name = mapping.columns.get(role)
        if name is None:
            return mapping.constants.get(role, "")
        index = positions[norm(name)]
        return row[index].strip() if index < len(row) else ""

    figures: list[str] = []
    bad = False
    for role in ("average", "share", "count"):
        text = cell(role)
        try:
            value = parse_danish_number(text) if text else None
        except NotANumber:
            code = "mapping_not_percent" if role == "share" else "not_a_number"
            problems.append(problem(code, number, mapping.columns.get(role, role).lower(), text))
            bad = True
            continue
        figures.append("" if value is None else _danish(value))
    if bad:
        return None
    return [cell("year"), cell("level"), cell("indicator"), cell("question"), *figures]


def _danish(value: float) -> str:
    """A number as references.parse_references reads it unambiguously: "3,6", "2351"."""
    if value.is_integer():
        return str(int(value))
    return repr(value).replace(".", ",")
