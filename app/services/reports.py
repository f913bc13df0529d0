"""Assembling the reports: the unit report for the dialogue meeting and the annual follow-up
report for the board. Loads, then hands plain data (dataclasses of numbers and strings) to
the templates; nothing here renders, and nothing recomputes anonymity.

Everything reads `unit_figures`, where a hidden unit keeps nothing but the fact that it is
hidden: a hidden unit appears by name with "not shown" at most (the same words whatever the
reason), and every count, average and comparison is made from shown units only. Zero-tolerance
questions appear as their statements only (`results.zero_tolerance_statement`), never as a
score, an indicator or a sum of counts across units.

The annual report summarises, whatever the size of the organisation: the report's unit and
its direct children in full, everything below them as counts and short lists.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session, selectinload

from app.domain import json_text
from app.domain import reports as domain
from app.models import (
    Action,
    ActionStatus,
    FollowUp,
    FollowUpStep,
    Measurement,
    Organisation,
    PlanTheme,
    Questionnaire,
    ReportDraft,
    Step,
    StepState,
    Unit,
    UnitFigures,
    User,
    ZeroToleranceAlert,
)
from app.models.org import organisation_value
from app.services import followup as followup_service
from app.services import results as results_service
from app.services.alerts import alert_state

YEARS_BACK = 5  # measurements in the year-over-year charts
LIST_LIMIT = 25  # rows of a list (re-measurements, alerts) before "and N more"
HIGHLIGHTS = 6
PLAN_ACTIONS = 300  # actions of the joint action plan listed in full before "and N more"


# --- measurements ----------------------------------------------------------------------------


def annual_measurement(session: Session, year: int) -> Measurement | None:
    """The year's ordinary measurement whose figures passed the audit (the newest, if
    several)."""
    return session.scalar(
        select(Measurement)
        .where(
            Measurement.year == year,
            Measurement.remeasure_of_id.is_(None),
            Measurement.anonymity_ok.is_(True),
        )
        .order_by(Measurement.id.desc())
        .limit(1)
    )


def report_years(session: Session) -> list[int]:
    """Years with an ordinary measurement that has figures, newest first."""
    return sorted(
        set(
            session.scalars(
                select(Measurement.year).where(
                    Measurement.remeasure_of_id.is_(None), Measurement.anonymity_ok.is_(True)
                )
            )
        ),
        reverse=True,
    )


def _history(session: Session, measurement: Measurement) -> list[Measurement]:
    """The measurement and the ones before it that it is compared with, oldest first."""
    chain = [measurement]
    while len(chain) < YEARS_BACK:
        earlier = results_service.previous_measurement(session, chain[-1])
        if earlier is None or earlier in chain or earlier.year >= chain[-1].year:
            break
        chain.append(earlier)
    return list(reversed(chain))


def organisation_name(session: Session) -> str:
    return organisation_value(session, Organisation.name) or ""


# --- the unit report -------------------------------------------------------------------------


@dataclass
class QuestionLine:
    code: str
    text: str
    shown: bool
    zero_tolerance: bool
    counts: list[int] | None = None
    labels: list[str] = field(default_factory=list)
    direction: str = "higher_better"
    bar: list[domain.Rect] = field(default_factory=list)
    n: int | None = None
    dont_know: int | None = None
    mean: float | None = None
    score: float | None = None
    last_year: float | None = None
    # Zero tolerance: the statement (kind, hits) of `results.zero_tolerance_statement`; the
    # counts are cumulative (the unit and every unit below it).
    statement: tuple[str, int | None] | None = None


@dataclass
class ThemeBlock:
    theme: str
    questions: list[QuestionLine]


@dataclass
class IndicatorLine(results_service.Comparison):
    """An indicator's comparison as the unit page has it, with its theme ("" overall)."""

    theme: str = ""


@dataclass
class UnitReport:
    organisation: str
    unit_code: str
    unit_name: str
    parent_name: str
    measurement_id: int
    measurement_name: str
    year: int
    previous_name: str
    generated_on: date
    in_measurement: bool
    shown: bool
    threshold: int
    sensitive_threshold: int
    yellow_from: float
    green_from: float
    respondents: int | None = None
    invited: int | None = None
    response_rate: float | None = None
    colour: str | None = None
    overall: IndicatorLine | None = None
    indicators: list[IndicatorLine] = field(default_factory=list)
    themes: list[ThemeBlock] = field(default_factory=list)
    strongest: list[tuple[str, float]] = field(default_factory=list)
    weakest: list[tuple[str, float]] = field(default_factory=list)
    strengths_text: str = ""
    focus_areas: list[str] = field(default_factory=list)
    uses_parent_figures: bool = False

    @property
    def title(self) -> str:
        return f"{self.unit_name} · {self.measurement_name}"


def assemble_unit(
    session: Session, unit: Unit, measurement: Measurement, *, today: date | None = None
) -> UnitReport:
    """The unit's results as on its page (`results/_unit_results.html`): the same figures
    hidden for the same reasons, plus the strengths and focus areas of its analysis step."""
    view = results_service.unit_view(session, unit, measurement)
    parent_name = ""
    if view.figures is not None and view.figures.parent_unit_id is not None:
        parent_name = session.scalar(
            select(Unit.name).where(Unit.id == view.figures.parent_unit_id)
        ) or ""  # fmt: skip
    report = UnitReport(
        organisation=organisation_name(session),
        unit_code=unit.code,
        unit_name=unit.name,
        parent_name=parent_name,
        measurement_id=measurement.id,
        measurement_name=measurement.name,
        year=measurement.year,
        previous_name=view.previous.name if view.previous else "",
        generated_on=today or date.today(),
        in_measurement=view.figures is not None,
        shown=view.shown,
        threshold=measurement.threshold,
        sensitive_threshold=measurement.sensitive_threshold,
        yellow_from=measurement.yellow_from,
        green_from=measurement.green_from,
    )
    _analysis(session, report, unit, measurement)
    if not view.shown:
        return report  # a hidden unit: that it is hidden, and nothing else
    figures = view.figures
    assert figures is not None  # noqa: S101 - shown implies figures
    report.respondents = figures.respondents
    report.invited = figures.invited
    report.response_rate = figures.response_rate
    report.colour = figures.colour
    o = view.overall
    report.overall = IndicatorLine(o.own, o.parent, o.organisation, o.last_year)
    report.indicators = [
        IndicatorLine(c.own, c.parent, c.organisation, c.last_year, c.questions_shown,
                      c.questions_total, theme=theme)
        for theme, c in view.indicators.items()
    ]  # fmt: skip
    for theme, questions in view.themes.items():
        lines = []
        for q in questions:
            line = QuestionLine(
                code=q.question.code,
                text=q.question.text,
                shown=q.shown,
                zero_tolerance=q.question.zero_tolerance,
                labels=list(q.labels),
                direction=q.question.direction,
                last_year=q.comparison.last_year,
            )
            entry = q.entry
            if entry is None:
                pass  # hidden: one sentence, whatever the reason
            elif q.question.zero_tolerance:
                line.statement = q.statement
                line.n = entry.get("n")
                line.last_year = None  # never a score for zero tolerance
            else:
                line.counts = entry.get("c")
                line.bar = domain.distribution_bar(line.counts or [], line.direction)
                line.n, line.dont_know = entry.get("n"), entry.get("dk")
                line.mean, line.score = entry.get("mean"), entry.get("score")
            lines.append(line)
        report.themes.append(ThemeBlock(theme, lines))
    report.strongest = [(q.question.text, q.entry["score"]) for q in view.strongest()]  # type: ignore[index]
    report.weakest = [(q.question.text, q.entry["score"]) for q in view.weakest()]  # type: ignore[index]
    return report


