"""The demo organisation: a municipality with administrations, workplaces and teams.

Everything here is invented, generated from a fixed seed so that every demo looks the same.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.demo_common import (
    DemoUnit,
    ResultsFile,
    demo_person,
    import_results,
    theme_level,
    unit_randoms,
)
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
    """Create the demo organisation, two years of imported results and a user per role.

    The results go through the real import, as HR's files would. Returns the password.
    """
    from app.services.questionnaires import read_template

    password = password or secrets.token_urlsafe(9)
    session.add(Organisation(name="Åby Kommune", kind=OrganisationKind.MUNICIPALITY))
    load_templates(session)
    apv = session.scalar(select(Questionnaire).where(Questionnaire.code == "apv"))
    assert apv is not None  # noqa: S101 - load_templates just made it
    questions = read_template("apv")["questions"]
    for year in (2025, 2026):
        measurement = Measurement(
            name=f"Trivselsmåling og APV {year}",
            year=year,
            questionnaire=apv,
            threshold=5,
            sensitive_threshold=10,
            results_released_on=date(year, 3, 2),
            dialogue_deadline=date(year, 4, 30),
            action_plan_deadline=date(year, 6, 30),
            evaluation_date=date(year, 12, 15),
        )
        session.add(measurement)
        session.flush()
        import_results(
            session,
            measurement,
            apv,
            demo_results_csv(year, questions),
            file_name=f"demo-apv-{year}.csv",
            year=year,
        )
    by_code = {unit.code: unit for unit in session.scalars(select(Unit))}
    users = {}
    for login in DEMO_LOGINS:
        user = create_user(session, None, email=login.email, name=login.name, password=password)
        assign_role(session, None, user, by_code[login.unit_code], login.role)
        users[login.email] = user
    session.flush()
    build_demo_followups(session, by_code, users, questions)
    build_demo_last_year(session, by_code, users)
    return password


def build_demo_last_year(session: Session, by_code: dict[str, Unit], users: dict[str, Any]) -> None:
    """Last year's follow-ups of the struggling workplaces, their actions done: the annual
    report's "did it work?" compares their teams' change with that of teams without actions."""
    from app.models import ActionStatus, Step, StepState
    from app.services import followup

    m2025 = session.scalar(select(Measurement).where(Measurement.year == 2025))
    hr = users[f"hr@{DEMO_DOMAIN}"]
    plans = [
        ("AK-SO-002", "Min enhed – psykologisk tryghed", "Faste spilleregler på teammøder"),
        ("AK-BF-007", "Min enhed – psykologisk tryghed", "Runde, hvor alle siger noget"),
        ("AK-BM-004", "Mit arbejde – krav og balance", "Fælles prioritering hver mandag"),
    ]
    for code, title, activity in plans:
        follow_up = followup.start(session, hr, m2025, by_code[code])
        for step in Step:
            followup.save_step(session, hr, follow_up, step, {}, StepState.DONE)
        theme = followup.add_theme(
            session,
            hr,
            follow_up,
            title=title,
            current_score=None,
            target_score=None,
            goal="",
            approach="",
        )
        action = followup.add_action(
            session,
            hr,
            follow_up,
            title=activity,
            theme=theme,
            owner_name="Lederen",
            deadline=date(2025, 9, 30),
        )
        followup.set_status(session, hr, action, ActionStatus.DONE, "")


# --- follow-ups: every step, every state ----------------------------------------------------


def build_demo_followups(
    session: Session, by_code: dict[str, Unit], users: dict[str, Any], questions: list[dict]
) -> None:
    """Follow-ups of the 2026 measurement in every step, actions in every state (one overdue,
    one passed on), a red unit with its re-measurement, and open and answered alerts."""
    from app.models import ActionStatus, Step, StepState, UnitFigures, ZeroToleranceAlert
    from app.services import alerts, followup

    m2025 = session.scalar(select(Measurement).where(Measurement.year == 2025))
    m2026 = session.scalar(select(Measurement).where(Measurement.year == 2026))
    leader = users[f"leder@{DEMO_DOMAIN}"]
    head = users[f"chef.bf@{DEMO_DOMAIN}"]
    hr = users[f"hr@{DEMO_DOMAIN}"]
    member = users[f"medarbejder@{DEMO_DOMAIN}"]
    done, going = StepState.DONE, StepState.IN_PROGRESS
    # (unit, how many steps are done, the state of the next one)
    plans = [
        ("AK-BF-001", 3, going),  # the demo leader's workplace: working on the action plan
        ("AK-BF-001-T001", 5, done),  # the demo employee's team: evaluated
        ("AK-BF-001-T041", 1, going),
        ("AK-BF-007", 2, going),  # struggling: with the department head
        ("AK-BF", 4, going),
        ("AK-SO-002", 3, done),  # red: with the department head and HR, measured again
        ("AK-KF-003", 0, going),
    ]
    texts = {
        Step.ANALYSIS: {
            "strengths": "Vi hjælper hinanden, og opgaverne giver mening.",
            "focus_areas": ["theme:Min enhed – psykologisk tryghed"],
            "notes": "Tempoet er højt i perioder; ikke alle tør sige fra.",
        },
        Step.PREPARATION: {
            "meeting_date": "2026-04-14",
            "meeting_time": "9.00",
            "place": "Mødelokalet, 1. sal",
            "duration": "2½ timer",
            "facilitator": "Hanne fra HR",
            "timekeeper": "Ole",
            "note_taker": "Sara",
            "quick_fixes": "Fast dagsorden til teammøder",
        },
        Step.DIALOGUE: {
            "held_on": "2026-04-14",
            "participants": 14,
            "notes": "Der var god energi. Vi talte om at sige fra og om travlhed.",
            "proposals": "Fast fredagsmøde om ugens opgaver\nMakkerordning for nye",
        },
        Step.PLAN: {},
        Step.EVALUATION: {
            "acted": "Ja, alle handlinger er sat i gang.",
            "effect": "Færre konflikter om vagtplanen.",
            "adjust": "Mere tid til makkerordningen.",
            "process_review": "Godt forløb; start dialogmødet tidligere.",
        },
    }
    follow_ups = {}
    for code, finished, next_state in plans:
        unit = by_code[code]
        actor = hr if code == "AK-SO-002" else (head if code in ("AK-BF", "AK-BF-007") else leader)
        follow_up = followup.start(session, actor, m2026, unit)
        follow_ups[code] = follow_up
        for index, step in enumerate(Step):
            if index < finished:
                followup.save_step(session, actor, follow_up, step, texts[step], done)
            elif index == finished and finished < 5:
                followup.save_step(session, actor, follow_up, step, texts[step], next_state)
    # Action plans: a theme with a goal and actions in every state of the arrow.
    today = date.today()
    for code in ("AK-BF-001", "AK-BF-001-T001", "AK-BF", "AK-SO-002"):
        follow_up = follow_ups[code]
        figures = session.get(UnitFigures, (m2026.id, by_code[code].id))
        safety = (
            (figures.indicators or {}).get("Min enhed – psykologisk tryghed") if figures else None
        )
        theme = followup.add_theme(
            session,
            leader,
            follow_up,
            title="Min enhed – psykologisk tryghed",
            current_score=safety,
            target_score=(safety or 50) + 8,
            goal="Alle tør tage problemer op på teammødet.",
            approach="Faste spilleregler og en runde, hvor alle siger noget.",
        )
        for number, (title, status, days) in enumerate(
            [
                ("Spilleregler for teammøder", ActionStatus.DONE, -60),
                ("Makkerordning for nye kolleger", ActionStatus.NEARLY_DONE, 20),
                ("Fast fredagsmøde om ugens opgaver", ActionStatus.HALFWAY, 5),
                ("Kursus i svære samtaler", ActionStatus.STARTED, -10),  # overdue
                ("Ny fordeling af vagtplanen", ActionStatus.NOT_STARTED, 45),
            ]
        ):
            owner = member if number == 1 else None
            action = followup.add_action(
                session,
                leader,
                follow_up,
                title=title,
                theme=theme,
                owner=owner,
                owner_name="" if owner else "Karen Holm",
                deadline=today + timedelta(days=days),
            )
            if status:
                followup.set_status(session, leader, action, status, "")
        if code == "AK-BF-001":
            passed_on = followup.add_action(
                session,
                leader,
                follow_up,
                title="Nyt ventilationsanlæg i mødelokalet",
                owner_name="Ejendomsservice",
                deadline=today + timedelta(days=90),
            )
            followup.escalate(session, leader, passed_on, to_unit=by_code["AK-BF"])
    build_demo_approvals(session, by_code, users, follow_ups)
    # The demo is built today, but its steps were done in the measurement's year: date each
    # finished step a few days before it was due, so "on time" reads as it would have.
    from datetime import UTC, datetime

    for follow_up in follow_ups.values():
        for record in follow_up.steps:
            due = followup.step_due(m2026, record.step)
            if record.state == done and due is not None and due < date.today():
                record.updated_at = datetime.combine(
                    due - timedelta(days=3), datetime.min.time(), tzinfo=UTC
                )
    # Alerts as if raised on the release day: last year's all answered in time; this year's
    # half answered, the others open (overdue by now).
    for measurement, share in ((m2025, 1.0), (m2026, 0.5)):
        raised = session.scalars(
            select(ZeroToleranceAlert)
            .where(ZeroToleranceAlert.measurement_id == measurement.id)
            .order_by(ZeroToleranceAlert.id)
        ).all()
        for i, alert in enumerate(raised):
            alert.opened_on = measurement.results_released_on
            alert.due_on = alert.opened_on + timedelta(days=measurement.zero_tolerance_days)
            if i >= len(raised) * share:
                continue
            alerts.record_reaction(
                session,
                hr,
                alert,
                reaction="Samtale med medarbejderne og arbejdsmiljørepræsentanten; "
                "fælles aftale om, hvordan vi siger fra.",
                reaction_on=alert.opened_on + timedelta(days=12),
                involved="Leder, arbejdsmiljørepræsentant, HR",
                follow_up_on=alert.opened_on + timedelta(days=90),
            )
    # The red workplace is measured again: its own measurement, linked to the first.
    remeasure = Measurement(
        name="Genmåling 2026 – røde og gule enheder",
        year=2026,
        questionnaire=m2026.questionnaire,
        threshold=5,
        sensitive_threshold=10,
        results_released_on=date(2026, 10, 1),
        remeasure_of_id=m2026.id,
    )
    session.add(remeasure)
    session.flush()
    import_results(
        session,
        remeasure,
        m2026.questionnaire,
        demo_results_csv(2027, questions, only_under="AK-SO-002"),
        file_name="demo-genmaaling.csv",
        year=2026,
    )
    session.flush()


# --- partners and approval -----------------------------------------------------------------


def build_demo_approvals(
    session: Session, by_code: dict[str, Unit], users: dict[str, Any], follow_ups: dict[str, Any]
) -> None:
    """The trio of the demo leader's workplace (a TR and an AMR, who sign in with the demo
    password), a plan approved by the department head, one waiting for him, and a red unit's
    plan approved by its department head and waiting for HR."""
    from app.models import Step, StepState
    from app.services import approval, followup

    leader = users[f"leder@{DEMO_DOMAIN}"]
    head = users[f"chef.bf@{DEMO_DOMAIN}"]
    hr = users[f"hr@{DEMO_DOMAIN}"]

    def person(email: str, name: str, code: str, role: Role) -> Any:
        return demo_person(session, leader, f"{email}@{DEMO_DOMAIN}", name, by_code[code], role)

    workplace = by_code["AK-BF-001"]
    for email, name, function in [
        ("tr", "Tina Rasmussen", "union_rep"),
        ("amr", "Anders Mikkelsen", "safety_rep"),
    ]:
        member = person(email, name, workplace.code, Role.MEMBER)
        approval.add_partner(session, leader, workplace, member.id, function)

    # The employee's team: sent by the leader, approved by the department head.
    team = follow_ups["AK-BF-001-T001"]
    (row,) = approval.send(session, leader, team, [head], "Planen er lavet i trioen.")
    approval.decide(session, head, row, approve=True, comment="Fin plan. God arbejdslyst!")

    # The leader's own workplace: waiting for the department head.
    approval.send(
        session, leader, follow_ups["AK-BF-001"], [head], "Vi vil gerne i gang inden sommer."
    )

    # The red workplace: the department head has approved, HR has not yet.
    so_head = person("chef.so", "Søren Østergaard", "AK-SO", Role.LEADER)
    so_leader = person("leder.so", "Signe Olsen", "AK-SO-002", Role.LEADER)
    red = follow_ups["AK-SO-002"]
    followup.save_step(session, so_leader, red, Step.PLAN, {}, StepState.IN_PROGRESS)
    rows = approval.send(
        session, so_leader, red, [so_head, hr], "Planen er lavet sammen med HR på mødet."
    )
    approval.decide(session, so_head, rows[0], approve=True)


# --- results: the demo organisation's answers, in the import format -------------------------

# Workplaces that struggle in the demo, so that red and yellow units, zero-tolerance hits
# and follow-ups with HR have something to show.
STRUGGLING = {"AK-SO-002": 0.30, "AK-BF-007": 0.18, "AK-BM-004": 0.15}


def demo_results_csv(
    year: int, questions: list[dict], *, seed: int = 7, only_under: str | None = None
) -> str:
    """The demo organisation's results for one year as CSV (`;`), in the spec's format.

    Teams carry the answers; workplaces, administrations and the root are unit-only rows
    whose figures are the sum of their teams. Levels drift a little from year to year, and
    the struggling workplaces improve in the later year.
    """
    units = demo_tree(seed)
    by_code = {u.code: u for u in units}
    out = ResultsFile()
    themes = sorted({q["theme"] for q in questions})
    if only_under is not None:  # a re-measurement: one unit, its teams and its parents
        keep = {only_under}
        keep |= {u.code for u in units if u.parent == only_under}
        code = by_code[only_under].parent
        while code:
            keep.add(code)
            code = by_code[code].parent
        units = [u for u in units if u.code in keep]
    for unit in units:
        if not unit.size:
            out.unit_only(unit)
            continue
        unit_rng, year_rng = unit_randoms(seed, unit.code, year)
        workplace = by_code[unit.parent or ""]
        dip = STRUGGLING.get(workplace.code, 0.0) * (0.6 if year >= 2026 else 1.0)
        levels = {
            t: theme_level(unit_rng, 0.68 - dip, 0.08) + year_rng.gauss(0, 0.03) for t in themes
        }
        respondents = max(0, min(unit.size, round(unit.size * year_rng.uniform(0.65, 1.0))))
        for q in questions:
            k = len(q["scale"])
            answers = respondents
            dont_know = 0
            if not q["zero_tolerance"]:
                dont_know = sum(year_rng.random() < 0.03 for _ in range(respondents))
                answers -= dont_know
            counts = [0] * k
            level = levels[q["theme"]]
            for _ in range(answers):
                if q["zero_tolerance"]:
                    hit = year_rng.random() < max(0.0, (1 - level) * 0.04 + dip * 0.1)
                    counts[(1 if year_rng.random() < 0.75 else k - 1) if hit else 0] += 1
                    continue
                centre = level if q["direction"] == "higher_better" else 1 - level
                x = min(0.999, max(0.0, year_rng.gauss(centre, 0.22)))
                counts[int(x * k)] += 1
            out.answers(unit, respondents, q, counts, dont_know)
    return out.text()
