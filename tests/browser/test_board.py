"""A member moves actions along the status arrow in a real browser: by dragging a card with
the mouse (SortableJS) and by the keyboard alone (the card's buttons), with the focus kept
on the moved card and the outcome read out; a move made from a stale page is refused with
the current state (two pages); a move that fails (no connection, refused by the server) is
not left on the screen as if saved; the list view and a card's history. Every page state is
checked with axe-core, and the database is checked for what was stored.

The board must fit a 390-px phone; set KOMPAS_SCREENSHOTS to a folder to keep a desktop and
a phone screenshot of it.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from babel.dates import format_date
from flask import Flask
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Action,
    ActionStatus,
    ActionUpdate,
    Organisation,
    OrganisationKind,
    Role,
    Unit,
    User,
)
from app.services import board, followup
from app.services.users import assign_role, create_user
from tests.browser.conftest import look
from tests.browser.conftest import sign_in as sign_in_afresh
from tests.followup_data import measure

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
MEMBER = "mads@testby.dk"


@pytest.fixture
def actions(live_app: Flask) -> dict[str, int]:
    """The small measured organisation (tests/followup_data.py) with three actions on Enhed
    A1, led by Lise; Mads works there and owns two of them. Lise has already started one
    (with a comment) and passed it on to the MED committee; the other two are not started."""
    with live_app.app_context():
        db.session.add(Organisation(name="Testby Kommune", kind=OrganisationKind.MUNICIPALITY))
        measurement = measure()
        a1 = db.session.scalar(select(Unit).where(Unit.code == "A1"))
        people = {}
        for email, name, role in [
            ("leder@testby.dk", "Lise Dahl", Role.LEADER),
            (MEMBER, "Mads Berg", Role.MEMBER),
        ]:
            people[email] = create_user(db.session, None, email=email, name=name, password=PASSWORD)
            assign_role(db.session, None, people[email], a1, role)
        leader = people["leder@testby.dk"]
        follow_up = followup.start(db.session, leader, measurement, a1)
        theme = followup.add_theme(
            db.session,
            leader,
            follow_up,
            title="Psykologisk tryghed",
            current_score=None,
            target_score=None,
            goal="",
            approach="",
        )
        today = date.today()
        ids = {}
        for key, title, owner, days in [
            ("overdue", "Makkerordning", people[MEMBER], -2),
            ("soon", "Fredagsmøde", people[MEMBER], 3),
            ("later", "Kursus i konflikthåndtering", None, 30),
        ]:
            action = followup.add_action(
                db.session,
                leader,
                follow_up,
                title=title,
                deadline=today + timedelta(days=days),
                owner=owner,
                theme=theme if key != "later" else None,
            )
            ids[key] = action.id
        started = db.session.get(Action, ids["overdue"])
        followup.escalate(db.session, leader, started, to_function="MED-udvalget")
        board.move(
            db.session,
            leader,
            started,
            ActionStatus.STARTED,
            expected_version=started.version,
            comment="Parrene er sat sammen",
        )
        db.session.commit()
    return ids


def sign_in(tab: Page, email: str) -> None:
    sign_in_afresh(tab, email, PASSWORD)


def open_board(tab: Page) -> None:
    tab.get_by_role("navigation", name="Hovedmenu").get_by_role("link", name="Statuspil").click()
    tab.wait_for_url("**/board/")
    expect(tab.locator("h1")).to_have_text("Statuspil")


def column(tab: Page, label: str) -> Locator:
    """One column of the board, by its heading ("Halvvejs (1)")."""
    return tab.locator(".kompas-column").filter(
        has=tab.get_by_role("heading", name=re.compile(rf"^{label} \(\d+\)$"))
    )


def card(tab: Page, title: str) -> Locator:
    return tab.locator(".kompas-card").filter(has=tab.get_by_role("link", name=title, exact=True))


def titles(tab: Page, label: str) -> list[str]:
    return column(tab, label).locator(".kompas-card__title").all_inner_texts()


def stored(live_app: Flask, action_id: int) -> tuple[int, int, list[tuple[int, str]]]:
    """The action's status and version in the database, and its updates (status, who)."""
    with live_app.app_context():
        action = db.session.get(Action, action_id)
        updates = db.session.scalars(
            select(ActionUpdate).where(ActionUpdate.action_id == action_id).order_by("id")
        ).all()
        return (
            action.status,
            action.version,
            [(u.status, db.session.get(User, u.user_id).email) for u in updates],
        )


def facts(item: Locator) -> list[tuple[str, str]]:
    """The card's terms and values, as a screen reader reads them."""
    terms = item.locator("dt").evaluate_all("els => els.map(e => e.textContent.trim())")
    values = item.locator("dd").evaluate_all("els => els.map(e => e.textContent.trim())")
    return list(zip(terms, values, strict=True))


