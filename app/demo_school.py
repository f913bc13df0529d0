"""The school demo: a gymnasium with departments, educations and classes, as the ministry's
guide to the national wellbeing survey (trivselsmålingen) describes it.

Fjordby Gymnasium has two departments, three educations (stx, hhx, hf) and 33 classes named
as the guide says (start year, education, letter: ``2024stxA``), two years of the gymnasium
survey imported through the real import, management's release of the newer year, users for
every school role, class follow-ups in every state, bullying alerts, reference figures and an
issued board report. Everything is invented, from a fixed seed, so every demo looks the same;
the years follow today's date (the newest survey is last autumn's).
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
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
    STEPS,
    ActionStatus,
    FollowUp,
    Measurement,
    Organisation,
    OrganisationKind,
    Questionnaire,
    ReferenceFigure,
    Role,
    Step,
    StepState,
    Unit,
    User,
    ZeroToleranceAlert,
)
from app.services.questionnaires import load_templates, read_template
from app.services.users import assign_role, create_user

SCHOOL_DOMAIN = "demo-gym.kompas.dk"
SCHOOL_NAME = "Fjordby Gymnasium"
ROOT = "FG"
# (department code, name, [(education, classes per year, years of study)])
DEPARTMENTS = [
    ("FG-C", "Afdeling Centrum", [("stx", "ABCDE", 3), ("hf", "ABC", 2)]),
    ("FG-H", "Afdeling Havnen", [("hhx", "ABCD", 3)]),
]


# The demo is lived in whenever it is built: the newest results came five weeks ago, so the
# dialogue and the plan are due in the weeks ahead and an alert is a few days overdue.
RELEASED_DAYS_AGO = 35


def released_on(today: date, newest: bool = True) -> date:
    """The day the results reached the school: the newest five weeks ago, the year before's a
    year earlier."""
    day = today - timedelta(days=RELEASED_DAYS_AGO)
    return day if newest else day - timedelta(days=364)


def newest_year(today: date) -> int:
    """The survey of the newest results: the ministry's survey runs 1 November to 31 December,
    so results released on a day are those of an autumn that ended at least weeks before."""
    return (released_on(today) - timedelta(days=20)).year - 1


def education_code(department: str, education: str) -> str:
    return f"{department}-{education.upper()}"


def school_tree(year: int) -> list[DemoUnit]:
    """The institution as measured in the autumn of `year`: the classes that started in the
    years of study up to it. A class keeps its name every year until it graduates."""
    root = DemoUnit(ROOT, SCHOOL_NAME, None, "institution")
    units = [root]
    for department, name, educations in DEPARTMENTS:
        units.append(DemoUnit(department, name, ROOT, "afdeling"))
        for education, letters, years in educations:
            code = education_code(department, education)
            units.append(DemoUnit(code, education, department, "uddannelse"))
            for start in range(year - years + 1, year + 1):
                for letter in letters:
                    klass = f"{start}{education}{letter}"
                    units.append(DemoUnit(klass, klass, code, "klasse", class_size(klass)))
    return units


def class_size(code: str) -> int:
    """Students in a class, stable over its years; one small hf hold falls under the
    anonymity threshold."""
    if code.endswith("hfC"):
        return 4
    rng = random.Random(f"size:{code}")  # noqa: S311 - invented demo data
    low, high = (16, 24) if "hf" in code else (22, 29)
    return rng.randint(low, high)


@dataclass(frozen=True)
class SchoolPlan:
    """Which classes of the newest year struggle, report bullying and own follow-ups."""

    year: int

    def klass(self, years_ago: int, education: str, letter: str) -> str:
        return f"{self.year - years_ago}{education}{letter}"

    @property
    def struggling(self) -> dict[str, float]:
        return {self.klass(1, "hhx", "B"): 0.20, self.klass(0, "stx", "C"): 0.12}

    def bullied(self, measured: int) -> dict[str, int]:
        """Classes whose students report bullying in the survey of `measured`: students who
        say yes to a bullying question (each a class with an alert)."""
        if measured == self.year:
            return {self.klass(1, "hhx", "B"): 4, self.klass(0, "stx", "D"): 3}
        return {self.klass(2, "stx", "C"): 3}

    # The teacher's classes; the class team's plan waits for approval and is approved.
    @property
    def teacher_class(self) -> str:
        return self.klass(0, "stx", "A")

    @property
    def teacher_second_class(self) -> str:
        return self.klass(1, "stx", "B")


@dataclass
class SchoolLogin:
    email: str
    name: str
    role: Role
    unit_code: str
    what: str  # the role in the school's words, for the printed list


def school_logins(year: int) -> list[SchoolLogin]:
    plan = SchoolPlan(year)
    return [
        SchoolLogin(f"ejer@{SCHOOL_DOMAIN}", "Eva Juhl", Role.ADMIN, ROOT, "survey owner"),
        SchoolLogin(f"rektor@{SCHOOL_DOMAIN}", "Rasmus Krogh", Role.LEADER, ROOT, "management"),
        SchoolLogin(
            f"uddannelsesleder@{SCHOOL_DOMAIN}",
            "Ulla Dam",
            Role.LEADER,
            education_code("FG-C", "stx"),
            "education leader (stx)",
        ),
        SchoolLogin(
            f"laerer@{SCHOOL_DOMAIN}",
            "Lars Eriksen",
            Role.MEMBER,
            plan.teacher_class,
            "class team teacher",
        ),
        SchoolLogin(
            f"elevraad@{SCHOOL_DOMAIN}", "Emma Lund", Role.COMMITTEE, ROOT, "student council"
        ),
        SchoolLogin(f"bestyrelse@{SCHOOL_DOMAIN}", "Bent Skov", Role.BOARD, ROOT, "board"),
    ]


# --- results ----------------------------------------------------------------------------------


def school_results_csv(year: int, newest: int, questions: list[dict], *, seed: int = 19) -> str:
    """The institution's results of the survey in the autumn of `year`, as CSV (`;`) in the
    spec's format with the question wording. Classes carry the answers; educations,
    departments and the institution are unit-only rows (the sum of their classes). A class's
    level is stable over its years; the struggling classes improve in the newer year."""
    plan = SchoolPlan(newest)
    bullied = plan.bullied(year)
    # The spec's columns with the question's wording, as the ministry's file gives it.
    out = ResultsFile(with_text=True)
    themes = sorted({q["theme"] for q in questions})
    for unit in school_tree(year):
        if not unit.size:
            out.unit_only(unit)
            continue
        unit_rng, year_rng = unit_randoms(seed, unit.code, year)
        dip = plan.struggling.get(unit.code, 0.0) * (0.7 if year == newest else 1.0)
        levels = {
            t: theme_level(unit_rng, 0.68 - dip, 0.07) + year_rng.gauss(0, 0.03) for t in themes
        }
        respondents = min(unit.size, round(unit.size * year_rng.uniform(0.78, 0.98)))
        victims = min(bullied.get(unit.code, 0), respondents)
        for q in questions:
            k = len(q["scale"])
            counts = [0] * k
            dont_know = 0
            if q["zero_tolerance"]:
                # The same few students say yes to the first two bullying questions.
                hits = victims if q["code"] in ("MO-01", "MO-04") else 0
                counts[0] = respondents - hits
                counts[1] = hits - hits // 3
                counts[k - 1] += hits // 3
            else:
                dont_know = sum(year_rng.random() < 0.03 for _ in range(respondents))
                level = levels[q["theme"]]
                centre = level if q["direction"] == "higher_better" else 1 - level
                for _ in range(respondents - dont_know):
                    x = min(0.999, max(0.0, year_rng.gauss(centre, 0.22)))
                    counts[int(x * k)] += 1
            out.answers(unit, respondents, q, counts, dont_know)
    return out.text()


# National and stx figures as the ministry publishes them: indicator averages on 1-5 (higher
# is better, pressure and bullying turned round as the ministry does), the share with high
# wellbeing in per cent, and the answers behind them.
REFERENCE_INDICATORS = {
    # indicator: (national average, national share, stx average, stx share)
    "Faglig individuel trivsel": (3.6, 58.0, 3.7, 60.5),
    "Social trivsel": (4.1, 79.0, 4.2, 81.0),
    "Læringsmiljø": (3.7, 62.0, 3.7, 62.5),
    "Pres og bekymringer": (3.0, 38.0, 2.9, 35.5),
    "Mobning": (4.9, 95.0, 4.9, 95.5),
}


def reference_figures(year: int, newest: int) -> list[ReferenceFigure]:
    """The national and the stx level for one year, per indicator and (nationally) per
    question of the indicators; the newer year a little better, as the schools were."""
    drift = 0.0 if year == newest else -0.05
    rows = []
    for indicator, (national, national_share, stx, stx_share) in REFERENCE_INDICATORS.items():
        for source, label, average, share, count in (
            ("national", "Landsplan", national, national_share, 118_400),
            ("sector", "stx", stx, stx_share, 71_300),
        ):
            rows.append(
                ReferenceFigure(
                    questionnaire_code="gym",
                    year=year,
                    source=source,
                    label=label,
                    indicator=indicator,
                    average=round(average + drift, 1),
                    share=round(share + drift * 20, 1),
                    count=count - (1_500 if year != newest else 0),
                    file_name=f"nationale-noegletal-{year}.xlsx",
                )
            )
    return rows


# --- the demo ---------------------------------------------------------------------------------


def build_school_demo(
    session: Session, *, password: str | None = None, today: date | None = None
) -> str:
    """Create the gymnasium, two years of imported results, a user per school role, the
    follow-ups, alerts, goals, reference figures and an issued board report.

    Returns the password of every demo user. Flushes; the caller commits.
    """
    today = today or date.today()
    newest = newest_year(today)
    password = password or secrets.token_urlsafe(9)
    session.add(
        Organisation(
            name=SCHOOL_NAME,
            kind=OrganisationKind.SCHOOL,
            retention_years=4,
            hold_results_until_released=True,
        )
    )
    load_templates(session)
    gym = session.scalar(select(Questionnaire).where(Questionnaire.code == "gym"))
    assert gym is not None  # noqa: S101 - load_templates just made it
    questions = read_template("gym")["questions"]
    for year in (newest - 1, newest):
        measurement = Measurement(
            name=f"Trivselsmåling {year}",
            year=year,
            questionnaire=gym,
            threshold=5,
            sensitive_threshold=10,
            results_released_on=(start := released_on(today, year == newest)),
            dialogue_deadline=start + timedelta(days=49),
            action_plan_deadline=start + timedelta(days=80),
            evaluation_date=start + timedelta(days=240),
        )
        session.add(measurement)
        session.flush()
        import_results(
            session,
            measurement,
            gym,
            school_results_csv(year, newest, questions),
            file_name=f"trivselsmaaling-{year}.csv",
            year=year,
        )
    by_code = {unit.code: unit for unit in session.scalars(select(Unit))}
    # The classes that graduated before the newest survey are closed, as the school closes
    # them; their results stay in last year's history.
    measured_now = {unit.code for unit in school_tree(newest)}
    for code, unit in by_code.items():
        unit.active = code in measured_now
    users: dict[str, User] = {}
    for login in school_logins(newest):
        user = create_user(session, None, email=login.email, name=login.name, password=password)
        assign_role(session, None, user, by_code[login.unit_code], login.role)
        users[login.email.split("@")[0]] = user
    session.flush()
    _release(session, users["rektor"])
    session.add_all(reference_figures(newest - 1, newest) + reference_figures(newest, newest))
    _class_teams(session, by_code, users, newest)
    _last_year(session, by_code, users, newest)
    _this_year(session, by_code, users, newest, today)
    _alerts(session, users, newest)
    _goals_and_board_report(session, by_code, users, newest)
    session.flush()
    return password


def _at(day: date) -> datetime:
    return datetime.combine(day, time(9, 0), tzinfo=UTC)


def _release(session: Session, management: User) -> None:
    """Management released both years to class teams, the student council and the board, two
    days after the results came (having looked at them first)."""
    for measurement in session.scalars(select(Measurement)):
        assert measurement.results_released_on is not None  # noqa: S101 - set above
        measurement.released_at = _at(measurement.results_released_on + timedelta(days=2))
        measurement.released_by_id = management.id


def _person(session: Session, like: User, email: str, name: str, unit: Unit, role: Role) -> User:
    """A further demo user, with the demo password."""
    return demo_person(session, like, f"{email}@{SCHOOL_DOMAIN}", name, unit, role)


# The demo teacher's colleagues on the class teams (they sign in with the demo password).
COLLEAGUES = [
    ("laerer.mette", "Mette Bach"),
    ("laerer.omar", "Omar Haddad"),
    ("laerer.sofie", "Sofie Kjær"),
    ("laerer.jonas", "Jonas Winther"),
]


def _class_teams(
    session: Session, by_code: dict[str, Unit], users: dict[str, User], newest: int
) -> None:
    """Each class team's teachers are members of their class and named as its partners
    (function "teacher"); the demo teacher is on two class teams."""
    from app.services import approval

    plan = SchoolPlan(newest)
    teacher = users["laerer"]
    teams: dict[str, list[User | str]] = {
        plan.teacher_class: [teacher, "laerer.mette"],
        plan.teacher_second_class: [teacher, "laerer.omar"],
        plan.klass(1, "hhx", "B"): ["laerer.sofie", "laerer.jonas"],
        plan.klass(2, "stx", "A"): ["laerer.mette", "laerer.jonas"],
    }
    made: dict[str, User] = {}
    management = users["rektor"]
    for code, members in teams.items():
        unit = by_code[code]
        for member in members:
            if isinstance(member, str):
                if member not in made:
                    name = dict(COLLEAGUES)[member]
                    made[member] = _person(session, teacher, member, name, unit, Role.MEMBER)
                else:
                    assign_role(session, None, made[member], unit, Role.MEMBER)
                person = made[member]
            else:
                person = member
                if unit.code != plan.teacher_class:
                    assign_role(session, None, person, unit, Role.MEMBER)
            session.flush()
            approval.add_partner(session, management, unit, person.id, "teacher")
    users.update(made)


# What class teams wrote in each step, in a school's words (a 45-90 minute class dialogue).
STEP_TEXTS: dict[Step, dict[str, Any]] = {
    Step.ANALYSIS: {
        "strengths": "Eleverne er glade for klassen og hjælper hinanden i timerne.",
        "focus_areas": ["theme:Pres og bekymringer"],
        "notes": "Mange føler sig pressede op til afleveringer; ro i timerne kan blive bedre.",
    },
    Step.PREPARATION: {
        "meeting_time": "10.10",
        "place": "Klasseværelset",
        "duration": "60 minutter",
        "facilitator": "Klassens teamlærere",
        "timekeeper": "En elev fra klassen",
        "note_taker": "Klassens elevrådsrepræsentant",
        "quick_fixes": "Fælles afleveringskalender på tavlen",
    },
    Step.DIALOGUE: {
        "participants": 24,
        "notes": "Eleverne talte om afleveringspres og om at sige noget i timerne.",
        "proposals": "Afleveringskalender på tværs af fag\nStudiecafé om tirsdagen",
    },
    Step.PLAN: {},
    Step.EVALUATION: {
        "acted": "Ja: afleveringskalenderen og studiecaféen kom i gang i februar.",
        "effect": "Færre afleveringer samler sig i samme uge; eleverne siger, de har mere ro.",
        "adjust": "Studiecaféen flyttes til en dag, hvor flere kan komme.",
        "process_review": "Klassesamtalen virkede; næste år holder vi den tidligere.",
    },
}
ACTIONS = [
    ("Fælles afleveringskalender på tværs af fag", ActionStatus.DONE, -70),
    ("Studiecafé om tirsdagen", ActionStatus.NEARLY_DONE, 20),
    ("Faste makkerpar ved gruppearbejde", ActionStatus.HALFWAY, 10),
    ("Klassens spilleregler for ro i timerne", ActionStatus.STARTED, -12),  # overdue
    ("Trivselstur for klassen i foråret", ActionStatus.NOT_STARTED, 60),
]


def _step_texts(step: Step, measurement: Measurement) -> dict[str, Any]:
    """A step's texts; the class dialogue three weeks after the results came."""
    texts = dict(STEP_TEXTS[step])
    assert measurement.results_released_on is not None  # noqa: S101 - set above
    meeting = (measurement.results_released_on + timedelta(days=21)).isoformat()
    if step == Step.PREPARATION:
        texts["meeting_date"] = meeting
    if step == Step.DIALOGUE:
        texts["held_on"] = meeting
    return texts


