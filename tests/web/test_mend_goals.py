"""The local goals of the annual report: a zero-tolerance theme ("Krænkende adfærd" here, a
school's "Mobning") has no score, so the form offers no 0-100 goal for it, only a goal in
words; a POST that forges a score goal for it is refused with a clear message, saves nothing
and gives back what was typed."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Measurement, ReportDraft, Role
from app.services import results as results_service
from tests.conftest import login
from tests.followup_data import measure

URL = "/reports/annual/R/2026"
ZERO = "Krænkende adfærd"


@pytest.fixture
def hr(app: Flask, org, make_user) -> FlaskClient:
    with app.app_context():
        measure()
    make_user("hr@x.dk", [(Role.ADMIN, "R")], name="Hanne HR")
    client = app.test_client()
    login(client, "hr@x.dk")
    return client


def _themes(app: Flask) -> list[str]:
    """The themes in the order the form numbers them."""
    with app.app_context():
        measurement = db.session.scalar(select(Measurement))
        questions = results_service.question_infos(db.session, measurement)
        return [t for t in results_service.themes_of(questions) if t]


def _draft_goals(app: Flask) -> dict | None:
    with app.app_context():
        draft = db.session.scalar(select(ReportDraft))
        return dict(draft.goals) if draft is not None else None


def test_a_zero_tolerance_theme_is_offered_a_goal_in_words_only(
    app: Flask, hr: FlaskClient
) -> None:
    themes = _themes(app)
    zero = themes.index(ZERO)
    page = hr.get(URL).get_data(as_text=True)
    # Every scored theme has its 0-100 goal; the zero-tolerance theme has none.
    for index, theme in enumerate(themes):
        if theme == ZERO:
            continue
        assert f'name="target_{index}"' in page and f"Mål for {theme} (0–100)" in page
    assert f'name="target_{zero}"' not in page and f"Mål for {ZERO} (0–100)" not in page
    # In words, with why there is no number.
    assert f'name="criterion_{zero}"' in page and f"Mål for {ZERO} i ord" in page
    assert "Et nultolerancetema har ingen score" in page

    saved = hr.post(
        URL,
        data={"version": "0", "followup_plan": "Planen.",
              f"criterion_{zero}": "Hver sag er fulgt op inden 30 dage"},
    )  # fmt: skip
    assert saved.status_code == 302
    assert _draft_goals(app) == {
        ZERO: {"target": None, "criterion": "Hver sag er fulgt op inden 30 dage"}
    }


def test_a_forged_score_goal_for_a_zero_tolerance_theme_is_refused_clearly(
    app: Flask, hr: FlaskClient
) -> None:
    themes = _themes(app)
    zero, scored = themes.index(ZERO), themes.index("Min enhed – psykologisk tryghed")
    typed = {
        "version": "0",
        "followup_plan": "Vi holder trivselsrunder hver måned.",
        f"target_{scored}": "70",
        f"criterion_{scored}": "Alle tør sige fra",
        f"target_{zero}": "90",
        f"criterion_{zero}": "Ingen sager",
    }
    refused = hr.post(URL, data=typed)
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert (
        f"{ZERO} er et nultolerancetema og har ingen score, så det kan ikke have et scoremål. "
        "Skriv målet i ord." in page
    )
    assert re.search(rf'href="#criterion_{zero}"', page)  # the summary leads to the field
    assert _draft_goals(app) is None  # nothing saved
    # Nothing typed is lost.
    assert "Vi holder trivselsrunder hver måned." in page
    assert re.search(rf'name="target_{scored}"[^>]*value="70"', page)
    assert 'value="Alle tør sige fra"' in page and 'value="Ingen sager"' in page
    # The autosave (htmx) refuses it too, also with no words beside the number.
    autosave = hr.post(URL, data=typed, headers={"HX-Request": "true"})
    assert autosave.status_code == 400 and _draft_goals(app) is None
    bare = hr.post(URL, data={**typed, f"criterion_{zero}": ""}, headers={"HX-Request": "true"})
    assert bare.status_code == 400 and _draft_goals(app) is None


def test_a_score_goal_saved_before_for_a_zero_tolerance_theme_is_not_offered_again(
    app: Flask, hr: FlaskClient
) -> None:
    """A goal of 80 saved for the theme before is not shown as a number to keep; saving the
    form keeps its words and drops the number."""
    from app.models import Unit
    from app.services import report_archive

    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == "R"))
        report_archive.save_draft(
            db.session, None, unit, 2026, followup_plan="",
            goals={ZERO: {"target": 80, "criterion": "Ingen sager"}},
        )  # fmt: skip
        db.session.commit()
    zero = _themes(app).index(ZERO)
    page = hr.get(URL).get_data(as_text=True)
    assert f'name="target_{zero}"' not in page and 'value="Ingen sager"' in page
    version = re.search(r'id="draft-version" value="(\d+)"', page)
    assert version
    saved = hr.post(URL, data={"version": version.group(1), f"criterion_{zero}": "Ingen sager"})
    assert saved.status_code == 302
    assert _draft_goals(app) == {ZERO: {"target": None, "criterion": "Ingen sager"}}
