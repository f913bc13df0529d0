"""Importing a results file into a measurement: check, preview, then write in one go.

`check` reads and validates without writing anything; `apply` writes a checked result in the
caller's transaction (units, results, import log, audit), so that any failure — a database
error, a killed process — leaves the previous state as it was.
"""

from __future__ import annotations

import gc
import hashlib
import io
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session, aliased

from app.domain import json_text
from app.domain.importing import (
    ImportResult,
    KnownUnit,
    Problem,
    QuestionSpec,
    parse_results,
)
from app.models import (
    Action,
    FollowUp,
    ImportLog,
    Measurement,
    MeasurementQuestionText,
    Organisation,
    PlanTheme,
    Question,
    Questionnaire,
    Unit,
    UnitResult,
    User,
    ZeroToleranceAlert,
)
from app.models.base import utcnow
from app.services import alerts, audit, bulk, figures, other_core


@dataclass
class CheckedFile:
    """A file read and validated against the organisation, with what importing it would do."""

    result: ImportResult
    file_name: str
    size_bytes: int
    sha256: str
    preview: dict[str, Any] = field(default_factory=dict)
    # The file itself, kept so that `apply` can store it for a later "Gendan": its bytes
    # (tests, demo, small files) or, for a file on disk, its path (never read whole).
    content: bytes = field(default=b"", repr=False)
    path: Path | None = None

    def stored_source(self) -> bytes | Path | None:
        """What `store_file` keeps: the path of a file on disk, else the bytes (or None)."""
        if self.path is not None:
            return self.path
        return self.content or None

    @property
    def ok(self) -> bool:
        return self.result.ok


def template_specs(questionnaire: Questionnaire) -> list[QuestionSpec]:
    return [
        QuestionSpec(
            code=q.code,
            text=q.text,
            theme=q.theme,
            scale=tuple(q.scale),
            direction=q.direction,
            zero_tolerance=q.zero_tolerance,
        )
        for q in questionnaire.questions
    ]


def known_units(session: Session) -> dict[str, KnownUnit]:
    parent = aliased(Unit)
    rows = session.execute(
        select(Unit.code, parent.code).outerjoin(parent, Unit.parent_id == parent.id)
    ).all()
    return {code: KnownUnit(code=code, parent_code=parent_code) for code, parent_code in rows}


def earlier_unit_codes(session: Session, year: int) -> set[str]:
    """Codes of units with results in a measurement of an earlier year."""
    rows = session.scalars(
        select(Unit.code)
        .join(UnitResult, UnitResult.unit_id == Unit.id)
        .join(Measurement, Measurement.id == UnitResult.measurement_id)
        .where(Measurement.year < year)
        .distinct()
    )
    return set(rows)


def newer_results_exist(session: Session, year: int) -> bool:
    """Whether a measurement of a later year has results: then a file for `year` is history,
    and the live organisation (names, parents, who is active) is not taken from it."""
    return (
        session.scalar(
            select(UnitResult.unit_id)
            .join(Measurement, Measurement.id == UnitResult.measurement_id)
            .where(Measurement.year > year)
            .limit(1)
        )
        is not None
    )


# progress(phase, percent): percent of the whole import (check and apply), 0-100.
Progress = Callable[[str, int], None]
PHASES = ("reading", "validating", "writing", "figures", "alerts", "done")
# Where each phase starts, in percent of the whole import (measured shares, roughly).
_PHASE_START = {
    "reading": 0,
    "validating": 45,
    "writing": 50,
    "figures": 70,
    "alerts": 90,
    "done": 100,
}


def _no_progress(phase: str, percent: int) -> None:
    return None


