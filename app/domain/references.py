"""Reading a file of published reference figures (the ministry's key figures) into rows.

Pure Python (stdlib only). The file has a header row and one row per year, level and indicator
(or question): ``år; niveau; indikator | spørgsmål; gennemsnit; andel; antal``. Levels are
"Landsplan" (national), a sector (stx, hhx, htx, hf, eux) or a municipality's name. Numbers are
written the Danish way ("3,6", "2.351", "100,0 %"). A suppressed cell (empty, "-", "*") is left
out, never read as 0: a row whose every figure is suppressed is not stored at all.

Every problem names its row; a file with problems imports nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

MAX_ROWS = 20_000
MAX_LABEL = 100
MAX_INDICATOR = 200
MAX_QUESTION = 50
MIN_YEAR, MAX_YEAR = 2000, 2100
MIN_AVERAGE, MAX_AVERAGE = 1.0, 5.0
MAX_COUNT = 10_000_000
SECTORS = ("stx", "hhx", "htx", "hf", "eux")
NATIONAL_LABEL = "Landsplan"
_NATIONAL_WORDS = {"landsplan", "hele landet", "national", "landsgennemsnit", "danmark"}
# What publishers write in a cell they do not publish (too few answers, or no data).
SUPPRESSED_MARKS = frozenset({"", "-", "–", "—", "*", "x", ".", "..", "n/a", "na"})

# Header words (lower case, accents kept) -> the column they name.
_HEADERS: dict[str, str] = {
    "år": "year", "aar": "year", "year": "year", "skoleår": "year",
    "niveau": "level", "level": "level", "sammenligningsniveau": "level",
    "indikator": "indicator", "indicator": "indicator", "tema": "indicator",
    "spørgsmål": "question", "spoergsmaal": "question", "question": "question",
    "gennemsnit": "average", "average": "average", "mean": "average",
    "indikatorgennemsnit": "average",
    "andel": "share", "share": "share", "andel (%)": "share", "andel høj trivsel": "share",
    "andel i høj trivsel": "share",
    "antal": "count", "count": "count", "antal besvarelser": "count", "n": "count",
}  # fmt: skip

_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+$")
_DANISH = re.compile(r"^[+-]?\d{1,3}(\.\d{3})*(,\d+)?$|^[+-]?\d+(,\d+)?$")
_DOT_DECIMAL = re.compile(r"^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$")


class NotANumber(ValueError):
    """A cell that is neither a number nor a suppression mark."""


def parse_danish_number(text: str) -> float | None:
    """A number written the Danish way; None for a suppressed cell.

    "3,6" -> 3.6, "2.351" -> 2351, "100,0 %" -> 100.0, "1.234,5" -> 1234.5; "-" or "" -> None.
    A plain "3.6" (a spreadsheet's number) is 3.6: a dot followed by anything but groups of
    three digits cannot be a thousands separator.
    """
    cleaned = text.replace("\u00a0", " ").replace("\u202f", " ").strip()
    if cleaned.lower() in SUPPRESSED_MARKS:
        return None
    if cleaned.endswith("%"):
        cleaned = cleaned[:-1].strip()
    cleaned = cleaned.replace(" ", "")
    if not cleaned or len(cleaned) > 30:
        raise NotANumber(text)
    if "," in cleaned:
        if not _DANISH.match(cleaned):
            raise NotANumber(text)
        return float(cleaned.replace(".", "").replace(",", "."))
    if _THOUSANDS.match(cleaned):
        return float(cleaned.replace(".", ""))
    if _DOT_DECIMAL.match(cleaned):
        return float(cleaned)
    raise NotANumber(text)


def format_danish_number(value: float, decimals: int = 1) -> str:
    """The inverse for tests and previews: "2.351,0"."""
    text = f"{abs(value):,.{decimals}f}".replace(",", "X").replace(".", ",").replace("X", ".")
    return ("-" if value < 0 else "") + text


def level_of(text: str) -> tuple[str, str]:
    """(source, label) of a level cell: ("national", "Landsplan"), ("sector", "stx") or
    ("municipality", "Aarhus")."""
    cleaned = " ".join(text.split())
    lowered = cleaned.lower()
    if lowered in _NATIONAL_WORDS:
        return ("national", NATIONAL_LABEL)
    if lowered in SECTORS:
        return ("sector", lowered)
    return ("municipality", cleaned)


def normalised(text: str) -> str:
    """For matching a question's or indicator's text: case, spacing and accents aside."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split()).rstrip("?.")


@dataclass(frozen=True)
class ReferenceRow:
    year: int
    source: str
    label: str
    indicator: str  # "" for a question row
    question_code: str  # "" for an indicator row
    average: float | None
    share: float | None
    count: int | None


@dataclass
class ReferenceProblem:
    row: int | None  # the file's row number (1 = header), None for the file
    code: str  # what is wrong, for the page to word
    value: str = ""


@dataclass
class ParsedReferences:
    rows: list[ReferenceRow] = field(default_factory=list)
    problems: list[ReferenceProblem] = field(default_factory=list)
    suppressed_rows: int = 0  # rows with every figure suppressed: left out
    suppressed_cells: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rows)

    def groups(self) -> list[tuple[int, str, str, int]]:
        """(year, source, label, rows) for the preview, in file order."""
        counted: dict[tuple[int, str, str], int] = {}
        for row in self.rows:
            key = (row.year, row.source, row.label)
            counted[key] = counted.get(key, 0) + 1
        return [(*key, n) for key, n in counted.items()]