def _analysis(session: Session, report: UnitReport, unit: Unit, measurement: Measurement) -> None:
    """Strengths and focus areas as written in the follow-up's analysis step."""
    row = session.execute(
        select(FollowUp.uses_parent_figures, FollowUpStep.data)
        .join(FollowUpStep, FollowUpStep.follow_up_id == FollowUp.id)
        .where(
            FollowUp.measurement_id == measurement.id,
            FollowUp.unit_id == unit.id,
            FollowUpStep.step == Step.ANALYSIS,
        )
    ).first()
    if row is None:
        return
    report.uses_parent_figures = bool(row.uses_parent_figures)
    data = row.data or {}
    report.strengths_text = str(data.get("strengths") or "")
    texts = {q.code: q.text for q in results_service.question_infos(session, measurement)}
    for key in data.get("focus_areas") or []:
        kind, _, value = str(key).partition(":")
        if kind == "theme" and value:
            report.focus_areas.append(value)
        elif kind == "q" and value in texts:
            report.focus_areas.append(texts[value])


# --- the annual report -----------------------------------------------------------------------


@dataclass
class YearFigures:
    year: int
    measurement_name: str
    shown: bool
    respondents: int | None
    invited: int | None
    response_rate: float | None
    overall: float | None
    colour: str | None


@dataclass
class IndicatorYears:
    theme: str
    scores: list[float | None]  # one per year of the report, oldest first
    target: float | None = None
    criterion: str = ""
    # This year's score is computed over `questions_shown` of the `questions_total` questions
    # the unit has (the others hidden at the unit): marked as such.
    questions_shown: int = 0
    questions_total: int = 0
    # The national level beside each year's score: the published average on the survey's
    # 1-5 scale (None where none was imported), oldest first like `scores`.
    national: list[float | None] = field(default_factory=list)

    @property
    def current(self) -> float | None:
        return self.scores[-1] if self.scores else None

    @property
    def national_scores(self) -> list[float | None]:
        """The national averages on the 0-100 score scale (as our own scores)."""
        return [domain_score(a) for a in self.national]

    @property
    def partial(self) -> bool:
        return self.current is not None and 0 < self.questions_shown < self.questions_total

    @property
    def last_year(self) -> float | None:
        return self.scores[-2] if len(self.scores) > 1 else None

    @property
    def change(self) -> float | None:
        if self.current is None or self.last_year is None:
            return None
        return self.current - self.last_year

    @property
    def met(self) -> bool | None:
        if self.target is None or self.current is None:
            return None
        return self.current >= self.target


@dataclass
class ColourCounts:
    label: str
    green: int = 0
    yellow: int = 0
    red: int = 0
    hidden: int = 0  # not shown: no colour

    @property
    def total(self) -> int:
        return self.green + self.yellow + self.red + self.hidden

    @property
    def shown(self) -> int:
        return self.green + self.yellow + self.red


@dataclass
class ChildLine:
    code: str
    name: str
    shown: bool
    respondents: int | None
    invited: int | None
    response_rate: float | None
    overall: float | None
    last_year: float | None
    colour: str | None
    colours: ColourCounts
    units: int
    plans_on_time: int
    plans_late: int

    @property
    def change(self) -> float | None:
        if self.overall is None or self.last_year is None:
            return None
        return self.overall - self.last_year


@dataclass
class Remeasured:
    name: str
    before: float | None
    before_colour: str | None
    after: float | None  # None: not measured again yet, or not shown then
    after_colour: str | None
    measured_again: bool
    after_shown: bool


@dataclass
class AlertLine:
    unit_name: str
    question: str
    opened_on: date
    due_on: date
    reaction_on: date | None
    state: str  # answered | answered_late | open | overdue
    remeasurement: str | None = None  # the re-measurement's name, where it raised the alert


@dataclass
class AlertCount:
    question: str
    total: int = 0
    answered: int = 0
    answered_late: int = 0
    open: int = 0
    overdue: int = 0


@dataclass
class Coverage:
    units: int = 0
    on_time: int = 0
    late: int = 0
    deadline: date | None = None

    @property
    def without(self) -> int:
        return self.units - self.on_time - self.late

    @property
    def share(self) -> float | None:
        return self.on_time / self.units if self.units else None


@dataclass
class ThemeActions:
    theme: str  # "" for actions outside a theme
    by_status: list[int]  # indexed by ActionStatus

    @property
    def total(self) -> int:
        return sum(self.by_status)


@dataclass
class Highlight:
    unit_name: str
    effect: str
    acted: str
    adjust: str


@dataclass
class EffectLine:
    theme: str
    units_with: int
    change_with: float
    units_without: int
    change_without: float

    @property
    def difference(self) -> float:
        return self.change_with - self.change_without


def domain_score(average: float | None) -> float | None:
    """A 1-5 average as a 0-100 score, as our own scores are made ((mean - 1) / 4 * 100)."""
    if average is None:
        return None
    return max(0.0, min(100.0, (average - 1) / 4 * 100))


