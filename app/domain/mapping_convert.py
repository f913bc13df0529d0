"""Converting a file in a survey tool's layout into Kompas's native results CSV.

The file is streamed through the mapping once; the native CSV (`;`, UTF-8, the header of
import-format.md) is written as rows come. Percentages become counts only where whole counts
reproduce every printed percentage within its printed rounding and add up to the number of
answers, and only where that makes the counts certain; otherwise that row is refused with a
problem naming it. The output then goes through the same validation as a native file.
"""

from __future__ import annotations

import csv
import functools
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TextIO

from app.domain.importing_problems import Problem, problem
from app.domain.importing_read import UnreadableFile, UnreadableRow
from app.domain.mapping_detect import (
    COUNT_WORDS,
    DONT_KNOW_WORDS,
    KNOWN_SCALES,
    label_value,
    norm,
)
from app.domain.mapping_read import MAX_TITLE_ROWS, SheetRows, read_sheets, row_problem
from app.domain.mapping_types import MAX_OPTIONS, Mapping, MappingError, QuestionColumns
from app.domain.references import NotANumber, parse_danish_number

MAX_PROBLEMS = 100
MAX_COUNT = 10_000_000
_UNIT_FIELDS = ("unit_name", "parent_id", "unit_type", "invited", "respondents")
_QUESTION_FIELDS = ("question_text", "theme")
_NUMBER_FIELDS = ("invited", "respondents")
# Beyond six printed decimals a percentage is a spreadsheet's float, exact to about 1e-6.
_MAX_DECIMALS = 6
_SPOOL_IN_MEMORY = 16 * 1024 * 1024


class _Stop(Exception):
    """Too many problems: stop reading."""


# --- numbers ----------------------------------------------------------------------------------


# Nearly every count is a small number: a dict lookup beats parsing it.
_SMALL_WHOLE: dict[str, int] = {str(number): number for number in range(10_000)}


def whole_count(text: str) -> int | None:
    """A count written any way a tool writes it ("12", "1.234", "12,0"); None if not one."""
    number = _SMALL_WHOLE.get(text)
    if number is not None:
        return number
    try:
        value = parse_danish_number(text)
    except NotANumber:
        return None
    if value is None or not value.is_integer() or not 0 <= value <= MAX_COUNT:
        return None
    return int(value)


@functools.lru_cache(maxsize=1 << 16)
def percentage(text: str) -> tuple[Fraction, int] | None:
    """A printed percentage as an exact fraction and its number of decimals; None if not one.

    "87,5 %" -> (175/2, 1); "88" -> (88, 0); "87.5" -> (175/2, 1). (Cached: a file repeats
    the same few hundred percentages.)
    """
    try:
        value = parse_danish_number(text)
    except NotANumber:
        return None
    if value is None or not 0 <= value <= 100:  # noqa: PLR2004
        return None
    cleaned = text.replace("\u00a0", "").replace(" ", "").rstrip("%")
    if "e" in cleaned.lower():
        decimals = _MAX_DECIMALS
    elif "," in cleaned:
        decimals = len(cleaned.rpartition(",")[2])
    elif "." in cleaned and value != float(cleaned.replace(".", "") or 0):
        decimals = len(cleaned.rpartition(".")[2])
    else:
        decimals = 0
    return Fraction(repr(value)), min(decimals, _MAX_DECIMALS)


