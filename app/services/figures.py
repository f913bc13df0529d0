"""Making a measurement's release once per import (`app.domain.release`) and storing it.

Pages then only read `unit_figures`. A failing anonymity audit stores no figures at all and
marks the measurement as blocked, so nothing unsafe can be shown.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import mul
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, aliased

from app.domain import json_text
from app.domain.importing import ImportResult
from app.domain.release import (
    QuestionInfo,
    ReleaseRules,
    UnitRelease,
    build_release,
    remeasured_units,
)
from app.domain.scoring import QuestionCounts, RawUnit, roll_up
from app.models import Measurement, Question, Unit, UnitFigures, UnitResult, User
from app.services import audit as audit_log
from app.services import bulk, prepared

__all__ = [
    "FiguresOutcome",
    "MadeRelease",
    "QuestionInfo",
    "ReleaseInputs",
    "compute_figures",
    "make_release",
    "raised_alerts",
    "release_inputs",
    "store_release",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FiguresOutcome:
    units: int
    shown: int
    problems: list[str]
    # unit id -> codes of the zero-tolerance questions the release raises an alert for there
    # (shown units only). For a re-measurement this includes units above the ones measured
    # again whose figures are not stored: pass it to `alerts.open_alerts`.
    raised: dict[int, set[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def _parents_outside(
    session: Session,
    code_of: dict[int, str],
    ids: dict[str, int],
    parents: dict[int, int | None],
) -> None:
    """A parent that exists in the organisation but was not in the file still joins the
    tree: add it (and its ancestors) to `code_of`, `ids` and `parents`."""
    missing = {p for p in parents.values() if p is not None and p not in code_of}
    while missing:
        extra = session.execute(
            select(Unit.id, Unit.code, Unit.parent_id).where(Unit.id.in_(missing))
        ).all()
        for unit_id, code, parent_id in extra:
            code_of[unit_id], ids[code], parents[unit_id] = code, unit_id, parent_id
        missing = {p for _, _, p in extra if p is not None and p not in code_of}


def _raw_units(
    session: Session, measurement: Measurement, questions: dict[int, QuestionInfo]
) -> tuple[dict[str, RawUnit], dict[str, int]]:
    """Each unit's imported counts read back from the database, keyed by unit code (the
    anonymity engine orders by it): for a recompute (e.g. a measurement's rules changed)."""
    rows = session.execute(
        select(
            Unit.id, Unit.code, UnitResult.parent_unit_id, UnitResult.has_own_rows,
            UnitResult.respondents, UnitResult.invited, UnitResult.question_counts,
        )
        .join(UnitResult, UnitResult.unit_id == Unit.id)
        .where(UnitResult.measurement_id == measurement.id)
    ).all()  # fmt: skip
    code_of = {row.id: row.code for row in rows}
    ids = {row.code: row.id for row in rows}
    parents = {row.id: row.parent_unit_id for row in rows}
    _parents_outside(session, code_of, ids, parents)

    code_of_question = {str(question_id): info.code for question_id, info in questions.items()}
    per_unit: dict[int, dict[str, QuestionCounts]] = {unit_id: {} for unit_id in code_of}
    for result in rows:
        figures_of = per_unit[result.id]
        for question_id, entry in (result.question_counts or {}).items():
            question_code = code_of_question.get(question_id)
            if question_code is None:  # a question deleted since: its counts go with it
                continue
            if "counts" in entry:
                figures_of[question_code] = QuestionCounts.from_distribution(
                    entry["counts"], entry["dont_know"]
                )
            else:
                n = entry["n"]
                figures_of[question_code] = QuestionCounts.from_mean(
                    n, entry["mean"] if n else 1, entry["dont_know"]
                )

    by_id = {row.id: row for row in rows}
    raw: dict[str, RawUnit] = {}
    for unit_id, code in code_of.items():
        row = by_id.get(unit_id)
        parent = parents.get(unit_id)
        raw[code] = RawUnit(
            parent=code_of.get(parent) if parent is not None else None,
            has_own_rows=bool(row and row.has_own_rows),
            questions=per_unit[unit_id],
            respondents=row.respondents if row else None,
            invited=row.invited if row else None,
        )
    return raw, ids


def _parsed_tree(session: Session, parsed: ImportResult, unit_ids: dict[str, int]) -> ParsedUnits:
    """The parsed file's units with their ids, and their parents outside the file (read from
    the database): all `_raw_units_parsed` needs besides the parsed counts."""
    code_of = {unit_ids[u.code]: u.code for u in parsed.units}
    ids = {u.code: unit_ids[u.code] for u in parsed.units}
    parents = {
        unit_ids[u.code]: unit_ids[u.parent_code] if u.parent_code else None for u in parsed.units
    }
    _parents_outside(session, code_of, ids, parents)
    return ParsedUnits(parsed, code_of, ids, parents)


@dataclass(frozen=True)
class ParsedUnits:
    """An import's parsed file and the tree its units make in the organisation."""

    parsed: ImportResult
    code_of: dict[int, str]  # unit id -> code, the file's units and their parents outside it
    ids: dict[str, int]  # the other way round
    parents: dict[int, int | None]  # unit id -> parent id


def _raw_units_parsed(units: ParsedUnits) -> dict[str, RawUnit]:
    """As `_raw_units`, from the counts just parsed and written (`imports.apply`), without
    reading them back. Gives the same units and counts: the rows hold exactly these values.

    A distribution repeats a lot (35,000 different ones in 256,000 rows of the benchmark
    file, and the parser shares one tuple per distribution): each (distribution, don't
    know) becomes one QuestionCounts, shared (it is immutable)."""
    parsed, code_of, parents = units.parsed, units.code_of, units.parents
    per_unit: dict[str, dict[str, QuestionCounts]] = {code: {} for code in units.ids}
    shared: dict[tuple[tuple[int, ...], int], QuestionCounts] = {}
    weights = range(1, 12)  # option numbers; map() stops at the shorter
    for row in parsed.results:
        counts = row.counts
        if counts is not None:
            key = (counts, row.dont_know)
            figures = shared.get(key)
            if figures is None:
                # The parser checked the distribution (2-11 options, whole counts >= 0).
                figures = QuestionCounts(
                    counts, row.dont_know, row.n, sum(map(mul, counts, weights))
                )
                shared[key] = figures
        else:
            mean = row.mean if row.n and row.mean is not None else 1
            figures = QuestionCounts.from_mean(row.n, mean, row.dont_know)
        per_unit[row.unit_code][row.question_code] = figures

    raw: dict[str, RawUnit] = {}
    by_code = {u.code: u for u in parsed.units}
    for unit_id, code in code_of.items():
        unit = by_code.get(code)
        parent = parents.get(unit_id)
        raw[code] = RawUnit(
            parent=code_of.get(parent) if parent is not None else None,
            has_own_rows=bool(unit and unit.has_own_rows),
            questions=per_unit[code],
            respondents=unit.respondents if unit else None,
            invited=unit.invited if unit else None,
        )
    return raw


@dataclass(frozen=True)
class ReleaseInputs:
    """Everything a release is made from, read from the database beforehand (`release_inputs`):
    `make_release` needs nothing else, so it may run in another process (`imports.apply`)."""

    measurement_id: int
    questions: dict[int, QuestionInfo]
    rules: ReleaseRules
    ids: dict[str, int]  # unit code -> id, every unit of the release
    # The imported counts: read back from the database (a recompute), or the file just parsed.
    counts: dict[str, RawUnit] | ParsedUnits
    # A re-measurement: the units of the measurement it follows up (code -> parent code).
    first_tree: dict[str, str | None] | None


@dataclass(frozen=True)
class MadeRelease:
    """A release as `store_release` writes it: plain values (pickled when made in another
    process)."""

    rows: list[tuple[Any, ...]]  # FIGURES_COLUMNS; empty when the audit failed
    units: int  # units in the release (the audit failed) or stored
    shown: int
    problems: list[str]  # the audit's; none: the release may be shown
    raised: dict[int, set[str]]  # as FiguresOutcome.raised


def release_inputs(
    session: Session,
    measurement: Measurement,
    *,
    parsed: ImportResult | None = None,
    unit_ids: dict[str, int] | None = None,
) -> ReleaseInputs:
    """What `make_release` needs, read from the database. `parsed` and `unit_ids` (an import
    that has just written them): the counts are taken from the parsed file instead of being
    read back."""
    questions = {
        q.id: QuestionInfo(q.code, q.theme, len(q.scale), q.direction, q.zero_tolerance)
        for q in session.scalars(
            select(Question).where(Question.questionnaire_id == measurement.questionnaire_id)
        )
    }
    counts: dict[str, RawUnit] | ParsedUnits
    if parsed is not None and unit_ids is not None:
        counts = _parsed_tree(session, parsed, unit_ids)
        ids = counts.ids
    else:
        counts, ids = _raw_units(session, measurement, questions)
    rules = ReleaseRules(
        threshold=measurement.threshold,
        sensitive_threshold=measurement.sensitive_threshold,
        yellow_from=measurement.yellow_from,
        green_from=measurement.green_from,
    )
    first_tree = (
        _first_tree(session, measurement.remeasure_of_id)
        if measurement.remeasure_of_id is not None
        else None
    )
    return ReleaseInputs(measurement.id, questions, rules, ids, counts, first_tree)


def make_release(inputs: ReleaseInputs) -> MadeRelease:
    """The release (`app.domain.release`: roll-up, suppression, scores, the audit) and the
    rows that store it. Pure: no database, no app."""
    raw = inputs.counts if isinstance(inputs.counts, dict) else _raw_units_parsed(inputs.counts)
    release = build_release(roll_up(raw), inputs.questions.values(), inputs.rules)
    if release.problems:
        return MadeRelease([], len(release.units), 0, release.problems, {})
    units = list(release.units.values())
    if inputs.first_tree is not None:
        # Showing fewer units publishes less than the audited release: nothing can leak.
        whole = remeasured_units({unit.code: unit.parent for unit in units}, inputs.first_tree)
        units = [unit for unit in units if unit.code in whole]
    rows = _figures_rows(inputs.measurement_id, inputs.ids, units)
    # Alerts from the whole audited release, not only the units stored: a re-measurement's
    # hits of a hidden unit sit at the nearest unit above that shows the question, and that
    # unit is often one not measured again whole (not stored). Its alert is still raised.
    zero_tolerance = [q.code for q in inputs.questions.values() if q.zero_tolerance]
    raised = {
        inputs.ids[code]: codes
        for code, codes in raised_alerts(release.units.values(), zero_tolerance).items()
    }
    shown = sum(1 for unit in units if unit.shown)
    return MadeRelease(rows, len(rows), shown, [], raised)


def store_release(
    session: Session, measurement: Measurement, actor: User | None, made: MadeRelease
) -> FiguresOutcome:
    """Replace the measurement's stored release with `made`. Flushes; the caller commits. A
    release whose audit failed stores nothing and blocks the measurement."""
    problems = made.problems
    session.execute(delete(UnitFigures).where(UnitFigures.measurement_id == measurement.id))
    prepared.forget_all(session)
    measurement.figures_computed_at = datetime.now(UTC)
    measurement.anonymity_ok = not problems
    measurement.anonymity_problems = problems[:20]
    if problems:
        # Never expected: the audit is the second line of defence behind the release rules.
        log.error("anonymity audit failed for measurement %s: %s", measurement.id, problems[:5])
        audit_log.record(
            session, actor, "figures.blocked", "measurement", measurement.id, problems=problems[:5]
        )
        session.flush()
        return FiguresOutcome(units=made.units, shown=0, problems=problems)
    if made.rows:
        _insert_figures(session, made.rows)
    audit_log.record(
        session, actor, "figures.computed", "measurement", measurement.id,
        units=made.units, shown=made.shown,
    )  # fmt: skip
    session.flush()
    return FiguresOutcome(units=made.units, shown=made.shown, problems=[], raised=made.raised)


def compute_figures(
    session: Session,
    measurement: Measurement,
    actor: User | None = None,
    *,
    parsed: ImportResult | None = None,
    unit_ids: dict[str, int] | None = None,
) -> FiguresOutcome:
    """Make the measurement's release (`app.domain.release`) and store it. Flushes; the caller
    commits. A release whose audit fails stores nothing and blocks the measurement.

    `parsed` and `unit_ids` (an import that has just written them): the counts are taken
    from the parsed file instead of being read back from the database."""
    inputs = release_inputs(session, measurement, parsed=parsed, unit_ids=unit_ids)
    return store_release(session, measurement, actor, make_release(inputs))


def raised_alerts(
    units: Iterable[UnitRelease], zero_tolerance: Collection[str]
) -> dict[str, set[str]]:
    """unit code -> the zero-tolerance questions the release raises an alert for there.

    Pass every unit of the audited release. The alerts are part of what the anonymity audit
    checked (each sits at a shown unit whose residual group has hits, the group at least the
    sensitive threshold), so raising them publishes nothing the audit did not allow, also
    where the unit's figures are not stored (a re-measurement's unit measured in part)."""
    raised: dict[str, set[str]] = {}
    if not zero_tolerance:
        return raised
    for unit in units:
        if not unit.shown:
            continue
        stored = unit.questions or {}
        hit = {code for code in zero_tolerance if (stored.get(code) or {}).get("za")}
        if hit:
            raised[unit.code] = hit
    return raised


def _first_tree(session: Session, first_id: int) -> dict[str, str | None]:
    """The units of the measurement a re-measurement follows up (code -> parent code): as its
    release stored them, else (no figures) the organisation as it is."""
    parent = aliased(Unit)
    rows = session.execute(
        select(Unit.code, parent.code)
        .join(UnitFigures, UnitFigures.unit_id == Unit.id)
        .outerjoin(parent, parent.id == UnitFigures.parent_unit_id)
        .where(UnitFigures.measurement_id == first_id)
    ).all()
    if not rows:
        rows = session.execute(
            select(Unit.code, parent.code)
            .outerjoin(parent, parent.id == Unit.parent_id)
            .where(Unit.active.is_(True))
        ).all()
    return {code: parent_code for code, parent_code in rows}


FIGURES_COLUMNS = (
    "measurement_id", "unit_id", "parent_unit_id", "shown", "hidden_reason", "respondents",
    "invited", "overall_score", "colour", "indicators", "zero_tolerance_hits", "questions",
    "hidden_questions",
)  # fmt: skip
_JSON_COLUMNS = frozenset({"indicators", "questions", "hidden_questions"})


def _figures_rows(
    measurement_id: int, ids: dict[str, int], units: list[UnitRelease]
) -> list[tuple[Any, ...]]:
    """One row per unit in the order of FIGURES_COLUMNS, its JSON columns as the text the
    ORM's JSON type writes (`json_text.dumps`): a unit's ~50 entries encoded in one call."""
    dumps = json_text.dumps
    return [
        (
            measurement_id,
            ids[unit.code],
            ids.get(unit.parent) if unit.parent else None,
            unit.shown,
            unit.hidden_reason,
            unit.respondents,
            unit.invited,
            unit.overall_score,
            unit.colour,
            dumps(unit.indicators),
            unit.zero_tolerance_hits,
            dumps(unit.questions),
            dumps(unit.hidden_questions),
        )
        for unit in units
    ]


def _insert_figures(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """Write the release's rows (their JSON columns as the text made above) in the
    session's transaction."""
    bulk.insert_rows(session, UnitFigures.__table__, FIGURES_COLUMNS, rows, _JSON_COLUMNS)
