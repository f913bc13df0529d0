"""A school's pages, PDFs, exports and e-mails speak the school's words (issue 19).

The demo organisation (follow-ups in every step, actions, alerts, approvals, report drafts)
is built once and switched to a school. Its *data* came from a municipality (unit names,
question texts, notes typed by the demo's people), so every stored text has the municipal
words blanked out first: what is left on a page is Kompas' own wording. Each school role then
walks every page it can reach by following links (href and hx-get), from the home page on,
and every page's visible text (tags, scripts and attribute values stripped), every PDF's text
(pypdf), every export and every e-mail must be free of the municipal words.

The same walk on a municipality still finds its words where they belong (the trio, the MED
committee), so the check cannot pass by finding nothing.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import JSON, LargeBinary, String, Text, select, update
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from app import create_app
from app.demo import DEMO_DOMAIN, DEMO_LOGINS, build_demo
from app.demo_school import build_school_demo, newest_year, school_logins
from app.extensions import db
from app.models import (
    Action,
    FollowUp,
    ImportLog,
    ImportProfile,
    IssuedReport,
    Measurement,
    Organisation,
    OrganisationKind,
    PlanApproval,
    PlanTheme,
    Unit,
    UnitPartner,
    User,
    ZeroToleranceAlert,
)
from tests import mapping_files
from tests.conftest import Inbox
from tests.services.test_reports import pdf_text
from tests.web.test_mapping_web import shown_form, stage

PASSWORD = "demo password 1"  # noqa: S105 - test fixture

# The municipality's words. Acronyms are matched as capitals only ("med" is Danish for
# "with"); the rest in any case and with any ending ("trioen", "medarbejdere", "lederen";
# not "uddannelseslederen" nor "ledelsen": a school has management, not a leader).
MUNICIPAL_WORDS = re.compile(
    r"\b(?:MED|AMO|APV|AMR|HR)\b"
    r"|\b(?i:trio|medarbejder|arbejdsmiljø|arbejdsplads|tillidsrepræsentant|HR-afdeling"
    r"|afdelingschef|leder|politisk\w* udvalg)\w*"
    # "The unit" where a school's text means a class (or its education): a school reads its
    # own word or the unit's name there. Elsewhere "enhed" is a school's word too (a unit
    # can be a class, an education, a department or the institution), so these are phrases.
    r"|(?i:\b(?:enheden står selv|nogen i enheden|din enheds|enheden ikke selv|min enhed\b"
    r"|denne enhed\b|gul enhed under|rød enheds? plan|rød enhed:))"
)
# A school's words, which a municipality must never read.
SCHOOL_WORDS = re.compile(
    r"(?i)\b(?:klasseteam|elevråd|uddannelsesleder|klassedialog|bestyrelse)\w*"
)

# Routes no link leads to, and why they are left out of the walk.
NOT_LINKED = {
    "static": "files",
    "health.healthz": "for the load balancer",
    "auth.set_password": "reached from an e-mail's one-time link",
    "board.calendar": "a calendar feed with a secret token",
    "imports.staged": "reached by uploading a file",
    "imports.errors_csv": "reached by uploading a file",
    "imports.mapping": "reached by uploading a file in another layout (mapping_walk below)",
    "imports.profile_rename": "reached from a saved profile (mapping_walk below)",
    "imports.profile_delete": "reached from a saved profile (mapping_walk below)",
    "imports.restore_ask": "reached from a restore button (a form)",
    "reports.job": "reached by making a PDF (walked below)",
    "reports.job_download": "reached by making a PDF (walked below)",
    "admin.export_user": "data export, no wording",
    "api.measurement_results": "the JSON API, no wording",
    "api.measurement_followup": "the JSON API, no wording",
    "auth.login": "walked signed out",
    "board.deleted": "a deleted action's page (tests/web/test_plan_in_one_place.py)",
    "imports.existing": "an htmx check that needs the upload form's fields",
    "reports.choose": "the reports form's redirect to the chosen report (walked)",
    "results.release_confirm": "answers only before a release; the demo's are released",
    "auth.forgot_password": "walked signed out",
}
PER_ENDPOINT = 2  # distinct URLs walked per route and role: enough to see every template


def scrub(text: str) -> str:
    """The municipal words blanked out, each as long as it was: "leder@" and "medarbejder@"
    stay two addresses."""
    return MUNICIPAL_WORDS.sub(lambda found: "x" * len(found.group(0)), text)


def scrub_value(value: object) -> object:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [scrub_value(item) for item in value]
    if isinstance(value, dict):
        return {key: scrub_value(item) for key, item in value.items()}
    return value


def scrub_data() -> None:
    """Blank the municipal words out of every stored text: the data is the demo's, not
    Kompas' wording. E-mail addresses too ("medarbejder@..."), so log in with scrub(email)."""
    for table in db.metadata.sorted_tables:
        columns = [
            column
            for column in table.columns
            if isinstance(column.type, String | Text | JSON)
            and not isinstance(column.type, LargeBinary)
            and not column.primary_key
        ]
        if not columns or not table.primary_key.columns:
            continue
        keys = list(table.primary_key.columns)
        rows = db.session.execute(select(*keys, *columns)).all()
        for row in rows:
            values = dict(zip([c.name for c in columns], row[len(keys) :], strict=True))
            scrubbed = {name: scrub_value(value) for name, value in values.items()}
            if scrubbed != values:
                where = [key == row[i] for i, key in enumerate(keys)]
                db.session.execute(update(table).where(*where).values(**scrubbed))
    # The demo's partners have a municipality's functions (safety representative); a
    # school names teachers.
    db.session.execute(update(UnitPartner).values(function="teacher"))
    db.session.commit()


