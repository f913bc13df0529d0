"""A leader walks one unit through the five steps of the follow-up in a real browser: the
analysis, the dialogue preparation and its printable invitation, the dialogue meeting, the
action plan with its status arrow and approval, and the evaluation. Autosave (htmx), an
autosave that fails and a failed save that keeps what was typed are checked on the way, and
a member reads what the leader wrote. Every page and state is checked with axe-core.

Each step page must fit a 390-px phone; set KOMPAS_SCREENSHOTS to a folder to keep a desktop
and a phone screenshot of each.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import Organisation, OrganisationKind, PlanApproval, Role, Unit
from app.services import approval as approval_service
from app.services.users import assign_role, create_user
from tests.browser.conftest import AxePage, look
from tests.browser.conftest import sign_in as sign_in_afresh
from tests.followup_data import measure

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
SAVED = re.compile(r"^Gemt \d")  # "Gemt 22.11.2026 17.20": the autosave's answer
# Buttons name what they act on for screen readers, in a hidden span after the visible text.
MAKE_ACTION = re.compile(r"^Gør det til en handling\W+\w")


@pytest.fixture
def measured(live_app: Flask) -> int:
    """The small measured organisation (tests/followup_data.py). Lise leads Enhed A2, a red
    unit with low psychological safety; Mads works there; Bo is the department head above."""
    with live_app.app_context():
        db.session.add(Organisation(name="Testby Kommune", kind=OrganisationKind.MUNICIPALITY))
        measurement_id = measure().id
        for email, name, code, role in [
            ("leder@testby.dk", "Lise Dahl", "A2", Role.LEADER),
            ("mads@testby.dk", "Mads Berg", "A2", Role.MEMBER),
            ("bo@testby.dk", "Bo Holm", "A", Role.LEADER),
        ]:
            user = create_user(db.session, None, email=email, name=name, password=PASSWORD)
            unit = db.session.query(Unit).filter_by(code=code).one()
            assign_role(db.session, None, user, unit, role)
        db.session.commit()
    return measurement_id


def sign_in(tab: Page, email: str) -> None:
    sign_in_afresh(tab, email, PASSWORD)


def steps_nav(tab: Page) -> Locator:
    return tab.get_by_role("navigation", name="Opfølgningens fem trin")


def step_states(tab: Page) -> list[str]:
    """The state of each step in the step indicator: "Færdig", "I gang" or "Ikke startet"."""
    lines = steps_nav(tab).locator(".step-information").all_inner_texts()
    return [line.split("·")[0].strip() for line in lines]


def save_step(tab: Page, state: str = "Færdig") -> None:
    """Choose the step's state and press "Gem": an ordinary post, back to the same page."""
    tab.get_by_label("Status for dette trin").select_option(label=state)
    tab.get_by_role("button", name="Gem", exact=True).click()
    expect(flash(tab, "Gemt.")).to_be_visible()


def flash(tab: Page, text: str) -> Locator:
    return tab.get_by_role("status").filter(has_text=text)


def proposal(tab: Page, text: str) -> Locator:
    return tab.get_by_role("listitem").filter(has_text=text)


def action_row(tab: Page, title: str) -> Locator:
    return tab.get_by_role("row").filter(has=tab.get_by_role("rowheader", name=title))


