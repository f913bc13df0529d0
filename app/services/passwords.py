"""Password hashing (argon2id) and one-time set-password links."""

from __future__ import annotations

import hashlib
import hmac
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import object_session

from app.models import AuditEvent, User

# OWASP's minimum for argon2id (Password Storage Cheat Sheet): 19 MiB, 2 passes, 1 lane.
# argon2-cffi's default (64 MiB, 3 passes, 4 lanes, run one after another here) cost some
# 4-5 times the CPU per sign-in, and a results morning signs 50 people in at once on 2 cores:
# bench/load_bench.py measured the sign-in storm's p95 at 8-17 s with it. A hash made with
# other parameters still verifies, and is made again with these at the next sign-in
# (`verify_password`). Never lower than this.
ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_PARALLELISM = 1
_hasher = PasswordHasher(
    time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_PARALLELISM
)

MIN_PASSWORD_LENGTH = 10
# zxcvbn's score: 3 = "safely unguessable" (about 10^8 guesses and up). Its lists (common
# passwords, names, words, keyboard patterns) are English; Danish words people pick and the
# service's own name are added as "user inputs", with the person's name and e-mail.
MIN_STRENGTH = 3
_LOCAL_WORDS = (
    "kompas", "adgangskode", "kodeord", "hemmelig", "velkommen", "sommer", "vinter", "foraar",
    "efteraar", "januar", "februar", "marts", "april", "maj", "juni", "juli", "august",
    "september", "oktober", "november", "december", "mandag", "fredag", "danmark",
    "kobenhavn", "aarhus", "odense", "aalborg", "kommune", "region", "skole", "gymnasium",
    "medarbejder", "leder", "trivsel", "arbejde", "kaffe", "hygge", "elsker", "kage",
)  # fmt: skip


class WeakPassword(ValueError):
    """The password is too easy to guess; str() is the reason to show (in a request: it is
    translated then)."""


def _is_run(password: str) -> bool:
    """One character repeated, or a simple sequence (abcdef, 987654, ...)."""
    text = password.lower()
    if len(set(text)) == 1:
        return True
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:], strict=False)}
    return len(steps) == 1 and steps <= {-1, 1}


def weakness(password: str, user_inputs: tuple[str, ...] = ()) -> LazyString | None:
    """Why `password` would be refused, as a text to show (lazy: translated when shown);
    None if it is fine.

    Too short, one repeated character, a simple sequence, or guessable by zxcvbn (common
    passwords, words, names, dates, keyboard patterns, the person's own name or e-mail).
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return _l("At least %(n)s characters.", n=MIN_PASSWORD_LENGTH)
    # Imported here: its word lists take a third of a second of every process's start.
    from zxcvbn import zxcvbn

    if _is_run(password) or (
        zxcvbn(password[:100], user_inputs=[*_LOCAL_WORDS, *user_inputs])["score"] < MIN_STRENGTH
    ):
        return _l(
            "This password is too easy to guess: it is common, or made of a pattern, a "
            "name or a few common words. Choose a longer one, e.g. several unrelated words."
        )
    return None


def inputs_of(user: User) -> tuple[str, ...]:
    """The person's own words, which a password should not be built on."""
    email = (user.email or "").lower()
    local = email.split("@")[0]
    name = (user.name or "").lower().split()
    words = [email, local, "".join(c for c in local if c.isalnum()), "".join(name), *name]
    words += email.replace("@", ".").replace("-", ".").replace("_", ".").split(".")
    return tuple(w for w in words if w)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    """Whether the password is the user's. A right password whose hash was made with other
    argon2 parameters (older ones) is hashed again with today's: the caller's commit keeps
    it (the sign-in commits; a failed request's rollback only leaves the old hash)."""
    if not user.password_hash:
        return False
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return True


def set_password(user: User, password: str) -> None:
    """A new password ends every session of the user and every set-password link; the caller
    signs the current session in again if it is to stay (login_user).

    Raises WeakPassword (nothing changed) for a password `weakness` refuses.
    """
    problem = weakness(password, inputs_of(user))
    if problem:
        raise WeakPassword(problem)
    user.password_hash = hash_password(password)
    user.end_sessions()


@cache
def _dummy_hash() -> str:
    """A hash no one's password matches, so that an unknown e-mail costs the same time as a
    wrong password. Made at the first sign-in, not at import: every process start (the
    command line's import, each worker) would otherwise pay a whole argon2 hash."""
    return _hasher.hash("not a password of anyone")


def burn_time() -> None:
    try:
        _hasher.verify(_dummy_hash(), "wrong")
    except VerificationError:
        pass


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="set-password")


def _fingerprint(user: User) -> str:
    # Binds the link to the account's secret (a token is signed, not encrypted: so a digest,
    # never the secret itself). The secret changes when the password is set, when a newer link
    # is made and at sign-out: the link dies then, and it never fits another account.
    return hashlib.sha256(user.auth_secret.encode()).hexdigest()[:32]


# The audit event of a "Glemt adgangskode?" request; the newest one's id is in every link.
PASSWORD_REQUEST = "auth.password_link_requested"  # noqa: S105 - an event name


def _newest_request(user: User) -> int:
    session = object_session(user)
    if session is None or user.id is None:
        return 0
    newest = session.scalar(
        select(func.max(AuditEvent.id)).where(
            AuditEvent.action == PASSWORD_REQUEST,
            AuditEvent.object_type == "user",
            AuditEvent.object_id == user.id,
        )
    )
    return newest or 0


def make_set_password_token(user: User, *, end_sessions: bool = True) -> str:
    """A link that sets the user's password. Any older link stops working.

    HR's links (invitations) also end the user's sessions: the link may be meant for someone
    locked out of a stolen account. A forgotten-password link (`end_sessions=False`, made
    after its PASSWORD_REQUEST event is recorded) does not: anyone can ask for one by typing
    an address, and must not sign its owner out by it. Older links die all the same, because
    every link names the newest request: a newer request ends it, and a newer HR link ends
    the account's secret."""
    if end_sessions:
        user.end_sessions()
    return _serializer().dumps(
        {"uid": user.id, "fp": _fingerprint(user), "req": _newest_request(user)}
    )


def user_id_from_token(token: str) -> tuple[int, str, int] | None:
    """(user id, fingerprint, newest request) from a valid, unexpired token; None otherwise."""
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
    request = data.get("req", 0)
    if not isinstance(request, int):
        return None
    return data["uid"], data["fp"], request


def token_matches(user: User, fingerprint: str, request: int = 0) -> bool:
    same_secret = hmac.compare_digest(_fingerprint(user).encode(), fingerprint.encode())
    return same_secret and request == _newest_request(user)
