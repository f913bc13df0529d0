from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from app.forms import KompasForm
from app.services.passwords import MIN_PASSWORD_LENGTH


class LoginForm(KompasForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class NewPasswordForm(KompasForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
        description=_l("At least %(n)s characters.", n=MIN_PASSWORD_LENGTH),
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
    current = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=200)]
    )


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