@dataclass
class GoalYear:
    """The local goals of one year's report (its draft), beside that year's score."""

    year: int
    target: float | None
    criterion: str
    score: float | None

    @property
    def met(self) -> bool | None:
        if self.target is None or self.score is None:
            return None
        return self.score >= self.target


@dataclass
class GoalHistory:
    theme: str
    years: list[GoalYear]


@dataclass
class PlanAction:
    title: str
    owner: str
    deadline: date | None
    status: int
    overdue: bool


@dataclass
class PlanThemeLine:
    title: str  # "" for actions outside a theme
    goal: str
    target: float | None
    actions: list[PlanAction] = field(default_factory=list)


@dataclass
class UnitPlan:
    """A unit's action plan for the year: its themes with their goals, and the actions."""

    unit_name: str
    themes: list[PlanThemeLine] = field(default_factory=list)


@dataclass
class EvaluationLine:
    """A unit's evaluation of last year's follow-up, as written (the guide's questions)."""

    unit_name: str
    acted: str
    effect: str
    adjust: str
    process: str


@dataclass
class AnnualReport:
    organisation: str
    unit_code: str
    unit_name: str
    year: int
    measurement_name: str
    previous_name: str
    generated_on: date
    yellow_from: float
    green_from: float
    threshold: int
    years: list[YearFigures]
    indicators: list[IndicatorYears]
    children: list[ChildLine]
    colours: list[ColourCounts]  # last year and this year, all units below the report's unit
    units_below: int
    remeasured: list[Remeasured]
    remeasure_due: int
    remeasured_count: int
    remeasurement_names: list[str]
    alert_counts: list[AlertCount]
    alerts: list[AlertLine]  # those without a reaction in time
    alerts_total: int
    alerts_pending: int
    coverage: Coverage
    actions_by_theme: list[ThemeActions]
    actions_by_status: list[int]
    actions_overdue: int
    actions_escalated: int
    effect_ratings: list[int]  # how many actions got rating 1..5 at the evaluation
    highlights: list[Highlight]
    evaluations_done: int
    effects: list[EffectLine]
    effects_compared_with: str  # the measurement whose follow-ups' actions are compared
    followup_plan: str
    went_well: list[IndicatorYears]
    work_on: list[IndicatorYears]
    common_plan_themes: list[tuple[str, int]]
    # The board package (issue 19): the national level, the goals of several years, the
    # joint action plan itself, last year's evaluation, and the named approval.
    national_label: str = ""
    goal_history: list[GoalHistory] = field(default_factory=list)
    plans: list[UnitPlan] = field(default_factory=list)
    plan_actions_total: int = 0
    last_evaluation: list[EvaluationLine] = field(default_factory=list)
    last_evaluation_name: str = ""
    approved_by: str = ""
    approved_on: date | None = None

    @property
    def has_national(self) -> bool:
        return any(a is not None for i in self.indicators for a in i.national)

    @property
    def plan_actions_listed(self) -> int:
        return sum(len(t.actions) for p in self.plans for t in p.themes)

    @property
    def current(self) -> YearFigures:
        return self.years[-1]

    @property
    def last(self) -> YearFigures | None:
        return self.years[-2] if len(self.years) > 1 else None

    @property
    def overall_change(self) -> float | None:
        last = self.last
        if last is None or last.overall is None or self.current.overall is None:
            return None
        return self.current.overall - last.overall

    @property
    def alerts_answered_in_time(self) -> int:
        return self.alerts_total - self.alerts_pending

    @property
    def goals_set(self) -> int:
        return sum(1 for i in self.indicators if i.target is not None)

    @property
    def goals_met(self) -> int:
        return sum(1 for i in self.indicators if i.met)

    @property
    def title(self) -> str:
        return f"{self.unit_name} {self.year}"


class ReportUnavailable(LookupError):
    """No report can be made: the message key says why (no_measurement, unit_not_measured)."""


def draft_for(session: Session, unit: Unit, year: int) -> ReportDraft | None:
    return session.scalar(
        select(ReportDraft).where(ReportDraft.unit_id == unit.id, ReportDraft.year == year)
    )


def latest_goals(session: Session, unit: Unit, year: int) -> dict[str, Any]:
    """The unit's local goals of the latest year before `year` that has any."""
    for goals in session.scalars(
        select(ReportDraft.goals)
        .where(ReportDraft.unit_id == unit.id, ReportDraft.year < year)
        .order_by(ReportDraft.year.desc())
    ):
        if goals:
            return dict(goals)
    return {}


class _Row:
    """A unit's stored figures, read as plain values (ORM objects are slow by the thousand).
    The indicators are decoded when first asked for: most units never need them."""

    __slots__ = ("unit_id", "parent_id", "shown", "respondents", "invited", "overall", "colour",
                 "_indicators")  # fmt: skip

    def __init__(
        self,
        unit_id: int,
        parent_id: int | None,
        shown: bool,
        respondents: int | None,
        invited: int | None,
        overall: float | None,
        colour: str | None,
        indicators: str | dict[str, float | None] | None,
    ) -> None:
        self.unit_id, self.parent_id, self.shown = unit_id, parent_id, shown
        self.respondents, self.invited, self.overall = respondents, invited, overall
        self.colour, self._indicators = colour, indicators

    @property
    def indicators(self) -> dict[str, float | None]:
        if isinstance(self._indicators, str):  # read as text: decoded only where needed
            decoded: dict[str, float | None] = json_text.loads(self._indicators)
            self._indicators = decoded
            return decoded
        return self._indicators or {}

    @property
    def response_rate(self) -> float | None:
        if not self.shown or not self.invited or self.respondents is None:
            return None
        return self.respondents / self.invited


def _rows(session: Session, measurement_id: int, unit_id: int | None = None) -> dict[int, _Row]:
    """Every unit's figures in the measurement (or the one unit's)."""
    query = select(
        UnitFigures.unit_id, UnitFigures.parent_unit_id, UnitFigures.shown,
        UnitFigures.respondents, UnitFigures.invited, UnitFigures.overall_score,
        UnitFigures.colour, cast(UnitFigures.indicators, Text),
    ).where(UnitFigures.measurement_id == measurement_id)  # fmt: skip
    if unit_id is not None:
        query = query.where(UnitFigures.unit_id == unit_id)
    return {row[0]: _Row(*row) for row in session.execute(query)}


