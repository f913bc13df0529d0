"""People, their passwords and their roles on units."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import str_enum, utcnow
from app.models.org import Unit


class Role(enum.StrEnum):
    ADMIN = "admin"  # HR / survey owner: everything
    LEADER = "leader"  # the unit and everything under it
    MEMBER = "member"  # the unit: its shown results, update its actions
    COMMITTEE = "committee"  # MED committee / observer: read-only over the subtree
    BOARD = "board"  # reads and downloads reports for the subtree


ROLES: tuple[Role, ...] = tuple(Role)


def new_auth_secret() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, db.Model):
    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL
    # An id is never given to another account, on SQLite too (PostgreSQL never reuses one).
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased: that is what makes the unique index case-insensitive everywhere.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str] = mapped_column(String(5), default="da")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminders_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    # The private, revocable address of the user's calendar feed.
    calendar_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Every session and set-password link carries this secret; a new one (sign-out, password
    # change, deactivation, a new set-password link) ends every session and older link at once.
    auth_secret: Mapped[str] = mapped_column(String(64), default=new_auth_secret)
    # When the last invitation e-mail (with a set-password link) was sent.
    invited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Deleting a user only marks (and deactivates) the account for a while, so it can be
    # undone; the retention purge deletes it for good.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users at sign-in and per request
        return self.active

    def get_id(self) -> str:
        """What the session holds (Flask-Login): the account, not only its id."""
        return f"{self.id}:{self.auth_secret}"

    def end_sessions(self) -> None:
        """Sign the user out everywhere and kill their set-password links."""
        self.auth_secret = new_auth_secret()

    @staticmethod
    def normalise_email(email: str) -> str:
        return email.strip().lower()

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class RoleAssignment(db.Model):
    __tablename__ = "role_assignment"
    __table_args__ = (UniqueConstraint("user_id", "unit_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role))

    user: Mapped[User] = relationship(back_populates="roles")
    unit: Mapped[Unit] = relationship()
