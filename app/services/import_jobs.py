"""A results file's check and import as background jobs, with progress the page polls (htmx).

An upload waits in the file area (`imports.file_area`, under its SHA-256) and its
`staged_import` row says how far the job has come: state ("uploaded", "checking", "checked",
"importing", "imported", "failed"), phase ("reading", "validating", "writing", "figures",
"alerts", and "converting" for a mapped file) and progress (0-100). No request parses the
file: the upload stores it, the confirm starts the import, and the page reads the row.

Where a job runs (IMPORT_JOBS in the config or the environment, like REPORT_JOBS):

- `thread` (the default): the app server's own threads. A job is lost if that process stops
  while it runs; the page then says so after ORPHANED_AFTER (`fail_orphans`).
- `rq` (the default when REDIS_URL is set): queued on Redis for the RQ workers that make the
  reports (`rq worker kompas-reports`), so any app server can take the upload.
- `inline`: in the request itself (tests, and IMPORT_JOBS=inline for debugging).

The import's own writes are one transaction: a failure anywhere leaves the measurement as it
was. Progress is written in short transactions of its own; while the import's transaction
is open it goes through a separate connection on PostgreSQL, and on SQLite (one writer at a
time) it is kept in this process only (`live`), where the thread backend's page finds it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast

from flask import Flask, current_app
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from app.domain.importing_problems import Problem
from app.domain.importing_read import UnreadableFile
from app.extensions import db
from app.models import ImportLog, Measurement, StagedImport, User
from app.models.base import utcnow
from app.services import imports, report_jobs
from app.services.job_threads import JobThreads

log = logging.getLogger(__name__)

RUNNING = ("checking", "importing")
DONE = ("checked", "imported", "failed")
# A job with no word for this long was left by a process that stopped (a restart, a
# deploy): failed with the reason "interrupted". RQ's job_timeout is the same.
ORPHANED_AFTER = timedelta(minutes=15)
JOB_TIMEOUT = int(ORPHANED_AFTER.total_seconds())
# A staged upload (and its file, when no import keeps it for "Gendan") is swept after this.
STAGED_LIFETIME = timedelta(hours=24)
CHUNK = 1024 * 1024
TEMPORARY_PREFIX = ".upload-"

_threads = JobThreads("kompas-import")
_futures: dict[int, Future[Any]] = {}
# Progress of imports whose transaction is open on SQLite: staged id -> (phase, percent).
_live: dict[int, tuple[str, int]] = {}

# Called after an import is committed, in the job's app context (no arguments). create_app
# registers the results blueprint's `preparing.schedule` here (every process that runs a job
# made the app): the sections everyone will open are made before they do.
imported_listeners: list[Callable[[], None]] = []


def backend(app: Flask | None = None) -> str:
    config = (app or current_app).config
    chosen = config.get("IMPORT_JOBS") or os.environ.get("IMPORT_JOBS")
    if chosen:
        return str(chosen)
    return "rq" if (config.get("REDIS_URL") or os.environ.get("REDIS_URL")) else "thread"


def _area(app: Flask) -> Path:
    return imports.file_area(app.config, app.instance_path)


# --- the upload -----------------------------------------------------------------------------


class UploadTooLarge(ValueError):
    """The file is larger than IMPORT_MAX_UPLOAD_BYTES; nothing of it was kept."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class StoredUpload:
    name: str  # in the file area: the SHA-256
    sha256: str
    size_bytes: int


def store_upload(area: Path, stream: IO[bytes], max_bytes: int) -> StoredUpload:
    """Copy an upload into the file area in chunks, hashing as it is written: never the whole
    file in memory. Over `max_bytes`: nothing kept, UploadTooLarge."""
    area.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    handle, temporary = tempfile.mkstemp(dir=area, prefix=TEMPORARY_PREFIX)
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadTooLarge(max_bytes)
                digest.update(chunk)
                out.write(chunk)
        sha256 = digest.hexdigest()
        target = area / sha256
        if target.is_file():
            os.unlink(temporary)  # the same file is kept already (an earlier upload, "Gendan")
        else:
            os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return StoredUpload(name=sha256, sha256=sha256, size_bytes=size)


def converted_name(staged: StagedImport) -> str:
    """The native CSV a mapped file is converted into, next to it in the file area."""
    return f"converted-{staged.token}.csv"


def source_path(area: Path, staged: StagedImport) -> Path | None:
    """The file the check and import read: the converted one for a mapped file."""
    if staged.mapping:
        path = area / converted_name(staged)
    elif staged.stored_file:
        path = area / staged.stored_file
    else:
        return None
    return path if path.is_file() else None


