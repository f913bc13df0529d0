"""The results import engine: reads a results file and validates it against the contract.

The contract is `spec/import-format.md` (version 1). This module knows nothing of Flask or
the database: `parse_results` takes a binary stream and returns an `ImportResult` that is
either a complete list of problems (up to 100) or a validated result set that the caller
writes in one transaction. An import is all or nothing, so as soon as there is one error,
the result carries no units, questions or results at all.

Speed matters (a 5,000-unit organisation means ~260,000 rows), so the row loop in
`_Validator._read_rows` has a fast path for the common case, a row that looks like the rows
before it: per-unit and per-question cells are compared as one tuple with the first row of
the unit or question and only parsed again when they differ, and counts are looked up in a
table of small whole numbers. Anything unusual falls through to the slow path, which does
the full validation and produces the same values.
"""

from __future__ import annotations

import csv
import gc
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field, fields, make_dataclass
from operator import itemgetter, mul
from typing import Any, BinaryIO

from app.domain.importing_problems import MESSAGES, Problem, problem
from app.domain.importing_read import (
    PROGRESS_MASK,
    RowSource,
    UnreadableFile,
    UnreadableRow,
    read_file,
)

__all__ = [
    "ERROR_CODES",
    "MAX_ERRORS",
    "ImportResult",
    "KnownUnit",
    "Problem",
    "QuestionSpec",
    "ResultRow",
    "UnitRow",
    "parse_results",
]

MAX_ERRORS = 100
MIN_OPTIONS, MAX_OPTIONS = 2, 11
HIGHER_BETTER, LOWER_BETTER = "higher_better", "lower_better"
WARNING_CODES = frozenset({"unit_moved", "previous_unit_unknown"})
NOTICE_CODES = frozenset({"encoding_cp1252", "ignored_column", "sheet_used"})
# The mapping import's own problems (app/domain/mapping*) are never reported here.
_MAPPING_PREFIXES = ("mapping_", "percent_", "reference_")
ERROR_CODES = (
    frozenset(code for code in MESSAGES if not code.startswith(_MAPPING_PREFIXES))
    - WARNING_CODES
    - NOTICE_CODES
)

UNIT_COLUMNS = ("unit_name", "parent_id", "unit_type", "invited", "respondents", "previous_unit_id")
QUESTION_COLUMNS = ("question_text", "theme", "scale", "direction", "zero_tolerance")
COUNT_COLUMNS = tuple(f"n_{option}" for option in range(1, MAX_OPTIONS + 1))
KNOWN_COLUMNS = frozenset(
    {
        "unit_id",
        "question_id",
        *UNIT_COLUMNS,
        *QUESTION_COLUMNS,
        *COUNT_COLUMNS,
        "n_dont_know",
        "n",
        "mean",
    }
)

_YES = frozenset({"yes", "ja", "1", "true"})
_NO = frozenset({"no", "nej", "0", "false"})
# Whole numbers: plain digits, or a zero decimal part as tools writing floats produce
# ("3.0"). "1.000" is refused: in Danish it means one thousand.
_WHOLE_RE = re.compile(r"[0-9]+(?:[.,]0{1,2})?")
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")
# Nearly every count in a file is a small number: a dict lookup beats int() and a regex.
# Tools that write counts as floats ("3.0", pandas with empty cells) stay on the fast path.
_SMALL_WHOLE: dict[str, int] = {
    **{f"{number}{decimals}": number for number in range(1_000) for decimals in (".0", ",0")},
    **{str(number): number for number in range(10_000)},
}
_OPTION_WEIGHTS = range(1, MAX_OPTIONS + 1)
_NOT_FAST: tuple[None, int, None] = (None, 0, None)  # cells the row loop leaves to the slow path
# No organisation counts more people; a larger count is a row error, not a database overflow.
MAX_COUNT = 10_000_000
# Tools that deliver both a distribution and a mean round the mean, often to one decimal.
_MEAN_TOLERANCE = 0.05 + 1e-9


# --- the public result types -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuestionSpec:
    """A question of a questionnaire: from a template, or defined by the file."""

    code: str
    text: str
    theme: str  # "" when the question belongs to no indicator
    scale: tuple[str, ...]  # answer labels from option 1 up; len(scale) options
    direction: str  # "higher_better" | "lower_better"
    zero_tolerance: bool


@dataclass(frozen=True, slots=True)
class UnitRow:
    """A unit as the file describes it."""

    code: str
    name: str  # defaults to the code
    parent_code: str | None  # None: a root (or, without a parent_id column, unchanged)
    unit_type: str
    invited: int | None
    respondents: int | None  # given, else the largest answer total; None without rows
    previous_codes: tuple[str, ...]
    has_own_rows: bool  # the file has results for this unit itself


@dataclass(frozen=True, slots=True)
class ResultRow:
    """The answers of one unit to one question."""

    unit_code: str
    question_code: str
    counts: tuple[int, ...] | None  # n_1..n_k; None when the file gave n and mean
    n: int  # answers on the scale: the sum of counts, "don't know" not included
    mean: float | None  # on the 1..k scale; computed from counts; None when n == 0
    dont_know: int


# ResultRow is frozen, so its generated __init__ sets every field through
# object.__setattr__, which is slow. The parser builds each row as this unfrozen twin (the
# same fields, so the same slots) and then turns it into a ResultRow by assigning
# __class__: for the 256,000 rows of the benchmark file that saves ~0.1 s, a tenth of it.
_ResultRowDraft = make_dataclass(
    "_ResultRowDraft",
    [(result_field.name, result_field.type) for result_field in fields(ResultRow)],
    slots=True,
    eq=False,
)


