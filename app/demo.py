"""The demo organisation: a municipality with administrations, workplaces and teams.

Everything here is invented, generated from a fixed seed so that every demo looks the same.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    Measurement,
    Organisation,
    OrganisationKind,
    Questionnaire,
    Role,
    Unit,
)
from app.services.questionnaires import load_templates
from app.services.users import assign_role, create_user

DEMO_DOMAIN = "demo.kompas.dk"
ADMINISTRATIONS = [
    ("BF", "Børn & Familie"),
    ("SO", "Social & Omsorg"),
    ("KF", "Kultur & Fritid"),
    ("BM", "By & Miljø"),
    ("BY", "Borger & Ydelse"),
    ("SØ", "Stab & Økonomi"),
]
WORKPLACE_KINDS = [
    "Dagplejen",
    "Børnehuset",
    "Skolen",
    "Plejecentret",
    "Hjemmeplejen",
    "Jobcentret",
    "Biblioteket",
    "Vej og Park",
    "Borgerservice",
    "Tandplejen",
]
PLACES = ["Nord", "Syd", "Øst", "Vest", "Centrum", "Havnen", "Skoven", "Engen", "Bakken", "Åen"]


@dataclass
class DemoUnit:
    code: str
    name: str
    parent: str | None
    unit_type: str
    size: int = 0  # people in a team; 0 for units whose figures are the sum of their children
    children: list[str] = field(default_factory=list)


def demo_tree(seed: int = 7, teams: int = 160) -> list[DemoUnit]:
    """Root, 6 administrations, teams/4 workplaces and `teams` teams; some teams under 5."""
    rng = random.Random(seed)  # noqa: S311 - invented demo data, not security
    root = DemoUnit("AK", "Åby Kommune", None, "kommune")
    units = [root]
    administrations = []
    for code, name in ADMINISTRATIONS:
        unit = DemoUnit(f"AK-{code}", name, root.code, "forvaltning")
        administrations.append(unit)
        units.append(unit)
    workplaces = []
    for i in range(teams // 4):
        admin = administrations[i % len(administrations)]
        kind = WORKPLACE_KINDS[i % len(WORKPLACE_KINDS)]
        name = f"{kind} {PLACES[(i // len(WORKPLACE_KINDS) + i) % len(PLACES)]}"
        unit = DemoUnit(f"{admin.code}-{i + 1:03d}", name, admin.code, "arbejdsplads")
        workplaces.append(unit)
        units.append(unit)
    for j in range(teams):
        workplace = workplaces[j % len(workplaces)]
        size = rng.choice([rng.randint(3, 6), rng.randint(6, 14), rng.randint(10, 25)])
        units.append(
            DemoUnit(
                f"{workplace.code}-T{j + 1:03d}", f"Team {j + 1}", workplace.code, "team", size
            )
        )
    return units


@dataclass
class DemoLogin:
    email: str
    name: str
    role: Role
    unit_code: str


DEMO_LOGINS = [
    DemoLogin(f"hr@{DEMO_DOMAIN}", "Hanne Rasmussen", Role.ADMIN, "AK"),
    DemoLogin(f"chef.bf@{DEMO_DOMAIN}", "Bo Frederiksen", Role.LEADER, "AK-BF"),
    DemoLogin(f"leder@{DEMO_DOMAIN}", "Lise Dahl", Role.LEADER, "AK-BF-001"),
    DemoLogin(f"medarbejder@{DEMO_DOMAIN}", "Mads Holm", Role.MEMBER, "AK-BF-001-T001"),
    DemoLogin(f"med@{DEMO_DOMAIN}", "Mette Eriksen", Role.COMMITTEE, "AK"),
    DemoLogin(f"udvalg@{DEMO_DOMAIN}", "Ulla Vestergaard", Role.BOARD, "AK"),
]


def build_demo(session: Session, *, password: str | None = None) -> str:
    """Create the demo organisation, users and measurements. Returns the shared password."""
    password = password or secrets.token_urlsafe(9)
    session.add(Organisation(name="Åby Kommune", kind=OrganisationKind.MUNICIPALITY))
    by_code: dict[str, Unit] = {}
    for demo_unit in demo_tree():
        unit = Unit(code=demo_unit.code, name=demo_unit.name, unit_type=demo_unit.unit_type)
        if demo_unit.parent:
            unit.parent = by_code[demo_unit.parent]
        by_code[demo_unit.code] = unit
        session.add(unit)
    session.flush()

    load_templates(session)
    apv = session.scalar(select(Questionnaire).where(Questionnaire.code == "apv"))
    assert apv is not None  # noqa: S101 - load_templates just made it
    for year in (2025, 2026):
        session.add(
            Measurement(
                name=f"Trivselsmåling og APV {year}",
                year=year,
                questionnaire_id=apv.id,
                threshold=5,
                sensitive_threshold=10,
                results_released_on=date(year, 3, 2),
                dialogue_deadline=date(year, 4, 30),
                action_plan_deadline=date(year, 6, 30),
                evaluation_date=date(year, 12, 15),
            )
        )
    for login in DEMO_LOGINS:
        user = create_user(session, None, email=login.email, name=login.name, password=password)
        assign_role(session, None, user, by_code[login.unit_code], login.role)
    session.flush()
    return password