def _sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def check(
    session: Session,
    source: bytes | Path,
    *,
    file_name: str,
    year: int,
    questionnaire: Questionnaire | None,
    threshold: int = 5,
    measurement: Measurement | None = None,
    progress: Progress | None = None,
) -> CheckedFile:
    """Read and validate; nothing is written. `questionnaire` None: the file defines it.

    `source`: the file's bytes, or the path of a file on disk, which is read streamed
    (never whole into memory). With `measurement`, the preview also says in words what
    changes (`unit_changes`). `progress(phase, percent)` hears "reading" (every ~10 % of
    the file) and "validating"."""
    report = progress or _no_progress
    report("reading", _PHASE_START["reading"])
    template = (
        template_specs(questionnaire) if questionnaire and questionnaire.is_template else None
    )
    known = known_units(session)
    earlier = earlier_unit_codes(session, year)
    reading_share = _PHASE_START["validating"] - _PHASE_START["reading"]

    def read_progress(fraction: float) -> None:
        report("reading", _PHASE_START["reading"] + int(reading_share * min(fraction, 1.0)))

    options: dict[str, Any] = {
        "template": template,
        "known_units": known,
        "previous_unit_codes": earlier or None,
        "progress": read_progress if progress is not None else None,
    }
    if isinstance(source, Path):
        size = source.stat().st_size
        with source.open("rb") as stream:
            result = parse_results(stream, **options)
        sha256 = _sha256_of(source)
        checked = CheckedFile(
            result=result, file_name=file_name, size_bytes=size, sha256=sha256, path=source
        )
    else:
        result = parse_results(io.BytesIO(source), **options)
        checked = CheckedFile(
            result=result,
            file_name=file_name,
            size_bytes=len(source),
            sha256=hashlib.sha256(source).hexdigest(),
            content=source,
        )
    report("validating", _PHASE_START["validating"])
    if result.ok:
        checked.preview = _preview(session, result, known, threshold)
        checked.preview["older"] = newer_results_exist(session, year)
        if measurement is not None:
            checked.preview.update(unit_changes(session, result, measurement))
    return checked


def _preview(
    session: Session, result: ImportResult, known: dict[str, KnownUnit], threshold: int
) -> dict[str, Any]:
    existing = {
        code: (name, unit_type)
        for code, name, unit_type in session.execute(select(Unit.code, Unit.name, Unit.unit_type))
    }
    new, changed, unchanged = [], [], 0
    for unit in result.units:
        if unit.code not in existing:
            new.append(unit.code)
        elif (
            existing[unit.code] != (unit.name, unit.unit_type)
            or known[unit.code].parent_code != unit.parent_code
        ):
            changed.append(unit.code)
        else:
            unchanged += 1
    leaves = [u for u in result.units if u.has_own_rows]
    respondents = sum(u.respondents or 0 for u in leaves)
    invited = sum(u.invited or 0 for u in leaves if u.invited is not None)
    under = [u.code for u in leaves if (u.respondents or 0) < threshold]
    zero_tolerance = [q.code for q in result.questions if q.zero_tolerance]
    return {
        "units": len(result.units),
        "new_units": new,
        "changed_units": changed,
        "unchanged_units": unchanged,
        "questions": len(result.questions),
        "themes": sorted({q.theme for q in result.questions if q.theme}),
        "respondents": respondents,
        "invited": invited,
        "response_rate": (respondents / invited) if invited else None,
        "units_under_threshold": under,
        "zero_tolerance_questions": zero_tolerance,
        "own_wording": len(result.question_texts),
        "rows": result.rows,
    }


