"""Reading a measurement's stored figures for pages, exports and the API.

Everything here reads `unit_figures` (written once per import) and applies the access
policy; nothing recomputes anonymity. A hidden unit yields its name and `shown=False` only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, Text, and_, bindparam, cast, literal, or_, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session, undefer

from app.domain import json_text
from app.domain.release import QuestionInfo, indicator_themes
from app.domain.scoring import QuestionCounts, question_score, theme_score
from app.models import (
    Measurement,
    OrganisationKind,
    PreparedSection,
    Question,
    Unit,
    UnitFigures,
    UnitResult,
)
from app.policy import Access, Permission
from app.services import prepared
from app.services.questionnaires import questions_as_asked
from app.services.references import (
    ReferenceColumns,
    display_kind_and_references,
)

# Read by most pages: built once. Those whose figures passed the anonymity audit, newest
# first, a re-measurement after the measurement it follows up: as entities, and as the
# (id, name) a filter offers (the board asks on every page; a Measurement of every column
# for two values cost it ~5 %).
_measurement = Measurement.__table__
_HAVE_FIGURES = _measurement.c.anonymity_ok.is_(True)
_NEWEST_FIRST = (
    _measurement.c.year.desc(),
    _measurement.c.remeasure_of_id.is_(None).desc(),
    _measurement.c.id.desc(),
)
_WITH_FIGURES = select(Measurement).where(_HAVE_FIGURES).order_by(*_NEWEST_FIRST)
_NAMES_WITH_FIGURES = (
    select(_measurement.c.id, _measurement.c.name).where(_HAVE_FIGURES).order_by(*_NEWEST_FIRST)
)


def measurements_with_figures(session: Session) -> list[Measurement]:
    """Newest first, a re-measurement after the measurement it follows up; only those whose
    figures passed the anonymity audit."""
    return list(session.scalars(_WITH_FIGURES))


def measurement_names_with_figures(session: Session) -> list[Row[tuple[int, str]]]:
    """`measurements_with_figures` as (id, name) rows, in the same order."""
    return list(session.execute(_NAMES_WITH_FIGURES))


def previous_measurement(
    session: Session, measurement: Measurement, *, among: list[Measurement] | None = None
) -> Measurement | None:
    """What to compare with: for a re-measurement the measurement it follows up; otherwise
    last year's, the newest earlier ordinary one with the same questionnaire, else any.
    `among`: every one of `measurements_with_figures`, when already read (no query then)."""
    if measurement.remeasure_of_id is not None:
        return session.get(Measurement, measurement.remeasure_of_id)
    if among is not None:  # newest first: year, then id, as the query below orders them
        candidates = [m for m in among if m.year < measurement.year and m.remeasure_of_id is None]
        return next(
            (m for m in candidates if m.questionnaire_id == measurement.questionnaire_id),
            candidates[0] if candidates else None,
        )
    earlier = (
        select(Measurement)
        .where(
            Measurement.year < measurement.year,
            Measurement.anonymity_ok.is_(True),
            Measurement.remeasure_of_id.is_(None),
        )
        .order_by(Measurement.year.desc(), Measurement.id.desc())
    )
    same = session.scalar(
        earlier.where(Measurement.questionnaire_id == measurement.questionnaire_id).limit(1)
    )
    return same or session.scalar(earlier.limit(1))


def question_infos(session: Session, measurement: Measurement) -> list[Question]:
    """The measurement's questions, worded as its file asked them (`question_texts`)."""
    return questions_as_asked(session, measurement.questionnaire_id, measurement.id)


class Themed(Protocol):
    """A question as far as themes go: a `Question`, or the overview's `QuestionTheme`."""

    @property
    def theme(self) -> str: ...

    @property
    def zero_tolerance(self) -> bool: ...


QuestionT = TypeVar("QuestionT", bound=Themed)


def themes_of(questions: Iterable[QuestionT]) -> dict[str, list[QuestionT]]:
    themes: dict[str, list[QuestionT]] = {}
    for question in questions:
        themes.setdefault(question.theme, []).append(question)
    return themes


