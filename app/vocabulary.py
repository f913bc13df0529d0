"""Wording that follows the organisation's kind: a school says class and board where a
municipality says team and committee."""

from __future__ import annotations

from flask import g
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.models import Organisation, OrganisationKind, Role
from app.models.org import organisation_value

SCHOOL, MUNICIPALITY = OrganisationKind.SCHOOL, OrganisationKind.MUNICIPALITY

TERMS: dict[str, dict[OrganisationKind, LazyString]] = {
    "organisation": {SCHOOL: _l("Institution"), MUNICIPALITY: _l("Municipality")},
    "department": {SCHOOL: _l("Department"), MUNICIPALITY: _l("Administration")},
    "workplace": {SCHOOL: _l("Education"), MUNICIPALITY: _l("Workplace")},
    "team": {SCHOOL: _l("Class"), MUNICIPALITY: _l("Team")},
    "unit": {SCHOOL: _l("Unit"), MUNICIPALITY: _l("Unit")},
    "people": {SCHOOL: _l("Students"), MUNICIPALITY: _l("Employees")},
    "trio": {SCHOOL: _l("Class team"), MUNICIPALITY: _l("Trio")},
    "role.admin": {SCHOOL: _l("Survey owner"), MUNICIPALITY: _l("HR / survey owner")},
    "role.leader": {SCHOOL: _l("Management"), MUNICIPALITY: _l("Leader")},
    "role.member": {SCHOOL: _l("Teacher / class team"), MUNICIPALITY: _l("Employee")},
    "role.committee": {SCHOOL: _l("Student council"), MUNICIPALITY: _l("MED committee")},
    "role.board": {SCHOOL: _l("Board"), MUNICIPALITY: _l("Political committee")},
    # Whom the annual report is issued to, as it reads after "to" / "for": a school's board,
    # a municipality's political committee (MED reads it too, as does everyone with reports).
    "report.audience": {SCHOOL: _l("the board"), MUNICIPALITY: _l("the political committee")},
    # Who approves a plan above the unit: a school's education (department) leader, a
    # municipality's department head; a red unit's plan also by management / HR.
    "head": {SCHOOL: _l("Education leader"), MUNICIPALITY: _l("Department head")},
    "approver.extra": {SCHOOL: _l("Management"), MUNICIPALITY: _l("HR")},
    "approver.extra.none": {
        SCHOOL: _l("— not management this time —"),
        MUNICIPALITY: _l("— not HR this time —"),
    },
    "approver.extra.needed": {
        SCHOOL: _l("When the result is red, management approves the plan too: choose someone."),
        MUNICIPALITY: _l("The plan of a red unit is approved by HR too: choose one."),
    },
    "approval.explained": {
        SCHOOL: _l(
            "The plan is approved by the education leader, and by management too when the "
            "result is red. Send it when it is ready."
        ),
        MUNICIPALITY: _l(
            "The plan is approved by the department head; a red unit’s plan by HR too. Send it "
            "when it is ready."
        ),
    },
    "approval.red": {
        SCHOOL: _l("The result is red: the education leader and management both approve the plan."),
        MUNICIPALITY: _l("The unit is red: the department head and HR both approve the plan."),
    },
    "approval.head": {
        SCHOOL: _l(
            "The education leader approves the plan. They get an e-mail with a link, and you "
            "get one when they have decided."
        ),
        MUNICIPALITY: _l(
            "The department head approves the plan. They get an e-mail with a link, and you "
            "get one when they have decided."
        ),
    },
    "approval.no_head": {
        SCHOOL: _l(
            "No education leader can approve the plan yet. Ask the survey owner to give the "
            "education leader the management role on the education."
        ),
        MUNICIPALITY: _l(
            "No leader above this unit can approve the plan. Ask HR to give the department head "
            "a leader role."
        ),
    },
    "route.red.heading": {
        SCHOOL: _l("Red result: follow-up with the education leader and management"),
        MUNICIPALITY: _l("Red unit: follow-up with the department head and HR"),
    },
    "route.red.text": {
        SCHOOL: _l(
            "The overall result is red. The class dialogue and the action plan are prepared "
            "together with the education leader and management, and the class is measured "
            "again."
        ),
        MUNICIPALITY: _l(
            "The overall result is red. The dialogue and the action plan are prepared together "
            "with the department head and HR, and the unit is measured again."
        ),
    },
    "route.yellow.heading": {
        SCHOOL: _l("Yellow result below the average: follow-up with the education leader"),
        MUNICIPALITY: _l("Yellow unit below the average: follow-up with the department head"),
    },
    "route.yellow.text": {
        SCHOOL: _l(
            "The overall result is yellow and below the institution’s average. The follow-up "
            "is planned together with the education leader, and the class is measured again."
        ),
        MUNICIPALITY: _l(
            "The overall result is yellow and below the organisation’s average. The follow-up "
            "is planned together with the department head, and the unit is measured again."
        ),
    },
    "partners.who": {
        SCHOOL: _l(
            "Only teachers with the teacher / class team role here can be named. The survey "
            "owner gives the roles."
        ),
        MUNICIPALITY: _l(
            "Only people with a member role on this unit can be named. HR gives the roles."
        ),
    },
    "partners.intro": {
        SCHOOL: _l(
            "The teachers of the class team run the class dialogue and the action plan; they "
            "can edit the steps of this follow-up."
        ),
        MUNICIPALITY: _l(
            "The leader owns the dialogue and the action plan together with these people; they "
            "can edit the steps of this unit."
        ),
    },
    # A school's unit is a class, an education, a department or the institution: where
    # "the unit" would read as a municipal word, a school's text names the unit itself.
    "route.green.text": {
        SCHOOL: _l(
            "%(unit)s runs its own follow-up: analysis, dialogue, action plan and evaluation."
        ),
        MUNICIPALITY: _l(
            "The unit runs its own follow-up: analysis, dialogue meeting, action plan and "
            "evaluation."
        ),
    },
    "followup.starts": {
        SCHOOL: _l(
            "The follow-up has not been started yet. The class team or management starts it."
        ),
        MUNICIPALITY: _l("The follow-up has not been started yet. Your leader starts it."),
    },
    "alert.someone": {
        SCHOOL: _l(
            "Someone in %(unit)s answered other than “no”. Kompas never shows who. Management "
            "records what was done about it."
        ),
        MUNICIPALITY: _l(
            "Someone in the unit answered other than “no”. Kompas never shows who. The leader "
            "records what was done about it."
        ),
    },
    "alerts.explained": {
        SCHOOL: _l(
            "An alert is raised where answers other than “no” to a question about offensive "
            "behaviour are shown: at the nearest class, education or department whose figures "
            "for the question are shown, naming none below it. Management must react within "
            "the measurement’s deadline. Alerts are counted, never the answers behind them."
        ),
        MUNICIPALITY: _l(
            "An alert is raised where answers other than “no” to a question about offensive "
            "behaviour are shown: at the nearest unit whose figures for the question are shown, "
            "naming no unit below it. The leader must react within the measurement’s deadline. "
            "Alerts are counted, never the answers behind them."
        ),
    },
    "escalate.explained": {
        SCHOOL: _l(
            "An action %(unit)s cannot solve itself can be passed up to the education, "
            "department or institution above it, or to a named function. It then shows on "
            "their list too, with where it came from."
        ),
        MUNICIPALITY: _l(
            "An action the unit cannot solve itself can be passed up to a unit above, or to a "
            "named function. It then shows on their list too, with where it came from."
        ),
    },
    "plan.escalated_here": {
        SCHOOL: _l("Actions passed on to %(unit)s"),
        MUNICIPALITY: _l("Actions passed on to this unit"),
    },
    "home.member": {
        SCHOOL: _l("See your classes’ results and keep your actions moving on the status arrow."),
        MUNICIPALITY: _l(
            "See your unit's results and keep your actions moving on the status arrow."
        ),
    },
    # The board's one unit (named beside the count): a school's may be a class, an education,
    # a department or the institution, so it is "the chosen one", not "mine".
    "board.scope.unit": {SCHOOL: _l("The chosen unit"), MUNICIPALITY: _l("My unit")},
    "board.scope.subtree": {
        SCHOOL: _l("The chosen unit and the units under it"),
        MUNICIPALITY: _l("My unit and the units under it"),
    },
    "partners.you": {
        SCHOOL: _l("You are on the class team: you run this class's follow-up."),
        MUNICIPALITY: _l("You own this follow-up with the leader (trio)."),
    },
    "partners.choose": {
        SCHOOL: _l("Choose a teacher with the class team role here, and their function."),
        MUNICIPALITY: _l("Choose a person with a member role on the unit, and their function."),
    },
    "preparation.intro": {
        SCHOOL: _l(
            "The class team plans the dialogue with the class (45–90 minutes): when and where, "
            "who has which role, the invitation with the students’ reflection questions, and "
            "what can be solved at once."
        ),
        MUNICIPALITY: _l(
            "The leader and the trio plan the dialogue meeting: when and where, who has which "
            "role, the invitation and the agenda, and what can be solved at once."
        ),
    },
    "dialogue.invitation": {
        SCHOOL: _l("Invitation to a dialogue in the class"),
        MUNICIPALITY: _l("Invitation to a dialogue meeting"),
    },
    "dialogue.duration": {SCHOOL: _l("45–90 minutes"), MUNICIPALITY: _l("2½–3 hours")},
    "dialogue.duration.hint": {
        SCHOOL: _l("A good class dialogue takes 45 to 90 minutes."),
        MUNICIPALITY: _l("A good dialogue takes 2½ to 3 hours."),
    },
    "escalate.example": {
        SCHOOL: _l("For example the student council or management."),
        MUNICIPALITY: _l("For example the MED committee or facilities."),
    },
    "measurement.example": {
        SCHOOL: _l("For example “Student wellbeing 2026”."),
        MUNICIPALITY: _l("For example “Trivselsmåling og APV 2026”."),
    },
    "local_goals.set_by": {
        SCHOOL: _l("The survey owner sets the local goals."),
        MUNICIPALITY: _l("HR sets the local goals."),
    },
    "annual.subject": {
        SCHOOL: _l("Student wellbeing: results, goals, action plans and their evaluation."),
        MUNICIPALITY: _l(
            "Wellbeing and work environment: results, goals, action plans and their evaluation."
        ),
    },
    # Whom a person asks for access, a link or help: the survey owner at a school.
    "ask.login": {
        SCHOOL: _l(
            "New user? The institution’s survey owner sends you an e-mail with a link to set "
            "your password."
        ),
        MUNICIPALITY: _l(
            "New user? Your HR department sends you an e-mail with a link to set your password."
        ),
    },
    "ask.no_mail": {
        SCHOOL: _l(
            "No e-mail within a few minutes? Look in your spam folder, or ask the institution’s "
            "survey owner."
        ),
        MUNICIPALITY: _l(
            "No e-mail within a few minutes? Look in your spam folder, or ask your HR department."
        ),
    },
    "ask.new_link": {
        SCHOOL: _l(
            "The link has been used already, has expired, or is not complete. Ask the "
            "institution’s survey owner for a new link."
        ),
        MUNICIPALITY: _l(
            "The link has been used already, has expired, or is not complete. Ask your HR "
            "department for a new link."
        ),
    },
    "ask.error": {
        SCHOOL: _l(
            "Reference: %(ref)s. Quote it if you contact the institution’s survey owner or support."
        ),
        MUNICIPALITY: _l(
            "Reference: %(ref)s. Quote it if you contact your HR department or support."
        ),
    },
    "ask.role": {
        SCHOOL: _l(
            "Ask the institution’s survey owner to give you a role on your class or "
            "education. Until then there is nothing to show you."
        ),
        MUNICIPALITY: _l(
            "Ask your HR department to give you a role on your unit. Until then there is "
            "nothing to show you."
        ),
    },
    "ask.no_reports": {
        SCHOOL: _l(
            "No reports have been issued to you yet. You will find them here when management "
            "issues the annual report."
        ),
        MUNICIPALITY: _l(
            "No reports have been issued to you yet. You will find them here when HR issues "
            "the annual report."
        ),
    },
    "results.none_yet": {
        SCHOOL: _l(
            "No results have been imported for this unit yet. When the survey owner imports "
            "this year’s results, they appear here."
        ),
        MUNICIPALITY: _l(
            "No results have been imported for this unit yet. When HR imports this year’s "
            "results, they appear here."
        ),
    },
}