def _below(rows: dict[int, _Row], root_id: int) -> tuple[list[int], dict[int, list[int]]]:
    """The units below the root in the measurement's own tree (depth first), and children."""
    children: dict[int, list[int]] = defaultdict(list)
    for row in rows.values():
        if row.parent_id is not None:
            children[row.parent_id].append(row.unit_id)
    ordered, stack = [], list(children.get(root_id, []))
    while stack:
        unit_id = stack.pop()
        ordered.append(unit_id)
        stack.extend(children.get(unit_id, []))
    return ordered, children


def assemble_annual(
    session: Session,
    unit: Unit,
    year: int,
    *,
    followup_plan: str | None = None,
    goals: dict[str, Any] | None = None,
    today: date | None = None,
    readable: set[int] | None = None,
) -> AnnualReport:
    """The annual follow-up report of `unit` (the organisation or a subtree) for `year`.

    The follow-up plan and goals default to the unit's draft for the year. A fixed number
    of queries, whatever the number of units. `readable`: the units below whose lights,
    alerts, plans and evaluations the reader may see (None: all) — a student council reading
    the institution's report learns nothing of a class whose page is closed to it.
    """
    today = today or date.today()
    measurement = annual_measurement(session, year)
    if measurement is None:
        raise ReportUnavailable("no_measurement")
    rows = _rows(session, measurement.id)
    root = rows.get(unit.id)
    if root is None:
        raise ReportUnavailable("unit_not_measured")
    if followup_plan is None or goals is None:
        draft = draft_for(session, unit, year)
        if followup_plan is None:
            followup_plan = draft.followup_plan if draft else ""
        if goals is None:
            goals = dict(draft.goals) if draft else {}

    history = _history(session, measurement)
    previous = history[-2] if len(history) > 1 else None
    # Last year in full (colours, comparisons); the years before only for the unit itself.
    earlier_rows = {
        m.id: _rows(session, m.id) if m is previous else _rows(session, m.id, unit.id)
        for m in history[:-1]
    }
    last_rows = earlier_rows.get(previous.id, {}) if previous else {}
    below, children_of = _below(rows, unit.id)
    if readable is not None:
        below = [i for i in below if i in readable]
        children_of = {p: [c for c in cs if c in readable] for p, cs in children_of.items()}
        last_rows = {i: r for i, r in last_rows.items() if i == unit.id or i in readable}
    in_scope = {unit.id, *below}
    names, codes = {}, {}
    for unit_id, code, name in session.execute(select(Unit.id, Unit.code, Unit.name)):
        if unit_id in in_scope:
            names[unit_id], codes[unit_id] = name, code
    # Indicators only: themes of zero-tolerance questions never get a score (nor do earlier
    # years' figures of them appear).
    themes = results_service.scored_themes(results_service.question_infos(session, measurement))

    # Year over year: the report's unit in each measurement, by its id.
    years = []
    for m in history:
        r = rows.get(unit.id) if m.id == measurement.id else earlier_rows[m.id].get(unit.id)
        if r is None or not r.shown:
            years.append(YearFigures(m.year, m.name, False, None, None, None, None, None))
            continue
        years.append(
            YearFigures(m.year, m.name, True, r.respondents, r.invited, r.response_rate,
                        r.overall, r.colour)
        )  # fmt: skip
    counted = _questions_counted(session, measurement, unit.id)
    indicators = []
    for theme in themes:
        scores = []
        for m in history:
            r = rows.get(unit.id) if m.id == measurement.id else earlier_rows[m.id].get(unit.id)
            scores.append(r.indicators.get(theme) if r is not None and r.shown else None)
        goal = (goals or {}).get(theme) or {}
        target = goal.get("target")
        questions_shown, questions_total = counted.get(theme, (0, 0))
        indicators.append(
            IndicatorYears(theme, scores, float(target) if target is not None and target != ""
                           else None, str(goal.get("criterion") or ""), questions_shown,
                           questions_total)
        )  # fmt: skip

    plans = _plans(session, measurement, in_scope)
    deadline = measurement.action_plan_deadline

    def plan_state(unit_id: int) -> str | None:
        done_at = plans.get(unit_id)
        if done_at is None:
            return None
        return "on_time" if deadline is None or done_at <= deadline else "late"

    # Each unit below a child of the report's unit, grouped under that child (one walk).
    under: dict[int, list[int]] = {}
    for child_id in children_of.get(unit.id, []):
        group, stack = [], [child_id]
        while stack:
            current = stack.pop()
            group.append(current)
            stack.extend(children_of.get(current, []))
        under[child_id] = group
    children = []
    for child_id in sorted(children_of.get(unit.id, []), key=lambda i: names.get(i, "")):
        child = rows[child_id]
        subtree = under[child_id]
        states = Counter(plan_state(i) for i in subtree)
        before = last_rows.get(child_id)
        children.append(
            ChildLine(
                code=codes.get(child_id, ""), name=names.get(child_id, ""), shown=child.shown,
                respondents=child.respondents if child.shown else None,
                invited=child.invited if child.shown else None,
                response_rate=child.response_rate, overall=child.overall if child.shown else None,
                last_year=before.overall if before is not None and before.shown else None,
                colour=child.colour if child.shown else None,
                colours=_colours(names.get(child_id, ""), (rows[i] for i in subtree)),
                units=len(subtree), plans_on_time=states["on_time"], plans_late=states["late"],
            )
        )  # fmt: skip

    from flask_babel import gettext

    all_units = gettext("All units, %(year)s", year="%s")
    colours = []
    if previous is not None:
        previous_below = _below(last_rows, unit.id)[0] if unit.id in last_rows else []
        colours.append(_colours(all_units % previous.year, (last_rows[i] for i in previous_below)))
    colours.append(_colours(all_units % measurement.year, (rows[i] for i in below)))

    statuses = Counter(plan_state(i) for i in in_scope)
    coverage = Coverage(len(in_scope), statuses["on_time"], statuses["late"], deadline)

    again = _released_remeasurements(session, measurement)
    remeasured, due, measured_again, remeasure_names = _remeasurements(
        session, measurement, rows, in_scope, names, again
    )
    alert_counts, alerts, alerts_total, alerts_pending = _alerts(
        session, measurement, rows, in_scope, names, today, again
    )
    by_theme, by_status, overdue, escalated, ratings, common = _actions(
        session, measurement, in_scope, today
    )
    highlights, evaluations_done = _highlights(session, measurement, in_scope, names)
    effects: list[EffectLine] = []
    if previous is not None:
        effects = _effects(session, previous, rows, last_rows, unit.id, themes)

    # Zero-tolerance indicators are followed up as alerts, not ranked (as the overall score).
    questions = results_service.question_infos(session, measurement)
    ranked = {
        theme
        for theme, qs in results_service.themes_of(questions).items()
        if theme and not all(q.zero_tolerance for q in qs)
    }
    scored = [i for i in indicators if i.current is not None and i.theme in ranked]
    went_well = sorted(scored, key=lambda i: -(i.current or 0))[:3]
    work_on = [i for i in sorted(scored, key=lambda i: i.current or 0) if i not in went_well][:3]

    national = national_figures(session, measurement, [m.year for m in history], themes)
    for indicator in indicators:
        indicator.national = [national.get((indicator.theme, m.year)) for m in history]
    goal_history = _goal_history(session, unit, history, indicators, year, goals or {})
    joint_plans, plan_total = _joint_plan(session, measurement, unit.id, below, names, today)
    last_evaluation = (
        _evaluations(session, previous, in_scope | set(last_rows), unit.id, names)
        if previous is not None else []
    )  # fmt: skip
    draft = draft_for(session, unit, year)
    approved = (
        draft is not None
        and draft.approved_at is not None
        and (draft.approved_version == draft.version)
    )
    return AnnualReport(
        organisation=organisation_name(session),
        unit_code=unit.code,
        unit_name=unit.name,
        year=year,
        measurement_name=measurement.name,
        previous_name=previous.name if previous else "",
        generated_on=today,
        yellow_from=measurement.yellow_from,
        green_from=measurement.green_from,
        threshold=measurement.threshold,
        years=years,
        indicators=indicators,
        children=children,
        colours=colours,
        units_below=len(below),
        remeasured=remeasured,
        remeasure_due=due,
        remeasured_count=measured_again,
        remeasurement_names=remeasure_names,
        alert_counts=alert_counts,
        alerts=alerts,
        alerts_total=alerts_total,
        alerts_pending=alerts_pending,
        coverage=coverage,
        actions_by_theme=by_theme,
        actions_by_status=by_status,
        actions_overdue=overdue,
        actions_escalated=escalated,
        effect_ratings=ratings,
        highlights=highlights,
        evaluations_done=evaluations_done,
        effects=effects,
        effects_compared_with=previous.name if previous else "",
        followup_plan=followup_plan or "",
        went_well=went_well,
        work_on=work_on,
        common_plan_themes=common,
        national_label=NATIONAL_LABEL if any(national.values()) else "",
        goal_history=goal_history,
        plans=joint_plans,
        plan_actions_total=plan_total,
        last_evaluation=last_evaluation,
        last_evaluation_name=previous.name if previous else "",
        approved_by=draft.approved_by_name if approved and draft else "",
        approved_on=_day(draft.approved_at) if approved and draft and draft.approved_at else None,
    )


