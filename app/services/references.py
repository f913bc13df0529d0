"""Reference figures: the ministry's (or a sector's, or a municipality's) published key figures
for a year, imported from a file and shown beside the organisation's own, marked with their
source and year ("Landsplan 2025").

Reading and checking the file is :mod:`app.domain.references`; this stores what it found,
replacing the figures of every year, source and label the file holds, and reads them back for
pages, exports and the annual report. Flushes, never commits.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, bindparam, delete, func, select
from sqlalchemy.orm import Session

from app.domain.importing_problems import Problem
from app.domain.importing_read import RowSource, UnreadableFile, UnreadableRow, read_file
from app.domain.references import (
    ParsedReferences,
    ReferenceProblem,
    ReferenceRow,
    parse_references,
)
from app.models import Organisation, Question, Questionnaire, ReferenceFigure, Unit, User
from app.models.org import organisation_value, the_organisation
from app.services import audit, prepared

if TYPE_CHECKING:
    from app.domain.mapping import Mapping

MAX_FILE_BYTES = 5 * 1024 * 1024
DISPLAYS = ("score", "scale")
# Where the 1-5 scale of the ministry turns into Kompas's 0-100 score and back.
SCALE_MIN, SCALE_MAX = 1, 5
_SOURCE_ORDER = {"national": 0, "sector": 1, "municipality": 2}


@dataclass(frozen=True)
class ReferenceLine:
    """One reference figure as every channel prints it."""

    year: int
    source: str  # "national" | "sector" | "municipality"
    label: str  # "Landsplan", "stx", "Aarhus"
    indicator: str  # "" for a question
    question_code: str  # "" for an indicator
    average: float | None  # on the 1-5 scale
    share: float | None  # per cent
    count: int | None

    @property
    def title(self) -> str:
        """ "Landsplan 2025": its source and year, wherever it is shown."""
        return f"{self.label} {self.year}"

    @property
    def score(self) -> float | None:
        """The average as Kompas's 0-100 score, to stand beside a score."""
        return None if self.average is None else average_to_score(self.average)


def average_to_score(average: float) -> float:
    return (average - SCALE_MIN) / (SCALE_MAX - SCALE_MIN) * 100


def score_to_average(score: float) -> float:
    """Kompas's 0-100 score on the ministry's 1-5 scale (indicators are oriented so that
    higher is better on both)."""
    return SCALE_MIN + score * (SCALE_MAX - SCALE_MIN) / 100


def questionnaire_texts(session: Session, code: str) -> tuple[list[str], dict[str, str]]:
    """The questionnaire's indicators (themes) and question codes -> texts."""
    questions = session.scalars(
        select(Question)
        .join(Questionnaire, Questionnaire.id == Question.questionnaire_id)
        .where(Questionnaire.code == code)
        .order_by(Question.position)
    ).all()
    themes = list(dict.fromkeys(q.theme for q in questions if q.theme))
    return themes, {q.code: q.text for q in questions}


