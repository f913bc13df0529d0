"""Password hashing (argon2id) and one-time set-password links."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.models import User

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)


# Dummy hash so that an unknown e-mail costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


def burn_time() -> None:
    try:
        _hasher.verify(_DUMMY_HASH, "wrong")
    except VerificationError:
        pass


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="set-password")


def _fingerprint(user: User) -> str:
    # Binds the link to the current password: once used, the hash changes and the link dies.
    return (user.password_hash or "none")[-16:]


def make_set_password_token(user: User) -> str:
    return _serializer().dumps({"uid": user.id, "fp": _fingerprint(user)})


def user_id_from_token(token: str) -> tuple[int, str] | None:
    """(user id, fingerprint) from a valid, unexpired token; None otherwise."""
    max_age = current_app.config["SET_PASSWORD_LINK_HOURS"] * 3600
    try:
        data = _serializer().loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or "uid" not in data or "fp" not in data:
        return None
    return int(data["uid"]), str(data["fp"])


def token_matches(user: User, fingerprint: str) -> bool:
    return _fingerprint(user) == fingerprint
