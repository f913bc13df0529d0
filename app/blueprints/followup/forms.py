"""The forms of the five steps. Field names are the keys of the step's stored JSON."""

from __future__ import annotations

from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.forms import KompasForm
from app.models import StepState
from app.vocabulary import lazy_term

TEXT = 5000
# A dialogue is about a few themes or questions; more is no plan (and a huge list, sent by
# hand, once kept a PDF job busy for minutes).
MAX_FOCUS_AREAS = 30


def state_choices() -> list[SelectChoice]:
    return [
        SelectChoice(StepState.IN_PROGRESS.value, str(_l("In progress"))),
        SelectChoice(StepState.DONE.value, str(_l("Done"))),
    ]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class FocusOption(NamedTuple):
    id: str
    value: str
    label: str
    checked: bool


class FocusAreasField(MultiCheckboxField):
    """Themes and questions of the measurement only: each once, at most MAX_FOCUS_AREAS. The
    message never repeats what was sent."""

    # Values this step saved before (each checked then against the list): an autosave that
    # sends only those needs no list of every theme and question to check them again.
    accepted: frozenset[str] = frozenset()

    def options(self) -> list[FocusOption]:
        """Each choice as its checkbox shows it: the id, value, label and checked state that
        iterating the field gives (wtforms builds a whole field per option for that, some
        80 of them on an analysis page; the template writes the plain markup instead)."""
        return [
            FocusOption(
                f"{self.id}-{i}", choice.value, choice.label or choice.value, choice.selected
            )
            for i, choice in enumerate(self.iter_choices())
        ]

    def pre_validate(self, form: object) -> None:
        chosen = self.data or []
        if (
            len(chosen) > MAX_FOCUS_AREAS
            or len(set(chosen)) != len(chosen)
            or not set(chosen) <= self.accepted | {choice.value for choice in self.iter_choices()}
        ):
            raise ValidationError(
                _l(
                    "Choose focus areas from the list, each once and at most %(count)s.",
                    count=MAX_FOCUS_AREAS,
                )
            )


class StepForm(KompasForm):
    state = SelectField(_l("Status of this step"), choices=[])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.state.choices = state_choices()


class AnalysisForm(StepForm):
    strengths = TextAreaField(
        _l("Strengths"),
        validators=[Optional(), Length(max=TEXT)],
        description=_l("What goes well? Strengths are what you build on."),
    )
    focus_areas = FocusAreasField(_l("Focus areas"), choices=[])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=TEXT)])


class PreparationForm(StepForm):
    meeting_date = DateField(_l("Date of the dialogue meeting"), validators=[Optional()])
    meeting_time = StringField(_l("Time"), validators=[Optional(), Length(max=20)])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=200)])
    duration = StringField(
        _l("Duration"),
        validators=[Optional(), Length(max=50)],
        description=lazy_term("dialogue.duration.hint"),
    )
    facilitator = StringField(_l("Facilitator"), validators=[Optional(), Length(max=200)])
    timekeeper = StringField(_l("Timekeeper"), validators=[Optional(), Length(max=200)])
    note_taker = StringField(_l("Note-taker"), validators=[Optional(), Length(max=200)])
    invitation = TextAreaField(
        _l("Invitation with reflection questions"), validators=[Optional(), Length(max=TEXT)]
    )
    agenda = TextAreaField(_l("Agenda"), validators=[Optional(), Length(max=TEXT)])
    quick_fixes = TextAreaField(
        _l("Things we can solve at once"), validators=[Optional(), Length(max=TEXT)]
    )


class DialogueForm(StepForm):
    held_on = DateField(_l("Held on"), validators=[Optional()])
    participants = IntegerField(
        _l("Number of participants"), validators=[Optional(), NumberRange(min=0, max=10000)]
    )
    notes = TextAreaField(_l("Notes from the dialogue"), validators=[Optional(), Length(max=TEXT)])
    proposals = TextAreaField(
        _l("Proposals"),
        validators=[Optional(), Length(max=TEXT)],
        description=_l("One proposal per line. Each can become an action with one click."),
    )


class EvaluationForm(StepForm):
    acted = TextAreaField(
        _l("Did we turn the results into actions?"), validators=[Optional(), Length(max=TEXT)]
    )
    effect = TextAreaField(
        _l("What effect did the actions have, and where do we see it?"),
        validators=[Optional(), Length(max=TEXT)],
    )
    adjust = TextAreaField(_l("What must be adjusted?"), validators=[Optional(), Length(max=TEXT)])
    process_review = TextAreaField(
        _l("How did the process go, and what do we do better next year?"),
        validators=[Optional(), Length(max=TEXT)],
    )


# A school evaluates with the four questions of the ministry's guide (section 2.1.5), in the
# same fields: what is stored, reported and carried to next year stays one evaluation.
SCHOOL_EVALUATION_QUESTIONS = {
    "acted": _l(
        "Have you started what you intended, based on the results of the wellbeing survey?"
    ),
    "effect": _l("Have you achieved the results you wanted – and where do you see the effect?"),
    "adjust": _l("Have you adjusted the actions along the way?"),
    "process_review": _l("How do you adjust if the actions do not work as intended?"),
}


def ask_the_guide(form: EvaluationForm) -> None:
    """A school's evaluation: the guide's four questions as the fields' labels."""
    for name, question in SCHOOL_EVALUATION_QUESTIONS.items():
        form[name].label.text = question


class ThemeForm(KompasForm):
    title = StringField(_l("Theme"), validators=[DataRequired(), Length(max=200)])
    target_score = DecimalField(
        _l("Target score (0–100)"), places=0, validators=[Optional(), NumberRange(min=0, max=100)]
    )
    goal = TextAreaField(
        _l("Goal: where do we want to be?"), validators=[Optional(), Length(max=TEXT)]
    )
    approach = TextAreaField(
        _l("How will we get there?"), validators=[Optional(), Length(max=TEXT)]
    )


class ActionForm(KompasForm):
    title = StringField(_l("Activity"), validators=[DataRequired(), Length(max=300)])
    theme_id = SelectField(_l("Theme"), coerce=int, choices=[], validate_choice=True)
    owner_user_id = SelectField(_l("Who owns it (a user)"), coerce=int, choices=[])
    owner_name = StringField(
        _l("…or a name"),
        validators=[Optional(), Length(max=200)],
        description=_l("For an owner without a login."),
    )
    deadline = DateField(_l("Deadline"), validators=[Optional()])


class EscalateForm(KompasForm):
    to_unit = SelectField(_l("Pass it to a unit above"), coerce=int, choices=[])
    to_function = StringField(
        _l("…or to a function"),
        validators=[Optional(), Length(max=100)],
        description=lazy_term("escalate.example"),
    )


class StatusForm(KompasForm):
    status = SelectField(_l("How far are we"), coerce=int, choices=[])
    comment = StringField(_l("Comment"), validators=[Optional(), Length(max=1000)])
    version = IntegerField(validators=[Optional()])
