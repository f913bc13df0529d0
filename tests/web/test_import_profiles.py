"""Saved mapping profiles (issue 20): saved under a name from the mapping screen, offered
(pre-selected) for the next file of the same layout and applied with one click; listed on the
import page, renamed, deleted after asking; every change in the audit log."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, ImportProfile
from app.services import import_profiles
from tests.conftest import login
from tests.web.test_mapping_web import (
    UNITS,
    setup,
    stage,
    staged_row,
    wide_form,
    wide_percent_csv,
)


def profiles(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        return [(p.name, p.kind) for p in db.session.scalars(select(ImportProfile))]


def actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def save_profile(app: Flask, client: FlaskClient, measurement_id: int, name: str) -> str:
    token = stage(app, measurement_id, wide_percent_csv())
    response = client.post(
        f"/imports/staged/{token}/mapping",
        data=wide_form(save_profile="y", profile_name=name),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return token


def test_saved_profile_is_offered_and_applied_with_one_click(app: Flask, client: FlaskClient,
                                                             org, make_user) -> None:  # fmt: skip
    measurement_id = setup(app, make_user, org)
    login(client, "hr@x.dk")
    first = save_profile(app, client, measurement_id, "  Defgo,   bred  ")
    assert profiles(app) == [("Defgo, bred", "results")]
    assert "import_profile.saved" in actions(app)
    assert staged_row(app, first).profile_id is not None

    # Next year: other figures, the same layout.
    next_year = {unit: (p, n, answers) for unit, (p, n, answers) in UNITS.items()}
    token = stage(app, measurement_id, wide_percent_csv(next_year), name="defgo-2027.csv")
    page = client.get(f"/imports/staged/{token}/mapping").get_data(as_text=True)
    assert "Defgo, bred" in page
    offered = re.search(r'<input[^>]*name="profile_id"[^>]*>', page)
    assert offered and "checked" in offered.group(0)  # pre-selected
    profile_id = re.search(r'value="(\d+)"', offered.group(0)).group(1)
    response = client.post(f"/imports/staged/{token}/mapping/apply",
                           data={"profile_id": profile_id})  # fmt: skip
    assert response.status_code == 302
    staged = staged_row(app, token)
    assert staged.profile_id == int(profile_id)
    assert staged.mapping["columns"]["unit_id"] == "Enhed"
    assert staged.state == "checked" and staged.ok, staged.problems


def test_a_profile_that_does_not_fit_comes_back_on_the_screen(app: Flask, client: FlaskClient,
                                                              org, make_user) -> None:  # fmt: skip
    measurement_id = setup(app, make_user, org)
    login(client, "hr@x.dk")
    save_profile(app, client, measurement_id, "Defgo")
    with app.app_context():
        profile = db.session.scalar(select(ImportProfile))
        mapping = dict(profile.mapping)
        mapping["columns"] = {**mapping["columns"], "unit_id": "Afdeling"}
        profile.mapping = mapping
        db.session.commit()
        profile_id = profile.id
    token = stage(app, measurement_id, wide_percent_csv() + b"\n")
    response = client.post(f"/imports/staged/{token}/mapping/apply",
                           data={"profile_id": str(profile_id)})  # fmt: skip
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Filen har ingen kolonne “Afdeling”" in page
    assert staged_row(app, token).mapping is None


def test_a_taken_name_is_refused_and_the_mapping_kept(app: Flask, client: FlaskClient, org,
                                                      make_user) -> None:  # fmt: skip
    measurement_id = setup(app, make_user, org)
    login(client, "hr@x.dk")
    save_profile(app, client, measurement_id, "Defgo")
    token = stage(app, measurement_id, wide_percent_csv() + b"\n")
    response = client.post(
        f"/imports/staged/{token}/mapping",
        data=wide_form(save_profile="y", profile_name="defgo", **{"q-0-opt-0": "PT-1 Helt uenig"}),
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Der er allerede en profil, der hedder “defgo”" in page
    assert 'value="defgo"' in page
    assert staged_row(app, token).mapping is None
    assert len(profiles(app)) == 1


def test_profiles_are_listed_renamed_and_deleted_after_asking(app: Flask, client: FlaskClient,
                                                              org, make_user) -> None:  # fmt: skip
    measurement_id = setup(app, make_user, org)
    login(client, "hr@x.dk")
    save_profile(app, client, measurement_id, "Defgo")
    with app.app_context():
        profile_id = db.session.scalar(select(ImportProfile.id))
    page = client.get("/imports/").get_data(as_text=True)
    assert "Defgo" in page and f"/imports/profiles/{profile_id}/delete" in page

    assert client.get(f"/imports/profiles/{profile_id}/rename").status_code == 200
    too_long = client.post(f"/imports/profiles/{profile_id}/rename", data={"name": "x" * 121})
    assert too_long.status_code == 400 and profiles(app) == [("Defgo", "results")]
    renamed = client.post(f"/imports/profiles/{profile_id}/rename", data={"name": "SurveyXact"})
    assert renamed.status_code == 302
    assert profiles(app) == [("SurveyXact", "results")]

    asked = client.get(f"/imports/profiles/{profile_id}/delete")
    assert asked.status_code == 200 and "SurveyXact" in asked.get_data(as_text=True)
    assert profiles(app) == [("SurveyXact", "results")]  # asking deletes nothing
    deleted = client.post(f"/imports/profiles/{profile_id}/delete")
    assert deleted.status_code == 302
    assert profiles(app) == []
    assert client.get(f"/imports/profiles/{profile_id}/delete").status_code == 404
    profile_events = [a for a in actions(app) if a.startswith("import_profile.")]
    assert profile_events == [
        "import_profile.saved",
        "import_profile.renamed",
        "import_profile.deleted",
    ]


def test_only_admins_see_and_change_profiles(app: Flask, client: FlaskClient, org,
                                             make_user) -> None:  # fmt: skip
    from app.models import Role

    setup(app, make_user, org)
    with app.app_context():
        profile = import_profiles.save(
            db.session, None, name="Defgo", signature="0" * 64, mapping={"layout": "wide"}
        )
        db.session.commit()
        profile_id = profile.id
    make_user("leader@x.dk", [(Role.LEADER, "A")])
    login(client, "leader@x.dk")
    for url in (f"/imports/profiles/{profile_id}/rename", f"/imports/profiles/{profile_id}/delete"):
        assert client.get(url).status_code in (403, 404)
        assert client.post(url, data={"name": "Mine"}).status_code in (403, 404)
    assert profiles(app) == [("Defgo", "results")]


def test_service_finds_profiles_by_signature_newest_use_first(ctx) -> None:  # type: ignore[no-untyped-def]
    first = import_profiles.save(db.session, None, name="A", signature="a" * 64, mapping={})
    second = import_profiles.save(db.session, None, name="B", signature="a" * 64, mapping={})
    import_profiles.save(db.session, None, name="C", signature="c" * 64, mapping={})
    import_profiles.mark_used(first)
    db.session.flush()
    found = import_profiles.for_signature(db.session, "a" * 64)
    assert [p.id for p in found] == [first.id, second.id]
    assert import_profiles.for_signature(db.session, "") == []
    try:
        import_profiles.save(db.session, None, name="a", signature="", mapping={})
    except import_profiles.ProfileError as error:
        assert error.code == "taken"
    else:
        raise AssertionError("a taken name was saved")