def test_leader_walks_a_unit_through_the_five_steps(page, live_app: Flask, measured: int) -> None:
    tab = page.page
    page.expect_console_error("status of 400")  # the forms sent back with their errors
    sign_in(tab, "leder@testby.dk")
    page.check_accessibility()

    # The unit page, then the follow-up: not started yet, the red route explained.
    tab.get_by_role("link", name="Enhed A2").click()
    tab.wait_for_url("**/units/A2")
    page.check_accessibility()
    tab.get_by_role("link", name="Åbn opfølgningen").click()
    tab.wait_for_url(f"**/followup/{measured}/A2/")
    assert tab.locator("h1").inner_text() == "Opfølgning for Enhed A2"
    expect(tab.get_by_text("Rød enhed: opfølgning med afdelingschefen og HR")).to_be_visible()
    look(tab, "0-hub")
    page.check_accessibility()

    tab.get_by_role("button", name="Start opfølgningen").click()
    tab.wait_for_url(f"**/followup/{measured}/A2/analysis")
    assert step_states(tab) == ["Ikke startet"] * 5
    expect(tab.get_by_text("Den psykologiske tryghed er lav")).to_be_visible()
    look(tab, "1-analysis")
    page.check_accessibility()

    # 1. Analysis. Typing in any text field saves by itself (htmx), without a page load.
    tab.evaluate("window.notReloaded = true")
    status = tab.locator("#save-status")
    expect(status).to_have_text("")
    tab.get_by_label("Noter").fill("Vi ser på tonen i teamet.")
    expect(status).to_have_text(SAVED)
    assert tab.evaluate("window.notReloaded") is True
    page.check_accessibility()
    tab.get_by_label("Styrker").fill("Vi hjælper hinanden, når det brænder på.")
    focus = tab.get_by_role("group", name="Temaer")
    focus.get_by_role("checkbox", name="Min enhed – psykologisk tryghed").check()
    save_step(tab)
    assert tab.get_by_label("Noter").input_value() == "Vi ser på tonen i teamet."
    assert tab.get_by_role("checkbox", name="Min enhed – psykologisk tryghed").is_checked()
    assert step_states(tab)[0] == "Færdig"
    page.check_accessibility()

    # 2. Dialogue preparation, and its printable invitation.
    steps_nav(tab).get_by_role("link", name="Forberedelse af dialog").click()
    tab.wait_for_url(f"**/followup/{measured}/A2/preparation")
    assert tab.get_by_label("Varighed").input_value() == "2½–3 timer"
    assert "Velkomst og spilleregler" in tab.get_by_label("Dagsorden").input_value()
    page.check_accessibility()
    tab.get_by_label("Dato for dialogmødet").fill("2026-04-21")
    tab.get_by_label("Tidspunkt").fill("kl. 9.00")
    tab.get_by_label("Sted").fill("Mødelokale 2")
    tab.get_by_label("Facilitator").fill("Karen Holm (HR)")
    tab.get_by_label("Tidtager").fill("Mads Berg")
    tab.get_by_label("Referent").fill("Lise Dahl")
    save_step(tab)
    assert tab.get_by_label("Sted").input_value() == "Mødelokale 2"
    look(tab, "2-preparation")
    page.check_accessibility()
    tab.get_by_role("link", name="Invitation og mødeark til udskrift").click()
    tab.wait_for_url(f"**/followup/{measured}/A2/invitation")
    assert tab.locator("h1").inner_text() == "Invitation til dialogmøde"
    sheet = tab.locator("article")
    for text in ("21. april 2026 kl. 9.00", "Mødelokale 2", "2½–3 timer", "Karen Holm (HR)",
                 "Mads Berg", "Tænk inden mødet over", "Velkomst og spilleregler"):  # fmt: skip
        expect(sheet).to_contain_text(text)
    look(tab, "2-invitation")
    page.check_accessibility()
    tab.get_by_role("link", name="Tilbage til forberedelsen").click()
    tab.wait_for_url(f"**/followup/{measured}/A2/preparation")

    # 3. Dialogue meeting. An autosave that does not validate says so in the save status,
    # and the page and everything typed stay.
    steps_nav(tab).get_by_role("link", name="Dialogmøde").click()
    tab.wait_for_url(f"**/followup/{measured}/A2/dialogue")
    page.check_accessibility()
    tab.evaluate("window.notReloaded = true")
    tab.get_by_label("Noter fra dialogen").fill("Vi talte om at sige fra.")
    tab.get_by_label("Antal deltagere").fill("-6")
    expect(status).to_have_text(re.compile(r"^Ikke gemt"))
    expect(tab.get_by_role("alert")).to_contain_text("Ikke gemt")
    assert tab.evaluate("window.notReloaded") is True
    assert tab.get_by_label("Noter fra dialogen").input_value() == "Vi talte om at sige fra."
    assert tab.locator("h1").count() == 1  # nothing but the status was swapped in
    page.check_accessibility()
    tab.get_by_label("Antal deltagere").fill("6")
    expect(status).to_have_text(SAVED)
    tab.get_by_label("Holdt den").fill("2026-04-21")
    tab.get_by_label("Forslag").fill("Fast fredagsmøde\nBedre introduktion af nye kolleger")
    save_step(tab)
    look(tab, "3-dialogue")
    page.check_accessibility()

    # A proposal becomes an action with its owner and deadline in the same form (issue 18).
    proposal(tab, "Fast fredagsmøde").get_by_role("link", name=MAKE_ACTION).click()
    made = tab.get_by_role("form", name=MAKE_ACTION)
    expect(made.get_by_label("Aktivitet")).to_have_value("Fast fredagsmøde")
    made.get_by_label("Tovholder (en bruger)").select_option(label="Mads Berg")
    made.get_by_label("Deadline").fill("2027-01-29")
    page.check_accessibility()
    made.get_by_role("button", name="Tilføj til handleplanen").click()
    expect(flash(tab, "Forslaget er nu en handling i handleplanen.")).to_be_visible()
    expect(proposal(tab, "Fast fredagsmøde")).to_contain_text("i handleplanen")
    expect(proposal(tab, "Fast fredagsmøde").get_by_role("link", name=MAKE_ACTION)).to_have_count(0)
    expect(
        proposal(tab, "Bedre introduktion").get_by_role("link", name=MAKE_ACTION)
    ).to_be_visible()
    page.check_accessibility()

    # 4. Action plan: the proposal is there; a theme with a target score.
    steps_nav(tab).get_by_role("link", name="Handleplan").click()
    tab.wait_for_url(f"**/followup/{measured}/A2/plan")
    expect(action_row(tab, "Fast fredagsmøde")).to_contain_text("Ikke startet")
    expect(action_row(tab, "Fast fredagsmøde")).to_contain_text("Mads Berg")
    page.check_accessibility()
    form = tab.get_by_role("form", name="Tilføj et tema")
    form.get_by_label("Tema").fill("Min enhed – psykologisk tryghed")
    form.get_by_label("Målscore (0–100)").fill("50")
    form.get_by_label("Mål: hvor vil vi hen?").fill("Alle tør sige fra.")
    form.get_by_role("button", name="Tilføj tema").click()
    expect(flash(tab, "Temaet er tilføjet.")).to_be_visible()
    theme = tab.locator("article").filter(
        has=tab.get_by_role("heading", name="Min enhed – psykologisk tryghed")
    )
    expect(theme).to_contain_text("50 — Alle tør sige fra.")
    page.check_accessibility()

    # An action without a title is refused, and what was typed comes back.
    form = tab.get_by_role("form", name="Tilføj en handling")
    form.get_by_label("Tema").select_option(label="Min enhed – psykologisk tryghed")
    form.get_by_label("Tovholder (en bruger)").select_option(label="Mads Berg")
    form.get_by_label("Deadline").fill("2027-02-26")
    form.get_by_role("button", name="Tilføj handling").click()
    summary = tab.get_by_role("alert").filter(has_text="Ret venligst følgende")
    expect(summary).to_be_focused()  # far down the page: DKFDS moves focus (and view) to it
    expect(summary).to_be_in_viewport()
    form = tab.get_by_role("form", name="Tilføj en handling")
    expect(form.get_by_label("Aktivitet")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Tema")).to_have_value(re.compile(r"^[1-9]"))
    expect(form.get_by_label("Tovholder (en bruger)")).not_to_have_value("0")
    expect(form.get_by_label("Deadline")).to_have_value("2027-02-26")
    look(tab, "4-plan-error")
    page.check_accessibility()
    form.get_by_label("Aktivitet").fill("Aftaler om at sige fra")
    form.get_by_role("button", name="Tilføj handling").click()
    expect(flash(tab, "Handlingen er tilføjet.")).to_be_visible()
    row = action_row(tab, "Aftaler om at sige fra")
    expect(row).to_contain_text("Mads Berg")
    expect(row).to_contain_text("26. feb. 2027")
    assert theme.get_by_role("rowheader").all_inner_texts() == ["Aftaler om at sige fra"]
    page.check_accessibility()

    # The status arrow: halfway, with a comment.
    row.get_by_label("Hvor langt er vi").select_option(label="Halvvejs")
    row.get_by_label("Kommentar").fill("De første aftaler er lavet")
    row.get_by_role("button", name=re.compile(r"^Opdatér")).click()
    expect(flash(tab, "Handlingen er opdateret.")).to_be_visible()
    row = action_row(tab, "Aftaler om at sige fra")
    expect(row.get_by_label("Hvor langt er vi")).to_have_value("2")
    expect(row).to_contain_text("De første aftaler er lavet")
    page.check_accessibility()

    # Sent for approval to the department head, who approves it (his side of the round trip
    # is tests/browser/test_approval_flow.py).
    tab.locator("#approval").get_by_role("link", name="Send til godkendelse").click()
    tab.get_by_role("button", name="Send til godkendelse").click()
    expect(flash(tab, "Handleplanen er sendt til godkendelse hos Bo Holm.")).to_be_visible()
    with live_app.app_context():
        sent = db.session.scalars(select(PlanApproval)).one()
        approval_service.decide(db.session, sent.approver, sent, approve=True)
        db.session.commit()
    tab.reload()
    expect(tab.locator("#approval")).to_contain_text(re.compile(r"Godkendt af Bo Holm den "))
    look(tab, "4-plan")
    page.check_accessibility()

    # 5. Evaluation.
    steps_nav(tab).get_by_role("link", name="Evaluering").click()
    tab.wait_for_url(f"**/followup/{measured}/A2/evaluation")
    page.check_accessibility()
    tab.get_by_label("Fik vi omsat resultaterne til handlinger?").fill("Ja, begge forslag.")
    tab.get_by_label("Hvilken effekt havde handlingerne").fill("Flere siger fra på møderne.")
    tab.get_by_label("Hvad skal justeres?").fill("Fredagsmødet skal være kortere.")
    tab.get_by_label("Hvordan gik processen").fill("Godt, men dialogmødet kom sent.")
    actions = tab.get_by_role("group", name="Handlingerne: effekt og næste år")
    actions.get_by_label("Effekt: Aftaler om at sige fra").select_option(label="4 – tydelig")
    actions.get_by_label("Videre til næste års plan: Aftaler om at sige fra").check()
    save_step(tab)
    expect(actions.get_by_label("Effekt: Aftaler om at sige fra")).to_have_value("4")
    expect(
        actions.get_by_label("Videre til næste års plan: Aftaler om at sige fra")
    ).to_be_checked()
    expect(actions.get_by_label("Effekt: Fast fredagsmøde")).to_have_value("")
    look(tab, "5-evaluation")
    page.check_accessibility()

    # The follow-up page shows the five steps and the approval.
    tab.get_by_role("link", name="Opfølgning · APV 2026").click()
    tab.wait_for_url(f"**/followup/{measured}/A2/")
    expect(tab.locator("#approval")).to_contain_text("Godkendt af Bo Holm den")
    look(tab, "6-hub-done")
    page.check_accessibility()
    states = step_states(tab)
    assert states[:3] == ["Færdig"] * 3 and states[4] == "Færdig", states
    done = tab.get_by_role("img", name=re.compile(r"^Trin \d gennemført$")).count()
    assert done >= 4, done

    # A member reads what was written: labels, not codes, and no form.
    tab.get_by_role("button", name="Log ud").click()
    tab.wait_for_url("**/auth/login")
    sign_in(tab, "mads@testby.dk")
    tab.goto(f"/followup/{measured}/A2/analysis")
    expect(tab.get_by_role("button", name="Gem", exact=True)).to_have_count(0)
    readonly = tab.locator("dl.kompas-readonly")
    expect(readonly).to_contain_text("Vi hjælper hinanden, når det brænder på.")
    expect(readonly).to_contain_text("Min enhed – psykologisk tryghed")
    expect(readonly).not_to_contain_text("theme:")
    page.check_accessibility()
    tab.goto(f"/followup/{measured}/A2/plan")
    expect(
        action_row(tab, "Aftaler om at sige fra").get_by_label("Hvor langt er vi")
    ).to_have_value("2")
    expect(tab.get_by_role("form", name="Tilføj en handling")).to_have_count(0)
    page.check_accessibility()

    assert len(page.checked) == 25  # every page and state above
    assert states[3] == "Færdig"  # approving the plan finishes the step
    assert done == 5


def test_two_leaders_on_one_step_lose_nothing(page, browser, live_server, measured: int) -> None:
    """Lise and Bo (the department head) write in the same analysis at once (issue 17). Lise
    saves first; Bo's autosave is refused and says by whom; his text survives a reload in
    this browser, and "Gem" shows both texts, his still in the form. He chooses his."""
    lise = page.page
    sign_in(lise, "leder@testby.dk")
    lise.goto(f"/followup/{measured}/A2/")
    lise.get_by_role("button", name="Start opfølgningen").click()
    lise.wait_for_url(f"**/followup/{measured}/A2/analysis")
    context = browser.new_context(locale="da-DK", base_url=live_server)
    bo = context.new_page()
    try:
        sign_in(bo, "bo@testby.dk")
        bo.goto(f"/followup/{measured}/A2/analysis")

        lise.get_by_label("Noter").fill("Lises noter fra analysen.")
        expect(lise.locator("#save-status")).to_have_text(SAVED)
        bo.get_by_label("Noter").fill("Bos noter fra analysen.")
        expect(bo.locator("#save-status")).to_contain_text("Ikke gemt: Lise Dahl gemte trinnet")

        # A reload shows Lise's saved text, and puts Bo's back from this browser, with the
        # version he started from: his save is refused again, not laid over hers unseen.
        bo.reload()
        expect(bo.get_by_text("Vi har sat det ind igen")).to_be_visible()
        expect(bo.get_by_label("Noter")).to_have_value("Bos noter fra analysen.")
        bo.get_by_role("button", name="Gem", exact=True).click()
        expect(bo.get_by_text("En anden har gemt dette trin, mens du skrev")).to_be_visible()
        saved = bo.locator(".kompas-conflict")
        expect(saved).to_contain_text("Gemt af Lise Dahl")
        expect(saved).to_contain_text("Lises noter fra analysen.")
        expect(bo.get_by_label("Noter")).to_have_value("Bos noter fra analysen.")
        AxePage(bo).check_accessibility()

        # Bo chooses his own text: "Gem" again, from the version he has now seen.
        bo.get_by_role("button", name="Gem", exact=True).click()
        expect(flash(bo, "Gemt.")).to_be_visible()
        expect(bo.get_by_label("Noter")).to_have_value("Bos noter fra analysen.")
        lise.reload()
        expect(lise.get_by_label("Noter")).to_have_value("Bos noter fra analysen.")
        expect(lise.get_by_text(re.compile(r"^Sidst ændret af Bo Holm"))).to_be_visible()
    finally:
        context.close()