def counts_from_percentages(printed: list[tuple[Fraction, int]], n: int) -> list[int] | str:
    """The one set of whole counts out of `n` that prints as `printed`, or why there is none.

    Each count c must satisfy |100·c/n − p| ≤ half a unit of p's last printed decimal, and the
    counts must add up to n. Returns "percent_not_counts" when no counts do,
    "percent_ambiguous" when more than one set does. Exact: integer arithmetic only.
    """
    if n == 0:
        return [0] * len(printed) if all(p == 0 for p, _ in printed) else "percent_not_counts"
    lows: list[int] = []
    highs: list[int] = []
    for value, decimals in printed:
        # p = a/b, tolerance 5/10^(d+1): c within n·(10^(d+1)·a ∓ 5·b) / (100·10^(d+1)·b).
        a, b = value.numerator, value.denominator
        unit = 10 ** (decimals + 1)
        denominator = 100 * unit * b
        low = max(0, -(-n * (unit * a - 5 * b) // denominator))
        high = min(n, n * (unit * a + 5 * b) // denominator)
        if low > high:
            return "percent_not_counts"
        lows.append(low)
        highs.append(high)
    low_sum, high_sum = sum(lows), sum(highs)
    if not low_sum <= n <= high_sum:
        return "percent_not_counts"
    if low_sum == n:
        return lows
    if high_sum == n:
        return highs
    free = [index for index, (low, high) in enumerate(zip(lows, highs, strict=True)) if low < high]
    if len(free) == 1:
        counts = list(lows)
        counts[free[0]] = n - (low_sum - lows[free[0]])
        return counts
    return "percent_ambiguous"


# --- the output -------------------------------------------------------------------------------


@dataclass
class _Answers:
    """One unit's answers to one question, as read (before the numbers are checked)."""

    row: int
    column_prefix: str  # "" or "Sheet!" for problems
    options: list[tuple[str, str]]  # (column name for problems, cell text), options 1..k
    dont_know: tuple[str, str] | None
    count: tuple[str, str] | None  # the question's number of answers (percentages)


@dataclass
class _Writer:
    mapping: Mapping
    out: TextIO
    unit_fields: list[str]
    question_fields: list[str]
    width: int  # options written: n_1 … n_width
    with_dont_know: bool
    problems: list[Problem] = field(default_factory=list)
    origins: list[tuple[str, int]] | None = None  # (sheet, row) of each row written
    sheet: str = ""  # the sheet being read ("" for CSV)
    declared: set[str] = field(default_factory=set)
    answered: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._last_unit: tuple[tuple[tuple[str, str], ...] | None, list[str]] = (None, [])
        self.csv = csv.writer(self.out, delimiter=";", lineterminator="\n")
        header = ["unit_id", *self.unit_fields, "question_id", *self.question_fields]
        header += [f"n_{option}" for option in range(1, self.width + 1)]
        if self.with_dont_know:
            header.append("n_dont_know")
        self.csv.writerow(header)

    def problem(
        self, code: str, row: int | None, column: str | None, value: str = "", **details: object
    ) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self.problems.append(problem("too_many_errors", limit=MAX_PROBLEMS))
            raise _Stop
        lowered = column.lower() if column is not None else None
        self.problems.append(problem(code, row, lowered, value, **details))

    def unit_values(self, unit_cells: dict[str, tuple[str, str]], row: int) -> list[str] | None:
        key = tuple(unit_cells.values())
        if key == self._last_unit[0]:
            return self._last_unit[1]  # the unit of the row before: checked already
        values = self._unit_values(unit_cells, row)
        if values is not None:
            self._last_unit = (key, values)
        return values

    def _unit_values(self, unit_cells: dict[str, tuple[str, str]], row: int) -> list[str] | None:
        values: list[str] = []
        ok = True
        for name in self.unit_fields:
            column, text = unit_cells.get(name, ("", ""))
            text = text.strip()
            if name in _NUMBER_FIELDS and text:
                count = whole_count(text)
                if count is None:
                    self.problem("mapping_not_count", row, column, text)
                    ok = False
                    continue
                text = str(count)
            values.append(text)
        return values if ok else None

    def declare(self, unit: str, unit_cells: dict[str, tuple[str, str]], row: int) -> None:
        """A unit row without answers (a parent, or a unit with no questions answered)."""
        if unit in self.declared or unit in self.answered:
            return
        values = self.unit_values(unit_cells, row)
        if values is None:
            return
        self.declared.add(unit)
        blank = [""] * (len(self.question_fields) + self.width + int(self.with_dont_know))
        self.csv.writerow([unit, *values, "", *blank])
        if self.origins is not None:
            self.origins.append((self.sheet, row))

    def answer(
        self,
        unit: str,
        unit_cells: dict[str, tuple[str, str]],
        question: str,
        question_cells: dict[str, str],
        answers: _Answers,
    ) -> None:
        unit_values = self.unit_values(unit_cells, answers.row)
        counts = self._counts(answers, unit_cells)
        if unit_values is None or counts is None:
            return
        options, dont_know = counts
        self.answered.add(unit)
        cells = [str(count) for count in options]
        cells += [""] * (self.width - len(cells))
        if self.with_dont_know:
            cells.append("" if dont_know is None else str(dont_know))
        texts = [question_cells.get(name, "") for name in self.question_fields]
        self.csv.writerow([unit, *unit_values, question, *texts, *cells])
        if self.origins is not None:
            self.origins.append((self.sheet, answers.row))

    def _counts(
        self, answers: _Answers, unit_cells: dict[str, tuple[str, str]]
    ) -> tuple[list[int], int | None] | None:
        options = list(answers.options)
        while options and not options[-1][1].strip():
            options.pop()  # options beyond the question's scale
        for column, text in options:
            if not text.strip():
                self.problem("mapping_gap", answers.row, answers.column_prefix + column, "")
                return None
        dont_know = (
            answers.dont_know if answers.dont_know and answers.dont_know[1].strip() else None
        )
        if len(options) > self.width:
            column, text = options[self.width]
            self.problem("mapping_unknown_option", answers.row, column, text)
            return None
        if self.mapping.values == "counts":
            counts: list[int] = []
            for column, text in [*options, *([dont_know] if dont_know else [])]:
                count = whole_count(text)
                if count is None:
                    self.problem(
                        "mapping_not_count", answers.row, answers.column_prefix + column, text
                    )
                    return None
                counts.append(count)
            if dont_know:
                return counts[:-1], counts[-1]
            return counts, None
        return self._from_percentages(answers, options, dont_know, unit_cells)

    def _from_percentages(
        self,
        answers: _Answers,
        options: list[tuple[str, str]],
        dont_know: tuple[str, str] | None,
        unit_cells: dict[str, tuple[str, str]],
    ) -> tuple[list[int], int | None] | None:
        source = answers.count if answers.count and answers.count[1].strip() else None
        if source is None:
            respondents = unit_cells.get("respondents")
            source = respondents if respondents and respondents[1].strip() else None
        if source is None:
            self.problem("percent_needs_count", answers.row, None, "")
            return None
        n = whole_count(source[1])
        if n is None:
            self.problem(
                "mapping_not_count", answers.row, answers.column_prefix + source[0], source[1]
            )
            return None
        cells = [*options, *([dont_know] if dont_know else [])]
        printed: list[tuple[Fraction, int]] = []
        for column, text in cells:
            value = percentage(text)
            if value is None:
                self.problem(
                    "mapping_not_percent", answers.row, answers.column_prefix + column, text
                )
                return None
            printed.append(value)
        solved = counts_from_percentages(printed, n)
        if isinstance(solved, str):
            shown = "; ".join(text.strip() for _, text in cells)
            where = answers.column_prefix + cells[0][0] if cells else None
            self.problem(solved, answers.row, where, shown, n=n)
            return None
        if dont_know:
            return solved[:-1], solved[-1]
        return solved, None


# --- the layouts --------------------------------------------------------------------------------


def convert(
    path: Path,
    mapping: Mapping,
    out: TextIO,
    *,
    source_rows: list[tuple[str, int]] | None = None,
) -> list[Problem]:
    """Stream `path` through `mapping`, writing a native results CSV to `out`.

    Returns the problems found (each naming its row, column and value); an empty list means
    the file was converted. Raises MappingError when the mapping does not fit the file and
    importing_read.UnreadableFile when the file cannot be read.

    source_rows: when given, filled with the (sheet name, row number) in the uploaded file of
    each data row written, in order: row r of the converted file (header = 1) came from
    source_rows[r - 2], so a problem the native validation finds can be shown where the user
    sees it. The sheet name is "" for CSV.
    """
    check_mapping(mapping)
    width = _width(mapping)

    def run(file_format: str, sheets: Iterator[SheetRows]) -> tuple[list[Problem], TextIO]:
        # A CSV file found not to be UTF-8 part-way is read again: write to a spool of our
        # own, and hand it on only once the whole file was read.
        spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - returned, closed below
            max_size=_SPOOL_IN_MEMORY, mode="w+", encoding="utf-8", newline=""
        )
        writer = _Writer(
            mapping,
            spool,  # type: ignore[arg-type]
            unit_fields=[
                name for name in _UNIT_FIELDS if name in mapping.columns or name in mapping.cells
            ],
            question_fields=[name for name in _QUESTION_FIELDS if name in mapping.columns],
            width=width,
            with_dont_know=_has_dont_know(mapping),
            origins=source_rows,
        )
        if source_rows is not None:
            source_rows.clear()  # a CSV file read again from the start
        try:
            if mapping.layout == "sheets":
                _sheets(sheets, mapping, writer)
            else:
                _table(_choose_sheet(sheets, mapping.sheet), mapping, writer)
        except _Stop:
            pass
        except UnreadableRow as unreadable:
            writer.problems.append(row_problem(unreadable))
        return writer.problems, spool  # type: ignore[return-value]

    every_sheet = mapping.layout == "sheets" or bool(mapping.sheet)
    problems, spool = read_sheets(path, run, all_sheets=every_sheet)
    with spool:
        spool.seek(0)
        shutil.copyfileobj(spool, out, 1 << 20)  # type: ignore[misc]
    return problems


def check_mapping(mapping: Mapping) -> None:
    """Raise MappingError where the mapping lacks what its layout needs."""
    columns = mapping.columns

    def missing(what_en: str, what_da: str) -> MappingError:
        return MappingError(
            f"The mapping does not say {what_en}.", f"Kortlægningen siger ikke, {what_da}."
        )

    if mapping.layout in ("long", "wide") and "unit_id" not in columns:
        raise missing("which column holds the unit's id", "hvilken kolonne der har enhedens id")
    if mapping.layout == "long" and "question_id" not in columns:
        raise missing(
            "which column holds the question's id", "hvilken kolonne der har spørgsmålets id"
        )
    if mapping.layout == "wide" and not mapping.questions:
        raise missing(
            "which columns hold the questions' options",
            "hvilke kolonner der har spørgsmålenes svarmuligheder",
        )
    if mapping.layout == "long" and "option" not in columns and not mapping.questions:
        raise missing(
            "which columns hold the answer options", "hvilke kolonner der har svarmulighederne"
        )
    if mapping.layout == "sheets" and "question_id" not in columns and "option" not in columns:
        raise missing(
            "which column holds the questions or the options",
            "hvilken kolonne der har spørgsmålene eller svarmulighederne",
        )
    if mapping.layout == "long" and "option" in columns and not {"count", "value"} & columns.keys():
        raise missing(
            "which column holds the count or percentage of each option",
            "hvilken kolonne der har antal eller procent for hver svarmulighed",
        )
    if mapping.values == "percent" and not (
        {"count", "respondents"} & columns.keys()
        or "respondents" in mapping.cells
        or any(question.count for question in mapping.questions)
    ):
        raise missing(
            "where the number of answers is, which percentages need",
            "hvor antallet af besvarelser står, som procenter skal regnes om med",
        )
    for question in mapping.questions:
        by_column = mapping.layout == "wide" or (
            mapping.layout == "sheets" and "question_id" not in columns
        )
        if by_column and not question.question_id.strip():
            raise MappingError(
                "Every question in the mapping needs its id (e.g. PT-1).",
                "Hvert spørgsmål i kortlægningen skal have sit id (fx PT-1).",
            )
        if len(question.options) > MAX_OPTIONS:
            raise MappingError(
                f"The question {question.question_id} has more than {MAX_OPTIONS} options.",
                f"Spørgsmålet {question.question_id} har flere end {MAX_OPTIONS} svarmuligheder.",
            )


def _width(mapping: Mapping) -> int:
    if "option" in mapping.columns:
        labelled = [len(q.options) for q in mapping.questions]
        return max([*labelled, MAX_OPTIONS if not labelled else 0]) or MAX_OPTIONS
    return max((len(q.options) for q in mapping.questions), default=1) or 1


def _has_dont_know(mapping: Mapping) -> bool:
    return "dont_know" in mapping.columns or any(q.dont_know for q in mapping.questions)


def _choose_sheet(sheets: Iterator[SheetRows], wanted: str) -> SheetRows:
    first: SheetRows | None = None
    for sheet in sheets:
        if first is None:
            first = sheet
        if wanted and sheet.name == wanted:
            return sheet
        if not wanted and sheet.name.strip().lower() == "results":
            return sheet
    if wanted or first is None:
        raise MappingError(
            f'The file has no sheet named "{wanted}".',
            f'Filen har intet ark, der hedder "{wanted}".',
        )
    return first


def _find_header(
    rows: Iterator[list[str]], needed: list[str], limit: int = MAX_TITLE_ROWS + 1
) -> tuple[list[list[str]], list[str], int] | None:
    """The rows above the table, its header and the header's row number: the first row that
    has every `needed` header. None when no such row comes within `limit` rows."""
    wanted = {norm(name) for name in needed}
    above: list[list[str]] = []
    for number, row in enumerate(rows, start=1):
        if wanted <= {norm(cell) for cell in row}:
            return above, row, number
        above.append(row)
        if number >= limit:
            return None
    return None


def _positions(header: list[str]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for index, cell in enumerate(header):
        positions.setdefault(norm(cell), index)
    return positions


def _cell(row: list[str], position: int | None) -> str:
    if position is None or position >= len(row):
        return ""
    return row[position]


def _table(sheet: SheetRows, mapping: Mapping, writer: _Writer) -> None:
    needed = [mapping.columns["unit_id"]]
    if mapping.layout == "long":
        needed.append(mapping.columns["question_id"])
    found = _find_header(sheet.rows, needed)
    if found is None:
        names = ", ".join(f'"{name}"' for name in needed)
        raise MappingError(
            f"The file has no header row with the columns {names}.",
            f"Filen har ingen overskriftsrække med kolonnerne {names}.",
        )
    _, header, header_number = found
    positions = _positions(header)
    _check_columns(mapping, positions)
    prefix = f"{sheet.name}!" if mapping.sheet else ""
    writer.sheet = sheet.name
    if mapping.layout == "wide":
        _wide_rows(sheet.rows, header_number, positions, mapping, writer, prefix)
    else:
        reader = _LongReader(mapping, writer, positions, prefix, fixed_unit=None)
        for number, row in enumerate(sheet.rows, start=header_number + 1):
            reader.row(number, row)
        reader.finish()


def _check_columns(mapping: Mapping, positions: dict[str, int]) -> None:
    names = list(mapping.columns.values())
    for question in mapping.questions:
        if mapping.layout == "sheets" and "option" in mapping.columns:
            names.append(question.column or question.question_id)
            continue
        if "option" in mapping.columns:
            continue
        names += [*question.options, *(x for x in (question.dont_know, question.count) if x)]
    absent = [name for name in names if norm(name) not in positions]
    if absent:
        shown = ", ".join(f'"{name}"' for name in absent[:5])
        raise MappingError(
            f"The file has no column {shown}, which the mapping names.",
            f"Filen har ingen kolonne {shown}, som kortlægningen nævner.",
        )


def _unit_columns(mapping: Mapping, positions: dict[str, int]) -> list[tuple[str, str, int | None]]:
    """(field, header, position) of the per-unit columns the mapping names."""
    return [
        (name, mapping.columns[name], positions.get(norm(mapping.columns[name])))
        for name in _UNIT_FIELDS
        if name in mapping.columns
    ]


def _unit_cells(
    located: list[tuple[str, str, int | None]], row: list[str]
) -> dict[str, tuple[str, str]]:
    return {name: (header, _cell(row, at)) for name, header, at in located}


def _wide_rows(
    rows: Iterator[list[str]],
    header_number: int,
    positions: dict[str, int],
    mapping: Mapping,
    writer: _Writer,
    prefix: str,
) -> None:
    unit_at = positions[norm(mapping.columns["unit_id"])]
    unit_columns = _unit_columns(mapping, positions)
    seen: dict[str, int] = {}  # unit -> its row
    plan = [
        (
            question,
            [(name, positions[norm(name)]) for name in question.options],
            (question.dont_know, positions[norm(question.dont_know)])
            if question.dont_know
            else None,
            (question.count, positions[norm(question.count)]) if question.count else None,
        )
        for question in mapping.questions
    ]
    for number, row in enumerate(rows, start=header_number + 1):
        if not any(cell.strip() for cell in row):
            continue
        unit = _cell(row, unit_at).strip()
        unit_cells = _unit_cells(unit_columns, row)
        if not unit:
            writer.problem("mapping_missing_unit", number, prefix + mapping.columns["unit_id"])
            continue
        first_row = seen.setdefault(unit, number)
        if first_row != number:
            column = prefix + mapping.columns["unit_id"]
            writer.problem("mapping_unit_repeated", number, column, unit, first_row=first_row)
            continue
        answered = False
        for question, options, dont_know, count in plan:
            cells = [(name, _cell(row, at)) for name, at in options]
            dk = (dont_know[0], _cell(row, dont_know[1])) if dont_know else None
            if not any(text.strip() for _, text in cells) and not (dk and dk[1].strip()):
                continue
            answered = True
            answers = _Answers(
                row=number,
                column_prefix=prefix,
                options=cells,
                dont_know=dk,
                count=(count[0], _cell(row, count[1])) if count else None,
            )
            writer.answer(unit, unit_cells, question.question_id, {}, answers)
        if not answered:
            writer.declare(unit, unit_cells, number)


class _LongReader:
    """Rows of a long table: a row per unit and question (a column per option), or a row per
    unit, question and option (an option column)."""

    def __init__(
        self,
        mapping: Mapping,
        writer: _Writer,
        positions: dict[str, int],
        prefix: str,
        fixed_unit: tuple[str, dict[str, tuple[str, str]]] | None,
    ) -> None:
        self.mapping = mapping
        self.writer = writer
        self.positions = positions
        self.prefix = prefix
        self.fixed_unit = fixed_unit
        columns = mapping.columns

        def at(role: str) -> int | None:
            header = columns.get(role)
            return None if header is None else positions.get(norm(header))

        self.unit_at = at("unit_id")
        self.question_at = at("question_id")
        self.option_at = at("option")
        value_role = "value" if mapping.values == "percent" else "count"
        if self.option_at is not None and value_role not in columns:
            value_role = "count" if value_role == "value" else "value"
        self.value_at = at(value_role) if self.option_at is not None else None
        self.value_header = columns.get(value_role, "")
        self.count_at = at("count") if self.option_at is None else None
        self.dont_know_at = at("dont_know")
        self.question_fields = {name: at(name) for name in _QUESTION_FIELDS if name in columns}
        self.unit_columns = _unit_columns(mapping, positions)
        self._located_groups: dict[int, list[tuple[str, int]]] = {}
        self.specific = {q.question_id: q for q in mapping.questions if q.question_id}
        self.groups = [q for q in mapping.questions if not q.question_id]
        # A row per option: (unit, question) -> collected labels, in order of first row.
        self.pending: dict[tuple[str, str], _Pending] = {}

    def row(self, number: int, row: list[str]) -> None:
        if not any(cell.strip() for cell in row):
            return
        if self.fixed_unit is not None:
            unit, unit_cells = self.fixed_unit
        else:
            unit = _cell(row, self.unit_at).strip()
            unit_cells = _unit_cells(self.unit_columns, row)
            if not unit:
                self.writer.problem(
                    "mapping_missing_unit", number, self.prefix + self.mapping.columns["unit_id"]
                )
                return
        question = _cell(row, self.question_at).strip()
        texts = {name: _cell(row, at).strip() for name, at in self.question_fields.items()}
        if self.option_at is not None:
            self._option_row(number, row, unit, unit_cells, question, texts)
            return
        options = self._options_for(question, row)
        dont_know = self._dont_know(question, row, options)
        filled = any(text.strip() for _, text in options.options) or bool(
            dont_know and dont_know[1].strip()
        )
        if not question:
            if filled:
                self.writer.problem(
                    "mapping_missing_question",
                    number,
                    self.prefix + self.mapping.columns["question_id"],
                )
            else:
                self.writer.declare(unit, unit_cells, number)
            return
        if not filled:
            self.writer.declare(unit, unit_cells, number)
            return
        count_header = self.mapping.columns.get("count", "")
        answers = _Answers(
            row=number,
            column_prefix=self.prefix,
            options=options.options,
            dont_know=dont_know,
            count=(count_header, _cell(row, self.count_at)) if self.count_at is not None else None,
        )
        self.writer.answer(unit, unit_cells, question, texts, answers)

    def _located(self, group: QuestionColumns) -> list[tuple[str, int]]:
        """A group's option columns with their positions (worked out once per group)."""
        located = self._located_groups.get(id(group))
        if located is None:
            located = [(name, self.positions[norm(name)]) for name in group.options]
            self._located_groups[id(group)] = located
        return located

    def _options_for(self, question: str, row: list[str]) -> _Chosen:
        chosen = self.specific.get(question)
        if chosen is None:
            best: QuestionColumns | None = None
            best_filled = -1
            for group in self.groups:
                filled = 0
                for _, at in self._located(group):
                    if at < len(row) and row[at].strip():
                        filled += 1
                if filled > best_filled:
                    best, best_filled = group, filled
            chosen = best
        if chosen is None:
            return _Chosen([], None)
        options = [(name, _cell(row, at)) for name, at in self._located(chosen)]
        return _Chosen(options, chosen)

    def _dont_know(self, question: str, row: list[str], chosen: _Chosen) -> tuple[str, str] | None:
        if chosen.group is not None and chosen.group.dont_know:
            name = chosen.group.dont_know
            return name, _cell(row, self.positions[norm(name)])
        if self.dont_know_at is not None:
            return self.mapping.columns["dont_know"], _cell(row, self.dont_know_at)
        return None

    def _option_row(
        self,
        number: int,
        row: list[str],
        unit: str,
        unit_cells: dict[str, tuple[str, str]],
        question: str,
        texts: dict[str, str],
    ) -> None:
        label = _cell(row, self.option_at).strip()
        value = _cell(row, self.value_at)
        if not question:
            if label or value.strip():
                self.writer.problem(
                    "mapping_missing_question",
                    number,
                    self.prefix + self.mapping.columns["question_id"],
                )
            else:
                self.writer.declare(unit, unit_cells, number)
            return
        key = (unit, question)
        pending = self.pending.get(key)
        if pending is None:
            pending = self.pending[key] = _Pending(number, unit_cells, texts)
        if not label:
            return
        if label in pending.labels:
            self.writer.problem(
                "mapping_repeated",
                number,
                self.prefix + self.mapping.columns["option"],
                label,
                unit=unit,
                question=question,
                first_row=pending.labels[label][0],
            )
            return
        pending.labels[label] = (number, value)

    def finish(self) -> None:
        for (unit, question), pending in self.pending.items():
            self._emit(unit, question, pending)
        self.pending.clear()

    def _emit(self, unit: str, question: str, pending: _Pending) -> None:
        labels = pending.labels
        if not labels:
            self.writer.declare(unit, pending.unit_cells, pending.row)
            return
        group = self.specific.get(question)
        candidates = [group] if group is not None else self.groups
        option_header = self.prefix + self.mapping.columns["option"]
        ordered: list[tuple[str, str]] | None = None
        dont_know: tuple[str, str] | None = None
        count: tuple[str, str] | None = None
        for candidate in candidates:
            known = {norm(label): label for label in candidate.options}
            extra = {norm(x) for x in (candidate.dont_know, candidate.count) if x}
            if all(norm(label) in known or norm(label) in extra for label in labels):
                by_norm = {norm(label): label for label in labels}
                ordered = [
                    (
                        self.value_header,
                        labels[by_norm[norm(option)]][1] if norm(option) in by_norm else "",
                    )
                    for option in candidate.options
                ]
                if candidate.dont_know and norm(candidate.dont_know) in by_norm:
                    dont_know = (self.value_header, labels[by_norm[norm(candidate.dont_know)]][1])
                if candidate.count and norm(candidate.count) in by_norm:
                    count = (self.value_header, labels[by_norm[norm(candidate.count)]][1])
                break
        if ordered is None:
            found = self._unmapped_labels(labels, option_header)
            if found is None:
                return
            ordered, dont_know, count = found
        answers = _Answers(
            row=pending.row,
            column_prefix=self.prefix,
            options=ordered,
            dont_know=dont_know,
            count=count,
        )
        self.writer.answer(unit, pending.unit_cells, question, pending.texts, answers)

    def _unmapped_labels(
        self, labels: dict[str, tuple[int, str]], option_header: str
    ) -> tuple[list[tuple[str, str]], tuple[str, str] | None, tuple[str, str] | None] | None:
        """Options no group of the mapping names: numbers 1..k; else a known scale's labels;
        else the rows' order (frequency tables list the options in the scale's order), with
        "Ved ikke" and a total told by their words."""
        header = self.value_header
        dont_know = count = None
        rest: dict[str, tuple[int, str]] = {}
        for label, found in labels.items():
            word = norm(label)
            if word in DONT_KNOW_WORDS:
                dont_know = (header, found[1])
            elif word in COUNT_WORDS:
                count = (header, found[1])
            else:
                rest[label] = found
        if not rest:
            return [], dont_know, count
        numbers = {label: whole_count(label) for label in rest}
        if all(number is not None and 1 <= number <= MAX_OPTIONS for number in numbers.values()):
            by_number = {numbers[label]: value for label, (_, value) in rest.items()}
            top = max(n for n in by_number if n is not None)
            ordered = [(header, by_number.get(i, "")) for i in range(1, top + 1)]
            return ordered, dont_know, count
        words = {norm(label): value for label, (_, value) in rest.items()}
        for scale in KNOWN_SCALES:
            if set(words) <= {norm(label) for label in scale}:
                ordered = [(header, words.get(norm(label), "")) for label in scale]
                return ordered, dont_know, count
        if len(rest) > MAX_OPTIONS:
            label = list(rest)[MAX_OPTIONS]
            self.writer.problem("mapping_unknown_option", rest[label][0], option_header, label)
            return None
        ordered = [(header, value) for _, value in sorted(rest.values())]
        return ordered, dont_know, count


@dataclass
class _Chosen:
    options: list[tuple[str, str]]
    group: QuestionColumns | None


@dataclass
class _Pending:
    row: int
    unit_cells: dict[str, tuple[str, str]]
    texts: dict[str, str]
    labels: dict[str, tuple[int, str]] = field(default_factory=dict)


# --- one sheet per unit ------------------------------------------------------------------------


def _sheets(sheets: Iterator[SheetRows], mapping: Mapping, writer: _Writer) -> None:
    columns = mapping.columns
    by_option = "option" in columns and "question_id" not in columns
    needed = [columns["option"]] if by_option else [columns["question_id"]]
    read_any = False
    for sheet in sheets:
        found = _find_header(sheet.rows, needed)
        if found is None:
            continue  # a cover or summary sheet without the table
        above, header, header_number = found
        positions = _positions(header)
        if mapping.sheet_unit == "name":
            unit = sheet.name.strip()
        else:
            unit = (label_value(above, mapping.sheet_unit) or "").strip()
        if not unit:
            writer.problem("mapping_sheet_without_unit", None, None, sheet.name)
            continue
        read_any = True
        unit_cells: dict[str, tuple[str, str]] = {}
        for role, where in mapping.cells.items():
            unit_cells[role] = (f"{sheet.name}!{where}", label_value(above, where) or "")
        prefix = f"{sheet.name}!"
        writer.sheet = sheet.name
        if by_option:
            _check_columns(mapping, positions)
            _option_table(
                sheet.rows, header_number, positions, mapping, writer, unit, unit_cells, prefix
            )
        else:
            _check_columns(mapping, positions)
            reader = _LongReader(mapping, writer, positions, prefix, fixed_unit=(unit, unit_cells))
            answered_before = len(writer.answered)
            for number, row in enumerate(sheet.rows, start=header_number + 1):
                reader.row(number, row)
            reader.finish()
            if len(writer.answered) == answered_before:
                writer.declare(unit, unit_cells, header_number)
    if not read_any:
        names = ", ".join(f'"{name}"' for name in needed)
        raise MappingError(
            f"No sheet of the file has a table with the columns {names}.",
            f"Intet ark i filen har en tabel med kolonnerne {names}.",
        )


def _option_table(
    rows: Iterator[list[str]],
    header_number: int,
    positions: dict[str, int],
    mapping: Mapping,
    writer: _Writer,
    unit: str,
    unit_cells: dict[str, tuple[str, str]],
    prefix: str,
) -> None:
    """A row per option and a column per question."""
    option_at = positions[norm(mapping.columns["option"])]
    by_label: dict[str, tuple[int, list[str]]] = {}
    for number, row in enumerate(rows, start=header_number + 1):
        label = _cell(row, option_at).strip()
        if label and norm(label) not in by_label:
            by_label[norm(label)] = (number, row)
    answered = False
    for question in mapping.questions:
        column = question.column or question.question_id
        at = positions[norm(column)]

        def cell(label: str | None, at: int = at, name: str = column) -> tuple[str, str] | None:
            if label is None or norm(label) not in by_label:
                return None
            return name, _cell(by_label[norm(label)][1], at)

        options = [cell(label) or (column, "") for label in question.options]
        dont_know = cell(question.dont_know)
        if not any(text.strip() for _, text in options) and not (
            dont_know and dont_know[1].strip()
        ):
            continue
        rows_used = [
            by_label[norm(label)][0] for label in question.options if norm(label) in by_label
        ]
        answered = True
        writer.answer(
            unit,
            unit_cells,
            question.question_id,
            {},
            _Answers(
                row=min(rows_used) if rows_used else header_number,
                column_prefix=prefix,
                options=options,
                dont_know=dont_know,
                count=cell(question.count),
            ),
        )
    if not answered:
        writer.declare(unit, unit_cells, header_number)


__all__ = [
    "UnreadableFile",
    "check_mapping",
    "convert",
    "counts_from_percentages",
    "percentage",
    "whole_count",
]
