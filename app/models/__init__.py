"""Typed ORM models. Import from here: `from app.models import Unit, User, ...`."""

from app.models.audit import AuditEvent
from app.models.org import Organisation, OrganisationKind, Unit
from app.models.survey import Measurement, Question, Questionnaire
from app.models.user import ROLES, Role, RoleAssignment, User

__all__ = [
    "ROLES",
    "AuditEvent",
    "Measurement",
    "Organisation",
    "OrganisationKind",
    "Question",
    "Questionnaire",
    "Role",
    "RoleAssignment",
    "Unit",
    "User",
]
