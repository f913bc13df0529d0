from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, Field, Form, PasswordField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.forms import KompasForm
from app.services.passwords import MIN_PASSWORD_LENGTH, weakness


def not_guessable(_form: Form, field: Field) -> None:
    """Common passwords, patterns and runs are refused here; the person's own name and e-mail
    too when the route sets it (passwords.set_password checks again with them)."""
    password = field.data or ""
    problem = weakness(password) if len(password) >= MIN_PASSWORD_LENGTH else None  # Length says
    if problem:
        raise ValidationError(problem)


class LoginForm(KompasForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class ForgotPasswordForm(KompasForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])


class NewPasswordForm(KompasForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200), not_guessable],
        description=_l(
            "At least %(n)s characters, not a common password, a pattern or your name.",
            n=MIN_PASSWORD_LENGTH,
        ),
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(),
            Length(max=200),
            EqualTo("password", message=_l("The passwords differ.")),
        ],
    )


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])


class LanguageForm(KompasForm):
    language = SelectField(
        _l("Language"), choices=[SelectChoice("da", "Dansk"), SelectChoice("en", "English")]
    )


class ProfileForm(KompasForm):
    language = SelectField(
        _l("Language"), choices=[SelectChoice("da", "Dansk"), SelectChoice("en", "English")]
    )
    reminders_enabled = BooleanField(
        _l("Send me a daily e-mail when my actions are overdue or due within 7 days"),
    )