def build(
    tmp_path_factory: pytest.TempPathFactory, kind: OrganisationKind, *, gymnasium: bool = False
) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path_factory.mktemp(f'words-{kind.value}') / 'demo.db'}"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "REPORT_JOBS": "inline"})
    with app.app_context():
        db.create_all()
        if gymnasium:
            build_school_demo(db.session, password=PASSWORD)
        else:
            build_demo(db.session, password=PASSWORD)
        db.session.commit()
        if kind == OrganisationKind.SCHOOL and not gymnasium:
            db.session.scalars(select(Organisation)).one().kind = kind
            db.session.commit()
            scrub_data()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    yield from build(tmp_path_factory, OrganisationKind.SCHOOL)


@pytest.fixture(scope="module")
def gymnasium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The school demo as it is: a gymnasium's own data, nothing blanked out."""
    yield from build(tmp_path_factory, OrganisationKind.SCHOOL, gymnasium=True)


@pytest.fixture(scope="module")
def municipality(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    yield from build(tmp_path_factory, OrganisationKind.MUNICIPALITY)


@pytest.fixture(scope="module")
def inbox(school: Flask) -> Iterator[Inbox]:
    """A real SMTP server on loopback that the school's app sends to."""
    import socket

    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received = Inbox()

    class Collect(Message):
        def handle_message(self, message) -> None:  # noqa: ANN001
            received.append(message)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    school.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(port), MAIL_FROM="kompas@x.dk")
    try:
        yield received
    finally:
        controller.stop()


def email(who: str) -> str:
    """A demo user's address as it is stored after the scrub."""
    return scrub(f"{who}@{DEMO_DOMAIN}")


def signed_in(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    response = client.post("/auth/login", data={"email": address, "password": PASSWORD})
    assert response.status_code == 302, address
    return client


# --- what a person sees ---------------------------------------------------------------------

INVISIBLE = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.S | re.I)
TAG = re.compile(r"<[^>]*>")
LINK = re.compile(r'\b(href|hx-get)="([^"]+)"')


def visible_text(page: str) -> str:
    """What a reader sees: no scripts, no comments, no tags (so no attribute values)."""
    return " ".join(html.unescape(TAG.sub(" ", INVISIBLE.sub(" ", page))).split())