def organisation_kind() -> OrganisationKind:
    if "organisation_kind" not in g:
        try:
            kind = organisation_value(db.session, Organisation.kind)
        except SQLAlchemyError:
            # An error page for a failed request still renders: its wording is not worth a
            # second failure, so it reads as a municipality's.
            kind = None
        g.organisation_kind = kind or MUNICIPALITY
    return g.organisation_kind


def term(key: str) -> LazyString:
    return TERMS[key][organisation_kind()]


def lazy_term(key: str) -> LazyString:
    """A term read when it is shown, not when it is defined: for form labels and hints made
    once at import, before anyone knows which organisation asks."""
    return LazyString(lambda: str(term(key)))


# A school is not offered the municipal template ("Trivselsmåling og APV (kommune)"). A
# municipality is offered every template: an organisation set up before its kind is known
# reads as a municipality, and must still find the gymnasium's.
MUNICIPAL_TEMPLATE = "apv"


def offered_questionnaire(code: str) -> bool:
    return not (organisation_kind() == SCHOOL and code == MUNICIPAL_TEMPLATE)


def role_label(role: Role | str) -> LazyString:
    return term(f"role.{Role(role).value}")


COLOURS: dict[str, LazyString] = {"green": _l("Green"), "yellow": _l("Yellow"), "red": _l("Red")}


def colour_label(colour: str | None) -> str:
    """A traffic light in words, for exports ("" where there is none)."""
    return str(COLOURS[colour]) if colour in COLOURS else ""
