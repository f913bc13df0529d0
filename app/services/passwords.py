"""Password hashing (argon2id) and one-time set-password links."""

from __future__ import annotations

import hashlib
import hmac

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
    """A new password ends every session of the user and every set-password link; the caller
    signs the current session in again if it is to stay (login_user)."""
    user.password_hash = hash_password(password)
    user.end_sessions()


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
    # Binds the link to the account's secret (a token is signed, not encrypted: so a digest,
    # never the secret itself). The secret changes when the password is set, when a newer link
    # is made and at sign-out: the link dies then, and it never fits another account.
    return hashlib.sha256(user.auth_secret.encode()).hexdigest()[:32]


def make_set_password_token(user: User) -> str:
    """A link that sets the user's password. Any older link stops working, and so do the
    user's sessions (the link may be meant for someone locked out of a stolen account)."""
    user.end_sessions()
    return _serializer().dumps({"uid": user.id, "fp": _fingerprint(user)})


def user_id_from_token(token: str) -> tuple[int, str] | None:
    """(user id, fingerprint) from a valid, unexpired token; None otherwise."""
    max_age = current_app.config["SET_PASSWORD_LINK_HOURS"] * 3600
    try:
        data = _serializer().loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
        return None
    if not 0 < data["uid"] < 2**63:
        return None
    if not isinstance(data.get("fp"), str):
        return None
    return data["uid"], data["fp"]


def token_matches(user: User, fingerprint: str) -> bool:
    return hmac.compare_digest(_fingerprint(user).encode(), fingerprint.encode())