def log_refused(
    session: Session,
    user: User | None,
    measurement: Measurement | None,
    *,
    file_name: str,
    size_bytes: int,
    sha256: str,
    file_format: str = "",
    rows: int = 0,
    errors: int = 1,
    reason: str = "",
) -> ImportLog:
    """A refused file in the import log (every attempt is there), without a CheckedFile: a
    file refused before it was parsed (unreadable, respondent-level, too large)."""
    entry = ImportLog(
        user_id=user.id if user else None,
        measurement_id=measurement.id if measurement else None,
        file_name=file_name[:255],
        size_bytes=size_bytes,
        sha256=sha256,
        file_format=file_format[:10],
        rows=rows,
        outcome="rejected",
        summary={"errors": errors, **({"reason": reason} if reason else {})},
    )
    session.add(entry)
    session.flush()
    return entry


# --- starting a job -------------------------------------------------------------------------


def start_check(session: Session, staged: StagedImport) -> None:
    """Mark the staged file for its check (converting it first when it has a mapping).

    Flushes; the caller commits (the job's own session must see the row) and then calls
    `submit(staged)`, as report jobs are created, committed and submitted."""
    staged.state = "checking"
    staged.phase = "converting" if staged.mapping else "reading"
    staged.progress = 0
    staged.error = ""
    staged.ok = False
    staged.started_at = utcnow()
    staged.finished_at = None
    session.flush()