# --- the board package (issue 19) ------------------------------------------------------------

NATIONAL_LABEL = "Landsplan"


def national_figures(
    session: Session, measurement: Measurement, years: list[int], themes: list[str]
) -> dict[tuple[str, int], float]:
    """The national average (1-5) per indicator and year, from the reference figures imported
    for the measurement's questionnaire (published figures of others, as imported)."""
    from app.services.references import reference_rows

    code = session.scalar(
        select(Questionnaire.code).where(Questionnaire.id == measurement.questionnaire_id)
    )
    by_key = {t.casefold(): t for t in themes}
    found: dict[tuple[str, int], float] = {}
    for line in reference_rows(session, code or "", years):
        theme = by_key.get(line.indicator.strip().casefold()) if line.indicator else None
        if line.source != "national" or line.question_code or theme is None:
            continue
        if line.average is not None:
            found.setdefault((theme, line.year), line.average)
    return found


def _goal_history(
    session: Session,
    unit: Unit,
    history: list[Measurement],
    indicators: list[IndicatorYears],
    year: int,
    goals: dict[str, Any],
) -> list[GoalHistory]:
    """Each indicator's local goal and success criterion in each year of the report (the
    drafts of earlier years' reports; this year's as given), beside that year's score."""
    years = [m.year for m in history]
    by_year: dict[int, dict[str, Any]] = {
        draft_year: dict(draft_goals or {})
        for draft_year, draft_goals in session.execute(
            select(ReportDraft.year, ReportDraft.goals).where(
                ReportDraft.unit_id == unit.id, ReportDraft.year.in_(years)
            )
        )
    }
    by_year[year] = goals
    found = []
    for indicator in indicators:
        lines = []
        for index, goal_year in enumerate(years):
            goal = by_year.get(goal_year, {}).get(indicator.theme) or {}
            raw = goal.get("target")
            target = float(raw) if raw is not None and raw != "" else None
            criterion = str(goal.get("criterion") or "")
            score = indicator.scores[index] if index < len(indicator.scores) else None
            lines.append(GoalYear(goal_year, target, criterion, score))
        if any(g.target is not None or g.criterion for g in lines):
            found.append(GoalHistory(indicator.theme, lines))
    return found