@dataclass(frozen=True, slots=True)
class KnownUnit:
    """A unit that already exists in the organisation."""

    code: str
    parent_code: str | None


@dataclass
class ImportResult:
    """What a file holds: problems, or (when ok) the validated units, questions and results."""

    ok: bool
    errors: list[Problem]  # up to MAX_ERRORS, then one "too_many_errors"
    warnings: list[Problem]  # unit_moved, previous_unit_unknown: allowed, shown in the preview
    notices: list[Problem]  # encoding_cp1252, ignored_column, sheet_used
    units: list[UnitRow]  # file order; parents may come after their children
    questions: list[QuestionSpec]  # order of first appearance
    results: list[ResultRow]  # file order
    format: str  # "csv" | "xlsx" ("" when the file is neither)
    encoding: str | None  # "utf-8", "utf-8-sig", "cp1252"; None for XLSX
    rows: int  # data rows read (blank rows not counted)
    # With a template: the file's wording of a question where it differs from the
    # template's, by question code. The file's text wins for that measurement.
    question_texts: dict[str, str] = field(default_factory=dict)


def parse_results(
    stream: BinaryIO,
    *,
    template: Sequence[QuestionSpec] | None = None,
    known_units: Mapping[str, KnownUnit] | None = None,
    previous_unit_codes: Set[str] | None = None,
    progress: Callable[[float], None] | None = None,
) -> ImportResult:
    """Read and validate a results file (CSV or XLSX, told by its content).

    template: the questionnaire chosen for the measurement; the file's question columns
        must then agree with it and may be left out. None: the file defines it.
    known_units: the units already in the organisation, by code; a parent_id may name one.
    previous_unit_codes: unit codes of earlier measurements; a previous_unit_id naming none
        of them is a warning. None: not checked.
    progress: told the share of the file read (0.0-1.0) about every tenth of it.

    The stream is read from its current position and left open. A non-seekable stream is
    copied to a temporary file first (a CSV file may have to be read twice).
    """
    validator = _Validator(template, known_units or {}, previous_unit_codes)
    # A large file makes hundreds of thousands of small objects, none of them cyclic
    # garbage; letting the cycle collector scan them over and over costs a third of the
    # time. It is switched back on (if it was on) when the file has been read.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return read_file(stream, validator.run, progress)
    except UnreadableFile as unreadable:
        return ImportResult(
            ok=False,
            errors=[unreadable.problem],
            warnings=[],
            notices=[],
            units=[],
            questions=[],
            results=[],
            format=unreadable.file_format,
            encoding=None,
            rows=0,
        )
    finally:
        if collecting:
            gc.enable()


# --- validation ----------------------------------------------------------------------------


class _TooManyErrors(Exception):
    """Raised to stop reading once MAX_ERRORS errors have been collected."""


def _whole_number(text: str) -> int | None:
    """The whole number >= 0 that `text` holds, or None."""
    number = _SMALL_WHOLE.get(text)
    if number is not None:
        return number
    text = text.strip()
    if not _WHOLE_RE.fullmatch(text):
        return None
    digits = text.replace(",", ".").partition(".")[0].lstrip("0")
    if len(digits) > len(str(MAX_COUNT)) or int(digits or 0) > MAX_COUNT:
        return None  # reported as "count_too_large" (see _error)
    return int(digits or 0)


def _number(text: str) -> float | None:
    """A decimal number with "." or "," as decimal mark (Danish Excel writes "3,4"), or None."""
    text = text.strip()
    if not _NUMBER_RE.fullmatch(text):
        return None
    return float(text.replace(",", "."))


def _yes_no(text: str) -> bool | None:
    word = text.strip().lower()
    if word in _YES:
        return True
    if word in _NO:
        return False
    return None


def _scale_labels(text: str) -> tuple[str, ...]:
    return tuple(label.strip() for label in text.split("|"))


def _codes(text: str) -> tuple[str, ...]:
    """The unit codes of a previous_unit_id cell, in order, without repeats."""
    return tuple(dict.fromkeys(code for code in (part.strip() for part in text.split("|")) if code))