def focused_id(tab: Page) -> str:
    return tab.evaluate("document.activeElement && document.activeElement.id")


def drag_by_hand(tab: Page, item: Locator, target: Locator) -> None:
    """Press on the card, move the mouse to the column in small steps, release. At a
    person's pace: SortableJS ignores the pointer for a moment after each card it moves."""
    item.scroll_into_view_if_needed()
    source = item.locator(".kompas-card__facts").bounding_box()
    goal = target.locator("ol").bounding_box()
    assert source and goal
    start = (source["x"] + 10, source["y"] + 5)
    end = (goal["x"] + goal["width"] / 2, goal["y"] + 20)
    tab.mouse.move(*start)
    tab.mouse.down()
    for step in range(1, 11):
        tab.mouse.move(
            start[0] + (end[0] - start[0]) * step / 10,
            start[1] + (end[1] - start[1]) * step / 10,
        )
        tab.wait_for_timeout(50)
    tab.mouse.move(end[0], end[1] + 5)
    tab.wait_for_timeout(50)
    tab.mouse.up()


def test_member_drags_a_card_to_another_column(page, live_app: Flask, actions) -> None:
    tab = page.page
    # The move sent while "offline": Chromium and htmx both report it.
    for error in ("net::ERR_FAILED", "htmx:sendError", "htmx:afterRequest"):
        page.expect_console_error(error)
    sign_in(tab, MEMBER)
    open_board(tab)
    assert titles(tab, "Ikke startet") == ["Fredagsmøde", "Kursus i konflikthåndtering"]
    assert titles(tab, "Startet") == ["Makkerordning"]
    assert titles(tab, "Halvvejs") == []
    # A card shows its theme, owner, deadline (overdue and due soon in words as well as by
    # colour), where it was passed on to, and the last comment.
    started = card(tab, "Makkerordning")
    deadline = date.today() - timedelta(days=2)
    assert facts(started) == [
        ("Tema", "Psykologisk tryghed"),
        ("Tovholder", "Mads Berg"),
        ("Deadline", f"{format_date(deadline, 'medium', locale='da')} (over tid)"),
        ("Sendt videre til", "MED-udvalget"),
    ]
    expect(started.locator(".kompas-card__comment")).to_have_text("“Parrene er sat sammen”")
    expect(card(tab, "Fredagsmøde")).to_contain_text("(snart deadline)")
    page.check_accessibility()
    look(tab, "board")

    # Drag "Fredagsmøde" onto the empty "Halvvejs" column.
    card(tab, "Fredagsmøde").locator(".kompas-card__facts").drag_to(
        column(tab, "Halvvejs").locator("ol")
    )
    expect(column(tab, "Halvvejs").locator("h2")).to_have_text("Halvvejs (1)")
    assert titles(tab, "Halvvejs") == ["Fredagsmøde"]
    assert titles(tab, "Ikke startet") == ["Kursus i konflikthåndtering"]
    assert tab.locator("#board-columns").count() == 1  # replaced, not nested
    # Read out from a live region that was on the page before the move.
    expect(tab.locator("#board-status")).to_have_text("“Fredagsmøde” står nu på “Halvvejs”.")
    assert tab.locator("#board-status").get_attribute("role") == "status"
    # The card is the server's now: the version and buttons of "Halvvejs".
    expect(card(tab, "Fredagsmøde")).to_have_attribute("data-version", "2")
    expect(card(tab, "Fredagsmøde").get_by_role("button")).to_have_text(
        ["◀ Startet", "Næsten færdig ▶"]
    )
    assert stored(live_app, actions["soon"]) == (2, 2, [(2, MEMBER)])
    assert stored(live_app, actions["later"])[:2] == (0, 1)
    page.check_accessibility()

    # A reload shows the same: the move is the database's, not only the page's.
    tab.reload()
    assert titles(tab, "Halvvejs") == ["Fredagsmøde"]

    # A move that does not reach the server is not left on the screen as if it had.
    tab.route("**/board/actions/*/move", lambda route: route.abort())
    drag_by_hand(tab, card(tab, "Kursus i konflikthåndtering"), column(tab, "Næsten færdig"))
    failed = tab.get_by_role("alert").filter(has_text="Din flytning blev ikke gemt")
    expect(failed).to_be_visible()
    assert titles(tab, "Ikke startet") == ["Kursus i konflikthåndtering"]
    assert titles(tab, "Næsten færdig") == []
    assert stored(live_app, actions["later"])[:2] == (0, 1)
    page.check_accessibility()
    look(tab, "board-move-failed")
    tab.unroute("**/board/actions/*/move")

    # Dragged again, by hand in small steps, all the way to "Færdig".
    drag_by_hand(tab, card(tab, "Kursus i konflikthåndtering"), column(tab, "Færdig"))
    expect(column(tab, "Færdig").locator("h2")).to_have_text("Færdig (1)")
    assert titles(tab, "Færdig") == ["Kursus i konflikthåndtering"]
    assert titles(tab, "Ikke startet") == []
    expect(failed).to_have_count(0)
    assert stored(live_app, actions["later"]) == (4, 2, [(4, MEMBER)])
    page.check_accessibility()