def unit_changes(
    session: Session, result: ImportResult, measurement: Measurement
) -> dict[str, Any]:
    """What the file changes, by name and in the order people read them: units renamed (old ->
    new name), moved (from parent -> to parent), new, and missing from the file.

    Missing: units with results in the measurement now (a replacing import), or, for a first
    import of the newest year, today's active units; with whether a follow-up (and how many
    actions) hangs on them, because that is what HR must know before losing their figures.
    """
    parent = aliased(Unit)
    current = {
        row.code: row
        for row in session.execute(
            select(
                Unit.id,
                Unit.code,
                Unit.name,
                Unit.active,
                parent.code.label("parent_code"),
                parent.name.label("parent_name"),
            ).outerjoin(parent, Unit.parent_id == parent.id)
        )
    }
    in_file = {unit.code: unit for unit in result.units}

    def name_of(code: str | None) -> str:
        if not code:
            return ""
        if code in in_file:
            return in_file[code].name
        return current[code].name if code in current else code

    renamed, moved, new = [], [], []
    for unit in result.units:
        old = current.get(unit.code)
        if old is None:
            new.append({"code": unit.code, "name": unit.name, "parent": name_of(unit.parent_code)})
            continue
        if old.name != unit.name:
            renamed.append({"code": unit.code, "old": old.name, "new": unit.name})
        if old.parent_code != unit.parent_code:
            moved.append(
                {
                    "code": unit.code,
                    "name": unit.name,
                    "from": old.parent_name or "",
                    "to": name_of(unit.parent_code),
                }
            )
    with_results = set(
        session.scalars(
            select(Unit.code)
            .join(UnitResult, UnitResult.unit_id == Unit.id)
            .where(UnitResult.measurement_id == measurement.id)
        )
    )
    if with_results:
        base = with_results
    elif not newer_results_exist(session, measurement.year):
        base = {code for code, row in current.items() if row.active}
    else:
        base = set()  # a file of an earlier year: today's units were not all there then
    missing_codes = base - in_file.keys()
    follow_ups: dict[int, int] = {}
    if missing_codes:
        missing_ids = [current[code].id for code in missing_codes if code in current]
        follow_ups = dict(
            session.execute(
                select(FollowUp.unit_id, func.count(Action.id))
                .outerjoin(
                    Action, (Action.follow_up_id == FollowUp.id) & Action.deleted_at.is_(None)
                )
                .where(FollowUp.measurement_id == measurement.id, FollowUp.unit_id.in_(missing_ids))
                .group_by(FollowUp.unit_id)
            )
            .tuples()
            .all()
        )
    missing = [
        {
            "code": code,
            "name": current[code].name,
            # Names repeat ("Team 1" in many workplaces): the parent tells them apart.
            "parent": current[code].parent_name or "",
            "follow_up": current[code].id in follow_ups,
            "actions": follow_ups.get(current[code].id, 0),
        }
        for code in missing_codes
        if code in current
    ]

    def by_name(key: str) -> Any:
        return lambda item: (item[key].casefold(), item["code"])

    return {
        "renamed": sorted(renamed, key=by_name("new")),
        "moved": sorted(moved, key=by_name("name")),
        "added": sorted(new, key=by_name("name")),
        "missing": sorted(missing, key=by_name("name")),
        "replaces": bool(with_results),
    }


@dataclass(frozen=True)
class ExistingResults:
    """What hangs on a measurement that already has results: said before a file replaces them."""

    imported_at: datetime | None
    imported_by: str | None  # None: the command line (or a deleted user)
    file_name: str
    units: int
    follow_ups: int
    plans: int
    actions: int
    open_alerts: int
    # Whether the current file was kept, so that "Gendan" can bring it back once replaced
    # (files imported on the command line, or before Kompas kept them, were not).
    file_kept: bool = False


def existing_results(session: Session, measurement: Measurement) -> ExistingResults | None:
    """None when the measurement has no results yet (an import replaces nothing)."""
    units = session.scalar(
        select(func.count())
        .select_from(UnitResult)
        .where(UnitResult.measurement_id == measurement.id)
    )
    if not units:
        return None
    last = session.scalar(
        select(ImportLog)
        .where(ImportLog.measurement_id == measurement.id, ImportLog.outcome == "imported")
        .order_by(ImportLog.id.desc())
        .limit(1)
    )
    follow_up_ids = select(FollowUp.id).where(FollowUp.measurement_id == measurement.id)
    return ExistingResults(
        imported_at=last.at if last else None,
        imported_by=last.user.name if last and last.user else None,
        file_name=last.file_name if last else "",
        file_kept=bool(last and last.stored_file),
        units=units,
        follow_ups=session.scalar(
            select(func.count())
            .select_from(FollowUp)
            .where(FollowUp.measurement_id == measurement.id)
        )
        or 0,
        plans=session.scalar(
            select(func.count(func.distinct(PlanTheme.follow_up_id))).where(
                PlanTheme.follow_up_id.in_(follow_up_ids)
            )
        )
        or 0,
        actions=session.scalar(
            select(func.count())
            .select_from(Action)
            .where(Action.follow_up_id.in_(follow_up_ids), Action.deleted_at.is_(None))
        )
        or 0,
        open_alerts=session.scalar(
            select(func.count())
            .select_from(ZeroToleranceAlert)
            .where(
                ZeroToleranceAlert.measurement_id == measurement.id,
                ZeroToleranceAlert.closed_at.is_(None),
            )
        )
        or 0,
    )


