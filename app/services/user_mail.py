"""The e-mails that bring people in: an invitation and a forgotten-password link.

Written in the recipient's language (Danish unless they chose English), whatever language
the person who caused the mail uses; the link is absolute (the blueprint makes it).
"""

from __future__ import annotations

from app.models import User
from app.services.mail import Mail


def invitation(user: User, link: str, hours: int, organisation: str = "") -> Mail:
    where = f" ({organisation})" if organisation else ""
    if user.language == "en":
        subject = "Kompas: you are invited"
        body = (
            f"Hello {user.name}\n\n"
            f"You have been given a user in Kompas{where}, where your unit follows up on the "
            "wellbeing survey.\n\n"
            f"Choose your password here (the link works once, for {hours} hours):\n{link}\n\n"
            f"Afterwards you sign in with {user.email}.\n"
        )
    else:
        subject = "Kompas: du er inviteret"
        body = (
            f"Hej {user.name}\n\n"
            f"Du har fået en bruger i Kompas{where}, hvor din enhed følger op på "
            "trivselsmålingen.\n\n"
            f"Vælg din adgangskode her (linket virker én gang i {hours} timer):\n{link}\n\n"
            f"Bagefter logger du ind med {user.email}.\n"
        )
    return Mail(user.email, subject, body)


def password_reset(user: User, link: str, hours: int) -> Mail:
    if user.language == "en":
        subject = "Kompas: set a new password"
        body = (
            f"Hello {user.name}\n\n"
            "Someone (hopefully you) asked for a new password for Kompas.\n\n"
            f"Choose a new password here (the link works once, for {hours} hours):\n{link}\n\n"
            "If you did not ask, ignore this e-mail: your password stays as it is.\n"
        )
    else:
        subject = "Kompas: vælg en ny adgangskode"
        body = (
            f"Hej {user.name}\n\n"
            "Nogen (forhåbentlig dig) har bedt om en ny adgangskode til Kompas.\n\n"
            f"Vælg en ny adgangskode her (linket virker én gang i {hours} timer):\n{link}\n\n"
            "Har du ikke bedt om det, kan du se bort fra denne e-mail: din adgangskode er "
            "uændret.\n"
        )
    return Mail(user.email, subject, body)