def _walk(
    session: Session,
    actor: User,
    measurement: Measurement,
    unit: Unit,
    finished: int,
    next_state: StepState | None,
) -> FollowUp:
    """A follow-up with its first `finished` steps done and the next one in `next_state`."""
    from app.services import followup

    follow_up = followup.start(session, actor, measurement, unit)
    for index, step in enumerate(STEPS):
        if index < finished:
            followup.save_step(
                session, actor, follow_up, step, _step_texts(step, measurement), StepState.DONE
            )
        elif index == finished and next_state is not None:
            followup.save_step(
                session, actor, follow_up, step, _step_texts(step, measurement), next_state
            )
    return follow_up


def _plan(
    session: Session,
    actor: User,
    follow_up: FollowUp,
    *,
    title: str,
    goal: str,
    owners: list[User | str],
    today: date,
    actions: list[tuple[str, ActionStatus, int]] = ACTIONS,
) -> None:
    """A theme with a goal, and actions in every state of the arrow."""
    from app.models import UnitFigures
    from app.services import followup

    figures = session.get(UnitFigures, (follow_up.measurement_id, follow_up.unit_id))
    current = (figures.indicators or {}).get(title) if figures else None
    theme = followup.add_theme(
        session,
        actor,
        follow_up,
        title=title,
        current_score=current,
        target_score=min(100.0, (current or 55.0) + 6),
        goal=goal,
        approach="Vi planlægger med eleverne og følger op på klassens time hver måned.",
    )
    for number, (action_title, status, days) in enumerate(actions):
        owner = owners[number % len(owners)]
        action = followup.add_action(
            session,
            actor,
            follow_up,
            title=action_title,
            theme=theme,
            owner=owner if isinstance(owner, User) else None,
            owner_name=owner if isinstance(owner, str) else "",
            deadline=today + timedelta(days=days),
        )
        if status != ActionStatus.NOT_STARTED:
            followup.set_status(session, actor, action, status, "")


