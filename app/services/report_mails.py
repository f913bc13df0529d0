"""The e-mails to the board about the annual report: when a report is issued, and when an
issued report is withdrawn.

Both are sent once what they tell is committed: the issue by the report job itself
(app.services.report_jobs, whichever backend runs it: the request, a thread, an RQ worker),
the withdrawal by the route after its commit. They need a request context for their links
(a report job runs in one with the address the issuer used), and each is written in the
recipient's language (Danish unless they chose English), naming the board in the
organisation's words: a school's board ("bestyrelsen"), a municipality's political
committee ("det politiske udvalg").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from flask import url_for
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from app.models import IssuedReport, Organisation, OrganisationKind, ReportWithdrawal, User
from app.models.org import organisation_value
from app.services import report_archive
from app.services.mail import Mail, deliver

log = logging.getLogger(__name__)
LANGUAGES = ("da", "en")


def organisation_kind(session: Session) -> OrganisationKind | None:
    return organisation_value(session, Organisation.kind)


def audience(kind: OrganisationKind | None) -> str:
    """Whom the annual report is issued to, as it reads after "to", in the current language:
    the words of app.vocabulary's "report.audience" (services do not reach up to the web
    layer)."""
    if kind == OrganisationKind.SCHOOL:
        return _("the board")
    return _("the political committee")


def _language(user: User) -> str:
    return user.language if user.language in LANGUAGES else "da"


def issued_mails(session: Session, issued: IssuedReport, recipients: list[User]) -> list[Mail]:
    """One e-mail per recipient, with the links to the PDF and to the archive."""
    download = url_for("reports.download", report_id=issued.id, _external=True)
    archive = url_for("reports.index", _external=True)
    kind = organisation_kind(session)
    mails = []
    for user in recipients:
        with force_locale(_language(user)):
            to = audience(kind)
            subject = _("Issued to %(audience)s: %(title)s", audience=to, title=issued.title)
            body = "\n\n".join(
                [
                    _("Dear %(name)s", name=user.name),
                    _(
                        "%(issuer)s has issued “%(title)s” (version %(version)s) to "
                        "%(audience)s in Kompas.",
                        issuer=issued.issued_by_name,
                        title=issued.title,
                        version=issued.version,
                        audience=to,
                    ),
                    _("Read the report (PDF): %(url)s", url=download),
                    _("Every issued report is kept in the archive: %(url)s", url=archive),
                    _("Sign in to Kompas to open the links."),
                    _("Best regards, Kompas"),
                ]
            )
        mails.append(Mail(user.email, subject, body))
    return mails


def withdrawn_mails(
    session: Session,
    issued: IssuedReport,
    withdrawal: ReportWithdrawal,
    recipients: list[User],
) -> list[Mail]:
    """One e-mail per recipient: which report was withdrawn, by whom and why, and that it
    stays in the archive, marked."""
    archive = url_for("reports.index", _external=True) + "#archive-heading"
    kind = organisation_kind(session)
    mails = []
    for user in recipients:
        with force_locale(_language(user)):
            to = audience(kind)
            subject = _("Withdrawn: %(title)s", title=issued.title)
            body = "\n\n".join(
                [
                    _("Dear %(name)s", name=user.name),
                    _(
                        "%(withdrawer)s has withdrawn “%(title)s” (version %(version)s), issued "
                        "to %(audience)s on %(date)s.",
                        withdrawer=withdrawal.by_name,
                        title=issued.title,
                        version=issued.version,
                        audience=to,
                        date=format_date(issued.issued_at, "long"),
                    ),
                    _("The reason: %(reason)s", reason=withdrawal.reason),
                    _(
                        "The report stays in the archive, marked as withdrawn: %(url)s",
                        url=archive,
                    ),
                    _("Sign in to Kompas to open the links."),
                    _("Best regards, Kompas"),
                ]
            )
        mails.append(Mail(user.email, subject, body))
    return mails


def _send(
    what: str, report_id: int, make: Callable[[], list[Mail]], settings: Mapping[str, Any]
) -> int:
    """Deliver what `make()` writes (recipients found, e-mails worded); a failure is logged,
    never raised: what the e-mail tells is committed and stays so."""
    try:
        return deliver(make(), settings)
    except Exception:  # noqa: BLE001 - telling about it never undoes it
        log.exception("e-mailing the board that report %s was %s failed", report_id, what)
        return 0


def tell_board_issued(session: Session, issued: IssuedReport, settings: Mapping[str, Any]) -> int:
    """E-mail the board users of the report's unit and the units above it that the (committed)
    report is issued; how many e-mails were sent."""

    def make() -> list[Mail]:
        recipients = report_archive.board_recipients(session, issued.unit)
        return issued_mails(session, issued, recipients)

    return _send("issued", issued.id, make, settings)


def tell_board_withdrawn(
    session: Session,
    issued: IssuedReport,
    withdrawal: ReportWithdrawal,
    settings: Mapping[str, Any],
) -> int:
    """E-mail the same board users that the (committed) withdrawal took the report back."""

    def make() -> list[Mail]:
        recipients = report_archive.board_recipients(session, issued.unit)
        return withdrawn_mails(session, issued, withdrawal, recipients)

    return _send("withdrawn", issued.id, make, settings)