def _joint_plan(
    session: Session,
    measurement: Measurement,
    root_id: int,
    below: list[int],
    names: dict[int, str],
    today: date,
) -> tuple[list[UnitPlan], int]:
    """The action plans of the year for the report's unit and the units below it: themes
    with their goals, and each action with its owner, deadline and status. The report's unit
    first, then by name; at most PLAN_ACTIONS actions are listed (the count says the rest)."""
    scope = {root_id, *below}
    follow_ups = {
        follow_up_id: unit_id
        for follow_up_id, unit_id in session.execute(
            select(FollowUp.id, FollowUp.unit_id).where(FollowUp.measurement_id == measurement.id)
        )
        if unit_id in scope
    }
    if not follow_ups:
        return [], 0
    themes: dict[int, PlanThemeLine] = {}
    plans: dict[int, UnitPlan] = {}

    def plan_of(unit_id: int) -> UnitPlan:
        if unit_id not in plans:
            plans[unit_id] = UnitPlan(names.get(unit_id, ""))
        return plans[unit_id]

    for theme_id, follow_up_id, title, goal, target in session.execute(
        select(PlanTheme.id, PlanTheme.follow_up_id, PlanTheme.title, PlanTheme.goal,
               PlanTheme.target_score)
        .where(PlanTheme.follow_up_id.in_(follow_ups))
        .order_by(PlanTheme.position, PlanTheme.id)
    ):  # fmt: skip
        line = PlanThemeLine(title or "", goal or "", target)
        themes[theme_id] = line
        plan_of(follow_ups[follow_up_id]).themes.append(line)
    total = 0
    loose: dict[int, PlanThemeLine] = {}
    rows = list(session.execute(
        select(Action.follow_up_id, Action.theme_id, Action.title, Action.owner_name,
               User.name, Action.deadline, Action.status)
        .outerjoin(User, User.id == Action.owner_user_id)
        .where(Action.follow_up_id.in_(follow_ups), Action.deleted_at.is_(None))
        .order_by(Action.deadline.is_(None), Action.deadline, Action.id)
    ).tuples())  # fmt: skip
    # The report's unit first, then by name (each unit's actions by deadline, as read).
    rows.sort(key=lambda r: (follow_ups[r[0]] != root_id, names.get(follow_ups[r[0]], "")))
    for follow_up_id, theme_id, title, owner_name, user_name, deadline, status in rows:
        total += 1
        if total > PLAN_ACTIONS:
            continue
        unit_id = follow_ups[follow_up_id]
        found = themes.get(theme_id) if theme_id is not None else None
        if found is None:
            if unit_id not in loose:
                loose[unit_id] = PlanThemeLine("", "", None)
                plan_of(unit_id).themes.append(loose[unit_id])
            found = loose[unit_id]
        line = found
        line.actions.append(
            PlanAction(title, owner_name or user_name or "", deadline, status,
                       deadline is not None and deadline < today and status < ActionStatus.DONE)
        )  # fmt: skip
    ordered = sorted(
        (p for p in plans.items() if any(t.actions or t.goal for t in p[1].themes)),
        key=lambda item: (item[0] != root_id, item[1].unit_name),
    )
    return [plan for _id, plan in ordered], total


def _evaluations(
    session: Session,
    previous: Measurement,
    scope: set[int],
    root_id: int,
    names: dict[int, str],
) -> list[EvaluationLine]:
    """Last year's evaluations, as written and finished: what was done, what worked, what
    to adjust, and how the process went. The report's unit first, then by name."""
    missing = {u for u in scope if u not in names}
    if missing:
        names = {**names, **dict(session.execute(
            select(Unit.id, Unit.name).where(Unit.id.in_(missing))).tuples().all())}  # fmt: skip
    found = []
    for unit_id, data in session.execute(
        select(FollowUp.unit_id, FollowUpStep.data)
        .join(FollowUpStep, FollowUpStep.follow_up_id == FollowUp.id)
        .where(
            FollowUp.measurement_id == previous.id,
            FollowUpStep.step == Step.EVALUATION,
            FollowUpStep.state == StepState.DONE,
        )
    ):
        if unit_id not in scope:
            continue
        data = data or {}
        line = EvaluationLine(
            names.get(unit_id, ""), str(data.get("acted") or ""), str(data.get("effect") or ""),
            str(data.get("adjust") or ""), str(data.get("process_review") or ""),
        )  # fmt: skip
        if line.acted or line.effect or line.adjust or line.process:
            found.append((unit_id != root_id, line.unit_name, line))
    found.sort(key=lambda item: (item[0], item[1]))
    return [line for *_key, line in found[:LIST_LIMIT]]


def _questions_counted(
    session: Session, measurement: Measurement, unit_id: int
) -> dict[str, tuple[int, int]]:
    """Per indicator of the unit: its questions with a shown score, of those the unit has
    (shown or hidden there); zero-tolerance questions are in no indicator."""
    row = session.execute(
        select(UnitFigures.shown, UnitFigures.questions, UnitFigures.hidden_questions).where(
            UnitFigures.measurement_id == measurement.id, UnitFigures.unit_id == unit_id
        )
    ).first()
    if row is None or not row.shown:
        return {}
    shown_questions, hidden = row.questions or {}, row.hidden_questions or {}
    counted: dict[str, tuple[int, int]] = {}
    for question in results_service.question_infos(session, measurement):
        if not question.theme or question.zero_tolerance:
            continue
        entry = shown_questions.get(question.code)
        if entry is None and question.code not in hidden:
            continue
        shown, total = counted.get(question.theme, (0, 0))
        has_score = entry is not None and entry.get("score") is not None
        counted[question.theme] = (shown + has_score, total + 1)
    return counted


def _colours(label: str, rows: Any) -> ColourCounts:
    counts = ColourCounts(label)
    for row in rows:
        if not row.shown:
            counts.hidden += 1
        elif row.colour in ("green", "yellow", "red"):
            setattr(counts, row.colour, getattr(counts, row.colour) + 1)
    return counts


def _plans(session: Session, measurement: Measurement, in_scope: set[int]) -> dict[int, date]:
    """When each unit's action plan step was done (the last save of the done step, as the
    follow-up overview reads it)."""
    done: dict[int, date] = {}
    for unit_id, updated_at in session.execute(
        select(FollowUp.unit_id, FollowUpStep.updated_at)
        .join(FollowUpStep, FollowUpStep.follow_up_id == FollowUp.id)
        .where(
            FollowUp.measurement_id == measurement.id,
            FollowUpStep.step == Step.PLAN,
            FollowUpStep.state == StepState.DONE,
        )
    ):
        if unit_id in in_scope and updated_at is not None:
            done[unit_id] = _day(updated_at)
    return done


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


@dataclass
class _Remeasurement:
    id: int
    name: str
    rows: dict[int, _Row]


def _released_remeasurements(session: Session, measurement: Measurement) -> list[_Remeasurement]:
    """The measurement's re-measurements whose release passed its audit, oldest first, each
    with its stored rows: read once for the report's re-measurement and alert sections."""
    return [
        _Remeasurement(m.id, m.name, _rows(session, m.id))
        for m in session.scalars(
            select(Measurement)
            .where(
                Measurement.remeasure_of_id == measurement.id,
                Measurement.anonymity_ok.is_(True),
            )
            .order_by(Measurement.id)
        )
    ]


