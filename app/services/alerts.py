"""Zero-tolerance alerts: one per unit and measurement, listing every zero-tolerance question
the anonymity release raises an alert for at the unit. The leader closes it with one
documented reaction; alerts of units that no longer exist close as such.

Alerts come only from the audited release (its entries' `"za"`): the unit whose own residual
group has hits gets it, or the nearest unit above that shows the question, never a unit that
hides it. A re-measurement stores the figures only of the units it measured again whole, but
raises every alert of its release (`figures.compute_figures` hands them over), also at a unit
above them whose figures are not stored. Nothing here counts answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, selectinload

from app.models import (
    AlertClosedReason,
    Measurement,
    Question,
    Unit,
    UnitFigures,
    UnitResult,
    User,
    ZeroToleranceAlert,
)
from app.models.followup import zero_tolerance_alert_question
from app.services import audit
from app.services.questionnaires import question_texts, worded
from app.services.results import zero_tolerance_statement

# Server-side limits of the reaction (the form enforces the same).
REACTION_MAX = 5000
INVOLVED_MAX = 500


class AlertError(ValueError):
    """A reaction that cannot be recorded; the message is a key for the form."""


def is_history(session: Session, measurement: Measurement) -> bool:
    """Whether a measurement of a later year already has results: then this one is history,
    and its figures raise no alerts (nobody can react to last year's answers now)."""
    return (
        session.scalar(
            select(UnitResult.unit_id)
            .join(Measurement, Measurement.id == UnitResult.measurement_id)
            .where(Measurement.year > measurement.year)
            .limit(1)
        )
        is not None
    )


def raised_questions(session: Session, measurement: Measurement) -> dict[int, set[int]]:
    """unit id -> ids of the zero-tolerance questions the release raises an alert for there."""
    questions = dict(
        session.execute(
            select(Question.code, Question.id).where(
                Question.questionnaire_id == measurement.questionnaire_id,
                Question.zero_tolerance.is_(True),
            )
        )
        .tuples()
        .all()
    )
    raised: dict[int, set[int]] = {}
    if not questions:
        return raised
    rows = session.execute(
        select(UnitFigures.unit_id, UnitFigures.questions).where(
            UnitFigures.measurement_id == measurement.id,
            UnitFigures.shown.is_(True),
        )
    )
    for unit_id, stored in rows:
        for code, question_id in questions.items():
            entry = (stored or {}).get(code)
            if entry and entry.get("za"):
                raised.setdefault(unit_id, set()).add(question_id)
    return raised


def open_alerts(
    session: Session,
    measurement: Measurement,
    today: date | None = None,
    raised_codes: dict[int, set[str]] | None = None,
) -> int:
    """After figures are computed: one alert per unit where the release raises any. Returns
    how many alerts were opened.

    An open alert follows the figures (its questions are those raised now; it goes if none is
    and nothing was written in it); a closed one is a record and is never changed. A
    measurement older than the newest opens none. The reaction is due `zero_tolerance_days`
    after the alert is raised: from the release date, or from today if that has passed, so
    an alert is never overdue the moment it appears.

    `raised_codes` (unit id -> question codes, from `compute_figures` just now): the stored
    release is not read back. Required for a re-measurement (ValueError otherwise): its
    release raises alerts at units above the re-measured ones whose figures are not stored
    (measured in part), and reading the stored figures back would drop those alerts. New
    alerts are written in bulk, a few statements in all.
    """
    if raised_codes is None and measurement.remeasure_of_id is not None:
        raise ValueError("a re-measurement's alerts come from its release: pass raised_codes")
    opened = today or max(measurement.results_released_on or date.today(), date.today())
    due = opened + timedelta(days=measurement.zero_tolerance_days)
    if raised_codes is None:
        raised = raised_questions(session, measurement)
    else:
        question_ids = dict(
            session.execute(
                select(Question.code, Question.id).where(
                    Question.questionnaire_id == measurement.questionnaire_id
                )
            )
            .tuples()
            .all()
        )
        raised = {
            unit_id: {question_ids[code] for code in codes if code in question_ids}
            for unit_id, codes in raised_codes.items()
        }
        raised = {unit_id: ids for unit_id, ids in raised.items() if ids}
    existing = {
        a.unit_id: a
        for a in session.scalars(
            select(ZeroToleranceAlert)
            .where(ZeroToleranceAlert.measurement_id == measurement.id)
            .options(selectinload(ZeroToleranceAlert.questions))
        )
    }
    raised_ids = {qid for ids in raised.values() for qid in ids}
    by_id = (
        {q.id: q for q in session.scalars(select(Question).where(Question.id.in_(raised_ids)))}
        if existing
        else {}
    )
    for unit_id, alert in existing.items():
        if alert.closed_at is not None:
            continue
        wanted = raised.get(unit_id, set())
        if not wanted and not alert.reaction:
            session.delete(alert)
        elif wanted:
            alert.questions = sorted((by_id[q] for q in wanted), key=lambda q: (q.position, q.id))
    if is_history(session, measurement):
        session.flush()
        return 0
    new = {unit_id: wanted for unit_id, wanted in raised.items() if unit_id not in existing}
    if new:
        session.flush()  # the changes above first
        session.execute(
            insert(ZeroToleranceAlert),
            [
                {
                    "measurement_id": measurement.id,
                    "unit_id": unit_id,
                    "opened_on": opened,
                    "due_on": due,
                    "reaction": "",
                    "involved": "",
                    "closed_reason": AlertClosedReason.OPEN,
                }
                for unit_id in new
            ],
        )
        alert_ids = session.execute(
            select(ZeroToleranceAlert.unit_id, ZeroToleranceAlert.id).where(
                ZeroToleranceAlert.measurement_id == measurement.id
            )
        ).tuples()
        session.execute(
            insert(zero_tolerance_alert_question),
            [
                {"alert_id": alert_id, "question_id": question_id}
                for unit_id, alert_id in alert_ids
                if unit_id in new
                for question_id in sorted(new[unit_id])
            ],
        )
    session.flush()
    return len(new)


def close_alerts_of_gone_units(session: Session, actor: User | None) -> int:
    """After an import: open alerts of units that no longer exist (inactive) close as such,
    each with an audit event. Returns how many."""
    gone = session.scalars(
        select(ZeroToleranceAlert)
        .join(Unit, Unit.id == ZeroToleranceAlert.unit_id)
        .where(ZeroToleranceAlert.closed_at.is_(None), Unit.active.is_(False))
        .order_by(ZeroToleranceAlert.id)
    ).all()
    now = datetime.now(UTC)
    for alert in gone:
        alert.closed_at = now
        alert.closed_reason = AlertClosedReason.UNIT_GONE
        audit.record(
            session,
            actor,
            "alert.unit_gone",
            "zero_tolerance_alert",
            alert.id,
            unit_id=alert.unit_id,
            measurement_id=alert.measurement_id,
        )
    session.flush()
    return len(gone)


def record_reaction(
    session: Session,
    actor: User,
    alert: ZeroToleranceAlert,
    *,
    reaction: str,
    reaction_on: date,
    involved: str,
    follow_up_on: date | None = None,
) -> None:
    """One documented reaction closes the alert: what was done, who was involved, when, and
    when it is looked at again."""
    if alert.closed_at is not None:
        raise AlertError("alert_closed")
    reaction, involved = reaction.strip(), involved.strip()
    if not reaction:
        raise AlertError("reaction_required")
    if len(reaction) > REACTION_MAX or len(involved) > INVOLVED_MAX:
        raise AlertError("too_long")
    if follow_up_on is not None and follow_up_on < reaction_on:
        raise AlertError("follow_up_before_reaction")
    alert.reaction = reaction
    alert.reaction_on = reaction_on
    alert.involved = involved
    alert.follow_up_on = follow_up_on
    alert.reacted_by_id = actor.id
    alert.closed_at = datetime.now(UTC)
    alert.closed_reason = AlertClosedReason.REACTED
    audit.record(
        session,
        actor,
        "alert.reaction",
        "zero_tolerance_alert",
        alert.id,
        unit_id=alert.unit_id,
    )


def alert_state(alert: ZeroToleranceAlert, today: date) -> str:
    """open | overdue (open after its due date) | answered | answered_late | unit_gone.
    A closed alert is never overdue."""
    return state_of(alert.closed_reason, alert.closed_at, alert.reaction_on, alert.due_on, today)


def state_of(
    closed_reason: str,
    closed_at: datetime | None,
    reaction_on: date | None,
    due_on: date,
    today: date,
) -> str:
    """As `alert_state`, on plain values (for queries that load columns only)."""
    if closed_at is not None:
        if closed_reason == AlertClosedReason.UNIT_GONE:
            return "unit_gone"
        on_time = reaction_on is not None and reaction_on <= due_on
        return "answered" if on_time else "answered_late"
    return "overdue" if today > due_on else "open"


def clear_for(session: Session, measurement: Measurement) -> None:
    """Used when a measurement's figures are blocked: no open alerts without safe figures
    (an alert with a written reaction stays)."""
    session.execute(
        delete(ZeroToleranceAlert).where(
            ZeroToleranceAlert.measurement_id == measurement.id,
            ZeroToleranceAlert.closed_at.is_(None),
            ZeroToleranceAlert.reaction == "",
        )
    )


@dataclass(frozen=True)
class QuestionStatement:
    """A question of an alert with what the release says about it at the unit: (kind, hits)
    as `results.zero_tolerance_statement`, never a count of 1 or 2."""

    question: Question
    statement: tuple[str, int | None]


def statements(session: Session, alert: ZeroToleranceAlert) -> list[QuestionStatement]:
    """The alert's questions with the release's statement at its unit.

    A re-measurement stores no figures of a unit it measured only in part (the units below
    it measured again are not all of it), yet the release may raise an alert there: the
    hits of re-measured units below it too small to be shown. Then every question says
    ("remeasured_below", None): no statement, no count, the page says where the answers
    come from."""
    row = session.execute(
        select(UnitFigures.shown, UnitFigures.questions).where(
            UnitFigures.measurement_id == alert.measurement_id,
            UnitFigures.unit_id == alert.unit_id,
        )
    ).first()
    stored = row.questions if row is not None and row.shown else None
    below = row is None and alert.measurement.remeasure_of_id is not None
    lines = []
    # Worded as the measurement's file asked them (the template's text otherwise).
    texts = question_texts(session, alert.measurement_id)
    for question in worded(list(alert.questions), texts):
        if below:
            lines.append(QuestionStatement(question, ("remeasured_below", None)))
            continue
        said = zero_tolerance_statement((stored or {}).get(question.code))
        lines.append(QuestionStatement(question, said or ("withheld", None)))
    return lines