@dataclass
class Comparison:
    """A figure of the unit and the same figure elsewhere (each None where not shown).

    For an indicator, `questions_shown` of `questions_total` questions make the unit's own
    score: where some of its questions are hidden at the unit, the indicator is computed over
    the shown ones and marked as such (`partial`).
    """

    own: float | None
    parent: float | None = None
    organisation: float | None = None
    last_year: float | None = None
    questions_shown: int = 0
    questions_total: int = 0

    @property
    def partial(self) -> bool:
        return self.own is not None and 0 < self.questions_shown < self.questions_total

    @property
    def change(self) -> float | None:
        if self.own is None or self.last_year is None:
            return None
        return self.own - self.last_year


# What a zero-tolerance question's statement may say (`zk` in `unit_figures.questions`); the
# counts are cumulative: the unit and every unit below it. A count is printed only for
# "exact", and never a count of 1 or 2 (those say "few").
STATEMENT_KINDS = ("none", "few", "exact", "at_least", "withheld")
SMALLEST_PRINTED_HITS = 3


def zero_tolerance_statement(entry: dict[str, Any] | None) -> tuple[str, int | None] | None:
    """(kind, hits) of a zero-tolerance question's stored entry, for every channel to print:
    hits is 0 for "none", the number (3 or more) for "exact", None otherwise. None where the
    question is not shown. Whatever is stored, a count of 1 or 2 never comes out of here."""
    if entry is None:
        return None
    kind, hits = entry.get("zk"), entry.get("zt")
    if kind not in STATEMENT_KINDS:
        return ("withheld", None)
    if kind == "none":
        return ("none", 0)
    if kind == "exact":
        if not isinstance(hits, int) or hits < SMALLEST_PRINTED_HITS:
            return ("few", None) if isinstance(hits, int) and hits > 0 else ("withheld", None)
        return ("exact", hits)
    return (kind, None)


def zero_tolerance_share(entry: dict[str, Any] | None) -> float | None:
    """The share (0..1) who answered other than "no" to a zero-tolerance question: published
    only where the statement gives the exact count (or none at all) and the answer count is
    published beside it. A share is a count divided by a known number, so it follows the
    count's rules: "fewer than 3", "at least 3" and "withheld" have no share."""
    said = zero_tolerance_statement(entry)
    answers = entry.get("n") if entry else None
    if said is None or said[0] not in ("none", "exact") or not isinstance(answers, int):
        return None
    hits = said[1]
    if hits is None or answers <= 0 or hits > answers:
        return None
    return hits / answers


def zero_tolerance_themes(questions: Iterable[Themed]) -> set[str]:
    """Themes made only of zero-tolerance questions: no score is ever published for them."""
    return {
        theme for theme, qs in themes_of(questions).items() if all(q.zero_tolerance for q in qs)
    }


def scored_themes(questions: Iterable[Themed]) -> list[str]:
    """The indicators (themes with a score), in questionnaire order."""
    questions = list(questions)
    left_out = zero_tolerance_themes(questions)
    return [t for t in themes_of(questions) if t and t not in left_out]


@dataclass
class QuestionView:
    question: Question
    entry: dict[str, Any] | None  # the stored figures where shown
    hidden_reason: str | None  # set where the unit has data for it but may not show it
    comparison: Comparison
    labels: list[str] = field(default_factory=list)

    @property
    def shown(self) -> bool:
        return self.entry is not None

    @property
    def statement(self) -> tuple[str, int | None] | None:
        """A zero-tolerance question's statement (see `zero_tolerance_statement`)."""
        if not self.question.zero_tolerance:
            return None
        return zero_tolerance_statement(self.entry)

    @property
    def reported_share(self) -> float | None:
        """A zero-tolerance question's share who report it (see `zero_tolerance_share`)."""
        if not self.question.zero_tolerance:
            return None
        return zero_tolerance_share(self.entry)


