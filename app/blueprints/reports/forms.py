"""The annual report's draft: the leadership's follow-up plan, and a local goal per
indicator (a target score and a success criterion; set by HR, the admin). A zero-tolerance
theme (a school's "Mobning") has no score, so its goal is in words only."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import HiddenInput

from app.forms import KompasForm
from app.services.report_archive import WITHDRAWAL_REASON

PLAN_TEXT = 20000


class DraftForm(KompasForm):
    followup_plan = TextAreaField(
        _l("The leadership’s follow-up plan"),
        validators=[Optional(), Length(max=PLAN_TEXT)],
        description=_l(
            "What the leadership will do next year, in the light of the results and the "
            "action plans. It is printed in the report and kept with each issued version."
        ),
    )


class NoScoreGoal:
    """A zero-tolerance theme's goal is in words: a score goal sent for it (`target_<n>`, a
    field the form never shows) is refused on its words field, so nothing is saved."""

    def __init__(self, theme: str, target: str) -> None:
        self.theme, self.target = theme, target

    def __call__(self, form: Any, field: Any) -> None:
        if (request.form.get(self.target) or "").strip():
            raise ValidationError(
                _(
                    "%(theme)s is a zero-tolerance theme and has no score, so it cannot have "
                    "a score goal. Write its goal in words.",
                    theme=self.theme,
                )
            )


def draft_form(
    themes: list[str], *, goals: bool, no_score: Collection[str] = (), **kwargs: Any
) -> DraftForm:
    """The draft form with a target and a criterion per indicator when `goals` may be set;
    a theme in `no_score` (zero tolerance) gets its goal in words only."""

    class Form(DraftForm):
        pass

    if goals:
        for index, theme in enumerate(themes):
            if theme in no_score:
                setattr(
                    Form,
                    f"criterion_{index}",
                    StringField(
                        _l("Goal for %(theme)s, in words", theme=theme),
                        # No Optional(): it would clear the refusal of an empty field.
                        validators=[NoScoreGoal(theme, f"target_{index}"), Length(max=500)],
                        description=_l(
                            "A zero-tolerance theme has no score, so its goal is in words "
                            "only: for example, how soon every case is followed up."
                        ),
                    ),
                )
                continue
            setattr(
                Form,
                f"target_{index}",
                DecimalField(
                    _l("Goal for %(theme)s (0–100)", theme=theme),
                    places=0,
                    validators=[Optional(), NumberRange(min=0, max=100)],
                ),
            )
            setattr(
                Form,
                f"criterion_{index}",
                StringField(
                    _l("Success criterion for %(theme)s", theme=theme),
                    validators=[Optional(), Length(max=500)],
                ),
            )
    return Form(**kwargs)


class IssueForm(KompasForm):
    """Issuing, confirmed: the writer has seen what will be sent (the draft at `version`)
    and ticks that it cannot be taken back."""

    version = IntegerField(
        widget=HiddenInput(), validators=[InputRequired(), NumberRange(min=0, max=2**31)]
    )
    confirm = BooleanField(
        _l("I have read the report’s text above. An issued version cannot be changed."),
        validators=[DataRequired(_l("Tick the box to confirm that you want to issue the report."))],
    )


class ApprovalRequestForm(KompasForm):
    """Send the draft, as saved at `version`, to a named person for approval."""

    version = IntegerField(
        widget=HiddenInput(), validators=[InputRequired(), NumberRange(min=0, max=2**31)]
    )
    approver = SelectField(
        _l("Who approves the report"),
        coerce=int,
        validators=[InputRequired(_l("Choose who approves the report."))],
        description=_l("They are e-mailed a link, read the report and approve it."),
    )


class ApproveForm(KompasForm):
    """The approver approves the draft at `version`: what they read."""

    version = IntegerField(
        widget=HiddenInput(), validators=[InputRequired(), NumberRange(min=1, max=2**31)]
    )


class WithdrawForm(KompasForm):
    """Withdrawing an issued report, with the reason, confirmed."""

    reason = TextAreaField(
        _l("Why is the report withdrawn?"),
        validators=[
            DataRequired(_l("Write why the report is withdrawn.")),
            Length(max=WITHDRAWAL_REASON),
        ],
        description=_l("Shown in the archive beside the report, with your name and the date."),
    )
    confirm = BooleanField(
        _l("I want to withdraw this report. It stays in the archive, marked as withdrawn."),
        validators=[DataRequired(_l("Tick the box to confirm that you want to withdraw it."))],
    )