def test_member_moves_a_card_by_keyboard_and_meets_a_conflict(
    page, live_app: Flask, actions
) -> None:
    tab = page.page
    page.expect_console_error("status of 400")  # the move with a bad CSRF token
    page.expect_console_error("status of 409")  # the stale move, refused with the board
    sign_in(tab, MEMBER)
    open_board(tab)

    # Tab from the top of the page to the card's "▶" button: the keyboard reaches it.
    forward = f"move-{actions['later']}-on"
    tab.locator("body").focus()
    for _ in range(80):
        tab.keyboard.press("Tab")
        if focused_id(tab) == forward:
            break
    assert focused_id(tab) == forward, "Tab never reached the card's button"
    button = tab.locator(f"#{forward}")
    expect(button).to_have_accessible_name("Flyt frem: Kursus i konflikthåndtering → Startet")
    expect(button).to_have_text("Startet ▶")

    # Enter moves the card one column on; the focus stays on the same card's button.
    tab.keyboard.press("Enter")
    expect(column(tab, "Startet").locator("h2")).to_have_text("Startet (2)")
    assert titles(tab, "Startet") == ["Makkerordning", "Kursus i konflikthåndtering"]
    expect(button).to_be_focused()
    assert focused_id(tab) == forward
    expect(button).to_have_accessible_name("Flyt frem: Kursus i konflikthåndtering → Halvvejs")
    expect(tab.locator("#board-status")).to_have_text(
        "“Kursus i konflikthåndtering” står nu på “Startet”."
    )
    page.check_accessibility()

    # Enter again: on to "Halvvejs", still with the focus.
    tab.keyboard.press("Enter")
    expect(column(tab, "Halvvejs").locator("h2")).to_have_text("Halvvejs (1)")
    assert titles(tab, "Startet") == ["Makkerordning"]
    assert titles(tab, "Halvvejs") == ["Kursus i konflikthåndtering"]
    expect(button).to_be_focused()
    expect(tab.locator("#board-status")).to_have_text(
        "“Kursus i konflikthåndtering” står nu på “Halvvejs”."
    )
    assert stored(live_app, actions["later"]) == (2, 3, [(1, MEMBER), (2, MEMBER)])
    page.check_accessibility()

    # A move the server refuses (here: the form's CSRF token has gone bad) leaves the board
    # as it was, and says so; the focus stays on the button.
    tab.evaluate("document.querySelectorAll('[name=csrf_token]').forEach(i => i.value = 'x')")
    tab.keyboard.press("Enter")
    failed = tab.get_by_role("alert").filter(has_text="Din flytning blev ikke gemt")
    expect(failed).to_be_visible()
    assert titles(tab, "Halvvejs") == ["Kursus i konflikthåndtering"]
    assert tab.locator("#board-columns").count() == 1  # not replaced by the error
    expect(button).to_be_focused()
    assert stored(live_app, actions["later"])[:2] == (2, 3)
    page.check_accessibility()
    tab.reload()  # as the message says
    expect(failed).to_have_count(0)

    # The board in a second page: the card is moved on there, while the first page still
    # shows it at "Halvvejs" and moves it back from there.
    other = tab.context.new_page()
    other_errors: list[str] = []
    other.on("console", lambda m: other_errors.append(m.text) if m.type == "error" else None)
    other.goto("/board/")
    card(other, "Kursus i konflikthåndtering").get_by_role(
        "button", name=re.compile("^Flyt frem")
    ).click()
    expect(column(other, "Næsten færdig").locator("h2")).to_have_text("Næsten færdig (1)")
    assert stored(live_app, actions["later"])[:2] == (3, 4)

    back = tab.locator(f"#move-{actions['later']}-back")
    assert titles(tab, "Halvvejs") == ["Kursus i konflikthåndtering"]  # stale
    expect(back).to_have_accessible_name("Flyt tilbage: Kursus i konflikthåndtering → Startet")
    back.focus()
    tab.keyboard.press("Enter")
    conflict = tab.get_by_role("alert").filter(has_text="En anden nåede")
    expect(conflict).to_have_text(
        "En anden nåede at ændre “Kursus i konflikthåndtering” først: den står nu på "
        "“Næsten færdig”. Din flytning til “Startet” blev ikke gemt. Se på kortet, og flyt "
        "det igen, hvis det stadig skal."
    )
    # The board shows the card where it is now; nothing was saved, nothing said as done.
    assert titles(tab, "Halvvejs") == []
    assert titles(tab, "Næsten færdig") == ["Kursus i konflikthåndtering"]
    assert stored(live_app, actions["later"])[:2] == (3, 4)
    expect(tab.locator("#board-status")).to_have_text("")
    expect(back).to_be_focused()
    page.check_accessibility()
    look(tab, "board-conflict")

    # Moved again from the current state, the move goes through.
    expect(back).to_have_accessible_name("Flyt tilbage: Kursus i konflikthåndtering → Halvvejs")
    tab.keyboard.press("Enter")
    expect(column(tab, "Halvvejs").locator("h2")).to_have_text("Halvvejs (1)")
    expect(conflict).to_have_count(0)
    assert stored(live_app, actions["later"])[:2] == (2, 5)
    assert other_errors == []
    other.close()

    # The same actions as a list, and the card's history, pass axe too.
    tab.goto("/board/?view=list")
    table = tab.get_by_role("table", name="Handlinger")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table.get_by_role("row").filter(has_text="Kursus")).to_contain_text("Halvvejs")
    expect(table.get_by_role("row").filter(has_text="Makkerordning")).to_contain_text(
        "Sendt videre til MED-udvalget"
    )
    page.check_accessibility()
    look(tab, "board-list")

    table.get_by_role("link", name="Kursus i konflikthåndtering").click()
    tab.wait_for_url(f"**/board/actions/{actions['later']}")
    expect(tab.locator("h1")).to_have_text("Kursus i konflikthåndtering")
    history = tab.locator("h2:has-text('Historik') + ol > li")
    expect(history).to_have_count(4)
    expect(history.first).to_contain_text("Halvvejs · Mads Berg")
    expect(history.nth(1)).to_contain_text("Næsten færdig · Mads Berg")
    page.check_accessibility()
    look(tab, "board-detail")