def text_of(response) -> str:  # noqa: ANN001 - a test response
    kind = response.headers.get("Content-Type", "")
    if kind.startswith("application/pdf"):
        return pdf_text(response.data)
    if "spreadsheetml" in kind:
        book = load_workbook(io.BytesIO(response.data), read_only=True)
        return " ".join(
            str(cell)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for cell in row
            if cell is not None
        )
    if kind.startswith("text/html"):
        return visible_text(response.get_data(as_text=True))
    return response.get_data(as_text=True)


def leaks(text: str, words: re.Pattern[str] = MUNICIPAL_WORDS) -> list[str]:
    """Each municipal word (or each of `words`) with a little of its context."""
    return [text[max(0, m.start() - 50) : m.end() + 50] for m in words.finditer(text)]


def real_ids(app: Flask) -> list[dict[str, object]]:
    """Values for the URL map's arguments, taken from the data: a follow-up with a theme and
    an action (its unit, the unit's department and the root as codes), and the first of
    everything else. Several sets, as one role reaches one unit and another the next."""
    with app.app_context():
        action = db.session.scalars(
            select(Action).where(Action.theme_id.is_not(None)).order_by(Action.id)
        ).first()
        assert action is not None
        follow_up = db.session.get(FollowUp, action.follow_up_id)
        unit = follow_up.unit
        first = {
            "measurement_id": follow_up.measurement_id,
            "year": follow_up.measurement.year,
            "theme_id": action.theme_id,
            "action_id": action.id,
            "index": 0,
            "step": "dialogue",
        }
        for name, model in (
            ("report_id", IssuedReport),
            ("approval_id", PlanApproval),
            ("alert_id", ZeroToleranceAlert),
            ("log_id", ImportLog),
        ):
            if (found := db.session.scalar(select(model.id).order_by(model.id))) is not None:
                first[name] = found
        partner = db.session.scalars(select(UnitPartner).order_by(UnitPartner.id)).first()
        codes = [unit.code, *(u.code for u in breadcrumbs_of(unit))]
        sets = [{**first, "code": code} for code in codes]
        if partner is not None:
            sets.append({**first, "code": partner.unit.code, "partner_id": partner.id})
        return sets


def breadcrumbs_of(unit: Unit) -> list[Unit]:
    above = []
    while unit.parent is not None:
        unit = unit.parent
        above.append(unit)
    return above


def seeds(app: Flask, walked: set[str]) -> list[str]:
    """URLs, with real ids, of the GET routes the links did not lead to."""
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint in walked:
                continue
            if rule.endpoint in NOT_LINKED or rule.endpoint == "static":
                continue
            for values in real_ids(app):
                if set(rule.arguments) <= set(values):
                    args = {name: values[name] for name in rule.arguments}
                    urls.append(url_for(rule.endpoint, **args))
    return urls