def parse_references(
    rows: Iterable[list[str]],
    *,
    indicators: Iterable[str],
    questions: Mapping[str, str],
    year: int | None = None,
    own_names: Iterable[str] = (),
) -> ParsedReferences:
    """Rows of cell texts, header first, to reference rows and problems.

    ``indicators``: the questionnaire's indicator (theme) names; ``questions``: its question
    codes -> texts (a question cell may hold either). ``year``: for a file without a year column.
    ``own_names``: the organisation's and its units' names and codes. A level naming one of
    them is refused: figures of our own units from elsewhere, printed beside what the release
    publishes, would undo its bounds (a share x our answer count gives back a count that the
    release says only "at least 3" of).
    """
    result = ParsedReferences()
    own = {normalised(name) for name in own_names if name.strip()}
    by_indicator = {normalised(name): name for name in indicators if name}
    by_question = {normalised(code): code for code in questions}
    by_question.update({normalised(text): code for code, text in questions.items()})
    iterator = iter(rows)
    header = next(iterator, None)
    if header is None:
        result.problems.append(ReferenceProblem(None, "empty_file"))
        return result
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        key = _HEADERS.get(" ".join(name.replace("\ufeff", "").lower().split()))
        if key and key not in columns:
            columns[key] = index
    missing = [c for c in ("level",) if c not in columns]
    if "year" not in columns and year is None:
        missing.insert(0, "year")
    if "indicator" not in columns and "question" not in columns:
        missing.append("indicator")
    if not {"average", "share", "count"} & columns.keys():
        missing.append("average")
    if missing:
        for name in missing:
            result.problems.append(ReferenceProblem(1, "missing_column", name))
        return result
    seen: set[tuple[int, str, str, str, str]] = set()
    for number, cells in enumerate(iterator, start=2):
        if number - 1 > MAX_ROWS:
            result.problems.append(ReferenceProblem(number, "too_many_rows", str(MAX_ROWS)))
            break
        if not any(cell.strip() for cell in cells):
            continue
        row = _row(number, cells, columns, year, by_indicator, by_question, result)
        if row is None:
            continue
        if normalised(row.label) in own:
            result.problems.append(ReferenceProblem(number, "own_level", row.label))
            continue
        figure = (row.year, row.source, row.label, row.indicator, row.question_code)
        if figure in seen:
            result.problems.append(ReferenceProblem(number, "duplicate", row.label))
            continue
        seen.add(figure)
        if row.average is None and row.share is None and row.count is None:
            result.suppressed_rows += 1
            continue
        result.rows.append(row)
    if not result.rows and not result.problems:
        result.problems.append(ReferenceProblem(None, "no_rows"))
    return result


def _cell(cells: list[str], columns: Mapping[str, int], name: str) -> str:
    index = columns.get(name)
    return cells[index].strip() if index is not None and index < len(cells) else ""


def _row(
    number: int,
    cells: list[str],
    columns: Mapping[str, int],
    default_year: int | None,
    by_indicator: Mapping[str, str],
    by_question: Mapping[str, str],
    result: ParsedReferences,
) -> ReferenceRow | None:
    problems = result.problems
    before = len(problems)
    year = default_year
    year_text = _cell(cells, columns, "year")
    if "year" in columns:
        try:
            year = int(year_text)
        except ValueError:
            year = None
        if year is None or not MIN_YEAR <= year <= MAX_YEAR:
            problems.append(ReferenceProblem(number, "bad_year", year_text))
    level_text = _cell(cells, columns, "level")
    if not level_text:
        problems.append(ReferenceProblem(number, "missing_level"))
    elif len(level_text) > MAX_LABEL:
        problems.append(ReferenceProblem(number, "too_long", level_text[:40] + "…"))
    indicator_text = _cell(cells, columns, "indicator")
    question_text = _cell(cells, columns, "question")
    indicator = question = ""
    if question_text:
        if len(question_text) > 1000:
            problems.append(ReferenceProblem(number, "too_long", question_text[:40] + "…"))
        else:
            question = by_question.get(normalised(question_text), "")
            if not question:
                problems.append(ReferenceProblem(number, "unknown_question", question_text))
    elif indicator_text:
        if len(indicator_text) > MAX_INDICATOR:
            problems.append(ReferenceProblem(number, "too_long", indicator_text[:40] + "…"))
        else:
            indicator = by_indicator.get(normalised(indicator_text), "")
            if not indicator:
                problems.append(ReferenceProblem(number, "unknown_indicator", indicator_text))
    else:
        problems.append(ReferenceProblem(number, "missing_indicator"))
    figures: dict[str, float | None] = {}
    for name in ("average", "share", "count"):
        text = _cell(cells, columns, name)
        try:
            value = parse_danish_number(text)
        except NotANumber:
            problems.append(ReferenceProblem(number, f"bad_{name}", text[:40]))
            continue
        if value is None:
            if name in columns:
                result.suppressed_cells += 1
        elif name == "average" and not MIN_AVERAGE <= value <= MAX_AVERAGE:
            problems.append(ReferenceProblem(number, "bad_average", text[:40]))
        elif name == "share" and not 0 <= value <= 100:  # noqa: PLR2004 - per cent
            problems.append(ReferenceProblem(number, "bad_share", text[:40]))
        elif name == "count" and (not value.is_integer() or not 0 <= value <= MAX_COUNT):
            problems.append(ReferenceProblem(number, "bad_count", text[:40]))
        figures[name] = value
    if len(problems) > before or year is None:
        return None
    source, label = level_of(level_text)
    count = figures.get("count")
    return ReferenceRow(
        year=year,
        source=source,
        label=label,
        indicator=indicator,
        question_code=question,
        average=figures.get("average"),
        share=figures.get("share"),
        count=int(count) if count is not None else None,
    )