def _send_for_approval(
    session: Session,
    sender: User,
    follow_up: FollowUp,
    message: str,
    *,
    decide: bool,
    on: date,
) -> None:
    """Send the plan to its approvers (the education leader, and for a red class the survey
    owner too) two days before `on`; with `decide`, every one of them approves on `on`."""
    from app.models import PlanApproval
    from app.services import approval

    eligible = approval.approvers(session, follow_up, sender)
    chosen = [u for u in (eligible.default_head, eligible.default_hr) if u is not None]
    if not eligible.needs_hr:
        chosen = chosen[:1]
    rows = approval.send(session, sender, follow_up, chosen, message)
    if decide:
        for row in rows:
            assert row.approver is not None  # noqa: S101 - just chosen
            approval.decide(
                session, row.approver, row, approve=True, comment="Godt arbejde – god plan."
            )
    for row in session.scalars(
        select(PlanApproval).where(PlanApproval.follow_up_id == follow_up.id)
    ):
        row.requested_at = _at(on - timedelta(days=2))
        row.decided_at = _at(on) if row.decision else None
    if follow_up.approved_at is not None:
        follow_up.approved_at = _at(on)


def _this_year(
    session: Session, by_code: dict[str, Unit], users: dict[str, User], newest: int, today: date
) -> None:
    """The newest year's follow-ups: most classes not started; one in analysis, one in
    dialogue, the teacher's class waiting for approval, another approved, one evaluated; the
    education's and the institution's joint action plan."""
    from app.services import followup

    measurement = session.scalar(select(Measurement).where(Measurement.year == newest))
    assert measurement is not None  # noqa: S101 - imported above
    plan = SchoolPlan(newest)
    done, going = StepState.DONE, StepState.IN_PROGRESS
    teacher, mette = users["laerer"], users["laerer.mette"]
    sofie, education_leader = users["laerer.sofie"], users["uddannelsesleder"]
    management = users["rektor"]
    _walk(session, mette, measurement, by_code[plan.klass(2, "stx", "A")], 0, going)
    _walk(session, teacher, measurement, by_code[plan.klass(1, "stx", "B")], 2, going)
    owners: list[User | str] = ["Klassens teamlærere", "Elevrådsrepræsentanten", "Studievejleder"]
    # The teacher's own class: the plan made with the students waits for the education leader.
    waiting = _walk(session, teacher, measurement, by_code[plan.teacher_class], 3, going)
    _plan(
        session,
        teacher,
        waiting,
        title="Pres og bekymringer",
        goal="Færre elever føler sig pressede af skolearbejdet.",
        owners=[teacher, *owners],
        today=today,
    )
    _send_for_approval(
        session,
        teacher,
        waiting,
        "Planen er lavet sammen med klassen.",
        decide=False,
        on=today - timedelta(days=3),
    )
    # The struggling hhx class with bullying: its plan approved.
    approved = _walk(session, sofie, measurement, by_code[plan.klass(1, "hhx", "B")], 3, going)
    _plan(
        session,
        sofie,
        approved,
        title="Social trivsel",
        goal="Alle elever har nogen at være sammen med, og ingen holdes udenfor.",
        owners=owners,
        today=today,
    )
    _send_for_approval(
        session,
        sofie,
        approved,
        "Vi vil gerne i gang før vinterferien.",
        decide=True,
        on=today - timedelta(days=2),
    )
    # A class evaluated already: its plan approved in the spring and carried out.
    evaluated = _walk(session, mette, measurement, by_code[plan.klass(2, "stx", "B")], 3, going)
    _plan(
        session,
        mette,
        evaluated,
        title="Læringsmiljø",
        goal="Mere ro i timerne.",
        owners=[mette, *owners],
        today=today,
        actions=[(title, ActionStatus.DONE, days - 120) for title, _s, days in ACTIONS[:3]],
    )
    _send_for_approval(
        session, mette, evaluated, "Klassens plan.", decide=True, on=today - timedelta(days=20)
    )
    followup.save_step(
        session,
        mette,
        evaluated,
        Step.EVALUATION,
        _step_texts(Step.EVALUATION, measurement),
        done,
    )
    # The stx education and the institution: management's joint action plan.
    _walk(session, education_leader, measurement, by_code[education_code("FG-C", "stx")], 2, going)
    joint = _walk(session, management, measurement, by_code[ROOT], 3, going)
    _plan(
        session,
        management,
        joint,
        title="Pres og bekymringer",
        goal="Andelen, der ofte føler sig pressede, falder til under landsgennemsnittet.",
        owners=["Rektor", "Uddannelseslederne", "Elevrådet"],
        today=today,
        actions=[
            ("Fælles afleveringsplan for alle årgange", ActionStatus.HALFWAY, 30),
            ("Studiecafé med lærere og studievejledere", ActionStatus.STARTED, 45),
            ("Temadag om stress og søvn med elevrådet", ActionStatus.NOT_STARTED, 90),
            ("Ny procedure for mistanke om mistrivsel", ActionStatus.DONE, -40),
        ],
    )
    # Finished steps were done in the spring, as due: date them so, so "on time" reads right.
    follow_ups = session.scalars(
        select(FollowUp).where(FollowUp.measurement_id == measurement.id)
    ).all()
    for follow_up in follow_ups:
        for record in follow_up.steps:
            due = followup.step_due(measurement, record.step)
            if record.state == done and due is not None and due < today:
                record.updated_at = _at(due - timedelta(days=4))