@dataclass
class UnitView:
    unit: Unit
    measurement: Measurement
    figures: UnitFigures | None
    parent: UnitFigures | None
    organisation: UnitFigures | None
    last_year: UnitFigures | None
    previous: Measurement | None
    indicators: dict[str, Comparison]
    overall: Comparison
    questions: list[QuestionView]
    themes: dict[str, list[QuestionView]]
    # Published reference figures of the measurement's year (national, sector, municipal),
    # shown beside the unit's own; and "score" (0-100) or "scale" (1-5, as the ministry).
    references: ReferenceColumns | None = None
    display: str = "score"
    # A school shows bullying as the share who report it (issue 19); a municipality keeps
    # the statements alone.
    school: bool = False

    @property
    def shown(self) -> bool:
        return self.figures is not None and self.figures.shown

    @property
    def share_themes(self) -> list[str]:
        """Themes of zero-tolerance questions only ("Mobning"): shown as the share who report
        it, per question, never as a score; left out of the overall score and traffic light."""
        if not self.school:
            return []
        return [
            theme
            for theme, views in self.themes.items()
            if theme and views and all(v.question.zero_tolerance for v in views)
        ]

    @property
    def is_remeasurement(self) -> bool:
        """The measurement re-measures a few units: `previous` is the measurement it
        follows up (the units' first measurement), not last year's."""
        return self.measurement.remeasure_of_id is not None

    def _scored(self) -> list[QuestionView]:
        # Zero-tolerance questions are followed up as alerts, not ranked as strengths.
        return [
            q
            for q in self.questions
            if q.entry and q.entry.get("score") is not None and not q.question.zero_tolerance
        ]

    def strongest(self, count: int = 3) -> list[QuestionView]:
        return sorted(self._scored(), key=lambda q: -q.entry["score"])[:count]  # type: ignore[index]

    def weakest(self, count: int = 3) -> list[QuestionView]:
        return sorted(self._scored(), key=lambda q: q.entry["score"])[:count]  # type: ignore[index]


# A unit's figures with their questions; built once (a results section reads several).
_FIGURES_OF_UNIT = (
    select(UnitFigures)
    .where(
        UnitFigures.measurement_id == bindparam("measurement_id"),
        UnitFigures.unit_id == bindparam("unit_id"),
    )
    .options(undefer(UnitFigures.questions), undefer(UnitFigures.hidden_questions))
)


def _figures(session: Session, measurement_id: int, unit_id: int | None) -> UnitFigures | None:
    if unit_id is None:
        return None
    return session.scalar(_FIGURES_OF_UNIT, {"measurement_id": measurement_id, "unit_id": unit_id})


_figures_table = UnitFigures.__table__
_in_measurement = _figures_table.c.measurement_id == bindparam("measurement_id")
# The unit's parent (as the measurement saw it) and the organisation (`organisation_root`).
_PARENT_ID = (
    select(_figures_table.c.parent_unit_id)
    .where(_in_measurement, _figures_table.c.unit_id == bindparam("unit_id"))
    .scalar_subquery()
)
_ROOT_ID = (
    select(_figures_table.c.unit_id)
    .where(_in_measurement, _figures_table.c.parent_unit_id.is_(None))
    .order_by(_figures_table.c.respondents.desc().nulls_last())
    .limit(1)
    .scalar_subquery()
)


def _unit_parent_and_root_statement(*, with_root: bool) -> Select[tuple[UnitFigures, bool]]:
    is_root = _figures_table.c.unit_id == _ROOT_ID if with_root else literal(False)
    wanted = [UnitFigures.unit_id == bindparam("unit_id"), UnitFigures.unit_id == _PARENT_ID]
    if with_root:
        wanted.append(UnitFigures.unit_id == _ROOT_ID)
    return (
        select(UnitFigures, is_root)
        .where(UnitFigures.measurement_id == bindparam("measurement_id"), or_(*wanted))
        .options(undefer(UnitFigures.questions), undefer(UnitFigures.hidden_questions))
    )


