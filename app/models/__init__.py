"""Typed ORM models. Import from here: `from app.models import Unit, User, ...`."""

from app.models.audit import AuditEvent
from app.models.figures import PreparedSection, UnitFigures
from app.models.followup import (
    STEPS,
    Action,
    ActionStatus,
    ActionUpdate,
    AlertClosedReason,
    FollowUp,
    FollowUpStep,
    PlanApproval,
    PlanTheme,
    Route,
    Step,
    StepState,
    UnitPartner,
    ZeroToleranceAlert,
)
from app.models.org import (
    Organisation,
    OrganisationKind,
    Unit,
    organisation_row,
    organisation_value,
    the_organisation,
)
from app.models.reports import IssuedReport, ReportDraft, ReportJob, ReportWithdrawal
from app.models.results import (
    ImportLog,
    ImportProfile,
    StagedImport,
    UnitResult,
)
from app.models.survey import (
    Measurement,
    MeasurementQuestionText,
    Question,
    Questionnaire,
    ReferenceFigure,
)
from app.models.user import ROLES, Role, RoleAssignment, User

__all__ = [
    "STEPS",
    "Action",
    "ActionStatus",
    "ActionUpdate",
    "AlertClosedReason",
    "FollowUp",
    "FollowUpStep",
    "PlanApproval",
    "PlanTheme",
    "Route",
    "Step",
    "StepState",
    "UnitPartner",
    "ZeroToleranceAlert",
    "ROLES",
    "AuditEvent",
    "ImportLog",
    "ImportProfile",
    "IssuedReport",
    "Measurement",
    "MeasurementQuestionText",
    "Organisation",
    "PreparedSection",
    "OrganisationKind",
    "Question",
    "Questionnaire",
    "ReportDraft",
    "ReferenceFigure",
    "ReportJob",
    "ReportWithdrawal",
    "Role",
    "RoleAssignment",
    "StagedImport",
    "Unit",
    "UnitFigures",
    "UnitResult",
    "User",
    "organisation_row",
    "organisation_value",
    "the_organisation",
]
