"""The e-mail to the board when an annual report is issued.

Issuing runs as a report job (app.services.report_jobs), which calls `tell_board` once the
issued report is committed; the job runs in a request context with the issuer's address, so
the links are absolute and lead back to the same Kompas.
"""

from __future__ import annotations

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from app.models import IssuedReport, User
from app.services import report_archive, report_jobs
from app.services.mail import Mail, deliver
from app.vocabulary import term

LANGUAGES = ("da", "en")


def issued_mails(issued: IssuedReport, recipients: list[User]) -> list[Mail]:
    """One e-mail per recipient, in the recipient's language (Danish unless they chose
    English), with the links to the PDF and to the archive."""
    download = url_for("reports.download", report_id=issued.id, _external=True)
    archive = url_for("reports.index", _external=True)
    mails = []
    for user in recipients:
        with force_locale(user.language if user.language in LANGUAGES else "da"):
            audience = str(term("report.audience"))
            subject = _("Issued to %(audience)s: %(title)s", audience=audience, title=issued.title)
            body = "\n\n".join(
                [
                    _("Dear %(name)s", name=user.name),
                    _(
                        "%(issuer)s has issued “%(title)s” (version %(version)s) to "
                        "%(audience)s in Kompas.",
                        issuer=issued.issued_by_name,
                        title=issued.title,
                        version=issued.version,
                        audience=audience,
                    ),
                    _("Read the report (PDF): %(url)s", url=download),
                    _("Every issued report is kept in the archive: %(url)s", url=archive),
                    _("Sign in to Kompas to open the links."),
                    _("Best regards, Kompas"),
                ]
            )
        mails.append(Mail(user.email, subject, body))
    return mails


def tell_board(session: Session, issued: IssuedReport) -> None:
    """E-mail the board users of the report's unit and the units above it."""
    recipients = report_archive.board_recipients(session, issued.unit)
    deliver(issued_mails(issued, recipients), current_app.config)


if tell_board not in report_jobs.issued_listeners:
    report_jobs.issued_listeners.append(tell_board)