class ImportRefused(ValueError):
    """The checked file cannot be applied (it had errors)."""


def _ensure_organisation(session: Session, result: ImportResult) -> None:
    """The first import into an empty Kompas names the organisation after its root unit.
    Its kind is not guessed from the questionnaire: a person chooses it (`create-admin
    --kind`, the organisation's settings page); until then it is the default."""
    if session.scalar(select(Organisation.id).limit(1)) is not None:
        return
    root = next((u for u in result.units if u.parent_code is None), None)
    session.add(Organisation(name=root.name if root else "Kompas"))


def _sync_questions(
    session: Session, questionnaire: Questionnaire, specs: list[QuestionSpec]
) -> dict[str, int]:
    """Make a file-defined questionnaire's questions those of the file; code -> id."""
    current = {q.code: q for q in questionnaire.questions}
    for position, spec in enumerate(specs):
        question = current.pop(spec.code, None)
        if question is None:
            question = Question(questionnaire_id=questionnaire.id, code=spec.code)
            session.add(question)
        question.text = spec.text
        question.theme = spec.theme
        question.scale = list(spec.scale)
        question.direction = spec.direction
        question.zero_tolerance = spec.zero_tolerance
        question.position = position
    for leftover in current.values():
        session.delete(leftover)
    session.flush()
    return dict(
        session.execute(
            select(Question.code, Question.id).where(Question.questionnaire_id == questionnaire.id)
        )
        .tuples()
        .all()
    )


def _keep_question_texts(
    session: Session, result: ImportResult, measurement_id: int, question_ids: dict[str, int]
) -> None:
    """The file's wording of the template's questions, for this measurement only: an import
    replaces the wording of the one before, and the template itself is never changed."""
    session.execute(
        delete(MeasurementQuestionText).where(
            MeasurementQuestionText.measurement_id == measurement_id
        )
    )
    rows = [
        {"measurement_id": measurement_id, "question_id": question_ids[code], "text": text}
        for code, text in result.question_texts.items()
        if code in question_ids
    ]
    if rows:
        session.execute(insert(MeasurementQuestionText), rows)


def _upsert_units(
    session: Session, result: ImportResult, *, update_tree: bool = True
) -> dict[str, int]:
    """Create new units, update names, types and parents; code -> id for every unit.

    `update_tree` False (a file of an earlier year): existing units keep today's name, type,
    parent and active flag; units only that file knows are created closed (inactive), placed
    under their parent of that year.
    """
    rows = session.execute(
        select(Unit.id, Unit.code, Unit.name, Unit.unit_type, Unit.parent_id, Unit.active)
    ).all()
    ids = {row.code: row.id for row in rows}
    new = [u for u in result.units if u.code not in ids]
    if new:
        now = utcnow()
        # Core executemany on the session's connection (after a flush): the ORM's bulk
        # insert of the same rows costs a third more for a large organisation.
        session.flush()
        session.connection().execute(
            insert(Unit.__table__),
            [
                {
                    "code": u.code,
                    "name": u.name,
                    "unit_type": u.unit_type,
                    "active": update_tree,
                    "created_at": now,
                }
                for u in new
            ],
        )
        ids.update(session.execute(select(Unit.code, Unit.id)).tuples().all())
    if not update_tree:
        placed = [
            {"b_id": ids[u.code], "b_parent": ids[u.parent_code]} for u in new if u.parent_code
        ]
        if placed:
            table = Unit.__table__
            session.connection().execute(
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values(parent_id=bindparam("b_parent")),
                placed,
            )
        return ids
    before = {row.id: row for row in rows}
    changes = []
    for unit in result.units:
        unit_id = ids[unit.code]
        parent_id = ids[unit.parent_code] if unit.parent_code else None
        old = before.get(unit_id)
        if old is None or (old.name, old.unit_type, old.parent_id, old.active) != (
            unit.name,
            unit.unit_type,
            parent_id,
            True,
        ):
            changes.append(
                {
                    "b_id": unit_id,
                    "b_name": unit.name,
                    "b_type": unit.unit_type,
                    "b_parent": parent_id,
                }
            )
    if changes:
        # Core executemany, not the ORM's per-row bulk update: psycopg pipelines it.
        table = Unit.__table__
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                name=bindparam("b_name"),
                unit_type=bindparam("b_type"),
                parent_id=bindparam("b_parent"),
                active=True,
            ),
            changes,
        )
    return ids


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cycle collector off while an import writes and makes its release (as while the
    file is read, `parse_results`): both make hundreds of thousands of small objects, none
    of them cyclic garbage, and the collector would scan them and the parsed rows over and
    over (a quarter of the figures' time for the benchmark file). On again afterwards, if
    it was on; refcounting frees everything meanwhile as always."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def apply(
    session: Session,
    actor: User | None,
    checked: CheckedFile,
    measurement: Measurement,
    *,
    update_organisation: bool = False,
    file_area: Path | None = None,
    progress: Progress | None = None,
) -> ImportLog:
    """Write a checked file into the measurement, replacing its results as a whole.

    With `file_area`, the file is kept there (`store_file`) so that a later import that
    replaces it can be undone ("Gendan", `restore`).

    The live organisation (unit names, types, parents, active) follows the file only when
    no later measurement has results, or when `update_organisation` is True (an admin's
    explicit choice in the preview). The measurement's own tree is always the file's
    (UnitResult.parent_unit_id).

    `progress(phase, percent)` hears "writing", "figures", "alerts" and "done" (percent of
    the whole import; `check` had 0-50).

    Flushes, never commits: the caller commits once, or rolls everything back.
    """
    with _no_cycle_collection():
        return _apply(
            session, actor, checked, measurement, update_organisation, file_area, progress
        )