# Built once, with and without the organisation: every results section runs one of them
# (building and keying the statement anew cost as much as running it).
_UNIT_PARENT_AND_ROOT = {
    with_root: _unit_parent_and_root_statement(with_root=with_root) for with_root in (True, False)
}


def _unit_parent_and_root(
    session: Session, measurement_id: int, unit_id: int, *, with_root: bool
) -> tuple[UnitFigures | None, UnitFigures | None, UnitFigures | None]:
    """(the unit's, its parent's, the organisation's) figures in one query, as `_figures`
    for the unit and its parent and `organisation_root` (`with_root`) read them."""
    rows = session.execute(
        _UNIT_PARENT_AND_ROOT[with_root],
        {"measurement_id": measurement_id, "unit_id": unit_id},
    ).all()
    by_unit = {row.unit_id: row for row, _root in rows}
    figures = by_unit.get(unit_id)
    parent = by_unit.get(figures.parent_unit_id) if figures and figures.parent_unit_id else None
    root = next((row for row, root in rows if root), None)
    return figures, parent, root


def _shown(figures: UnitFigures | None) -> UnitFigures | None:
    return figures if figures is not None and figures.shown else None


def organisation_root(session: Session, measurement: Measurement) -> UnitFigures | None:
    """The organisation's figures: the measurement's root unit (the largest, if several)."""
    return session.scalar(
        select(UnitFigures)
        .where(UnitFigures.measurement_id == measurement.id, UnitFigures.parent_unit_id.is_(None))
        .options(undefer(UnitFigures.questions))
        .order_by(UnitFigures.respondents.desc().nulls_last())
        .limit(1)
    )


# The codes of last year's units the unit continues (`previous_codes`), as imported.
_CODES_NOW = (
    select(UnitResult.previous_codes)
    .where(
        UnitResult.measurement_id == bindparam("measurement_id"),
        UnitResult.unit_id == bindparam("unit_id"),
    )
    .scalar_subquery()
)
_CODES_CONTINUED = select(_CODES_NOW)
# Its own figures a year ago with the codes it continues, in one query; the codes alone
# (`_CODES_CONTINUED`) where it has no figures of its own a year ago (a new unit, often one
# that continues). Built once.
_LAST_YEAR_AND_CODES = (
    select(UnitFigures, _CODES_NOW)
    .where(
        UnitFigures.measurement_id == bindparam("previous_id"),
        UnitFigures.unit_id == bindparam("unit_id"),
    )
    .options(undefer(UnitFigures.questions), undefer(UnitFigures.hidden_questions))
)


def _last_year(
    session: Session, unit: Unit, measurement: Measurement, previous: Measurement | None
) -> UnitFigures | None:
    """The unit a year ago: by its own id, or by the ids it continues (previous_unit_id)."""
    if previous is None:
        return None
    values = {"measurement_id": measurement.id, "previous_id": previous.id, "unit_id": unit.id}
    row = session.execute(_LAST_YEAR_AND_CODES, values).first()
    continues = row[1] if row is not None else session.scalar(_CODES_CONTINUED, values)
    if not continues:
        return _shown(row[0] if row is not None else None)
    codes = continues.split("|")
    ids = list(session.scalars(select(Unit.id).where(Unit.code.in_(codes))))
    parts = [_figures(session, previous.id, unit_id) for unit_id in ids]
    if len(parts) != len(codes) or any(p is None or not p.shown for p in parts):
        return None  # a combination that includes a hidden unit is not shown
    if len(parts) == 1:
        return parts[0]
    return _combined(parts, question_infos_for(previous, session))  # type: ignore[arg-type]


def question_infos_for(measurement: Measurement, session: Session) -> dict[str, QuestionInfo]:
    return {
        q.code: QuestionInfo(q.code, q.theme, len(q.scale), q.direction, q.zero_tolerance)
        for q in question_infos(session, measurement)
    }