def _last_year(
    session: Session, by_code: dict[str, Unit], users: dict[str, User], newest: int
) -> None:
    """Last year's follow-ups, evaluated: the institution's joint plan and two classes, their
    actions done (the board report reads last year's evaluation)."""
    measurement = session.scalar(select(Measurement).where(Measurement.year == newest - 1))
    assert measurement is not None  # noqa: S101 - imported above
    plan = SchoolPlan(newest)
    assert measurement.results_released_on is not None  # noqa: S101 - set above
    start = measurement.results_released_on
    spring = start + timedelta(days=90)
    for code, actor, title in (
        (ROOT, users["rektor"], "Social trivsel"),
        (plan.klass(1, "hhx", "B"), users["laerer.sofie"], "Social trivsel"),
        (plan.klass(2, "stx", "A"), users["laerer.mette"], "Læringsmiljø"),
    ):
        follow_up = _walk(session, actor, measurement, by_code[code], 5, None)
        _plan(
            session,
            actor,
            follow_up,
            title=title,
            goal="Flere elever føler sig som en del af fællesskabet.",
            owners=["Klassens teamlærere"],
            today=spring,
            actions=[
                ("Klassens time hver anden uge", ActionStatus.DONE, 0),
                ("Fælles introforløb for nye elever", ActionStatus.DONE, 30),
            ],
        )
        follow_up.approved_at = _at(start + timedelta(days=75))
        follow_up.approved_by_id = users["uddannelsesleder"].id
        follow_up.approved_by_body = users["uddannelsesleder"].name
        for record in follow_up.steps:
            record.updated_at = _at(start + timedelta(days=20 + 40 * STEPS.index(record.step)))