def test_a_long_column_shows_more_cards_in_place_with_the_focus_on_the_first_new_one(
    page, live_app: Flask, actions
) -> None:
    with live_app.app_context():
        leader = db.session.scalar(select(User).where(User.email == "leder@testby.dk"))
        follow_up = db.session.get(Action, actions["later"]).follow_up
        for n in range(12):  # with "Fredagsmøde" and the course: 14 not started
            followup.add_action(db.session, leader, follow_up, title=f"Opgave {n:02d}",
                                deadline=date.today() + timedelta(days=40 + n))  # fmt: skip
        db.session.commit()
    tab = page.page
    sign_in(tab, MEMBER)
    open_board(tab)
    waiting = column(tab, "Ikke startet")
    expect(waiting.locator("h2")).to_have_text("Ikke startet (14)")
    expect(waiting.locator(".kompas-card")).to_have_count(10)
    page.check_accessibility()

    more = waiting.get_by_role("link", name="Vis 4 mere (Ikke startet)")
    more.focus()
    tab.keyboard.press("Enter")
    expect(waiting.locator(".kompas-card")).to_have_count(14)
    expect(tab.get_by_role("link", name="Opgave 08", exact=True)).to_be_focused()
    expect(waiting.get_by_role("link", name=re.compile("^Vis "))).to_have_count(0)
    assert "cards=20" in tab.url  # the address says what is shown: a reload keeps it
    page.check_accessibility()


def test_hr_opens_the_whole_organisations_board_and_finds_its_own_actions(
    page, live_app: Flask, actions
) -> None:
    """HR holds its role at the top: the board opens on every unit (it opened on the top unit
    alone, which has no actions of its own: an empty board). "Mine handlinger" holds none of
    HR's here, and offers no link to itself."""
    with live_app.app_context():
        top = db.session.scalar(select(Unit).where(Unit.parent_id.is_(None)))
        hr = create_user(db.session, None, email="hr@testby.dk", name="Hanne HR", password=PASSWORD)
        assign_role(db.session, None, hr, top, Role.ADMIN)
        db.session.commit()
    tab = page.page
    sign_in(tab, "hr@testby.dk")
    open_board(tab)
    expect(tab.locator("#scope option:checked")).to_have_text("Alle enheder")
    assert titles(tab, "Ikke startet") == ["Fredagsmøde", "Kursus i konflikthåndtering"]
    assert titles(tab, "Startet") == ["Makkerordning"]
    expect(card(tab, "Makkerordning")).to_contain_text("Enhed A1")  # cards name their unit
    page.check_accessibility()
    look(tab, "board-hr")
    tab.locator("#scope").select_option("mine")
    expect(tab.get_by_text("Der er ingen handlinger her endnu.")).to_have_count(0)
    expect(tab.locator("#board-content")).to_contain_text("0 handlinger")
    page.check_accessibility()