def _combined(parts: list[UnitFigures], infos: dict[str, QuestionInfo]) -> UnitFigures:
    """Several shown units of last year added up (a merger): scores from summed counts, for
    questions shown with their distribution at every part; an indicator over the theme's
    questions with a combined score. Zero-tolerance questions never get a score (nor do
    their themes)."""
    questions: dict[str, dict[str, Any]] = {}
    for code, info in infos.items():
        if info.zero_tolerance:
            continue
        entries = [p.questions.get(code) for p in parts]
        if any(e is None or e.get("c") is None for e in entries):
            continue
        total = QuestionCounts.from_distribution(entries[0]["c"], entries[0]["dk"])  # type: ignore[index]
        for entry in entries[1:]:
            total = total + QuestionCounts.from_distribution(entry["c"], entry["dk"])  # type: ignore[index]
        questions[code] = {"score": question_score(total, info.k, info.direction)}  # type: ignore[arg-type]
    # As the release computes them (app.domain.release): over the questions with a score.
    indicators: dict[str, float | None] = {}
    for theme, qs in indicator_themes(infos.values()).items():
        value = theme_score(questions.get(q.code, {}).get("score") for q in qs)
        if value is not None:
            indicators[theme] = value
    return UnitFigures(
        shown=True,
        respondents=sum(p.respondents or 0 for p in parts),
        indicators=indicators,
        questions=questions,
        overall_score=theme_score(indicators.values()),
    )


def _score(figures: UnitFigures | None, code: str) -> float | None:
    if figures is None or not figures.shown:
        return None
    entry = figures.questions.get(code)
    return entry.get("score") if entry else None


def _indicator(figures: UnitFigures | None, theme: str) -> float | None:
    if figures is None or not figures.shown:
        return None
    return figures.indicators.get(theme)


def unit_view(
    session: Session,
    unit: Unit,
    measurement: Measurement,
    *,
    measurements: list[Measurement] | None = None,
) -> UnitView:
    """The unit's figures beside its parent's, the organisation's and last year's.
    `measurements`: every one of `measurements_with_figures`, when already read (last year's
    measurement is found among them, no query)."""
    figures, parent, root = _unit_parent_and_root(
        session,
        measurement.id,
        unit.id,
        # a re-measurement has no organisation figure: it measured a few units again
        with_root=measurement.remeasure_of_id is None,
    )
    parent = _shown(parent)
    organisation = _shown(root)
    if organisation is not None and figures is not None and organisation.unit_id == unit.id:
        organisation = None  # the organisation itself: no comparison with itself
    previous = previous_measurement(session, measurement, among=measurements)
    last_year = _last_year(session, unit, measurement, previous)
    shown = figures if figures is not None and figures.shown else None

    questions = question_infos(session, measurement)
    views = []
    for question in questions:
        entry = shown.questions.get(question.code) if shown else None
        reason = shown.hidden_questions.get(question.code) if shown and not entry else None
        views.append(
            QuestionView(
                question=question,
                entry=entry,
                hidden_reason=reason,
                comparison=Comparison(
                    own=entry.get("score") if entry else None,
                    parent=_score(parent, question.code),
                    organisation=_score(organisation, question.code),
                    last_year=_score(last_year, question.code),
                ),
                labels=list(question.scale),
            )
        )
    themes: dict[str, list[QuestionView]] = {}
    for view in views:
        if shown is None or view.question.code in shown.questions or view.hidden_reason:
            themes.setdefault(view.question.theme, []).append(view)
    indicators = {}
    for theme in scored_themes(questions):
        if shown is not None and theme not in shown.indicators:
            continue
        # The unit's own indicator is made of its shown questions (zero tolerance aside).
        counted = [
            v
            for v in views
            if v.question.theme == theme
            and not v.question.zero_tolerance
            and (v.entry is not None or v.hidden_reason)
        ]
        indicators[theme] = Comparison(
            own=_indicator(shown, theme),
            parent=_indicator(parent, theme),
            organisation=_indicator(organisation, theme),
            last_year=_indicator(last_year, theme),
            questions_shown=sum(1 for v in counted if v.entry and v.entry.get("score") is not None),
            questions_total=len(counted),
        )
    # The display and the reference figures in one query (the questionnaire's code too).
    display, kind, references = display_kind_and_references(
        session, measurement.questionnaire_id, measurement.year
    )
    overall = Comparison(
        own=shown.overall_score if shown else None,
        parent=parent.overall_score if parent else None,
        organisation=organisation.overall_score if organisation else None,
        last_year=last_year.overall_score if last_year else None,
    )
    return UnitView(
        unit=unit,
        measurement=measurement,
        figures=figures,
        parent=parent,
        organisation=organisation,
        last_year=last_year,
        previous=previous,
        indicators=indicators,
        overall=overall,
        questions=views,
        themes=themes,
        references=references,
        display=display,
        school=kind == OrganisationKind.SCHOOL,
    )


