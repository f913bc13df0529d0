from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from app.forms import KompasForm
from app.models import Role
from app.vocabulary import lazy_term


class UserForm(KompasForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
    )
    language = SelectField(
        _l("Language"), choices=[SelectChoice("da", "Dansk"), SelectChoice("en", "English")]
    )
    invite = BooleanField(
        _l("Send an invitation e-mail with a link to set the password"), default=True
    )


class RoleForm(KompasForm):
    unit_code = StringField(
        _l("Unit"),
        validators=[DataRequired(), Length(max=100)],
        # With an example of the organisation's own (admin routes): a school's class id.
        description=_l("The unit id. Start typing to pick from the list."),
    )
    # The least powerful role is the one offered: giving HR's rights takes a deliberate choice.
    role = SelectField(
        _l("Role"), choices=[SelectChoice(r.value) for r in Role], default=Role.MEMBER.value
    )


class EmptyForm(KompasForm):
    """For buttons that POST: the CSRF token and nothing else."""


class MeasurementForm(KompasForm):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(), Length(max=200)],
        description=lazy_term("measurement.example"),
    )
    year = IntegerField(_l("Year"), validators=[DataRequired(), NumberRange(min=2000, max=2100)])
    questionnaire_id = SelectField(_l("Questionnaire"), coerce=int)
    threshold = IntegerField(
        _l("Anonymity threshold"),
        default=5,
        validators=[DataRequired(), NumberRange(min=3, max=100)],
        description=_l("Units with fewer respondents show “too few answers”. Never below 3."),
    )
    sensitive_threshold = IntegerField(
        _l("Threshold for zero-tolerance questions"),
        default=10,
        validators=[DataRequired(), NumberRange(min=3, max=100)],
        description=_l("Counts of violence, threats and harassment need more respondents."),
    )
    results_released_on = DateField(_l("Results released"), validators=[Optional()])
    dialogue_deadline = DateField(_l("Dialogue meetings held by"), validators=[Optional()])
    action_plan_deadline = DateField(_l("Action plans done by"), validators=[Optional()])
    evaluation_date = DateField(_l("Evaluation by"), validators=[Optional()])
    yellow_from = DecimalField(
        _l("Yellow from (overall score)"),
        places=0,
        default=55,
        validators=[DataRequired(), NumberRange(min=0, max=100)],
        description=_l("Below this the traffic light is red."),
    )
    green_from = DecimalField(
        _l("Green from (overall score)"),
        places=0,
        default=65,
        validators=[DataRequired(), NumberRange(min=0, max=100)],
    )
    zero_tolerance_days = IntegerField(
        _l("Days to react to a zero-tolerance alert"),
        default=30,
        validators=[DataRequired(), NumberRange(min=1, max=365)],
    )
    psychological_safety_cutoff = DecimalField(
        _l("Psychological safety: suggest an outside facilitator below"),
        places=0,
        default=55,
        validators=[DataRequired(), NumberRange(min=0, max=100)],
    )
    remeasure_on = DateField(
        _l("Red and low yellow units are measured again by"), validators=[Optional()]
    )
    remeasure_of_id = SelectField(_l("This is a re-measurement of"), coerce=int, choices=[])

    def validate_green_from(self, field: DecimalField) -> None:
        if self.yellow_from.data is not None and field.data is not None:
            if field.data < self.yellow_from.data:
                raise ValidationError(_l("Green must start at or above yellow."))

    def validate_sensitive_threshold(self, field: IntegerField) -> None:
        if self.threshold.data and field.data is not None and field.data < self.threshold.data:
            raise ValidationError(_l("Must be at least the anonymity threshold."))

    def validate_action_plan_deadline(self, field: DateField) -> None:
        released = self.results_released_on.data
        if released and field.data and field.data < released:
            raise ValidationError(_l("Must be after the results are released."))


class ActiveForm(KompasForm):
    active = BooleanField(_l("Active"))
