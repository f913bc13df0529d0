"""The mapping import's data types: what a file looks like and what the user chose for it.

Imported through app.domain.mapping, which is the public face of the mapping import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

LAYOUTS = ("long", "wide", "sheets")
DETECTED_LAYOUTS = ("native", "long", "wide", "sheets", "unknown")
VALUES = ("counts", "percent")
ROLES = (
    "unit_id",
    "unit_name",
    "parent_id",
    "unit_type",
    "invited",
    "respondents",
    "question_id",
    "question_text",
    "theme",
    "option",
    "value",
    "count",
    "dont_know",
)
REFERENCE_ROLES = ("year", "level", "indicator", "question", "average", "share", "count")
ALL_ROLES = tuple(dict.fromkeys((*ROLES, *REFERENCE_ROLES)))
# Roles that may be read from a cell of a sheet (sheets layout) instead of a column.
CELL_ROLES = ("unit_name", "parent_id", "unit_type", "invited", "respondents")

MAX_TEXT = 200  # a header, label, sheet name or question id in a mapping
MAX_QUESTIONS = 2_000
MAX_OPTIONS = 11
MAX_CONSTANT = 100
CELL_REF = re.compile(r"^[A-Z]{1,3}[1-9][0-9]{0,6}$")


class MappingError(ValueError):
    """A mapping that does not fit the file, or is malformed. str() is the English message."""

    def __init__(self, message_en: str, message_da: str) -> None:
        super().__init__(message_en)
        self.message_en = message_en
        self.message_da = message_da


class RespondentLevelFile(Exception):
    """The file holds one row per person. Refused before anything else."""

    def __init__(self, reason_en: str, reason_da: str) -> None:
        super().__init__(reason_en)
        self.reason_en = reason_en
        self.reason_da = reason_da


@dataclass(frozen=True)
class Sheet:
    name: str  # "" for CSV
    header: list[str]  # the table's header row (cells as text)
    rows: list[list[str]]  # up to `rows` rows after the header
    row_count: int | None  # rows after the header if known cheaply, else None
    header_row: int = 1  # the header's row number as a spreadsheet shows it
    above: list[list[str]] = field(default_factory=list)  # rows above the header (titles)


@dataclass(frozen=True)
class Sample:
    format: str  # "csv" | "xlsx"
    sheets: list[Sheet]  # CSV: one Sheet named ""
    layout: str  # "native" | "long" | "wide" | "sheets" | "unknown"
    values: str  # "counts" | "percent"


@dataclass
class QuestionColumns:
    """Where one question's answers are.

    wide: `options` are the column headers of options 1..k; `count` the column with the
    question's number of answers (for percentages), if any.
    long (a row per unit and question, a column per option): an entry whose question_id is
    "" gives option columns for every question; several such entries are scale groups (each
    row uses the one group whose cells are filled); an entry with a question_id overrides them
    for that question. With an option column (a row per option), `options` are the labels
    the option column holds, for options 1..k.
    sheets (a row per option, a column per question): `options` are the row labels, `column`
    the column header holding the question (default: question_id), `count` the row label
    of the question's number of answers.
    """

    question_id: str
    options: list[str]
    dont_know: str | None = None
    count: str | None = None
    column: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"question_id": self.question_id, "options": list(self.options)}
        for name in ("dont_know", "count", "column"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> QuestionColumns:
        if not isinstance(data, dict):
            raise _malformed("a question entry is not an object", "et spørgsmål er ikke et objekt")
        unknown = set(data) - {"question_id", "options", "dont_know", "count", "column"}
        if unknown:
            raise _malformed(f"unknown question field {sorted(unknown)[0]!r}", "ukendt felt")
        question_id = _text(data.get("question_id", ""), "question_id", allow_empty=True)
        options = data.get("options")
        if not isinstance(options, list) or len(options) > MAX_OPTIONS:
            raise _malformed(
                f"options of {question_id!r} must be a list of at most {MAX_OPTIONS}",
                f"svarmulighederne for {question_id!r} skal være en liste med højst {MAX_OPTIONS}",
            )
        texts = [_text(option, "option") for option in options]
        if len(set(texts)) != len(texts):
            raise _malformed(
                f"an option of {question_id!r} is given twice",
                f"en svarmulighed for {question_id!r} står to gange",
            )
        extra = {
            name: None if data.get(name) is None else _text(data[name], name)
            for name in ("dont_know", "count", "column")
        }
        return cls(question_id=question_id, options=texts, **extra)


@dataclass
class Mapping:
    """Everything the user chooses on the mapping screen. JSON-serialisable via to_dict."""

    layout: str  # "long" | "wide" | "sheets"
    values: str  # "counts" | "percent"
    columns: dict[str, str]  # role -> column header as in the file
    questions: list[QuestionColumns] = field(default_factory=list)
    sheet_unit: str = "name"  # sheets: "name", a cell ("B2") or the label left of the cell
    constants: dict[str, str] = field(default_factory=dict)  # values the file lacks
    # sheets: role -> a cell ("B3") or the label left of the cell ("Antal besvarelser")
    cells: dict[str, str] = field(default_factory=dict)
    sheet: str = ""  # long/wide XLSX: the sheet to read ("" = "results", else the first)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "layout": self.layout,
            "values": self.values,
            "columns": dict(self.columns),
            "questions": [question.to_dict() for question in self.questions],
            "sheet_unit": self.sheet_unit,
            "constants": dict(self.constants),
            "cells": dict(self.cells),
            "sheet": self.sheet,
        }

    @classmethod
    def from_dict(cls, data: Any, *, roles: tuple[str, ...] = ALL_ROLES) -> Mapping:
        """Validate shape and limits; raise MappingError for anything malformed."""
        if not isinstance(data, dict):
            raise _malformed("the mapping is not an object", "kortlægningen er ikke et objekt")
        unknown = set(data) - {
            "version",
            "layout",
            "values",
            "columns",
            "questions",
            "sheet_unit",
            "constants",
            "cells",
            "sheet",
        }
        if unknown:
            raise _malformed(
                f"unknown field {sorted(unknown)[0]!r}", f"ukendt felt {sorted(unknown)[0]!r}"
            )
        if data.get("version", 1) != 1:
            raise _malformed("unknown mapping version", "ukendt version af kortlægningen")
        layout = data.get("layout")
        if layout not in LAYOUTS:
            raise _malformed(
                f"layout must be one of {', '.join(LAYOUTS)}",
                f"layout skal være en af {', '.join(LAYOUTS)}",
            )
        values = data.get("values", "counts")
        if values not in VALUES:
            raise _malformed("values must be counts or percent", "values skal være counts/percent")
        columns = _text_dict(data.get("columns", {}), "columns", roles)
        questions_data = data.get("questions", [])
        if not isinstance(questions_data, list) or len(questions_data) > MAX_QUESTIONS:
            raise _malformed(
                f"questions must be a list of at most {MAX_QUESTIONS}",
                f"questions skal være en liste med højst {MAX_QUESTIONS}",
            )
        questions = [QuestionColumns.from_dict(item) for item in questions_data]
        sheet_unit = _text(data.get("sheet_unit", "name"), "sheet_unit")
        constants = _text_dict(data.get("constants", {}), "constants", None, MAX_CONSTANT)
        cells = _text_dict(data.get("cells", {}), "cells", CELL_ROLES)
        sheet = _text(data.get("sheet", ""), "sheet", allow_empty=True)
        return cls(
            layout=layout,
            values=values,
            columns=columns,
            questions=questions,
            sheet_unit=sheet_unit,
            constants=constants,
            cells=cells,
            sheet=sheet,
        )


def _malformed(english: str, danish: str) -> MappingError:
    return MappingError(
        f"The mapping is malformed: {english}.", f"Kortlægningen er ugyldig: {danish}."
    )


def _text(value: Any, name: str, *, allow_empty: bool = False, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or len(value) > limit or (not allow_empty and not value):
        raise _malformed(
            f"{name} must be a text of 1 to {limit} characters",
            f"{name} skal være en tekst på 1 til {limit} tegn",
        )
    return value


def _text_dict(
    value: Any, name: str, keys: tuple[str, ...] | None, limit: int = MAX_TEXT
) -> dict[str, str]:
    if not isinstance(value, dict) or len(value) > 50:
        raise _malformed(f"{name} must be an object", f"{name} skal være et objekt")
    result: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or (keys is not None and key not in keys):
            raise _malformed(f"{name} has an unknown role {key!r}", f"{name} har en ukendt rolle")
        if keys is None and (not key or len(key) > 50):
            raise _malformed(f"{name} has a bad key", f"{name} har en ugyldig nøgle")
        result[key] = _text(item, f"{name}.{key}", limit=limit)
    return result