# --- the overview: many units at once ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuestionTheme:
    """What the overview needs of a question: its theme, and whether it is zero tolerance."""

    code: str
    theme: str
    zero_tolerance: bool


def question_themes(session: Session, measurement: Measurement) -> list[QuestionTheme]:
    """The measurement's questions in order, three columns each (no wording, no scale): for
    `scored_themes` and the overview's partial indicators."""
    rows = session.execute(_QUESTION_THEMES, {"questionnaire_id": measurement.questionnaire_id})
    return [QuestionTheme(code, theme, bool(zero)) for code, theme, zero in rows.tuples()]


_questions = Question.__table__
_QUESTION_THEMES = (
    select(_questions.c.code, _questions.c.theme, _questions.c.zero_tolerance)
    .where(_questions.c.questionnaire_id == bindparam("questionnaire_id"))
    .order_by(_questions.c.position)
)


class OverviewFigures:
    """The figures of a unit's overview row: the columns the overview and its exports print,
    read as plain values, not as a `UnitFigures` entity. The indicators (JSON) are decoded at
    their first use: a page whose rows are prepared (app/services/prepared.py) never uses
    them."""

    __slots__ = (
        "shown", "respondents", "invited", "overall_score", "colour", "zero_tolerance_hits",
        "_indicators", "_indicators_json",
    )  # fmt: skip

    def __init__(
        self,
        shown: bool,
        respondents: int | None = None,
        invited: int | None = None,
        overall_score: float | None = None,
        colour: str | None = None,
        zero_tolerance_hits: int = 0,
        indicators_json: str | None = None,
    ) -> None:
        self.shown = shown
        self.respondents = respondents
        self.invited = invited
        self.overall_score = overall_score
        self.colour = colour
        self.zero_tolerance_hits = zero_tolerance_hits
        self._indicators: dict[str, float | None] | None = None
        self._indicators_json = indicators_json

    @property
    def indicators(self) -> dict[str, float | None]:
        if self._indicators is None:
            decoded = json_text.loads(self._indicators_json) if self._indicators_json else None
            self._indicators = decoded if isinstance(decoded, dict) else {}
        return self._indicators

    @property
    def response_rate(self) -> float | None:  # as UnitFigures.response_rate
        if not self.shown or not self.invited or self.respondents is None:
            return None
        return self.respondents / self.invited


@dataclass(slots=True)
class OverviewRow:
    unit_id: int
    code: str
    name: str
    unit_type: str
    depth: int
    has_children: bool
    figures: OverviewFigures
    last_year_overall: float | None
    # Indicators computed over some of their questions only (others hidden at the unit).
    partial_themes: frozenset[str] = frozenset()
    # The row's prepared figures (markup), where read with the rows and kept, and the
    # version figures rendered from this row are kept under (app/services/prepared.py).
    cells: str | None = None
    cells_version: prepared.KeptVersion | None = None

    @property
    def shown(self) -> bool:
        return self.figures.shown

    @property
    def change(self) -> float | None:
        if not self.figures.shown or self.figures.overall_score is None:
            return None
        if self.last_year_overall is None:
            return None
        return self.figures.overall_score - self.last_year_overall