def _remeasurements(
    session: Session,
    measurement: Measurement,
    rows: dict[int, _Row],
    in_scope: set[int],
    names: dict[int, str],
    again: list[_Remeasurement],
) -> tuple[list[Remeasured], int, int, list[str]]:
    """Units due to be measured again (red, or yellow below the average: the routing rule) and
    what the re-measurement showed, shown figures only."""
    flagged = dict(
        session.execute(
            select(FollowUp.unit_id, FollowUp.remeasure).where(
                FollowUp.measurement_id == measurement.id
            )
        )
        .tuples()
        .all()
    )
    average = followup_service.organisation_average(session, measurement)
    due = []
    for unit_id in in_scope:
        row = rows.get(unit_id)
        if row is None or not row.shown:
            continue
        needed = flagged.get(unit_id)
        if needed is None:
            needed = followup_service._needs_remeasure(row.colour, row.overall, average)
        if needed:
            due.append(unit_id)
    after: dict[int, _Row] = {}
    for m in again:  # the latest re-measurement of a unit counts
        for unit_id, row in m.rows.items():
            if unit_id in due:
                after[unit_id] = row
    lines = []
    for unit_id in sorted(due, key=lambda i: (rows[i].overall or 0, names.get(i, ""))):
        before, later = rows[unit_id], after.get(unit_id)
        lines.append(
            Remeasured(
                names.get(unit_id, ""), before.overall, before.colour,
                later.overall if later is not None and later.shown else None,
                later.colour if later is not None and later.shown else None,
                later is not None, later is not None and later.shown,
            )
        )  # fmt: skip
    return lines[:LIST_LIMIT], len(due), len(after), [m.name for m in again]


def _alerts(
    session: Session,
    measurement: Measurement,
    rows: dict[int, _Row],
    in_scope: set[int],
    names: dict[int, str],
    today: date,
    again: list[_Remeasurement],
) -> tuple[list[AlertCount], list[AlertLine], int, int]:
    """Zero-tolerance alerts (one per unit) of the year's measurement and of its released
    re-measurements, at shown units only, and whether each got a reaction in time: per
    question, how many alerts name it and in which state; the alerts without a reaction in time
    (the most overdue first); how many alerts, how many of them pending. Alerts closed because
    their unit is gone are left out.

    A re-measurement's alert may stand at a unit it measured only in part (no stored figures
    there): its release audited that unit as shown with the question, so it counts; an alert
    at a unit its stored figures hide never does."""
    counts: dict[str, AlertCount] = {}
    order = {"overdue": 0, "answered_late": 1, "open": 2}
    pending: list[tuple[Any, ...]] = []
    total = 0
    by_id = {m.id: m for m in again}
    alerts = session.scalars(
        select(ZeroToleranceAlert)
        .where(ZeroToleranceAlert.measurement_id.in_([measurement.id, *by_id]))
        .options(selectinload(ZeroToleranceAlert.questions))
        .order_by(ZeroToleranceAlert.id)
    )
    for alert in alerts:
        if alert.unit_id not in in_scope:
            continue
        remeasurement = None
        if alert.measurement_id == measurement.id:
            row = rows.get(alert.unit_id)
            if row is None or not row.shown:
                continue
        else:
            remeasured_by = by_id[alert.measurement_id]
            remeasurement = remeasured_by.name
            again_row = remeasured_by.rows.get(alert.unit_id)
            if again_row is not None and not again_row.shown:
                continue
        state = alert_state(alert, today)
        if state == "unit_gone":
            continue
        total += 1
        texts = [q.text for q in alert.questions]
        for text in texts:
            count = counts.setdefault(text, AlertCount(text))
            count.total += 1
            setattr(count, state, getattr(count, state) + 1)
        if state != "answered":
            name = names.get(alert.unit_id, "")
            pending.append(
                (order[state], alert.due_on, name, "; ".join(texts), alert.opened_on,
                 alert.reaction_on, state, remeasurement or "")
            )  # fmt: skip
    pending.sort()
    lines = [
        AlertLine(name, text, opened_on, due_on, reaction_on, state, remeasurement or None)
        for _order, due_on, name, text, opened_on, reaction_on, state, remeasurement in pending[
            :LIST_LIMIT
        ]
    ]
    return list(counts.values()), lines, total, len(pending)


def _actions(
    session: Session, measurement: Measurement, in_scope: set[int], today: date
) -> tuple[list[ThemeActions], list[int], int, int, list[int], list[tuple[str, int]]]:
    """Actions of the year's follow-ups by theme and status; how many are overdue or passed
    on; the effect ratings given at the evaluation; the themes most plans chose."""
    by_theme: dict[str, list[int]] = {}
    by_status = [0] * len(ActionStatus)
    overdue = escalated = 0
    ratings = [0] * 5
    for status, title, deadline, to_unit, to_function, rating, unit_id in session.execute(
        select(
            Action.status, PlanTheme.title, Action.deadline, Action.escalated_to_unit_id,
            Action.escalated_to_function, Action.effect_rating, Action.unit_id,
        )
        .join(FollowUp, FollowUp.id == Action.follow_up_id)
        .outerjoin(PlanTheme, PlanTheme.id == Action.theme_id)
        .where(FollowUp.measurement_id == measurement.id, Action.deleted_at.is_(None))
    ):  # fmt: skip
        if unit_id not in in_scope:
            continue
        by_theme.setdefault(title or "", [0] * len(ActionStatus))[status] += 1
        by_status[status] += 1
        if deadline is not None and deadline < today and status < ActionStatus.DONE:
            overdue += 1
        if to_unit is not None or to_function:
            escalated += 1
        if rating is not None and 1 <= rating <= 5:
            ratings[rating - 1] += 1
    themes = [ThemeActions(t, s) for t, s in by_theme.items()]
    themes.sort(key=lambda t: (t.theme == "", -t.total, t.theme))
    common = Counter(
        title
        for title, unit_id in session.execute(
            select(PlanTheme.title, FollowUp.unit_id)
            .join(FollowUp, FollowUp.id == PlanTheme.follow_up_id)
            .where(FollowUp.measurement_id == measurement.id)
        )
        if unit_id in in_scope
    ).most_common(3)
    return themes, by_status, overdue, escalated, ratings, common