def start_import(session: Session, staged: StagedImport, *, update_organisation: bool) -> bool:
    """Import the checked file in the background. Only one import per staged file: the state
    moves from "checked" to "importing" in one conditional UPDATE, so a second confirm (a
    double click, a second tab) starts nothing and answers False. Flushes; the caller commits
    and then calls `submit(staged)`."""
    moved = session.execute(
        update(StagedImport)
        .where(
            StagedImport.id == staged.id,
            StagedImport.state == "checked",
            StagedImport.ok.is_(True),
        )
        .values(
            state="importing",
            phase="reading",
            progress=0,
            error="",
            update_organisation=update_organisation,
            started_at=utcnow(),
            finished_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(moved, "rowcount", 0) != 1:
        return False
    session.refresh(staged)
    return True


def submit(staged: StagedImport) -> None:
    """Start the job the staged file was marked for (`start_check`, `start_import`), after the
    caller committed that mark."""
    _submit("import" if staged.state == "importing" else "check", staged.id)


def _submit(kind: str, staged_id: int) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    chosen = backend(app)
    if chosen == "inline":
        run(cast(Session, db.session), kind, staged_id)
    elif chosen == "rq":
        report_jobs.queue(app).enqueue(
            "app.worker.run_import", kind, staged_id, job_timeout=JOB_TIMEOUT
        )
    else:
        _futures[staged_id] = pool().submit(run_in_app, app, kind, staged_id)


def pool() -> ThreadPoolExecutor:
    """The app server's threads for checks and imports (the `thread` backend)."""
    return _threads.pool()


def stop_pool() -> None:
    """Let the job threads end once their jobs are done (`JobThreads.stop`)."""
    _threads.stop()


def wait(staged_id: int, timeout: float = 120) -> None:
    """Wait for a job on the thread backend (tests)."""
    future = _futures.pop(staged_id, None)
    if future is not None:
        future.result(timeout=timeout)


def run_in_app(app: Flask, kind: str, staged_id: int) -> None:
    with app.app_context():
        try:
            run(cast(Session, db.session), kind, staged_id)
        finally:
            db.session.remove()


# --- running a job --------------------------------------------------------------------------


class _Refused(Exception):
    """The job ends failed with this reason (a code the page words)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def run(session: Session, kind: str, staged_id: int) -> None:
    """Run the check or the import of a staged file, writing its progress as it goes. Any
    exception: the import's transaction rolls back and the staged file is failed with a
    reason the page can say."""
    staged = session.get(StagedImport, staged_id)
    expected = "checking" if kind == "check" else "importing"
    if staged is None or staged.state != expected:
        return  # discarded, replaced by a newer upload, or already done
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        if kind == "check":
            _check(session, app, staged)
        else:
            _import(session, app, staged)
    except Exception as error:  # noqa: BLE001 - any failure is the job's, shown on its page
        reason = error.reason if isinstance(error, _Refused) else "error"
        if not isinstance(error, _Refused):
            log.exception("import job %s (%s) failed", staged_id, kind)
        session.rollback()
        _finish(session, staged_id, state="failed", phase="failed", error=reason)
    finally:
        _live.pop(staged_id, None)


def _finish(session: Session, staged_id: int, **values: Any) -> None:
    session.execute(
        update(StagedImport)
        .where(StagedImport.id == staged_id)
        .values(finished_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _reporter(session: Session, staged_id: int, *, scale: float, in_transaction: bool
              ) -> Callable[[str, int], None]:  # fmt: skip
    """progress(phase, percent) for `imports.check`/`apply`: written when it changes, in a
    transaction of its own."""
    last: list[tuple[str, int]] = [("", -1)]
    engine = session.get_bind()
    sqlite = engine.dialect.name == "sqlite"

    def report(phase: str, percent: int) -> None:
        shown = max(0, min(100, int(percent * scale)))
        if (phase, shown) == last[0]:
            return
        last[0] = (phase, shown)
        _live[staged_id] = (phase, shown)
        statement = (
            update(StagedImport)
            .where(StagedImport.id == staged_id)
            .values(phase=phase[:40], progress=shown)
        )
        if not in_transaction:
            session.execute(statement.execution_options(synchronize_session=False))
            session.commit()
        elif not sqlite:
            with engine.connect() as connection:  # type: ignore[union-attr]
                connection.execute(statement)
                connection.commit()
        # SQLite with the import's transaction open: this process's `_live` only.

    return report


def _check(session: Session, app: Flask, staged: StagedImport) -> None:
    area = _area(app)
    staged_id = staged.id
    origins: list[tuple[str, int]] = []  # a converted row's (sheet, row) in the upload
    if staged.mapping:
        _convert(session, area, staged, origins)
        session.refresh(staged)
        if staged.state != "checking":
            return
    path = source_path(area, staged)
    if path is None:
        raise _Refused("file_missing")
    measurement = staged.measurement
    checked = imports.check(
        session,
        path,
        file_name=staged.file_name,
        year=measurement.year,
        questionnaire=measurement.questionnaire,
        threshold=measurement.threshold,
        measurement=measurement,
        # The check is half of the whole import's percent: the bar goes to 100 here.
        progress=_reporter(session, staged_id, scale=2.0, in_transaction=False),
    )
    problems = [
        {**_where_uploaded(problem, origins), "kind": kind}
        for kind, found in imports.problems_by_kind(checked.result).items()
        for problem in found
    ]
    session.expire_all()
    found = session.get(StagedImport, staged_id)
    if found is None or found.state != "checking":
        session.rollback()  # discarded or replaced meanwhile: nothing to say
        return
    staged = found
    restore_of = (staged.preview or {}).get("restore_of")
    staged.problems = problems
    staged.preview = {**checked.preview, **({"restore_of": restore_of} if restore_of else {})}
    staged.ok = checked.ok
    staged.state = "checked"
    staged.phase = "done"
    staged.progress = 100
    staged.finished_at = utcnow()
    if not checked.ok and not restore_of:  # (an earlier import that no longer fits is no upload)
        user = session.get(User, staged.user_id)
        imports.log_rejected(session, user, checked, measurement)
    session.commit()


def _where_uploaded(problem: dict[str, Any], origins: list[tuple[str, int]]) -> dict[str, Any]:
    """A problem of the converted file named by the row (and sheet) of the file the user
    uploaded: row r of the converted file came from origins[r - 2] (row 1 is its header)."""
    row = problem.get("row")
    if not origins or not isinstance(row, int) or not 2 <= row < len(origins) + 2:  # noqa: PLR2004
        return problem
    sheet, source_row = origins[row - 2]
    column = problem.get("column")
    return {**problem, "row": source_row, "column": f"{sheet}: {column}" if sheet else column}


def _convert(
    session: Session, area: Path, staged: StagedImport, origins: list[tuple[str, int]]
) -> None:
    """A mapped file into Kompas's own layout (a native CSV beside it); its problems are the
    staged file's, and a file that does not convert is refused (checked, not ok)."""
    from app.domain import mapping as mapping_domain

    if not staged.stored_file or not (area / staged.stored_file).is_file():
        raise _Refused("file_missing")
    problems: list[Problem]
    try:
        chosen = mapping_domain.Mapping.from_dict(dict(staged.mapping or {}))
        handle, temporary = tempfile.mkstemp(dir=area, prefix=TEMPORARY_PREFIX)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
                problems = mapping_domain.convert(
                    area / staged.stored_file, chosen, out, source_rows=origins
                )
            os.replace(temporary, area / converted_name(staged))
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    # from_dict and convert both raise MappingError for a mapping that does not fit the file
    # (a column it names is missing, no header row), convert UnreadableFile for a bad file.
    except mapping_domain.MappingError as error:
        problems = [
            Problem(
                row=None,
                column=None,
                value="",
                code="mapping",
                message_da=getattr(error, "message_da", str(error)),
                message_en=str(error),
            )
        ]
    except UnreadableFile as error:
        problems = [error.problem]
    if not problems:
        return
    staged.problems = [{**imports.problem_dict(p), "kind": "error"} for p in problems]
    staged.preview = {}
    staged.ok = False
    staged.state = "checked"
    staged.phase = "done"
    staged.progress = 100
    staged.finished_at = utcnow()
    log_refused(
        session,
        session.get(User, staged.user_id),
        staged.measurement,
        file_name=staged.file_name,
        size_bytes=staged.size_bytes,
        sha256=staged.sha256,
        errors=len(problems),
    )
    session.commit()


def _import(session: Session, app: Flask, staged: StagedImport) -> None:
    area = _area(app)
    staged_id = staged.id
    path = source_path(area, staged)
    if path is None:
        raise _Refused("file_missing")
    measurement = staged.measurement
    user = session.get(User, staged.user_id)
    restore_of = (staged.preview or {}).get("restore_of")
    if restore_of is not None:
        _restore(session, area, staged, user, int(restore_of))
        return
    # Checked again: the organisation may have changed since the preview.
    report = _reporter(session, staged_id, scale=1.0, in_transaction=False)
    checked = imports.check(
        session,
        path,
        file_name=staged.file_name,
        year=measurement.year,
        questionnaire=measurement.questionnaire,
        threshold=measurement.threshold,
        measurement=measurement,
        progress=report,
    )
    if not checked.ok:
        staged.problems = [
            {**problem, "kind": kind}
            for kind, found in imports.problems_by_kind(checked.result).items()
            for problem in found
        ]
        staged.ok = False
        session.commit()
        raise _Refused("no_longer_fits")
    session.commit()  # nothing pending: the import's transaction starts clean
    entry = imports.apply(
        session,
        user,
        checked,
        measurement,
        update_organisation=staged.update_organisation,
        file_area=area,
        progress=_reporter(session, staged_id, scale=1.0, in_transaction=True),
    )
    _imported(session, area, staged, entry)


def _imported(session: Session, area: Path, staged: StagedImport, entry: ImportLog) -> None:
    staged.state = "imported"
    staged.phase = "done"
    staged.progress = 100
    staged.finished_at = utcnow()
    staged.import_log_id = entry.id
    session.commit()
    if staged.mapping:
        remove_unused(session, area, [converted_name(staged)])
    for listener in imported_listeners:
        try:
            listener()
        except Exception:  # noqa: BLE001 - the import is committed; preparing is a bonus
            log.exception("after import %s", staged.id)


def restoring(staged: StagedImport) -> int | None:
    """The earlier import (its log's id) a staged "Gendan" brings back, or None."""
    value = (staged.preview or {}).get("restore_of")
    return int(value) if value is not None else None


def restore_of(session: Session, user: User, earlier: ImportLog) -> tuple[StagedImport, bool]:
    """ "Gendan" of an earlier import: the user's own staged restore of it (the check of its
    kept file runs as a job, so asking is as quick as any page), made and started when there
    is none yet. Then `start_import` brings it back (`imports.restore`: checked again,
    applied, the earlier log marked restored). Flushes; when the returned file is "checking"
    made now (the second value True), the caller commits and submits it."""
    since = datetime.now(UTC) - STAGED_LIFETIME
    for staged in session.scalars(
        select(StagedImport)
        .where(
            StagedImport.user_id == user.id, StagedImport.measurement_id == earlier.measurement_id
        )
        .order_by(StagedImport.id.desc())
    ):
        if (
            restoring(staged) == earlier.id
            and staged.state in ("checking", "checked")
            and _naive(staged.created_at) >= _naive(since)
        ):
            return staged, False
    staged = StagedImport(
        token=secrets.token_urlsafe(24),
        user_id=user.id,
        measurement_id=earlier.measurement_id,
        file_name=earlier.file_name,
        sha256=earlier.sha256,
        size_bytes=earlier.size_bytes,
        stored_file=earlier.stored_file,
        state="checking",
        problems=[],
        preview={"restore_of": earlier.id},
    )
    session.add(staged)
    session.flush()
    start_check(session, staged)
    return staged, True


def _restore(
    session: Session, area: Path, staged: StagedImport, user: User | None, log_id: int
) -> None:
    earlier = session.get(ImportLog, log_id)
    if earlier is None:
        raise _Refused("restore_refused")
    session.commit()  # nothing pending: the import's transaction starts clean
    _reporter(session, staged.id, scale=1.0, in_transaction=False)("writing", 50)
    try:
        entry = imports.restore(session, user, earlier, area, utcnow())
    except imports.RestoreRefused as error:
        raise _Refused("restore_refused") from error
    _imported(session, area, staged, entry)


# --- what the page reads ---------------------------------------------------------------------


def live(staged: StagedImport) -> tuple[str, int]:
    """The phase and percent to show: this process's newer word while an import's
    transaction is open on SQLite, else the row's."""
    if staged.state in RUNNING and staged.id in _live:
        return _live[staged.id]
    return staged.phase, staged.progress


def orphaned(staged: StagedImport, now: datetime | None = None) -> bool:
    """Whether a check or import was left by a process that stopped: no job runs longer."""
    if staged.state not in RUNNING:
        return False
    if staged.started_at is None:
        return True
    return _naive(staged.started_at) < _naive(now or datetime.now(UTC)) - ORPHANED_AFTER


def _naive(moment: datetime) -> datetime:
    """SQLite hands back naive UTC, PostgreSQL aware: compared as naive UTC."""
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def fail_if_orphaned(session: Session, staged: StagedImport) -> bool:
    """The page's own check (a read; written only when it is so): an orphaned job is
    failed with the reason "interrupted" (flushed). Never an UPDATE on every poll: on SQLite
    that would wait for a running import's transaction."""
    if not orphaned(staged):
        return False
    fail_orphans(session)
    return True


def fail_orphans(session: Session, now: datetime | None = None) -> int:
    """Checks and imports a stopped process left running (started more than ORPHANED_AFTER
    ago): failed with the reason "interrupted", so the page says so rather than spin for
    ever (flushed, not committed). The number failed."""
    now = now or datetime.now(UTC)
    result = session.execute(
        update(StagedImport)
        .where(
            StagedImport.state.in_(RUNNING),
            or_(
                StagedImport.started_at.is_(None),
                StagedImport.started_at < now - ORPHANED_AFTER,
            ),
        )
        .values(state="failed", phase="failed", error="interrupted", finished_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def remove_unused(session: Session, area: Path, names: list[str]) -> int:
    """Remove files of the file area that no staged upload and no import log (kept for
    "Gendan") names any more. Files are shared by SHA-256: the same file uploaded twice, or
    uploaded again after an import, is one file."""
    names = [n for n in set(names) if n]
    if not names:
        return 0
    kept = set(
        session.scalars(select(ImportLog.stored_file).where(ImportLog.stored_file.in_(names)))
    )
    kept |= set(
        session.scalars(select(StagedImport.stored_file).where(StagedImport.stored_file.in_(names)))
    )
    removed = 0
    for name in names:
        path = area / name
        if name in kept or not path.is_file():
            continue
        path.unlink()
        removed += 1
    return removed


def discard(session: Session, area: Path, staged: StagedImport) -> None:
    """Delete a staged upload and its files unless something else keeps them (flushed)."""
    names = [staged.stored_file or "", converted_name(staged)]
    session.delete(staged)
    session.flush()
    remove_unused(session, area, names)


def sweep(session: Session, area: Path, now: datetime | None = None, *,
          user_id: int | None = None) -> int:  # fmt: skip
    """Old staged uploads go with their files, but never a file an import log still keeps
    for "Gendan". With `user_id`, also that user's earlier uploads (one pending upload per
    person is enough). Half-written uploads older than a day go
    too. Orphaned jobs are failed first. Flushes; the number of staged uploads removed."""
    now = now or datetime.now(UTC)
    fail_orphans(session, now)
    old = StagedImport.created_at < now - STAGED_LIFETIME
    condition = old if user_id is None else or_(old, StagedImport.user_id == user_id)
    # Never one being imported: its job is writing the results (a check may go: its job
    # finds the row gone and stops).
    gone = list(
        session.scalars(select(StagedImport).where(condition, StagedImport.state != "importing"))
    )
    names: list[str] = []
    for staged in gone:
        names += [staged.stored_file or "", converted_name(staged)]
    if gone:
        session.execute(
            delete(StagedImport)
            .where(StagedImport.id.in_([s.id for s in gone]))
            .execution_options(synchronize_session="fetch")
        )
        session.flush()
    remove_unused(session, area, names)
    if area.is_dir():
        day_ago = now.timestamp() - 24 * 3600
        for path in area.glob(TEMPORARY_PREFIX + "*"):
            if path.is_file() and path.stat().st_mtime < day_ago:
                path.unlink()
    return len(gone)
