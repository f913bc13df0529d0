"""What a step page and its autosave read (session 10: the step page and the autosave are among
the most frequent requests on a results morning). Guards against reads creeping back in, and
the analysis step's focus areas as the form offers and checks them."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select, update

from app.extensions import db
from app.models import FollowUp, Role, Step
from app.services import results as results_service
from tests.conftest import login
from tests.web.test_followup_web import measured, start  # noqa: F401 - the fixture

VERSION = re.compile(r'id="step-version" value="(\d+)"')
AUTOSAVE = {"HX-Request": "true"}
BOX = re.compile(
    r'<input( checked)? class="form-checkbox" id="focus_areas-(\d+)" name="focus_areas" '
    r'type="checkbox" value="([^"]*)"> <label class="form-label" for="focus_areas-\d+">'
    r"([^<]*)</label>"
)


@pytest.fixture
def leader(app: Flask, client: FlaskClient, measured: int, make_user) -> str:  # noqa: F811
    """A leader of A, in the analysis of A1 (started)."""
    make_user("leder@x.dk", [(Role.LEADER, "A")], name="Lise Dahl")
    login(client, "leder@x.dk")
    start(client, measured, "A1")
    return f"/followup/{measured}/A1/analysis"


def _version(client: FlaskClient, url: str) -> str:
    found = VERSION.search(client.get(url).get_data(as_text=True))
    assert found
    return found.group(1)


def _expected_choices(app: Flask) -> list[tuple[str, str]]:
    """The focus areas as the step offered them before (every question loaded)."""
    with app.app_context():
        from app.models import Measurement

        measurement = db.session.scalar(select(Measurement))
        questions = results_service.question_infos(db.session, measurement)
        choices = [(f"theme:{t}", str(t)) for t in results_service.themes_of(questions) if t]
        choices += [(f"q:{q.code}", q.text) for q in questions if not q.zero_tolerance]
        return choices


def _saved_analysis(app: Flask) -> dict:
    with app.app_context():
        follow_up = db.session.scalar(select(FollowUp))
        return dict(next(s for s in follow_up.steps if s.step == Step.ANALYSIS).data or {})


def test_the_focus_areas_are_the_measurements_themes_then_its_questions(
    app: Flask, client: FlaskClient, leader: str
) -> None:
    choices = _expected_choices(app)
    assert any(v.startswith("theme:") for v, _ in choices)
    assert any(v.startswith("q:") for v, _ in choices)
    chosen = [choices[0][0], choices[-1][0]]
    saved = client.post(
        leader,
        data={"focus_areas": chosen, "state": "in_progress", "version": _version(client, leader)},
        headers=AUTOSAVE,
    )
    assert saved.status_code == 200
    assert _saved_analysis(app)["focus_areas"] == chosen

    page = client.get(leader).get_data(as_text=True)
    boxes = BOX.findall(page)
    # Every choice once, in order, numbered as wtforms numbers its options, the chosen ones
    # checked (the plain markup gives what iterating the field gave).
    assert [(int(i), v) for _c, i, v, _l in boxes] == [(i, v) for i, (v, _) in enumerate(choices)]
    assert [v for c, _i, v, _l in boxes if c] == chosen
    labels = [label for _c, _i, _v, label in boxes]
    assert labels == [str(escape(label)) for _, label in choices]


def test_a_focus_area_not_offered_is_refused_and_nothing_saved(
    app: Flask, client: FlaskClient, leader: str
) -> None:
    first = _expected_choices(app)[0][0]
    saved = client.post(
        leader,
        data={"focus_areas": [first], "state": "in_progress", "version": _version(client, leader)},
        headers=AUTOSAVE,
    )
    assert saved.status_code == 200
    version = _version(client, leader)
    # What the step holds already lets no other value through, nor the same one twice.
    for wrong in (["q:NOPE"], ["theme:Nope"], [first] * 2, [first, "q:NOPE"]):
        refused = client.post(
            leader,
            data={"focus_areas": wrong, "notes": "Skrevet", "state": "in_progress",
                  "version": version},
        )  # fmt: skip
        assert refused.status_code == 400
        page = refused.get_data(as_text=True)
        assert "Skrevet" in page  # nothing typed is lost
        assert page.count('name="focus_areas"') == len(_expected_choices(app))
    assert not _saved_analysis(app).get("notes")
    assert _saved_analysis(app)["focus_areas"] == [first]


def test_an_autosave_reads_nothing_after_its_commit(
    app: Flask, client: FlaskClient, leader: str, count_queries
) -> None:
    version = _version(client, leader)
    choice = _expected_choices(app)[0][0]
    for data, focus_areas_read in (
        ({"notes": "Uden fokus"}, False),
        ({"notes": "Med fokus", "focus_areas": [choice]}, True),  # new: checked on the list
        ({"notes": "Med fokus igen", "focus_areas": [choice]}, False),  # saved before
    ):
        with count_queries() as statements:
            saved = client.post(
                leader, data={**data, "state": "in_progress", "version": version},
                headers=AUTOSAVE,
            )  # fmt: skip
        assert saved.status_code == 200, saved.data
        body = saved.get_data(as_text=True)
        version = VERSION.search(body).group(1)  # the next version, out of band
        # The user with the rules, the measurement with the unit and the follow-up, the
        # unit's ancestors (the leader's rights are held on A, above A1), the focus areas
        # (only when some are sent that the step has not saved before), the save and its
        # audit event: the answer is written before the commit, so nothing is read again.
        assert len(statements) == (6 if focus_areas_read else 5), "\n".join(
            q[:70] for q in statements
        )
        assert statements[-1].lstrip().upper().startswith("INSERT INTO AUDIT_EVENT"), statements
        assert "Gemt" in body
    assert _saved_analysis(app)["focus_areas"] == [choice]
    assert _saved_analysis(app)["notes"] == "Med fokus igen"


@pytest.mark.parametrize("step", ["analysis", "preparation", "dialogue", "evaluation"])
def test_a_step_page_reads_little(
    app: Flask, client: FlaskClient, leader: str, count_queries, step: str
) -> None:
    url = leader.replace("/analysis", f"/{step}")
    client.get(url)  # the preparation step stores its template text when first shown
    with count_queries() as statements:
        page = client.get(url)
    assert page.status_code == 200
    # The user, the measurement with the unit and the follow-up, the unit's ancestors (the
    # rights are held above it); the analysis also its focus areas, the prepared indicators
    # and the one indicator its warning reads; the evaluation its actions. No breadcrumb
    # trail (no follow-up page shows one).
    budget = {"analysis": 6, "evaluation": 4}.get(step, 3)
    assert len(statements) <= budget, "\n".join(q[:70] for q in statements)


def test_the_analysis_table_made_at_a_first_view_is_kept_for_the_next(
    app: Flask, client: FlaskClient, leader: str
) -> None:
    """The indicators side by side, made by the first view after an import (not prepared
    yet), are kept for every later view and process once the page is rendered."""
    from sqlalchemy import delete

    from app.models import PreparedSection

    with app.app_context():
        db.session.execute(delete(PreparedSection))
        db.session.commit()
    first = client.get(leader)
    assert first.status_code == 200
    with app.app_context():
        kept = db.session.execute(select(PreparedSection.locale, PreparedSection.html)).all()
        assert [locale for locale, _ in kept] == ["da:a"]
        assert kept[0].html in first.get_data(as_text=True)
        # Mark the kept table: the next view shows the mark only if it reads what was kept
        # (comparing whole pages would fail on the CSRF token, which carries the time).
        db.session.execute(
            update(PreparedSection).values(html=PreparedSection.html + "<p>kept-mark</p>")
        )
        db.session.commit()
    assert "<p>kept-mark</p>" in client.get(leader).get_data(as_text=True)