def _apply(
    session: Session,
    actor: User | None,
    checked: CheckedFile,
    measurement: Measurement,
    update_organisation: bool,
    file_area: Path | None,
    progress: Progress | None,
) -> ImportLog:
    """`apply`, with the cycle collector off."""
    result = checked.result
    if not result.ok:
        raise ImportRefused(f"{len(result.errors)} errors")
    report = progress or _no_progress
    report("writing", _PHASE_START["writing"])
    questionnaire = measurement.questionnaire
    if questionnaire.is_template:
        question_ids = {q.code: q.id for q in questionnaire.questions}
    else:
        question_ids = _sync_questions(session, questionnaire, result.questions)

    update_tree = update_organisation or not newer_results_exist(session, measurement.year)
    unit_ids = _upsert_units(session, result, update_tree=update_tree)
    _ensure_organisation(session, result)
    # The release is made from the parsed counts while they are written: on the other core
    # where a fork is safe and the file large enough to pay for it (app/services/other_core).
    inputs = figures.release_inputs(session, measurement, parsed=result, unit_ids=unit_ids)
    with other_core.started(
        partial(figures.make_release, inputs),
        worth_a_child=len(result.results) >= RELEASE_ON_OTHER_CORE_FROM,
    ) as release:
        replaced = (
            session.scalar(
                select(UnitResult.unit_id)
                .where(UnitResult.measurement_id == measurement.id)
                .limit(1)
            )
            is not None
        )
        session.execute(delete(UnitResult).where(UnitResult.measurement_id == measurement.id))
        measurement_id = measurement.id
        bulk.insert_rows(
            session,
            UnitResult.__table__,
            UNIT_RESULT_COLUMNS,
            _unit_result_rows(result, measurement_id, unit_ids, question_ids),
            json_columns={"question_counts"},
        )
        _keep_question_texts(session, result, measurement_id, question_ids)
        session.flush()
        report("figures", _PHASE_START["figures"])
        made = release.result()
    outcome = figures.store_release(session, measurement, actor, made)
    report("alerts", _PHASE_START["alerts"])
    if outcome.ok:
        alerts.open_alerts(session, measurement, raised_codes=outcome.raised)
    else:
        alerts.clear_for(session, measurement)
    alerts.close_alerts_of_gone_units(session, actor)

    log = ImportLog(
        user_id=actor.id if actor else None,
        measurement_id=measurement_id,
        file_name=checked.file_name[:255],
        size_bytes=checked.size_bytes,
        sha256=checked.sha256,
        file_format=result.format,
        rows=result.rows,
        units=len(result.units),
        questions=len(result.questions),
        outcome="imported",
        replaced_earlier=replaced,
        summary={k: v for k, v in checked.preview.items() if not isinstance(v, list | dict)},
    )
    stored = checked.stored_source()
    if file_area is not None and stored is not None:
        log.stored_file = store_file(file_area, stored, checked.sha256)
    session.add(log)
    session.flush()
    audit.record(
        session,
        actor,
        "results.imported",
        "measurement",
        measurement_id,
        file_name=checked.file_name,
        sha256=checked.sha256,
        units=len(result.units),
        replaced=replaced,
        anonymity_ok=outcome.ok,
        organisation_updated=update_tree,
    )
    report("done", _PHASE_START["done"])
    return log