def walk(
    app: Flask, client: FlaskClient, words: re.Pattern[str] = MUNICIPAL_WORDS
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Follow every link from the home page (GETs only), then try the routes no link led to
    with real ids. Returns the municipal words found per URL, and the endpoint of every URL
    that answered 200."""
    adapter = app.url_map.bind("localhost")
    found: dict[str, list[str]] = {}
    tried: set[tuple[str, bool]] = set()
    read: dict[str, str] = {}
    per_endpoint: dict[str, int] = defaultdict(int)
    queue: list[tuple[str, bool]] = [("/", False)]  # (URL, asked for by htmx)
    seeded = False
    while queue or not seeded:
        if not queue:
            queue, seeded = [(url, False) for url in seeds(app, set(read.values()))], True
            continue
        url, by_htmx = queue.pop(0)
        if (url, by_htmx) in tried:
            continue
        tried.add((url, by_htmx))
        try:
            endpoint, _ = adapter.match(urlsplit(url).path, method="GET")
        except RequestRedirect:
            continue
        except HTTPException:
            continue  # a POST-only route in a link's form action, or outside the app
        if endpoint in ("static", "auth.logout") or per_endpoint[endpoint] >= PER_ENDPOINT:
            continue
        response = client.get(url, headers={"HX-Request": "true"} if by_htmx else {})
        if response.status_code in (301, 302, 303):
            read[url] = endpoint  # reached: it sends the reader on (a choice made for them)
            queue.append((response.headers["Location"], False))
            continue
        if response.status_code != 200:
            continue  # not this role's, or an hx-get that needs its form's fields
        per_endpoint[endpoint] += 1
        read[url] = endpoint
        if seen := leaks(text_of(response), words):
            found[url] = seen
        if response.headers.get("Content-Type", "").startswith("text/html"):
            for attribute, link in LINK.findall(response.get_data(as_text=True)):
                parts = urlsplit(html.unescape(link))
                if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
                    continue
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                queue.append((path, attribute == "hx-get"))
    return found, read


SCHOOL_ROLES = {
    "hr": "survey owner",
    "chef.bf": "management / department leader",
    "leder": "leader of an education",
    "medarbejder": "class team",
    "med": "student council",
    "udvalg": "board",
}


@pytest.fixture(scope="module")
def issued(school: Flask, inbox: Inbox) -> dict[str, str]:
    """The annual report made as a draft PDF and issued to the board, a plan sent for
    approval and a user invited: the texts of the PDFs, the job pages and the e-mails."""
    texts: dict[str, str] = {}
    # In a school only management issues, after a named person has approved the report.
    head = signed_in(school, email("hr"))
    url = "/reports/annual/AK-BF/2026"
    annual = head.get(url).get_data(as_text=True)
    asking = re.search(r'name="approver"[^>]*>(.*?)</select>', annual, re.S)
    assert asking, "management can ask for an approval"
    approver_id = re.findall(r'value="([1-9]\d*)"', asking.group(1))[0]
    version = re.search(r'name="version"[^>]*value="(\d+)"', annual).group(1)
    data = {"approver": approver_id, "version": version}
    assert head.post(f"{url}/approval", data=data).status_code == 302
    with school.app_context():
        approver_email = db.session.get(User, int(approver_id)).email
    approver = signed_in(school, approver_email)
    shown = approver.get(url).get_data(as_text=True)  # the version the approver reads
    version = re.findall(r'name="version"[^>]*value="(\d+)"', shown)[-1]
    approved = approver.post(f"{url}/approve", data={"version": version})
    assert approved.status_code == 302
    page = head.get(f"{url}/issue").get_data(as_text=True)
    version = re.search(r'name="version"[^>]*value="(\d+)"', page)
    assert version, "the issue page names the draft version it shows"
    for action, data in (("pdf", {}), ("issue", {"version": version.group(1), "confirm": "y"})):
        started = head.post(f"{url}/{action}", data=data)
        assert started.status_code == 302, (action, started.status_code)
        job = started.headers["Location"]
        texts[f"{action} job page"] = text_of(head.get(job))
        pdf = head.get(f"{job}/download", follow_redirects=True)
        assert pdf.headers["Content-Type"] == "application/pdf", action
        texts[f"{action} PDF"] = text_of(pdf)
    with school.app_context():
        invitee = db.session.scalar(select(User.id).where(User.email == email("med")))
    hr = signed_in(school, email("hr"))
    assert hr.post(f"/admin/users/{invitee}/invite").status_code in (200, 302)
    # A plan with themes that nobody has sent for approval yet: the survey owner sends it.
    with school.app_context():
        waiting = select(PlanApproval.follow_up_id)
        plans = db.session.execute(
            select(FollowUp.measurement_id, Unit.code)
            .join(Unit, Unit.id == FollowUp.unit_id)
            .where(FollowUp.id.in_(select(PlanTheme.follow_up_id)), FollowUp.id.not_in(waiting))
            .where(FollowUp.approved_at.is_(None))
        ).all()
    for measurement_id, code in plans:
        send_url = f"/followup/{measurement_id}/{code}/plan/send"
        form = hr.get(send_url).get_data(as_text=True)
        if head_id := re.search(r'name="head"[^>]*>\s*<option[^>]*value="(\d+)"', form):
            texts["send for approval page"] = visible_text(form)
            break
    assert head_id, "a plan can be sent for approval"
    sent = hr.post(send_url, data={"head": head_id.group(1), "hr": "0", "message": "Klar"})
    assert sent.status_code == 302, visible_text(sent.get_data(as_text=True))[:3000]
    inbox.wait_for(5)
    for mail in inbox:
        texts[f"e-mail {Inbox.subject(mail)}"] = f"{Inbox.subject(mail)}\n{Inbox.body(mail)}"
    return texts


def test_a_school_reads_no_municipal_words_on_any_page(
    school: Flask, issued: dict[str, str]
) -> None:
    everywhere: dict[str, list[str]] = {}
    endpoints: set[str] = set()
    for who in SCHOOL_ROLES:
        found, read = walk(school, signed_in(school, email(who)))
        everywhere.update({f"{who} {url}": words for url, words in found.items()})
        endpoints |= set(read.values())
    signed_out = school.test_client()
    for url in ("/auth/login", "/auth/forgot-password"):
        if words := leaks(text_of(signed_out.get(url))):
            everywhere[url] = words
    first_seen: dict[str, str] = {}  # each leak once, with the first page it was seen on
    for where, words in everywhere.items():
        for word in words:
            first_seen.setdefault(word, where)
    assert not first_seen, "\n".join(f"{where}: …{word}…" for word, where in first_seen.items())
    gets = {rule.endpoint for rule in school.url_map.iter_rules() if "GET" in rule.methods}
    unreached = sorted(gets - endpoints - set(NOT_LINKED))
    assert not unreached, f"pages the walk never reached: {unreached}"


def test_the_school_demo_reads_no_municipal_words(gymnasium: Flask) -> None:
    first_seen: dict[str, str] = {}
    for login in school_logins(newest_year(date.today())):
        found, _ = walk(gymnasium, signed_in(gymnasium, login.email))
        for url, words in found.items():
            for word in words:
                first_seen.setdefault(word, f"{login.what} {url}")
    assert not first_seen, "\n".join(f"{where}: …{word}…" for word, where in first_seen.items())


def test_a_schools_annual_pdf_and_emails_speak_the_schools_words(issued: dict[str, str]) -> None:
    assert {"pdf PDF", "issue PDF", "pdf job page", "issue job page"} <= set(issued)
    subjects = [name for name in issued if name.startswith("e-mail")]
    # The board's notice of the issued report, the invitation, the approval request.
    assert len(subjects) >= 3, subjects
    assert any("bestyrelse" in subject.lower() for subject in subjects), subjects
    assert "Elevtrivsel" in issued["issue PDF"]
    assert {name: leaks(text) for name, text in issued.items()} == {name: [] for name in issued}


def test_a_municipality_keeps_its_words(municipality: Flask) -> None:
    found, read = walk(municipality, signed_in(municipality, f"leder@{DEMO_DOMAIN}"))
    words = " ".join(word for found_words in found.values() for word in found_words).lower()
    assert "trio" in words and "med-udvalg" in words
    assert "followup.step" in read.values()


def test_a_municipality_reads_no_school_words_on_any_page(
    municipality: Flask, gymnasium: Flask
) -> None:
    # The words are found where they belong: a teacher's home page names the class team.
    teacher = signed_in(gymnasium, owner_email(gymnasium).replace("ejer@", "laerer@"))
    assert leaks(text_of(teacher.get("/")), SCHOOL_WORDS)
    first_seen: dict[str, str] = {}
    for login in DEMO_LOGINS:
        found, _ = walk(municipality, signed_in(municipality, login.email), SCHOOL_WORDS)
        for url, words in found.items():
            for word in words:
                first_seen.setdefault(word, f"{login.email} {url}")
    assert not first_seen, "\n".join(f"{where}: …{word}…" for word, where in first_seen.items())


def mapping_walk(app: Flask, client: FlaskClient, path: Path) -> dict[str, str]:
    """A file in a survey tool's layout taken through the mapping screen by the survey owner:
    the screen, a mapping that does not fit (it comes back with its messages), the checked
    file, the saved profile on the upload page, its rename and delete pages. The visible
    text of each, by name."""
    with app.app_context():
        measurement_id = db.session.scalars(
            select(Measurement.id).order_by(Measurement.year.desc())
        ).first()
    assert measurement_id is not None
    token = stage(app, measurement_id, path.read_bytes(), email=owner_email(app), name=path.name)
    texts: dict[str, str] = {}
    screen = client.get(f"/imports/staged/{token}/mapping")
    assert screen.status_code == 200
    texts["mapping screen"] = text_of(screen)
    fields = shown_form(screen.get_data(as_text=True))
    wrong = client.post(
        f"/imports/staged/{token}/mapping", data={**fields, "action": "check", "col-unit_id": ""}
    )
    assert wrong.status_code == 400
    texts["mapping that does not fit"] = text_of(wrong)
    data = {**fields, "action": "check", "save_profile": "y", "profile_name": "Defgo bred"}
    checked = client.post(f"/imports/staged/{token}/mapping", data=data)
    assert checked.status_code == 302, leaks(text_of(checked))
    texts["checked file"] = text_of(client.get(checked.headers["Location"]))
    upload = client.get("/imports/")
    texts["upload page with the profile"] = text_of(upload)
    with app.app_context():
        profile_id = db.session.scalar(select(ImportProfile.id))
    for page in ("rename", "delete"):
        texts[f"profile {page}"] = text_of(client.get(f"/imports/profiles/{profile_id}/{page}"))
    return texts


def owner_email(app: Flask) -> str:
    with app.app_context():
        return db.session.scalars(select(User.email).where(User.email.startswith("ejer@"))).one()


def test_a_schools_mapping_and_profile_pages_speak_the_schools_words(
    gymnasium: Flask, tmp_path: Path
) -> None:
    native = mapping_files.read_native(mapping_files.generate("gym", tmp_path / "gym.csv"))
    units = native.units[:8]
    keep = {unit["unit_id"] for unit in units}
    path = tmp_path / "defgo-bred.csv"
    small = mapping_files.Native([row for row in native.rows if row["unit_id"] in keep])
    mapping_files.write_wide(small, path, values="percent")
    texts = mapping_walk(gymnasium, signed_in(gymnasium, owner_email(gymnasium)), path)
    assert "Defgo bred" in texts["upload page with the profile"]
    assert {name: leaks(text) for name, text in texts.items()} == {name: [] for name in texts}


def test_the_scrub_leaves_kompas_wording_alone() -> None:
    assert scrub("Lederen og trioen planlægger; MED-udvalget med HR og uddannelseslederen") == (
        "xxxxxxx og xxxxxx planlægger; xxx-udvalget med xx og uddannelseslederen"
    )
    assert json.dumps(scrub_value({"a": ["Medarbejdere"]})) == '{"a": ["xxxxxxxxxxxx"]}'


def test_the_admin_examples_name_a_unit_of_the_schools_own(gymnasium: Flask) -> None:
    """The role form and the user-import example showed a municipal team id (AK-BF-001) at a
    gymnasium: they now show an id of the organisation's own, a class."""
    owner = signed_in(gymnasium, owner_email(gymnasium))
    with gymnasium.app_context():
        user_id = db.session.scalars(select(User.id).where(User.email.startswith("laerer@"))).one()
        classes = set(db.session.scalars(select(Unit.code).where(Unit.unit_type == "klasse")))
    role_form = visible_text(owner.get(f"/admin/users/{user_id}").get_data(as_text=True))
    example = re.search(r"Enhedens id, fx (\S+)\. Begynd", role_form)
    assert example and example.group(1) in classes, role_form[:300]
    upload = owner.get("/admin/users/import").get_data(as_text=True)
    unit_cells = re.findall(r"<td>[^<]*@example\.dk</td><td>([^<]+)</td>", upload)
    assert len(unit_cells) == 2 and set(unit_cells) <= classes, unit_cells
    assert "AK-BF" not in role_form + upload