def check_file(
    session: Session, content: bytes, *, questionnaire_code: str = "gym", year: int | None = None
) -> ParsedReferences:
    """The file read and checked; nothing is written."""
    if len(content) > MAX_FILE_BYTES:
        return _refused("too_large", str(MAX_FILE_BYTES // 2**20))
    themes, questions = questionnaire_texts(session, questionnaire_code)
    if not themes and not questions:
        return _refused("unknown_questionnaire", questionnaire_code)

    own_names = [
        organisation_value(session, Organisation.name) or "",
        *(name for pair in session.execute(select(Unit.name, Unit.code)) for name in pair),
    ]

    def consume(source: RowSource) -> ParsedReferences:
        return parse_references(
            source.rows, indicators=themes, questions=questions, year=year, own_names=own_names
        )

    try:
        return read_file(io.BytesIO(content), consume)
    except UnreadableFile as error:
        return _refused(error.problem.code)
    except UnreadableRow as error:
        return _refused(error.code)


def _refused(code: str, value: str = "") -> ParsedReferences:
    """A file refused as a whole: one problem of the file, no rows."""
    parsed = ParsedReferences()
    parsed.problems.append(ReferenceProblem(None, code, value))
    return parsed


def needs_mapping(parsed: ParsedReferences) -> bool:
    """The file's header was not recognised (a column is missing): its columns are chosen on
    the mapping screen instead (app.domain.mapping.suggest_references)."""
    return any(problem.code == "missing_column" for problem in parsed.problems)


def convert_mapped(path: Path, mapping: Mapping) -> tuple[bytes, list[Problem]]:
    """A file in another layout, turned by `mapping` into the canonical reference CSV that
    `check_file` reads; with the rows the mapping could not convert."""
    from app.domain.mapping import convert_references

    out = io.StringIO()
    problems = convert_references(path, mapping, out)
    return out.getvalue().encode("utf-8"), problems


def import_references(
    session: Session,
    actor: User | None,
    parsed: ParsedReferences,
    *,
    questionnaire_code: str = "gym",
    file_name: str = "",
) -> int:
    """Store a checked file's rows, replacing every figure of the same questionnaire, year,
    source and label. Returns the number of figures stored."""
    if not parsed.ok:
        raise ValueError("a file with problems is not imported")
    groups = {(row.year, row.source, row.label) for row in parsed.rows}
    for year, source, label in groups:
        session.execute(
            delete(ReferenceFigure).where(
                ReferenceFigure.questionnaire_code == questionnaire_code,
                ReferenceFigure.year == year,
                ReferenceFigure.source == source,
                ReferenceFigure.label == label,
            )
        )
    session.add_all(
        ReferenceFigure(
            questionnaire_code=questionnaire_code, file_name=file_name[:255], **_figures(row)
        )
        for row in parsed.rows
    )
    session.flush()
    prepared.forget_all(session)  # unit pages show the figures beside their own
    audit.record(
        session,
        actor,
        "references.imported",
        "reference_figure",
        None,
        file=file_name[:255],
        figures=len(parsed.rows),
        groups=sorted(f"{label} {year}" for year, _, label in groups),
    )
    return len(parsed.rows)


# What a reference figure is, the same in a parsed row, a stored figure and a printed line.
_FIGURE_FIELDS = (
    "year", "source", "label", "indicator", "question_code", "average", "share", "count",
)  # fmt: skip


def _figures(row: ReferenceRow | ReferenceFigure) -> dict[str, Any]:
    return {name: getattr(row, name) for name in _FIGURE_FIELDS}


def _line(figure: ReferenceFigure) -> ReferenceLine:
    return ReferenceLine(**_figures(figure))


def _order(line: ReferenceLine) -> tuple[int, int, str]:
    return (-line.year, _SOURCE_ORDER.get(line.source, 9), line.label.lower())


def _line_order(line: ReferenceLine) -> tuple[int, int, str, bool, str]:
    """Newest year, then national, sector, municipal; indicators before questions."""
    return (*_order(line), line.question_code != "", line.question_code)


def reference_rows(
    session: Session, questionnaire_code: str, years: Iterable[int]
) -> list[ReferenceLine]:
    """Every reference figure of the questionnaire in the given years: newest year first, then
    national, sector and municipal, indicators before questions. For the annual report and
    the exports; each line's `title` says its source and year ("Landsplan 2025")."""
    wanted = sorted(set(years))
    if not wanted:
        return []
    figures = session.scalars(
        select(ReferenceFigure).where(
            ReferenceFigure.questionnaire_code == questionnaire_code,
            ReferenceFigure.year.in_(wanted),
        )
    ).all()
    lines = [_line(f) for f in figures]
    return sorted(lines, key=_line_order)


@dataclass
class ReferenceColumns:
    """The reference figures of one year beside a measurement: one column per source and label,
    indicators and questions by name/code."""

    titles: list[str]
    indicators: dict[str, dict[str, ReferenceLine]]  # indicator -> title -> line
    questions: dict[str, dict[str, ReferenceLine]]  # question code -> title -> line

    def __bool__(self) -> bool:
        return bool(self.titles)

    def has_shares(self) -> bool:
        return any(
            line.share is not None for by in self.indicators.values() for line in by.values()
        )


def references_beside(session: Session, questionnaire_code: str, year: int) -> ReferenceColumns:
    """The figures to show beside a measurement of `year`: that year's, national first."""
    return _columns(reference_rows(session, questionnaire_code, [year]))


def display_and_references(
    session: Session, questionnaire_id: int, year: int
) -> tuple[str, ReferenceColumns]:
    """`indicator_display` and `references_beside` for a measurement's questionnaire and year
    in one query (the overview's budget): the organisation's row joined with the figures."""
    display, _kind, references = _organisation_and_references(
        session, _DISPLAY_AND_REFERENCES, questionnaire_id, year
    )
    return display, references


def display_kind_and_references(
    session: Session, questionnaire_id: int, year: int
) -> tuple[str, str | None, ReferenceColumns]:
    """`display_and_references` with the organisation's kind (school or municipality), in
    the same one query (a unit page's results section)."""
    return _organisation_and_references(
        session, _DISPLAY_KIND_AND_REFERENCES, questionnaire_id, year
    )


def _organisation_and_references(
    session: Session, statement: Select[Any], questionnaire_id: int, year: int
) -> tuple[str, str | None, ReferenceColumns]:
    """(display, kind or None, references) from one of the statements below."""
    rows = session.execute(statement, {"questionnaire_id": questionnaire_id, "year": year}).all()
    if not rows:  # no organisation row yet: the default display
        code = session.scalar(
            select(Questionnaire.code).where(Questionnaire.id == questionnaire_id)
        )
        return "score", None, references_beside(session, code or "", year)
    display = rows[0][0] if rows[0][0] in DISPLAYS else "score"
    kind = rows[0][1] if statement is _DISPLAY_KIND_AND_REFERENCES else None
    first = 3 if statement is _DISPLAY_KIND_AND_REFERENCES else 2  # the figure's fields
    lines = sorted(
        (
            ReferenceLine(**dict(zip(_FIGURE_FIELDS, row[first:], strict=True)))
            for row in rows
            if row[first - 1] is not None
        ),
        key=_line_order,
    )
    return display, kind, _columns(lines)


_reference, _questionnaire = ReferenceFigure.__table__, Questionnaire.__table__
_organisation = Organisation.__table__


def _with_references(*columns: Any) -> Select[Any]:
    """Some of the organisation's columns, then each reference figure of the questionnaire
    (`questionnaire_id`) and `year` (its id, then `_FIGURE_FIELDS`): plain SQL, no ORM work."""
    return (
        select(*columns, _reference.c.id, *(_reference.c[name] for name in _FIGURE_FIELDS))
        .select_from(_organisation)
        .outerjoin(
            _reference,
            and_(
                _reference.c.questionnaire_code
                == select(_questionnaire.c.code)
                .where(_questionnaire.c.id == bindparam("questionnaire_id"))
                .scalar_subquery(),
                _reference.c.year == bindparam("year"),
            ),
        )
        .where(_organisation.c.id == select(func.min(_organisation.c.id)).scalar_subquery())
    )


# Read by every overview and unit page: built once.
_DISPLAY_AND_REFERENCES = _with_references(_organisation.c.indicator_display)
_DISPLAY_KIND_AND_REFERENCES = _with_references(
    _organisation.c.indicator_display, _organisation.c.kind
)


def _columns(lines: list[ReferenceLine]) -> ReferenceColumns:
    titles = list(dict.fromkeys(line.title for line in lines))
    indicators: dict[str, dict[str, ReferenceLine]] = {}
    questions: dict[str, dict[str, ReferenceLine]] = {}
    for line in lines:
        if line.question_code:
            questions.setdefault(line.question_code, {})[line.title] = line
        else:
            indicators.setdefault(line.indicator, {})[line.title] = line
    return ReferenceColumns(titles, indicators, questions)


def imported_groups(session: Session) -> list[tuple[str, int, str, str, int]]:
    """(questionnaire, year, source, label, figures) of everything imported, newest first."""
    rows = session.execute(
        select(
            ReferenceFigure.questionnaire_code,
            ReferenceFigure.year,
            ReferenceFigure.source,
            ReferenceFigure.label,
            func.count(ReferenceFigure.id),
        ).group_by(
            ReferenceFigure.questionnaire_code,
            ReferenceFigure.year,
            ReferenceFigure.source,
            ReferenceFigure.label,
        )
    ).all()
    return sorted(
        ((q, y, s, label, n) for q, y, s, label, n in rows),
        key=lambda r: (-r[1], _SOURCE_ORDER.get(r[2], 9), r[3].lower()),
    )


def indicator_display(session: Session) -> str:
    """ "score" (0-100) or "scale" (averages on 1-5, as the ministry), as HR chose."""
    chosen = organisation_value(session, Organisation.indicator_display)
    return chosen if chosen in DISPLAYS else "score"


def set_indicator_display(session: Session, actor: User | None, display: str) -> None:
    if display not in DISPLAYS:
        raise ValueError(display)
    organisation = the_organisation(session)
    if organisation is None or organisation.indicator_display == display:
        return
    before = organisation.indicator_display
    organisation.indicator_display = display
    session.flush()
    prepared.forget_all(session)  # the unit pages' sections show indicators the chosen way
    audit.record(
        session, actor, "organisation.indicator_display", "organisation", organisation.id,
        indicator_display=[before, display],
    )  # fmt: skip


def reference_table(
    session: Session, questionnaire_id: int, year: int, themes: Iterable[str]
) -> list[tuple[str, list[ReferenceLine | None]]]:
    """For exports: per reference ("Landsplan 2025") its figure for each theme, or None."""
    themes = list(themes)
    _, columns = display_and_references(session, questionnaire_id, year)
    return [
        (title, [columns.indicators.get(theme, {}).get(title) for theme in themes])
        for title in columns.titles
    ]