# Parsed rows from which an import makes its release in a child process (other_core): below
# this, forking and pickling the result cost more than the overlap saves.
RELEASE_ON_OTHER_CORE_FROM = 20_000

UNIT_RESULT_COLUMNS = (
    "measurement_id",
    "unit_id",
    "parent_unit_id",
    "respondents",
    "invited",
    "has_own_rows",
    "previous_codes",
    "question_counts",
)


def _unit_result_rows(
    result: ImportResult,
    measurement_id: int,
    unit_ids: dict[str, int],
    question_ids: dict[str, int],
) -> Iterator[tuple[Any, ...]]:
    """One row per unit in the order of UNIT_RESULT_COLUMNS, its question counts as the JSON
    text the ORM's JSON type writes (`json_text.dumps`).

    The bulk of an import is here: ~260,000 answers of a large organisation. The parser
    shares one tuple per distribution (35,000 in 256,000 rows of the benchmark file), so the
    units share one entry per (distribution, don't know), and each unit's document is
    encoded in one call."""
    entries: dict[tuple[Any, ...], dict[str, Any]] = {}
    counts_of: dict[str, dict[int, dict[str, Any]]] = {u.code: {} for u in result.units}
    for row in result.results:
        counts = row.counts
        key: tuple[Any, ...] = (
            (counts, row.dont_know)
            if counts is not None
            else (None, row.n, row.mean, row.dont_know)
        )
        entry = entries.get(key)
        if entry is None:
            entry = entries[key] = (
                {"counts": list(counts), "dont_know": row.dont_know}
                if counts is not None
                else {"n": row.n, "mean": row.mean, "dont_know": row.dont_know}
            )
        counts_of[row.unit_code][question_ids[row.question_code]] = entry
    dumps = json_text.dumps  # the question ids become the document's keys as text
    for unit in result.units:
        yield (
            measurement_id,
            unit_ids[unit.code],
            unit_ids[unit.parent_code] if unit.parent_code else None,
            unit.respondents,
            unit.invited,
            unit.has_own_rows,
            "|".join(unit.previous_codes),
            dumps(counts_of[unit.code]),
        )


def log_rejected(
    session: Session, actor: User | None, checked: CheckedFile, measurement: Measurement | None
) -> ImportLog:
    """Record a file that was refused, so the log shows every attempt."""
    log = ImportLog(
        user_id=actor.id if actor else None,
        measurement_id=measurement.id if measurement else None,
        file_name=checked.file_name[:255],
        size_bytes=checked.size_bytes,
        sha256=checked.sha256,
        file_format=checked.result.format,
        rows=checked.result.rows,
        outcome="rejected",
        summary={"errors": len(checked.result.errors)},
    )
    session.add(log)
    session.flush()
    return log


def problem_dict(problem: Problem) -> dict[str, Any]:
    return {
        "row": problem.row,
        "column": problem.column,
        "value": problem.value,
        "message_da": problem.message_da,
        "message_en": problem.message_en,
        "code": problem.code,
    }


def problems_by_kind(result: ImportResult) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for kind, problems in (
        ("error", result.errors),
        ("warning", result.warnings),
        ("notice", result.notices),
    ):
        grouped[kind] = [problem_dict(p) for p in problems]
    return dict(grouped)


# --- keeping imported files for 30 days, and restoring one ("Gendan") ---------------------------