_figures_table, _unit_table = UnitFigures.__table__, Unit.__table__
_result_table, _last_table = UnitResult.__table__, UnitFigures.__table__.alias("last_year")
# Read by every overview: built once, on the tables (plain SQL, no ORM work: a third of the
# time). A row per unit of the measurement with its unit's code and names, the units it
# continues, and its overall score in the previous measurement where shown (by its own id;
# none where previous_id is None). The JSON columns come as text: the indicators are decoded
# only where used, the hidden questions only where there are some.
_OVERVIEW = (
    select(
        _figures_table.c.unit_id, _figures_table.c.parent_unit_id, _figures_table.c.shown,
        _figures_table.c.respondents, _figures_table.c.invited, _figures_table.c.overall_score,
        _figures_table.c.colour, _figures_table.c.zero_tolerance_hits,
        cast(_figures_table.c.indicators, Text), cast(_figures_table.c.hidden_questions, Text),
        _unit_table.c.code, _unit_table.c.name, _unit_table.c.unit_type,
        _result_table.c.previous_codes, _last_table.c.overall_score,
    )
    .join(_unit_table, _unit_table.c.id == _figures_table.c.unit_id)
    .outerjoin(_result_table, and_(
        _result_table.c.measurement_id == _figures_table.c.measurement_id,
        _result_table.c.unit_id == _figures_table.c.unit_id,
    ))
    .outerjoin(_last_table, and_(
        _last_table.c.measurement_id == bindparam("previous_id"),
        _last_table.c.unit_id == _figures_table.c.unit_id,
        _last_table.c.shown.is_(True),
    ))
    .where(_figures_table.c.measurement_id == bindparam("measurement_id"))
)  # fmt: skip
_prepared = PreparedSection.__table__
# The same with each row's prepared figures (app/services/prepared.py) where kept: the page
# reads its rows and their figures at once.
# And the version figures rendered from these rows are kept under (prepared.CURRENT_VERSION).
_OVERVIEW_WITH_CELLS = _OVERVIEW.add_columns(_prepared.c.html, prepared.CURRENT_VERSION).outerjoin(
    _prepared,
    and_(
        _prepared.c.measurement_id == _figures_table.c.measurement_id,
        _prepared.c.unit_id == _figures_table.c.unit_id,
        _prepared.c.locale == bindparam("cells_key"),
        _prepared.c.version == prepared.CURRENT_VERSION,
    ),
)


