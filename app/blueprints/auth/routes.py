from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.blueprints import select_locale
from app.blueprints.admin.forms import EmptyForm
from app.blueprints.auth import bp
from app.blueprints.auth.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LanguageForm,
    LoginForm,
    NewPasswordForm,
    ProfileForm,
)
from app.extensions import db, limiter
from app.models import User
from app.services import audit, passwords, user_mail
from app.services.mail import deliver


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect after sign-in is a phishing tool."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/"):
            return target
    return url_for("main.home")


def _submitted_account() -> str:
    """The rate-limit key of the account a sign-in names: guessing one person's password from
    many addresses is limited as well as many guesses from one address. The same storage as
    the address limit (Redis when set), so every worker counts together."""
    return "account:" + User.normalise_email(request.form.get("email", ""))[:254]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"],
    key_func=_submitted_account,
    methods=["POST"],
)
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        email = User.normalise_email(form.email.data or "")
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            passwords.burn_time()
        if (
            user is None
            or not passwords.verify_password(user, form.password.data or "")
            # A deactivated account answers as a wrong password does: otherwise the answer
            # would tell whoever tries that the password was right.
            or not user.active
        ):
            flash(_("Wrong e-mail or password."), "error")
        else:
            language = session.get("language")
            session.clear()  # a fresh session at sign-in: no fixation
            if language:
                session["language"] = language
            session.permanent = True  # the session ends after PERMANENT_SESSION_LIFETIME
            login_user(user)
            user.last_login_at = datetime.now(UTC)
            audit.record(db.session, user, "auth.login", "user", user.id)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> Response:
    language = select_locale()
    # Every session of the user ends, here and in any other browser, and a copied cookie dies.
    current_user.end_sessions()
    db.session.commit()
    logout_user()
    session.clear()
    session["language"] = language  # signing out is no reason to change language
    flash(_("You are signed out."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password() -> str | Response:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not passwords.verify_password(current_user, form.current.data or ""):
            form.current.errors = [_("The current password is wrong.")]
        else:
            user = current_user._get_current_object()
            try:
                passwords.set_password(user, form.password.data or "")  # ends every session...
            except passwords.WeakPassword as weak:
                form.password.errors = [str(weak)]
            else:
                audit.record(db.session, user, "auth.password_changed", "user", user.id)
                db.session.commit()
                login_user(user)  # ...but this one, which now holds the new secret
                flash(_("Your password has been changed."), "success")
                return redirect(url_for("main.home"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def set_password(token: str) -> str | Response:
    found = passwords.user_id_from_token(token)
    user = db.session.get(User, found[0]) if found else None
    if (
        found is None
        or user is None
        or not user.active
        or not passwords.token_matches(user, found[1], found[2])
    ):
        return render_template("auth/link_invalid.html"), 404  # type: ignore[return-value]
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            passwords.set_password(user, form.password.data or "")
        except passwords.WeakPassword as weak:
            form.password.errors = [str(weak)]
        else:
            audit.record(db.session, user, "auth.password_set_by_link", "user", user.id)
            db.session.commit()
            flash(_("Your password is set. Sign in with it now."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/set_password.html", form=form, user=user)


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"],
    key_func=_submitted_account,
    methods=["POST"],
)
def forgot_password() -> str | Response:
    """E-mail a set-password link to an active account. The answer is the same whether or
    not the address has an account, so the page tells nobody who uses Kompas."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.change_password"))
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        email = User.normalise_email(form.email.data or "")
        user = db.session.scalar(select(User).where(User.email == email))
        mail = None
        if user is not None and user.active and user.deleted_at is None:
            audit.record(db.session, None, passwords.PASSWORD_REQUEST, "user", user.id)
            # Older links stop working; the user stays signed in where they are.
            token = passwords.make_set_password_token(user, end_sessions=False)
            db.session.commit()
            link = url_for("auth.set_password", token=token, _external=True)
            mail = user_mail.password_reset(
                user, link, current_app.config["SET_PASSWORD_LINK_HOURS"]
            )
        if mail is not None:
            # Sent beside the answer, not before it: a reply that waits for the mail server
            # only for real accounts would tell who has one by its timing.
            settings = {k: v for k, v in current_app.config.items() if k.startswith("MAIL_")}
            threading.Thread(target=deliver, args=([mail], settings), daemon=True).start()
        return render_template("auth/forgot_password_sent.html", email=email)
    return render_template("auth/forgot_password.html", form=form)


@bp.post("/language")
def language() -> Response:
    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400)
    session["language"] = form.language.data
    if current_user.is_authenticated:
        current_user.language = form.language.data
        db.session.commit()
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> str | Response:
    """Name, language, reminders on or off, and the private calendar address."""
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        current_user.reminders_enabled = bool(form.reminders_enabled.data)
        current_user.language = form.language.data or "da"
        session["language"] = current_user.language
        audit.record(db.session, current_user, "user.profile_changed", "user", current_user.id)
        db.session.commit()
        flash(_("Your profile was saved."), "success")
        return redirect(url_for("auth.profile"))
    feed = None
    if current_user.calendar_token:
        feed = url_for("board.calendar", token=current_user.calendar_token, _external=True)
    return render_template("auth/profile.html", form=form, feed=feed, button_form=EmptyForm())


@bp.post("/profile/calendar")
@login_required
def calendar_token() -> Response:
    """Make a new private calendar address (the old one stops working), or remove it."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    if request.form.get("revoke"):
        current_user.calendar_token = None
        flash(_("The calendar address was removed. Calendars using it no longer update."), "info")
    else:
        current_user.calendar_token = secrets.token_urlsafe(32)
        flash(_("A new calendar address was made. Any earlier one has stopped working."), "success")
    audit.record(db.session, current_user, "user.calendar_token", "user", current_user.id)
    db.session.commit()
    return redirect(url_for("auth.profile"))
