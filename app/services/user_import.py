"""Bulk import of users and their roles from a CSV or XLSX file (name, e-mail, unit code,
role), in two steps: `read_rows` + `check` make the preview, `apply` imports the rows that
passed the check (after checking them again: the tree may have changed in between).

The file is read by the results import's reader (the format told by content, UTF-8 or
Windows-1252, XLSX read-only without formulas evaluated), with limits on size, rows, columns
and cell length. A name that looks like a formula is stored with a leading apostrophe, so no
later export can turn it into one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import BinaryIO

from email_validator import EmailNotValidError, validate_email
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.importing_read import RowSource, UnreadableFile, UnreadableRow, read_file
from app.models import Role, RoleAssignment, Unit, User
from app.services.spreadsheets import safe_cell
from app.services.users import assign_role, create_user

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000
MAX_COLUMNS = 20
MAX_CELL = 254  # the longest e-mail address; a name may be up to 200
MAX_NAME = 200

FIELDS = ("name", "email", "unit", "role")
_HEADERS = {
    "name": {"name", "navn", "fuldtnavn", "fuldenavn"},
    "email": {"email", "mail", "emailadresse", "mailadresse"},
    "unit": {"unit", "unitcode", "unitid", "enhed", "enhedskode", "enhedsid", "kode"},
    "role": {"role", "rolle"},
}
# Every way the roles are called, in both languages and both kinds of organisation.
_ROLE_WORDS = {
    Role.ADMIN: {"admin", "administrator", "hr", "hr / survey owner", "survey owner",
                 "hr / målingsansvarlig", "målingsansvarlig"},
    Role.LEADER: {"leader", "leder", "management", "ledelse"},
    Role.MEMBER: {"member", "medlem", "employee", "medarbejder", "teacher / class team",
                  "lærer / klasseteam", "lærer", "teacher"},
    Role.COMMITTEE: {"committee", "med committee", "med-udvalg", "med udvalg", "med",
                     "student council", "elevråd"},
    Role.BOARD: {"board", "bestyrelse", "political committee", "politisk udvalg"},
}  # fmt: skip
_ROLES = {word: role for role, words in _ROLE_WORDS.items() for word in words}


class UserImportError(ValueError):
    """The file cannot be used at all; str() is the reason to show."""


@dataclass
class ImportRow:
    line: int  # the row's line in the file (the header is line 1)
    name: str
    email: str
    unit_code: str
    role_text: str
    role: Role | None = None
    unit_name: str = ""
    existing: bool = False  # the e-mail belongs to a user already
    already: bool = False  # that user holds this role on this unit already
    errors: list[LazyString] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def cells(self) -> list[str]:
        return [self.name, self.email, self.unit_code, self.role_text]


def _header_key(text: str) -> str:
    return re.sub(r"[\s_\-.]", "", text.strip().lower())


def _role(text: str) -> Role | None:
    return _ROLES.get(re.sub(r"\s+", " ", text.strip().lower()))


def read_rows(stream: BinaryIO) -> list[ImportRow]:
    """The file's rows (header recognised, empty rows skipped). Raises UserImportError."""
    start = stream.tell()
    stream.seek(0, 2)
    size = stream.tell() - start
    stream.seek(start)
    if size > MAX_BYTES:
        raise UserImportError(_l("The file is larger than %(n)d MB.", n=MAX_BYTES // 2**20))

    def consume(source: RowSource) -> list[ImportRow]:
        header = next(source.rows, None)
        if header is None:
            raise UserImportError(_l("The file is empty."))
        if len(header) > MAX_COLUMNS:
            raise UserImportError(_l("The file has more than %(n)d columns.", n=MAX_COLUMNS))
        columns: dict[str, int] = {}
        for index, text in enumerate(header):
            for name, words in _HEADERS.items():
                if _header_key(text) in words and name not in columns:
                    columns[name] = index
        missing = [name for name in FIELDS if name not in columns]
        if missing:
            raise UserImportError(
                _l(
                    "The first row must name the columns: name, e-mail, unit code and role "
                    "(navn, e-mail, enhed, rolle)."
                )
            )
        rows: list[ImportRow] = []
        for line, cells in enumerate(source.rows, start=2):
            if len(cells) > MAX_COLUMNS:
                raise UserImportError(_l("The file has more than %(n)d columns.", n=MAX_COLUMNS))
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise UserImportError(_l("The file has more than %(n)d rows.", n=MAX_ROWS))
            values = {
                name: (cells[index] if index < len(cells) else "").strip()
                for name, index in columns.items()
            }
            rows.append(
                ImportRow(line, values["name"], values["email"], values["unit"], values["role"])
            )
        return rows

    try:
        rows = read_file(stream, consume)
    except UnreadableFile as unreadable:
        raise UserImportError(
            _l("The file could not be read. Use CSV (UTF-8 or Excel's CSV) or XLSX.")
        ) from unreadable
    except UnreadableRow as damaged:
        raise UserImportError(_l("The file is damaged.")) from damaged
    if not rows:
        raise UserImportError(_l("The file has no rows under the header."))
    return rows


def rows_from_cells(data: list[list[object]]) -> list[ImportRow]:
    """Rows back from the staged cells (line, name, e-mail, unit, role); malformed ones go."""
    rows = []
    for item in data[: MAX_ROWS + 1]:
        if (
            isinstance(item, list)
            and len(item) == 5
            and isinstance(item[0], int)
            and all(isinstance(v, str) and len(v) <= 2 * MAX_CELL for v in item[1:])
        ):
            rows.append(ImportRow(item[0], *item[1:]))  # type: ignore[arg-type]
    return rows


def check(session: Session, rows: list[ImportRow]) -> list[ImportRow]:
    """Each row's problems and what importing it would do (new user, role added, nothing)."""
    codes = {row.unit_code for row in rows}
    units = {
        code: name
        for code, name in session.execute(
            select(Unit.code, Unit.name).where(Unit.code.in_(codes), Unit.active.is_(True))
        )
    }
    emails = {User.normalise_email(row.email) for row in rows}
    users = {
        user.email: user for user in session.scalars(select(User).where(User.email.in_(emails)))
    }
    seen: set[tuple[str, str, Role | None]] = set()
    for row in rows:
        row.errors = []
        row.name = str(safe_cell(row.name))
        if any(len(cell) > MAX_CELL for cell in row.cells()) or len(row.name) > MAX_NAME:
            row.errors.append(_l("Too long (at most %(n)d characters a cell).", n=MAX_CELL))
        email = User.normalise_email(row.email)
        try:
            validate_email(email, check_deliverability=False)
        except EmailNotValidError:
            row.errors.append(_l("Not a valid e-mail address."))
        else:
            row.email = email
        user = users.get(email)
        row.existing = user is not None
        if user is not None and user.deleted_at is not None:
            row.errors.append(_l("This user is deleted; undo the deletion first."))
        if not row.name and user is None:
            row.errors.append(_l("The name is missing."))
        row.unit_name = units.get(row.unit_code, "")
        if not row.unit_name:
            row.errors.append(_l("There is no unit with this id."))
        row.role = _role(row.role_text)
        if row.role is None:
            row.errors.append(_l("Unknown role."))
        key = (email, row.unit_code, row.role)
        if key in seen:
            row.errors.append(_l("The same person, unit and role as a row above."))
        seen.add(key)
    held = _held_roles(session, [u.id for u in users.values()])
    for row in rows:
        user = users.get(row.email)
        row.already = user is not None and (user.id, row.unit_code, row.role) in held
    return rows


def _held_roles(session: Session, user_ids: list[int]) -> set[tuple[int, str, Role]]:
    if not user_ids:
        return set()
    found = session.execute(
        select(RoleAssignment.user_id, Unit.code, RoleAssignment.role)
        .join(Unit, Unit.id == RoleAssignment.unit_id)
        .where(RoleAssignment.user_id.in_(user_ids))
    ).all()
    return {(user_id, code, role) for user_id, code, role in found}


@dataclass
class ImportResult:
    created: list[User] = field(default_factory=list)
    roles_added: int = 0
    skipped: int = 0


def apply(session: Session, actor: User | None, rows: list[ImportRow]) -> ImportResult:
    """Import the rows that pass `check` now: new users are made (without a password: they
    get an invitation), existing users get the role added. Flushes; the caller commits."""
    result = ImportResult()
    check(session, rows)
    units = {
        unit.code: unit
        for unit in session.scalars(
            select(Unit).where(Unit.code.in_({row.unit_code for row in rows if row.ok}))
        )
    }
    by_email: dict[str, User] = {}
    for row in rows:
        if not row.ok or row.role is None:
            result.skipped += 1
            continue
        user = by_email.get(row.email) or session.scalar(
            select(User).where(User.email == row.email)
        )
        if user is None:
            user = create_user(session, actor, email=row.email, name=row.name)
            result.created.append(user)
        by_email[row.email] = user
        if assign_role(session, actor, user, units[row.unit_code], row.role):
            result.roles_added += 1
    return result
