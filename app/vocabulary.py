"""Wording that follows the organisation's kind: a school says class and board where a
municipality says team and committee."""

from __future__ import annotations

from flask import g
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import Organisation, OrganisationKind, Role

SCHOOL, MUNICIPALITY = OrganisationKind.SCHOOL, OrganisationKind.MUNICIPALITY

TERMS: dict[str, dict[OrganisationKind, LazyString]] = {
    "organisation": {SCHOOL: _l("Institution"), MUNICIPALITY: _l("Municipality")},
    "department": {SCHOOL: _l("Department"), MUNICIPALITY: _l("Administration")},
    "workplace": {SCHOOL: _l("Education"), MUNICIPALITY: _l("Workplace")},
    "team": {SCHOOL: _l("Class"), MUNICIPALITY: _l("Team")},
    "unit": {SCHOOL: _l("Unit"), MUNICIPALITY: _l("Unit")},
    "people": {SCHOOL: _l("Students"), MUNICIPALITY: _l("Employees")},
    "trio": {SCHOOL: _l("Class team"), MUNICIPALITY: _l("Trio")},
    "role.admin": {SCHOOL: _l("Survey owner"), MUNICIPALITY: _l("HR / survey owner")},
    "role.leader": {SCHOOL: _l("Management"), MUNICIPALITY: _l("Leader")},
    "role.member": {SCHOOL: _l("Teacher / class team"), MUNICIPALITY: _l("Employee")},
    "role.committee": {SCHOOL: _l("Student council"), MUNICIPALITY: _l("MED committee")},
    "role.board": {SCHOOL: _l("Board"), MUNICIPALITY: _l("Political committee")},
    # Whom the annual report is issued to, as it reads after "to" / "for": a school's board,
    # a municipality's political committee (MED reads it too, as does everyone with reports).
    "report.audience": {SCHOOL: _l("the board"), MUNICIPALITY: _l("the political committee")},
}


def organisation_kind() -> OrganisationKind:
    if "organisation_kind" not in g:
        kind = db.session.scalar(select(Organisation.kind).limit(1))
        g.organisation_kind = kind or MUNICIPALITY
    return g.organisation_kind


def term(key: str) -> LazyString:
    return TERMS[key][organisation_kind()]


def role_label(role: Role | str) -> LazyString:
    return term(f"role.{Role(role).value}")


COLOURS: dict[str, LazyString] = {"green": _l("Green"), "yellow": _l("Yellow"), "red": _l("Red")}


def colour_label(colour: str | None) -> str:
    """A traffic light in words, for exports ("" where there is none)."""
    return str(COLOURS[colour]) if colour in COLOURS else ""