def _alerts(session: Session, users: dict[str, User], newest: int) -> None:
    """Bullying alerts as if raised on the release day: last year's answered; this year's one
    answered by management with the class team, one still open."""
    from app.services import alerts

    management = users["rektor"]
    for measurement in session.scalars(select(Measurement).order_by(Measurement.year)):
        raised = session.scalars(
            select(ZeroToleranceAlert)
            .where(ZeroToleranceAlert.measurement_id == measurement.id)
            .order_by(ZeroToleranceAlert.id)
        ).all()
        assert measurement.results_released_on is not None  # noqa: S101 - set above
        for index, alert in enumerate(raised):
            alert.opened_on = measurement.results_released_on
            alert.due_on = alert.opened_on + timedelta(days=measurement.zero_tolerance_days)
            if measurement.year == newest and index > 0:
                continue  # open
            alerts.record_reaction(
                session,
                management,
                alert,
                reaction="Samtale med klassens teamlærere og studievejlederen; klassen har "
                "talt om fællesskab og om, hvor man henvender sig, hvis man bliver mobbet.",
                reaction_on=alert.opened_on + timedelta(days=9),
                involved="Ledelsen, klasseteamet, studievejlederen",
                follow_up_on=alert.opened_on + timedelta(days=60),
            )


def _goals_and_board_report(
    session: Session, by_code: dict[str, Unit], users: dict[str, User], newest: int
) -> None:
    """Management's local goals and follow-up plan in the annual report drafts of both years,
    the newest approved by the education leader by name, and issued to the board."""
    from flask import current_app, has_request_context

    from app.services import report_archive

    root = by_code[ROOT]
    management = users["rektor"]
    goals = {
        "Faglig individuel trivsel": {
            "target": 70,
            "criterion": "Mindst på landsgennemsnittet",
        },
        "Social trivsel": {"target": 75, "criterion": "Ingen klasse under 60"},
        "Læringsmiljø": {"target": 70, "criterion": "Ro i timerne bedre end sidste år"},
        "Pres og bekymringer": {
            "target": 60,
            "criterion": "Færre elever, der ofte føler sig pressede, end på landsplan",
        },
        "Mobning": {"target": None, "criterion": "Alle mobbesager er fulgt op inden 30 dage"},
    }
    plans = {
        newest - 1: "Fokus på fællesskab: klassens time hver anden uge og et fælles introforløb.",
        newest: "Trivselsmålingen viser, at eleverne trives socialt, men at presset omkring "
        "afleveringer er stort. Ledelsen foreslår en fælles afleveringsplan for alle årgange, "
        "en studiecafé og en temadag om stress og søvn med elevrådet. Klasseteamene følger op "
        "i klasserne; uddannelseslederne samler op før sommerferien.",
    }
    for year, text in plans.items():
        draft = report_archive.save_draft(
            session, management, root, year, followup_plan=text, goals=goals
        )
    approver = users["uddannelsesleder"]
    draft.approver_id = approver.id
    draft.approval_requested_at = datetime.now(UTC) - timedelta(days=3)
    draft.approved_at = datetime.now(UTC) - timedelta(days=2)
    draft.approved_by_name = approver.name
    # This very change counts the draft's version up: the approval is of the version it makes.
    draft.approved_version = draft.version + 1
    session.flush()
    assert draft.approved_version == draft.version  # noqa: S101 - the version counter's rule
    if has_request_context():
        report_archive.issue_annual(session, management, root, newest)
    else:  # the CLI: the report is written in Danish, as a request in Danish would
        with current_app.test_request_context(headers={"Accept-Language": "da"}):
            report_archive.issue_annual(session, management, root, newest)