def _highlights(
    session: Session, measurement: Measurement, in_scope: set[int], names: dict[int, str]
) -> tuple[list[Highlight], int]:
    found, done = [], 0
    for unit_id, data, state in session.execute(
        select(FollowUp.unit_id, FollowUpStep.data, FollowUpStep.state)
        .join(FollowUpStep, FollowUpStep.follow_up_id == FollowUp.id)
        .where(FollowUp.measurement_id == measurement.id, FollowUpStep.step == Step.EVALUATION)
    ):
        if unit_id not in in_scope:
            continue
        done += state == StepState.DONE
        data = data or {}
        if state == StepState.DONE and (data.get("effect") or data.get("acted")):
            found.append(
                Highlight(names.get(unit_id, ""), str(data.get("effect") or ""),
                          str(data.get("acted") or ""), str(data.get("adjust") or ""))
            )  # fmt: skip
    found.sort(key=lambda h: h.unit_name)
    return found[:HIGHLIGHTS], done


def _effects(
    session: Session,
    previous: Measurement,
    rows: dict[int, _Row],
    last_rows: dict[int, _Row],
    root_id: int,
    themes: list[str],
) -> list[EffectLine]:
    """Did it work? Per indicator, the change since last year of units that completed actions
    on it after last year's measurement, beside units that had none.

    Compared are the lowest units below the report's unit (those without units below them in
    this year's measurement), shown in both years. An action counts for the unit that made it
    and every unit below it (a workplace's action reaches its teams).
    """
    below, children = _below(rows, root_id)
    leaves = [u for u in below if not children.get(u)] or [root_id]
    by_key = {t.casefold(): t for t in themes}
    completed: dict[str, set[int]] = defaultdict(set)  # theme -> units that acted
    touched: dict[str, set[int]] = defaultdict(set)
    for title, status, unit_id in session.execute(
        select(PlanTheme.title, Action.status, FollowUp.unit_id)
        .join(Action, Action.theme_id == PlanTheme.id)
        .join(FollowUp, FollowUp.id == PlanTheme.follow_up_id)
        .where(FollowUp.measurement_id == previous.id, Action.deleted_at.is_(None))
    ):
        theme = by_key.get((title or "").strip().casefold())
        if theme is None:
            continue
        touched[theme].add(unit_id)
        if status == ActionStatus.DONE:
            completed[theme].add(unit_id)
    if not touched:
        return []
    # Which acting units each leaf sits under (itself included), in this year's tree.
    parent = {u: r.parent_id for u, r in rows.items()}

    def chain(unit_id: int) -> set[int]:
        found: set[int] = set()
        current: int | None = unit_id
        while current is not None and current not in found:
            found.add(current)
            current = parent.get(current)
        return found

    changes: dict[int, dict[str, float | None]] = {}
    reach_done: dict[str, set[int]] = defaultdict(set)
    reach_any: dict[str, set[int]] = defaultdict(set)
    for leaf in leaves:
        now, then = rows.get(leaf), last_rows.get(leaf)
        if now is None or then is None or not now.shown or not then.shown:
            continue
        current, before = now.indicators, then.indicators
        per_theme: dict[str, float | None] = {}
        for theme in touched:
            a, b = current.get(theme), before.get(theme)
            per_theme[theme] = a - b if a is not None and b is not None else None
        changes[leaf] = per_theme
        ancestors = chain(leaf)
        for theme in touched:
            if ancestors & completed[theme]:
                reach_done[theme].add(leaf)
            if ancestors & touched[theme]:
                reach_any[theme].add(leaf)
    return [
        EffectLine(e.theme, e.with_actions.units, e.with_actions.mean_change,
                   e.without_actions.units, e.without_actions.mean_change)
        for e in domain.effects(themes, changes, reach_done, reach_any)
    ]  # fmt: skip


# --- charts ----------------------------------------------------------------------------------


def annual_charts(report: AnnualReport) -> dict[str, domain.Chart]:
    """The annual report's charts, in the language of the request or job."""
    from flask_babel import gettext as _

    recent = report.years[-3:]
    count = len(recent)
    charts = {
        "overall": domain.score_line(
            [(str(y.year), y.overall) for y in report.years],
            title=_("Overall score by year"),
            yellow_from=report.yellow_from,
            green_from=report.green_from,
        ),
        "indicators": domain.grouped_bars(
            [(i.theme, i.scores[-count:], i.target) for i in report.indicators],
            [str(y.year) for y in recent],
            title=_("Indicator scores by year"),
            target_label=_("Local goal"),
        ),
    }
    light_parts = [
        (domain.LIGHT_FILLS["green"], domain.LIGHT_TEXT["green"], _("Green")),
        (domain.LIGHT_FILLS["yellow"], domain.LIGHT_TEXT["yellow"], _("Yellow")),
        (domain.LIGHT_FILLS["red"], domain.LIGHT_TEXT["red"], _("Red")),
        (domain.LIGHT_FILLS["none"], domain.LIGHT_TEXT["none"], _("Not shown")),
    ]
    rows = [(c.label, [c.green, c.yellow, c.red, c.hidden]) for c in report.colours]
    rows += [(c.name, [c.colours.green, c.colours.yellow, c.colours.red, c.colours.hidden])
             for c in report.children]  # fmt: skip
    charts["colours"] = domain.stacked_bars(
        rows, light_parts, title=_("Units by traffic light"), label_width=190
    )
    if report.actions_by_theme:
        labels = status_labels()
        parts = [(domain.STATUS_FILLS[s], domain.INK if s < 3 else "#ffffff", str(labels[s]))
                 for s in range(len(ActionStatus))]  # fmt: skip
        charts["actions"] = domain.stacked_bars(
            [(t.theme or _("No theme"), t.by_status) for t in report.actions_by_theme[:8]],
            parts,
            title=_("Actions by theme and status"),
            label_width=230,
        )
    if report.effects:
        charts["effects"] = domain.diverging_pairs(
            [(e.theme, e.change_with, e.change_without) for e in report.effects],
            (_("Units that completed actions"), _("Units without actions")),
            title=_("Change since last year, with and without actions"),
        )
    return charts


def status_labels() -> list[str]:
    """The steps of the status arrow, worded as on the board."""
    from flask_babel import gettext as _

    return [_("Not started"), _("Started"), _("Halfway"), _("Nearly done"), _("Done")]


def checksum(report: AnnualReport | UnitReport) -> str:
    """The SHA-256 of the report's data (not of when it was generated)."""
    return domain.checksum(report, leave_out=("generated_on",))
