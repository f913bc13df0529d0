"""Saved mappings ("profiles"): how a survey tool's file layout turns into Kompas's own.

A profile is saved from the mapping screen under a name and found again by the file's
`signature` (app.domain.mapping.signature: the layout and normalised headers), so next year's
file from the same tool is mapped with one click. Profiles belong to the organisation, not to
one person: every admin sees, renames and deletes them. Flushes, never commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import ImportProfile, User
from app.models.base import utcnow
from app.services import audit

KINDS = ("results", "references")
MAX_NAME = 120
MAX_PROFILES = 200  # per kind: a list HR can read, and a bound on what one user can add


class ProfileError(ValueError):
    """A name that cannot be used (empty, too long, taken) or too many profiles; `code` says
    which, for the page to word."""

    def __init__(self, code: str, name: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.name = name


def clean_name(name: str) -> str:
    return " ".join(name.split())


def _check_name(session: Session, kind: str, name: str, *, keep: int | None = None) -> str:
    cleaned = clean_name(name)
    if not cleaned:
        raise ProfileError("empty")
    if len(cleaned) > MAX_NAME:
        raise ProfileError("too_long", cleaned)
    taken = session.scalar(
        select(ImportProfile.id).where(
            ImportProfile.kind == kind,
            func.lower(ImportProfile.name) == cleaned.lower(),
            ImportProfile.id != (keep or 0),
        )
    )
    if taken is not None:
        raise ProfileError("taken", cleaned)
    return cleaned


def save(
    session: Session,
    actor: User | None,
    *,
    name: str,
    signature: str,
    mapping: dict[str, Any],
    kind: str = "results",
) -> ImportProfile:
    """A new profile; ProfileError when the name is empty, too long or already used."""
    if kind not in KINDS:
        raise ValueError(kind)
    cleaned = _check_name(session, kind, name)
    count = session.scalar(
        select(func.count()).select_from(ImportProfile).where(ImportProfile.kind == kind)
    )
    if (count or 0) >= MAX_PROFILES:
        raise ProfileError("too_many", str(MAX_PROFILES))
    profile = ImportProfile(
        kind=kind,
        name=cleaned,
        signature=signature[:64],
        mapping=mapping,
        created_by_id=actor.id if actor is not None else None,
        used_at=utcnow(),
    )
    session.add(profile)
    session.flush()
    audit.record(
        session, actor, "import_profile.saved", "import_profile", profile.id,
        name=cleaned, kind=kind, layout=str(mapping.get("layout", "")),
    )  # fmt: skip
    return profile


def get(session: Session, profile_id: int, kind: str | None = None) -> ImportProfile | None:
    profile = session.get(ImportProfile, profile_id)
    if profile is None or (kind is not None and profile.kind != kind):
        return None
    return profile


def for_signature(session: Session, signature: str, kind: str = "results") -> list[ImportProfile]:
    """The profiles made for files of this layout, the one used last first."""
    if not signature:
        return []
    return list(
        session.scalars(
            select(ImportProfile)
            .where(ImportProfile.kind == kind, ImportProfile.signature == signature)
            .order_by(ImportProfile.used_at.desc(), ImportProfile.id.desc())
        )
    )


def listed(session: Session, kind: str | None = None) -> list[ImportProfile]:
    """Every profile (of `kind`), by name."""
    query = select(ImportProfile).order_by(ImportProfile.kind, func.lower(ImportProfile.name))
    if kind is not None:
        query = query.where(ImportProfile.kind == kind)
    return list(session.scalars(query.limit(MAX_PROFILES * len(KINDS))))


def mark_used(profile: ImportProfile) -> None:
    """The profile was applied to a file: it is offered first next time."""
    profile.used_at = utcnow()


def rename(session: Session, actor: User | None, profile: ImportProfile, name: str) -> None:
    cleaned = _check_name(session, profile.kind, name, keep=profile.id)
    if cleaned == profile.name:
        return
    before = profile.name
    profile.name = cleaned
    session.flush()
    audit.record(
        session, actor, "import_profile.renamed", "import_profile", profile.id,
        name=[before, cleaned],
    )  # fmt: skip


def delete(session: Session, actor: User | None, profile: ImportProfile) -> None:
    """Gone for good; a staged file mapped with it keeps its mapping (profile_id set null)."""
    audit.record(
        session, actor, "import_profile.deleted", "import_profile", profile.id,
        name=profile.name, kind=profile.kind,
    )  # fmt: skip
    session.delete(profile)
    session.flush()