def overview_rows(
    session: Session,
    access: Access,
    measurement: Measurement,
    *,
    root_unit_id: int | None = None,
    questions: list[QuestionTheme] | None = None,
    measurements: list[Measurement] | None = None,
    cells: tuple[str, str] | None = None,
) -> list[OverviewRow]:
    """Every unit of the measurement the user may see results of, in tree order (depth-first,
    siblings by name), with depth for indentation. A fixed number of queries, whatever the
    number of units: one for the rows with last year's overall score beside each (more only
    where units continue others, `previous_codes`). `questions`: the measurement's
    `question_themes`, and `measurements`: `measurements_with_figures`, when already read.
    `cells`: (key, the code's version) of the rows' prepared figures to read with them
    (`OverviewRow.cells`, None where not kept; `OverviewRow.cells_version`, the version
    figures rendered from these rows are kept under)."""
    previous = previous_measurement(session, measurement, among=measurements)
    keys: dict[str, int | str | None] = {
        "measurement_id": measurement.id,
        "previous_id": previous.id if previous is not None else None,
    }
    if cells is None:
        rows = session.execute(_OVERVIEW, keys).tuples().all()
    else:
        keys.update(cells_key=cells[0], code_version=cells[1])
        rows = session.execute(_OVERVIEW_WITH_CELLS, keys).tuples().all()
    if questions is None:
        questions = question_themes(session, measurement)
    theme_of = {q.code: q.theme for q in questions
                if q.theme and not q.zero_tolerance}  # fmt: skip
    allowed = access.unit_ids(session, Permission.VIEW_RESULTS)
    continued = [(row[0], row[13]) for row in rows if row[13]]
    carried = _last_year_continued(session, continued, previous) if previous and continued else {}
    children: dict[int | None, list[Any]] = {}
    for row in rows:
        children.setdefault(row[1], []).append(row)
    for siblings in children.values():
        siblings.sort(key=lambda r: (r[11].lower(), r[10]))
    present = {row[0] for row in rows}
    starts = (
        [r for r in rows if r[0] == root_unit_id]
        if root_unit_id is not None
        else [r for r in rows if r[1] is None or r[1] not in present]
    )
    ordered: list[OverviewRow] = []
    stack = [(row, 0) for row in reversed(starts)]
    while stack:
        row, depth = stack.pop()
        (unit_id, _parent, shown, respondents, invited, overall, colour, hits, indicators,
         hidden, code, name, unit_type, previous_codes, last_overall, *kept) = row  # fmt: skip
        # With `cells`: the row's kept figures and the version to keep new ones under.
        cells, cells_version = kept if kept else (None, None)
        kids = children.get(unit_id)
        if allowed is None or unit_id in allowed:
            partial: frozenset[str] = frozenset()
            if shown and hidden and hidden != "{}":
                partial = frozenset(
                    theme_of[question]
                    for question in json_text.loads(hidden)
                    if question in theme_of
                )
            figures = (
                OverviewFigures(True, respondents, invited, overall, colour, hits, indicators)
                if shown
                else OverviewFigures(False)
            )
            last_year = carried.get(unit_id) if previous_codes else last_overall
            ordered.append(
                OverviewRow(unit_id, code, name, unit_type, depth, bool(kids), figures,
                            last_year, partial, cells,
                            prepared.KeptVersion(cells_version) if cells_version else None)
            )  # fmt: skip
        if kids:
            stack.extend([(kid, depth + 1) for kid in reversed(kids)])
    if allowed is not None and ordered:
        shallowest = min(r.depth for r in ordered)
        for r in ordered:
            r.depth -= shallowest
    return ordered


def _last_year_continued(
    session: Session, continued: list[tuple[int, str]], previous: Measurement
) -> dict[int, float | None]:
    """The overall score a year ago of units that continue others ({unit id: score}, from
    (unit id, `previous_codes`)), as `_last_year` finds it for the unit page: the one unit it
    continues, or the combination of several (None where one of them is hidden)."""
    codes = {code for _, cell in continued for code in cell.split("|")}
    found = session.execute(select(Unit.code, Unit.id).where(Unit.code.in_(codes)))
    ids = dict(found.tuples().all())
    single = {ids[cell] for _, cell in continued if "|" not in cell and cell in ids}
    merged = {ids[c] for _, cell in continued if "|" in cell for c in cell.split("|") if c in ids}
    before: dict[int, float | None] = {}
    if single:
        before = dict(
            session.execute(
                select(UnitFigures.unit_id, UnitFigures.overall_score).where(
                    UnitFigures.measurement_id == previous.id,
                    UnitFigures.shown.is_(True),
                    UnitFigures.unit_id.in_(single),
                )
            )
            .tuples()
            .all()
        )
    parts_of: dict[int, UnitFigures] = {}
    infos: dict[str, QuestionInfo] = {}
    if merged:
        parts_of = {
            f.unit_id: f
            for f in session.scalars(
                select(UnitFigures)
                .where(UnitFigures.measurement_id == previous.id, UnitFigures.unit_id.in_(merged))
                .options(undefer(UnitFigures.questions), undefer(UnitFigures.hidden_questions))
            )
        }
        infos = question_infos_for(previous, session)
    last_year: dict[int, float | None] = {}
    for unit_id, cell in continued:
        unit_codes = cell.split("|")
        if len(unit_codes) == 1:
            old = ids.get(unit_codes[0])
            last_year[unit_id] = before.get(old) if old is not None else None
            continue
        parts = [parts_of.get(ids.get(code, -1)) for code in unit_codes]
        if any(p is None or not p.shown for p in parts):
            last_year[unit_id] = None  # a combination that includes a hidden unit
        else:
            last_year[unit_id] = _combined(parts, infos).overall_score  # type: ignore[arg-type]
    return last_year