RESTORE_PERIOD = timedelta(days=30)
FILE_AREA_NAME = "import_files"


def file_area(config: Any, instance_path: str) -> Path:
    """Where imported files are kept: IMPORT_FILES_DIR, else the instance's `import_files`."""
    configured = config.get("IMPORT_FILES_DIR")
    return Path(configured) if configured else Path(instance_path) / FILE_AREA_NAME


def store_file(area: Path, content: bytes | Path, sha256: str) -> str:
    """Keep the file under its SHA-256 (the same file twice is kept once); the name relative
    to the file area. Written to a temporary name first: a half-written file is never kept.
    A file on disk (`Path`) is hard-linked where it can be, else copied in chunks; never
    read whole."""
    area.mkdir(parents=True, exist_ok=True)
    target = area / sha256
    if target.is_file():
        return sha256
    handle, temporary = tempfile.mkstemp(dir=area, prefix=".upload-")
    try:
        if isinstance(content, Path):
            os.close(handle)
            os.unlink(temporary)
            try:
                os.link(content, temporary)
            except OSError:  # another file system, or links not allowed: copy
                shutil.copyfile(content, temporary)
        else:
            with os.fdopen(handle, "wb") as out:
                out.write(content)
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return sha256


def _naive(moment: datetime) -> datetime:
    """SQLite hands back naive UTC, PostgreSQL aware: compare both as naive UTC."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def imported_logs(session: Session, measurement_id: int) -> list[ImportLog]:
    """The measurement's successful imports in the order they were made (the last one is the
    current): by id, which a clock set back cannot reorder."""
    return list(
        session.scalars(
            select(ImportLog)
            .where(ImportLog.measurement_id == measurement_id, ImportLog.outcome == "imported")
            .order_by(ImportLog.id)
        )
    )


@dataclass(frozen=True)
class Restorable:
    """Whether an import can be brought back, and until when."""

    log: ImportLog
    replaced_at: datetime
    until: datetime


def restorable_logs(
    session: Session, measurement_id: int, area: Path, now: datetime
) -> dict[int, Restorable]:
    """Imports of the measurement that "Gendan" may bring back: replaced by a later import
    less than 30 days ago, a different file from the current one, and still kept."""
    logs = imported_logs(session, measurement_id)
    if len(logs) < 2:
        return {}
    current = logs[-1]
    found = {}
    for log, later in zip(logs, logs[1:], strict=False):
        until = _naive(later.at) + RESTORE_PERIOD
        if (
            log.stored_file
            and log.sha256 != current.sha256
            and _naive(now) < until
            and (area / log.stored_file).is_file()
        ):
            found[log.id] = Restorable(log=log, replaced_at=later.at, until=until)
    return found


class RestoreRefused(ValueError):
    """The earlier import cannot be restored (too old, not kept, or no longer fits)."""


def restore(
    session: Session, actor: User | None, log: ImportLog, area: Path, now: datetime
) -> ImportLog:
    """Import an earlier file of the measurement again, through the same check and `apply`
    (figures, release, alerts). Follow-ups and plans stay: units are matched by code.
    Flushes; the caller commits."""
    if log.measurement_id is None or log.id not in restorable_logs(
        session, log.measurement_id, area, now
    ):
        raise RestoreRefused("not restorable")
    kept = area / log.stored_file
    if _sha256_of(kept) != log.sha256:
        raise RestoreRefused("the kept file was changed")
    measurement = session.get(Measurement, log.measurement_id)
    assert measurement is not None  # noqa: S101 - the foreign key says so
    checked = check(
        session,
        kept,
        file_name=log.file_name,
        year=measurement.year,
        questionnaire=measurement.questionnaire,
        threshold=measurement.threshold,
        measurement=measurement,
    )
    if not checked.ok:
        raise RestoreRefused("the file no longer fits the organisation")
    restored = apply(session, actor, checked, measurement, file_area=area)
    restored.summary = {**restored.summary, "restored_from": log.id}
    log.restored_at = now
    audit.record(
        session,
        actor,
        "results.restored",
        "measurement",
        measurement.id,
        import_log=log.id,
        file_name=log.file_name,
        sha256=log.sha256,
    )
    session.flush()
    return restored