def _shown(value: object) -> str:
    """A normalised value as the user would write it in the file."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        return "|".join(value)
    return str(value)


def _cells_getter(positions: Sequence[int]) -> Callable[[list[str]], tuple[str, ...]]:
    """A fast function returning the cells at `positions` of a row, always as a tuple."""
    if not positions:
        return lambda row: ()
    if len(positions) == 1:
        only = positions[0]
        return lambda row: (row[only],)
    return itemgetter(*positions)  # type: ignore[return-value]


@dataclass(slots=True)
class _Layout:
    """Where each column is, worked out once from the header row."""

    width: int
    position: dict[str, int]
    unit_columns: list[tuple[str, int]]  # the per-unit columns present
    question_columns: list[tuple[str, int]]  # the per-question columns present
    count_positions: list[tuple[int, int]]  # (option, position), by option
    contiguous_options: int  # n_1 … n_this all have a column
    answer_columns: list[tuple[str, int]]  # every column holding answers
    unit_key: Callable[[list[str]], tuple[str, ...]]
    question_key: Callable[[list[str]], tuple[str, ...]]
    # n_1 … n_11 (those present), then n and mean: on a row with a distribution, every
    # cell after the first k must be empty, which the fast path tests in one comparison.
    answer_cells: Callable[[list[str]], tuple[str, ...]]
    answer_cell_count: int

    @classmethod
    def from_header(cls, width: int, position: dict[str, int]) -> _Layout:
        unit_columns = [(name, position[name]) for name in UNIT_COLUMNS if name in position]
        question_columns = [(name, position[name]) for name in QUESTION_COLUMNS if name in position]
        count_positions = [
            (option, position[name])
            for option, name in enumerate(COUNT_COLUMNS, start=1)
            if name in position
        ]
        contiguous = 0
        while contiguous < MAX_OPTIONS and COUNT_COLUMNS[contiguous] in position:
            contiguous += 1
        answer_names = [*COUNT_COLUMNS, "n_dont_know", "n", "mean"]
        answer_positions = [
            *(p for _, p in count_positions),
            *(position[name] for name in ("n", "mean") if name in position),
        ]
        return cls(
            width=width,
            position=position,
            unit_columns=unit_columns,
            question_columns=question_columns,
            count_positions=count_positions,
            contiguous_options=contiguous,
            answer_columns=[(name, position[name]) for name in answer_names if name in position],
            unit_key=_cells_getter([position["unit_id"], *(p for _, p in unit_columns)]),
            question_key=_cells_getter(
                [position["question_id"], *(p for _, p in question_columns)]
            ),
            answer_cells=_cells_getter(answer_positions),
            answer_cell_count=len(answer_positions),
        )


@dataclass(slots=True, eq=False)
class _Unit:
    code: str
    key: tuple[str, ...]  # the unit's cells on its first row, to spot rows that differ
    first_row: int
    values: dict[str, object]  # normalised per-unit values, to compare other rows with
    name: str
    parent_code: str | None
    unit_type: str
    invited: int | None
    respondents: int | None  # as given
    previous_codes: tuple[str, ...]
    answer_limit: int  # respondents, or no limit when not given
    question_rows: dict[str, int] = field(default_factory=dict)  # question -> row
    unit_row: int | None = None  # the row without question_id, if any
    max_total: int = 0  # largest answer total (incl. don't know) of any question
    max_total_row: int = 0


@dataclass(slots=True, eq=False)
class _Question:
    code: str
    key: tuple[str, ...]
    first_row: int
    spec: QuestionSpec | None  # None: unknown to the template, rows are skipped
    values: dict[str, object]  # normalised per-question values (no template)
    k: int  # number of options; 0 when unknown (the rows are then skipped)
    usable: bool  # known and with a valid scale: its rows can be read
    fast: bool  # the fast path can read its counts
    empty_tail: tuple[str, ...]  # what the answer cells after the first k must hold


class _Validator:
    """Collects problems and the validated result set from one pass over the rows."""

    def __init__(
        self,
        template: Sequence[QuestionSpec] | None,
        known_units: Mapping[str, KnownUnit],
        previous_unit_codes: Set[str] | None,
    ) -> None:
        self.template = None if template is None else {spec.code: spec for spec in template}
        self.known_units = known_units
        self.previous_unit_codes = previous_unit_codes

    def _reset(self, source: RowSource) -> None:
        # run() may be called twice (a CSV file re-read as Windows-1252): start afresh.
        self.format = source.format
        self.encoding = source.encoding
        self.tick = source.tick
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.notices: list[Problem] = list(source.notices)
        self.reported: set[tuple[object, ...]] = set()  # problems only worth saying once
        self.units: dict[str, _Unit] = {}
        self.units_by_cell: dict[str, _Unit] = {}  # raw unit_id cell -> unit
        self.questions: dict[str, _Question] = {}
        self.questions_by_cell: dict[str, _Question] = {}
        self.question_texts: dict[str, str] = {}  # file's wording where not the template's
        self.results: list[ResultRow] = []
        self.records = 0  # rows after the header, blank ones included
        self.blank_rows = 0

    def run(self, source: RowSource) -> ImportResult:
        self._reset(source)
        try:
            self._read(source.rows)
        except _TooManyErrors:
            pass
        return self._finish()

    # --- reporting ---------------------------------------------------------------------

    def _error(
        self,
        code: str,
        row: int | None = None,
        column: str | None = None,
        value: object = "",
        **details: object,
    ) -> None:
        if len(self.errors) >= MAX_ERRORS:
            self.errors.append(problem("too_many_errors", limit=MAX_ERRORS))
            raise _TooManyErrors
        if code == "not_whole_number" and _WHOLE_RE.fullmatch(str(value).strip()):
            limit = f"{MAX_COUNT:_}".replace("_", " ")
            code, details = "count_too_large", {**details, "limit": limit}
        self.errors.append(problem(code, row, column, value, **details))

    def _error_once(
        self,
        key: tuple[object, ...],
        code: str,
        row: int | None = None,
        column: str | None = None,
        value: object = "",
        **details: object,
    ) -> None:
        if key not in self.reported:
            self.reported.add(key)
            self._error(code, row, column, value, **details)

    # --- reading -------------------------------------------------------------------------

    def _read(self, rows: Iterator[list[str]]) -> None:
        try:
            header = next(rows, None)
        except csv.Error as error:
            self._csv_error(error, 1)
            return
        except UnreadableRow as unreadable:
            self._unreadable(unreadable, 1)
            return
        if header is None:
            self._error("empty_file")
            return
        if not self._read_header(header):
            return
        self._read_rows(rows)
        if not self.records - self.blank_rows:
            if not self.errors:
                self._error("no_rows")
            return
        self._check_units()

    def _read_header(self, cells: list[str]) -> bool:
        position: dict[str, int] = {}
        for index, cell in enumerate(cells):
            name = cell.strip().lower()
            if not name:
                continue  # an unnamed column (e.g. a trailing separator) is not read
            if name in position:
                self._error_once(("repeated", name), "repeated_column", 1, name, cell.strip())
                continue
            position[name] = index
            if name not in KNOWN_COLUMNS:
                self.notices.append(problem("ignored_column", 1, name, cell.strip()))
        for required in ("unit_id", "question_id"):
            if required not in position:
                self._error("missing_column", None, required)
        if self.errors:
            return False
        self.layout = _Layout.from_header(len(cells), position)
        return True

    def _read_rows(self, rows: Iterator[list[str]]) -> None:
        # Everything the loop touches is bound to a local name: this loop runs once per
        # row of a file that may have 260,000 of them.
        layout = self.layout
        width = layout.width
        unit_position = layout.position["unit_id"]
        question_position = layout.position["question_id"]
        unit_key = layout.unit_key
        question_key = layout.question_key
        answer_cells = layout.answer_cells
        dont_know_position = layout.position.get("n_dont_know")
        units_by_cell = self.units_by_cell
        questions_by_cell = self.questions_by_cell
        add_result = self.results.append
        small_whole = _SMALL_WHOLE.get
        weights = _OPTION_WEIGHTS
        # Distributions repeat a lot (35,000 different ones in 256,000 rows of the
        # benchmark file): rows share one tuple per distribution.
        distributions: dict[tuple[int | None, ...], tuple[int | None, ...]] = {}
        shared_counts = distributions.setdefault
        # And the cells as written map to their counts, n and mean, worked out once per
        # way of writing a distribution (or _NOT_FAST: a cell that is not a small number).
        counts_by_cells: dict[tuple[str, ...], tuple[Any, int, float | None]] = {}
        by_cells = counts_by_cells.get
        new_draft = _ResultRowDraft
        result_row_class = ResultRow
        tick = self.tick
        progress_mask = PROGRESS_MASK if tick is not None else -1  # -1: never 0 below
        row_number = 1
        try:
            for row in rows:
                row_number += 1
                if not row_number & progress_mask:
                    tick()  # type: ignore[misc]
                if len(row) != width:
                    fitted = self._fit_to_header(row, row_number)
                    if fitted is None:
                        continue
                    row = fitted
                unit = units_by_cell.get(row[unit_position])
                if unit is None or unit.key != unit_key(row):
                    unit = self._unit_from_row(row, row_number)
                    if unit is None:
                        continue
                question_cell = row[question_position]
                if not question_cell:
                    self._unit_only_row(unit, row, row_number)
                    continue
                question = questions_by_cell.get(question_cell)
                if question is None or question.key != question_key(row):
                    question = self._question_from_row(unit, row, row_number)
                    if question is None:
                        continue
                if not question.usable:
                    continue
                question_code = question.code
                first_row = unit.question_rows.setdefault(question_code, row_number)
                if first_row != row_number:
                    self._error(
                        "duplicate_row",
                        row_number,
                        "question_id",
                        question_code,
                        unit=unit.code,
                        question=question_code,
                        first_row=first_row,
                    )
                    continue

                counts: tuple[int | None, ...] | None = None
                dont_know: int | None = 0
                if question.fast:
                    cells = answer_cells(row)
                    k = question.k
                    if cells[k:] == question.empty_tail:
                        written = cells[:k]
                        known = by_cells(written)
                        if known is None:
                            counts = tuple(map(small_whole, written))
                            if None in counts:
                                known = _NOT_FAST
                            else:
                                counts = shared_counts(counts, counts)
                                n = sum(counts)  # type: ignore[arg-type]
                                mean = sum(map(mul, counts, weights)) / n if n else None  # type: ignore[arg-type]
                                known = (counts, n, mean)
                            counts_by_cells[written] = known
                        counts, n, mean = known
                        if dont_know_position is not None and counts is not None:
                            dont_know_cell = row[dont_know_position]
                            if dont_know_cell:
                                dont_know = small_whole(dont_know_cell)
                                if dont_know is None:
                                    counts = None
                if counts is None:
                    answers = self._answers_from_row(question, row, row_number)
                    if answers is None:
                        continue
                    counts, n, mean, dont_know = answers
                total = n + dont_know  # type: ignore[operator]
                if total > unit.answer_limit:
                    self._error(
                        "answers_exceed_respondents",
                        row_number,
                        "respondents",
                        unit.respondents,
                        total=total,
                    )
                if total > unit.max_total:
                    unit.max_total = total
                    unit.max_total_row = row_number
                result = new_draft(unit.code, question_code, counts, n, mean, dont_know)
                result.__class__ = result_row_class
                add_result(result)
        except csv.Error as error:
            self._csv_error(error, row_number + 1)
        except UnreadableRow as unreadable:
            self._unreadable(unreadable, row_number + 1)
        finally:
            self.records = row_number - 1

    def _csv_error(self, error: csv.Error, row_number: int) -> None:
        # A cell over the csv module's field limit (file_limits.MAX_CELL) and an unclosed
        # quote (which swallows the rest of the file into one cell) look the same here:
        # malformed_csv names both.
        self._error("malformed_csv", row_number)

    def _unreadable(self, unreadable: UnreadableRow, row_number: int) -> None:
        self._error(unreadable.code, row_number, None, unreadable.value, **unreadable.details)

    def _fit_to_header(self, row: list[str], row_number: int) -> list[str] | None:
        width = self.layout.width
        if len(row) < width:  # short rows (a blank line, trimmed trailing cells): pad
            return [*row, *([""] * (width - len(row)))]
        filled = [index for index, cell in enumerate(row) if cell.strip()]
        if filled and filled[-1] >= width:
            self._error(
                "too_many_cells",
                row_number,
                None,
                row[filled[-1]].strip(),
                cells=filled[-1] + 1,
                columns=width,
            )
            return None
        return row[:width]  # the extra cells are empty: trailing separators

    # --- units -------------------------------------------------------------------------

    def _unit_from_row(self, row: list[str], row_number: int) -> _Unit | None:
        """The unit of a row whose unit cells differ from its first row (or a new unit)."""
        cell = row[self.layout.position["unit_id"]]
        code = cell.strip()
        if not code:
            if any(other.strip() for other in row):
                self._error("missing_unit_id", row_number, "unit_id", cell)
            else:
                self.blank_rows += 1
            return None
        values = {
            name: self._unit_value(name, row[position])
            for name, position in self.layout.unit_columns
        }
        unit = self.units.get(code)
        if unit is None:
            unit = self._new_unit(code, values, row, row_number)
            self.units[code] = unit
        else:
            self._compare_unit(unit, values, row, row_number)
        self.units_by_cell[cell] = unit
        return unit

    @staticmethod
    def _unit_value(name: str, cell: str) -> object:
        text = cell.strip()
        if name in ("invited", "respondents"):
            number = _whole_number(text) if text else None
            return text if number is None and text else number  # bad text kept to compare
        if name == "previous_unit_id":
            return _codes(text)
        return text

    def _new_unit(
        self, code: str, values: dict[str, object], row: list[str], row_number: int
    ) -> _Unit:
        counts: dict[str, int | None] = {}
        for name in ("invited", "respondents"):
            value = values.get(name)
            if isinstance(value, str):
                self._error("not_whole_number", row_number, name, value)
                value = None
            counts[name] = value  # type: ignore[assignment]
        if "parent_id" in values:
            parent_code = str(values["parent_id"]) or None
        else:  # no parent_id column: an existing unit stays where it is
            known = self.known_units.get(code)
            parent_code = known.parent_code if known else None
        respondents = counts["respondents"]
        return _Unit(
            code=sys.intern(code),
            key=self.layout.unit_key(row),
            first_row=row_number,
            values=values,
            name=str(values.get("unit_name") or code),
            parent_code=parent_code,
            unit_type=str(values.get("unit_type", "")),
            invited=counts["invited"],
            respondents=respondents,
            previous_codes=values.get("previous_unit_id", ()),  # type: ignore[arg-type]
            answer_limit=sys.maxsize if respondents is None else respondents,
        )

    def _compare_unit(
        self, unit: _Unit, values: dict[str, object], row: list[str], row_number: int
    ) -> None:
        for name, value in values.items():
            first = unit.values[name]
            if value != first:
                self._error_once(
                    ("unit", unit.code, name, value),
                    "unit_inconsistent",
                    row_number,
                    name,
                    row[self.layout.position[name]].strip(),
                    expected=_shown(first),
                    first_row=unit.first_row,
                    unit=unit.code,
                )

    def _unit_only_row(self, unit: _Unit, row: list[str], row_number: int) -> None:
        if unit.unit_row is not None:
            self._error(
                "duplicate_unit_row",
                row_number,
                "unit_id",
                unit.code,
                unit=unit.code,
                first_row=unit.unit_row,
            )
            return
        unit.unit_row = row_number
        for name, position in self.layout.answer_columns:
            text = row[position].strip()
            if text:
                self._error("counts_without_question", row_number, name, text)
                return

    # --- questions -----------------------------------------------------------------------

    def _question_from_row(self, unit: _Unit, row: list[str], row_number: int) -> _Question | None:
        """The question of a row whose question cells differ from its first row (or new)."""
        cell = row[self.layout.position["question_id"]]
        code = cell.strip()
        if not code:  # only spaces: a unit-only row after all
            self._unit_only_row(unit, row, row_number)
            return None
        question_cells = {
            name: row[position].strip() for name, position in self.layout.question_columns
        }
        question = self.questions.get(code)
        if question is None:
            question = self._new_question(code, question_cells, row, row_number)
            self.questions[code] = question
        elif question.spec is not None:
            if self.template is not None:
                self._check_against_template(question.spec, question_cells, row_number)
            else:
                self._compare_question(question, question_cells, row_number)
        self.questions_by_cell[cell] = question
        return question

    def _new_question(
        self, code: str, question_cells: dict[str, str], row: list[str], row_number: int
    ) -> _Question:
        self._check_answer_columns(row_number)
        key = self.layout.question_key(row)
        code = sys.intern(code)
        if self.template is not None:
            spec = self.template.get(code)
            if spec is None:
                self._error("unknown_question", row_number, "question_id", code)
            else:
                self._check_against_template(spec, question_cells, row_number)
            return self._question(code, key, row_number, spec, {})
        spec = self._spec_from_fields(code, question_cells, row_number)
        values = {
            name: self._question_value(code, name, text) for name, text in question_cells.items()
        }
        return self._question(code, key, row_number, spec, values)

    def _question(
        self,
        code: str,
        key: tuple[str, ...],
        row_number: int,
        spec: QuestionSpec | None,
        values: dict[str, object],
    ) -> _Question:
        k = len(spec.scale) if spec is not None else 0
        if not MIN_OPTIONS <= k <= MAX_OPTIONS:
            k = 0  # an unusable scale, already reported: the question's rows are skipped
        layout = self.layout
        fast = 0 < k <= layout.contiguous_options
        empty_tail = ("",) * (layout.answer_cell_count - k) if fast else ()
        # Without any answer columns (reported once) there is nothing to read on its rows.
        usable = k > 0 and ("n_1" in layout.position or "n" in layout.position)
        return _Question(code, key, row_number, spec, values, k, usable, fast, empty_tail)

    def _check_answer_columns(self, row_number: int) -> None:
        """Columns needed only once there is a question: said once, at the first one."""
        position = self.layout.position
        if "n_1" not in position and "n" not in position:
            self._error_once(("columns", "answers"), "missing_answer_columns")
        if self.template is None and "scale" not in position:
            self._error_once(("columns", "scale"), "missing_column", None, "scale")

    def _spec_from_fields(
        self, code: str, question_cells: dict[str, str], row_number: int
    ) -> QuestionSpec:
        """The question as the file defines it (no template); problems are reported."""
        scale_text = question_cells.get("scale")
        labels: tuple[str, ...] = ()
        if scale_text == "":
            self._error("missing_scale", row_number, "scale")
        elif scale_text is not None:
            labels = _scale_labels(scale_text)
            if not MIN_OPTIONS <= len(labels) <= MAX_OPTIONS:
                self._error("scale_size", row_number, "scale", scale_text, k=len(labels))
            elif "" in labels:
                self._error("invalid_scale", row_number, "scale", scale_text)
        direction = question_cells.get("direction", "").lower() or HIGHER_BETTER
        if direction not in (HIGHER_BETTER, LOWER_BETTER):
            self._error("invalid_direction", row_number, "direction", question_cells["direction"])
        zero_tolerance = _yes_no(question_cells.get("zero_tolerance") or "no")
        if zero_tolerance is None:
            self._error(
                "not_yes_no", row_number, "zero_tolerance", question_cells["zero_tolerance"]
            )
        return QuestionSpec(
            code=code,
            text=question_cells.get("question_text") or code,
            theme=question_cells.get("theme", ""),
            scale=labels,
            direction=direction,
            zero_tolerance=bool(zero_tolerance),
        )

    @staticmethod
    def _question_value(code: str, name: str, text: str) -> object:
        """A question cell as the question would read it (no template), for comparisons."""
        if name == "question_text":
            return text or code
        if name == "scale":
            return _scale_labels(text) if text else ()
        if name == "direction":
            return text.lower() or HIGHER_BETTER
        if name == "zero_tolerance":
            answer = _yes_no(text or "no")
            return text if answer is None else answer
        return text

    def _compare_question(
        self, question: _Question, question_cells: dict[str, str], row_number: int
    ) -> None:
        for name, text in question_cells.items():
            value = self._question_value(question.code, name, text)
            first = question.values[name]
            if value != first:
                self._error_once(
                    ("question", question.code, name, value),
                    "question_inconsistent",
                    row_number,
                    name,
                    text,
                    expected=_shown(first),
                    first_row=question.first_row,
                    question=question.code,
                )

    def _check_against_template(
        self, spec: QuestionSpec, question_cells: dict[str, str], row_number: int
    ) -> None:
        for name, text in question_cells.items():
            if not text:
                continue  # an empty cell leaves the questionnaire's own value
            expected: object
            if name == "question_text":
                # The real wording (the ministry's, the survey tool's) may differ from the
                # template's: matched by code, and the file's text is kept. Only a file
                # giving one question two wordings is refused.
                if text == spec.text and spec.code not in self.question_texts:
                    continue
                expected = self.question_texts.setdefault(spec.code, text)
                agrees = text == expected
            elif name == "theme":
                expected, agrees = spec.theme, text == spec.theme
            elif name == "scale":
                expected, agrees = spec.scale, _scale_labels(text) == spec.scale
            elif name == "direction":
                expected, agrees = spec.direction, text.lower() == spec.direction
            else:
                answer = _yes_no(text)
                if answer is None:
                    self._error_once(
                        ("yes_no", spec.code, text), "not_yes_no", row_number, name, text
                    )
                    continue
                expected, agrees = spec.zero_tolerance, answer == spec.zero_tolerance
            if not agrees:
                self._error_once(
                    ("template", spec.code, name, text),
                    "question_mismatch",
                    row_number,
                    name,
                    text,
                    expected=_shown(expected),
                    question=spec.code,
                )

    # --- answers ------------------------------------------------------------------------

    def _answers_from_row(
        self, question: _Question, row: list[str], row_number: int
    ) -> tuple[tuple[int, ...] | None, int, float | None, int] | None:
        """Counts, n, mean and don't-know of a row, fully checked; None after an error."""
        layout = self.layout
        k = question.k
        ok = True
        cells = {option: row[position].strip() for option, position in layout.count_positions}
        for option, text in cells.items():
            if option > k and text:
                self._error("count_beyond_scale", row_number, f"n_{option}", text, k=k)
                ok = False
        dont_know: int | None = 0
        dont_know_text = self._cell(row, "n_dont_know")
        if dont_know_text:
            dont_know = _whole_number(dont_know_text)
            if dont_know is None:
                self._error("not_whole_number", row_number, "n_dont_know", dont_know_text)
                ok = False
        n_text, mean_text = self._cell(row, "n"), self._cell(row, "mean")
        head = [cells.get(option) for option in range(1, k + 1)]
        if any(head):
            counts = self._counts(head, k, row_number)
            if counts is None or not ok:
                return None
            n = sum(counts)
            mean = sum(map(mul, counts, _OPTION_WEIGHTS)) / n if n else None
            if not self._agrees_with_distribution(n_text, mean_text, n, mean, k, row_number):
                return None
            return counts, n, mean, dont_know  # type: ignore[return-value]
        if n_text or mean_text:
            if question.spec is not None and question.spec.zero_tolerance:
                # Hits are answers other than option 1: a mean cannot tell how many.
                self._error("zero_tolerance_needs_distribution", row_number, "n_1")
                return None
            n_and_mean = self._n_and_mean(n_text, mean_text, k, row_number)
            if n_and_mean is None or not ok:
                return None
            return None, *n_and_mean, dont_know  # type: ignore[return-value]
        if ok:
            self._error("no_answers", row_number, "n_1")
        return None

    def _cell(self, row: list[str], name: str) -> str:
        position = self.layout.position.get(name)
        return "" if position is None else row[position].strip()

    def _counts(self, head: list[str | None], k: int, row_number: int) -> tuple[int, ...] | None:
        counts: list[int] = []
        for option, text in enumerate(head, start=1):
            column = f"n_{option}"
            if text is None:
                self._error_once(("columns", column), "missing_column", row_number, column)
                continue
            if not text:
                self._error("missing_count", row_number, column, "", k=k)
                continue
            number = _whole_number(text)
            if number is None:
                self._error("not_whole_number", row_number, column, text)
                continue
            counts.append(number)
        return tuple(counts) if len(counts) == k else None

    def _agrees_with_distribution(
        self, n_text: str, mean_text: str, n: int, mean: float | None, k: int, row_number: int
    ) -> bool:
        """n and mean given next to a distribution must say the same as it."""
        if n_text:
            given_n = _whole_number(n_text)
            if given_n is None:
                self._error("not_whole_number", row_number, "n", n_text)
                return False
            if given_n != n:
                self._error("n_mismatch", row_number, "n", n_text, k=k, total=n)
                return False
        if mean_text:
            given_mean = _number(mean_text)
            if given_mean is None:
                self._error("not_a_number", row_number, "mean", mean_text)
                return False
            if mean is not None and abs(given_mean - mean) > _MEAN_TOLERANCE:
                self._error(
                    "mean_mismatch", row_number, "mean", mean_text, k=k, expected=f"{mean:.2f}"
                )
                return False
        return True

    def _n_and_mean(
        self, n_text: str, mean_text: str, k: int, row_number: int
    ) -> tuple[int, float | None] | None:
        """n and mean where a tool delivers no distribution."""
        if not n_text:
            self._error("no_answers", row_number, "n")
            return None
        n = _whole_number(n_text)
        if n is None:
            self._error("not_whole_number", row_number, "n", n_text)
            return None
        if n == 0:
            return 0, None  # no answers: there is no mean, whatever the cell says
        if not mean_text:
            self._error("missing_mean", row_number, "mean")
            return None
        mean = _number(mean_text)
        if mean is None:
            self._error("not_a_number", row_number, "mean", mean_text)
            return None
        if not 1 <= mean <= k:
            self._error("mean_out_of_range", row_number, "mean", mean_text, k=k)
            return None
        return n, mean

    # --- the units as a whole ------------------------------------------------------------

    def _check_units(self) -> None:
        self._check_parents()
        self._check_invited()
        children = self._children()
        order = self._children_first(children)
        self._check_parent_respondents(order, children)
        if any(children.get(unit.code) and unit.question_rows for unit in order):
            self._check_parent_counts(order, children)
        self._check_previous_units()

    def _parent_of(self, code: str) -> str | None:
        unit = self.units.get(code)
        if unit is not None:
            return unit.parent_code
        known = self.known_units.get(code)
        return known.parent_code if known is not None else None

    def _check_parents(self) -> None:
        units, known_units = self.units, self.known_units
        has_parent_column = "parent_id" in self.layout.position
        for unit in units.values():
            parent = unit.parent_code
            if parent is not None and parent not in units and parent not in known_units:
                self._error("unknown_parent", unit.first_row, "parent_id", parent)
            known = known_units.get(unit.code)
            if has_parent_column and known is not None and known.parent_code != parent:
                self.warnings.append(
                    problem(
                        "unit_moved",
                        unit.first_row,
                        "parent_id",
                        parent or "",
                        unit=unit.code,
                        old_da=_parent_da(known.parent_code),
                        old_en=_parent_en(known.parent_code),
                        new_da=_parent_da(parent),
                        new_en=_parent_en(parent),
                    )
                )
        # A unit is its own ancestor when walking up from it comes back to it. Each unit
        # is walked over once: 1 = on the current walk, 2 = done.
        state: dict[str, int] = {}
        for start in units:
            path: list[str] = []
            code: str | None = start
            while code is not None and code not in state:
                state[code] = 1
                path.append(code)
                code = self._parent_of(code)
            if code is not None and state[code] == 1:
                cycle = path[path.index(code) :]
                shown = " → ".join([*cycle, cycle[0]])
                for member in cycle:
                    in_cycle = units.get(member)
                    if in_cycle is not None:
                        self._error(
                            "cycle",
                            in_cycle.first_row,
                            "parent_id",
                            in_cycle.parent_code,
                            unit=member,
                            path=shown,
                        )
            for walked in path:
                state[walked] = 2

    def _check_invited(self) -> None:
        for unit in self.units.values():
            if unit.invited is None:
                continue
            if unit.respondents is not None:
                if unit.respondents > unit.invited:
                    self._error(
                        "respondents_exceed_invited",
                        unit.first_row,
                        "respondents",
                        unit.respondents,
                        invited=unit.invited,
                        unit=unit.code,
                    )
            elif unit.question_rows and unit.max_total > unit.invited:
                self._error(
                    "answers_exceed_invited",
                    unit.max_total_row,
                    "invited",
                    unit.invited,
                    total=unit.max_total,
                    unit=unit.code,
                )

    def _children(self) -> dict[str, list[_Unit]]:
        children: dict[str, list[_Unit]] = {}
        for unit in self.units.values():
            parent = unit.parent_code
            if parent is not None and parent in self.units:
                children.setdefault(parent, []).append(unit)
        return children

    def _children_first(self, children: dict[str, list[_Unit]]) -> list[_Unit]:
        """The file's units, every unit after all of its children (units on a cycle left out)."""
        order: list[_Unit] = []
        roots = [unit for unit in self.units.values() if unit.parent_code not in self.units]
        for root in roots:
            stack: list[tuple[_Unit, bool]] = [(root, False)]
            while stack:
                unit, expanded = stack.pop()
                if expanded:
                    order.append(unit)
                    continue
                stack.append((unit, True))
                stack.extend((child, False) for child in children.get(unit.code, ()))
        return order

    def _check_parent_respondents(
        self, order: list[_Unit], children: dict[str, list[_Unit]]
    ) -> None:
        """A parent's own respondents cannot be fewer than those of its children together."""
        figure: dict[str, int] = {}  # respondents: own, else derived from the children
        for unit in order:
            own = unit.respondents
            row = unit.first_row
            if own is None and unit.question_rows:
                own, row = unit.max_total, unit.max_total_row
            kids = children.get(unit.code)
            if not kids:
                figure[unit.code] = own or 0
                continue
            from_children = sum(figure[kid.code] for kid in kids)
            if own is not None and own < from_children:
                self._error(
                    "parent_smaller_than_children",
                    row,
                    "respondents",
                    own,
                    unit=unit.code,
                    children=from_children,
                )
            figure[unit.code] = from_children if own is None else own

    def _check_parent_counts(self, order: list[_Unit], children: dict[str, list[_Unit]]) -> None:
        """Per question, a parent's own answers cannot be fewer than its children's."""
        results = self.results
        by_unit: dict[str, dict[str, int]] = {}
        for index, result in enumerate(results):
            by_unit.setdefault(result.unit_code, {})[result.question_code] = index
        # question -> (n, dont_know, counts or None): own rows, else summed from below.
        figures: dict[str, dict[str, tuple[int, int, tuple[int, ...] | None]]] = {}
        for unit in order:
            own = {
                question: (results[index].n, results[index].dont_know, results[index].counts)
                for question, index in by_unit.get(unit.code, {}).items()
            }
            kids = children.get(unit.code)
            if not kids:
                figures[unit.code] = own
                continue
            summed: dict[str, tuple[int, int, tuple[int, ...] | None]] = {}
            for kid in kids:
                for question, figure in figures.pop(kid.code, {}).items():
                    summed[question] = _add_figures(summed.get(question), figure)
            for question, (n, dont_know, counts) in own.items():
                below = summed.get(question)
                if below is not None:
                    row = unit.question_rows[question]
                    self._compare_with_children(unit, row, (n, dont_know, counts), below)
            summed.update(own)
            figures[unit.code] = summed

    def _compare_with_children(
        self,
        unit: _Unit,
        row: int,
        own: tuple[int, int, tuple[int, ...] | None],
        below: tuple[int, int, tuple[int, ...] | None],
    ) -> None:
        n, dont_know, counts = own
        below_n, below_dont_know, below_counts = below
        smaller: tuple[str | None, int, int] | None = None
        if counts is not None and below_counts is not None and len(counts) == len(below_counts):
            for option, (mine, theirs) in enumerate(zip(counts, below_counts, strict=True), 1):
                if mine < theirs:
                    smaller = (f"n_{option}", mine, theirs)
                    break
        elif n < below_n:
            smaller = ("n" if "n" in self.layout.position else None, n, below_n)
        if smaller is None and dont_know < below_dont_know:
            smaller = ("n_dont_know", dont_know, below_dont_know)
        if smaller is not None:
            column, mine, theirs = smaller
            self._error(
                "parent_smaller_than_children", row, column, mine, unit=unit.code, children=theirs
            )

    def _check_previous_units(self) -> None:
        earlier = self.previous_unit_codes
        if earlier is None:
            return
        for unit in self.units.values():
            for code in unit.previous_codes:
                if code not in earlier:
                    self.warnings.append(
                        problem("previous_unit_unknown", unit.first_row, "previous_unit_id", code)
                    )

    # --- the outcome ---------------------------------------------------------------------

    def _finish(self) -> ImportResult:
        ok = not self.errors
        units: list[UnitRow] = []
        questions: list[QuestionSpec] = []
        if ok:
            units = [_unit_row(unit) for unit in self.units.values()]
            questions = [
                question.spec for question in self.questions.values() if question.spec is not None
            ]
        return ImportResult(
            ok=ok,
            errors=self.errors,
            warnings=self.warnings if ok else [],
            notices=self.notices,
            units=units,
            questions=questions,
            results=self.results if ok else [],
            format=self.format,
            encoding=self.encoding,
            rows=self.records - self.blank_rows,
            question_texts=self.question_texts if ok else {},
        )


def _unit_row(unit: _Unit) -> UnitRow:
    respondents = unit.respondents
    if respondents is None and unit.question_rows:
        respondents = unit.max_total  # the spec's default: the largest answer total
    return UnitRow(
        code=unit.code,
        name=unit.name,
        parent_code=unit.parent_code,
        unit_type=unit.unit_type,
        invited=unit.invited,
        respondents=respondents,
        previous_codes=unit.previous_codes,
        has_own_rows=bool(unit.question_rows),
    )


def _add_figures(
    total: tuple[int, int, tuple[int, ...] | None] | None,
    figure: tuple[int, int, tuple[int, ...] | None],
) -> tuple[int, int, tuple[int, ...] | None]:
    if total is None:
        return figure
    counts = None
    if total[2] is not None and figure[2] is not None and len(total[2]) == len(figure[2]):
        counts = tuple(map(sum, zip(total[2], figure[2], strict=True)))
    return total[0] + figure[0], total[1] + figure[1], counts


def _parent_da(code: str | None) -> str:
    return f'"{code}"' if code else "ingen overenhed (øverst)"


def _parent_en(code: str | None) -> str:
    return f'"{code}"' if code else "no parent (the top)"
