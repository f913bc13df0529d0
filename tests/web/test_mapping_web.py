"""The mapping screen (issue 20): a file in a survey tool's own layout is mapped onto Kompas's
by HR, checked like any other, and a bad mapping comes back with every choice kept."""

from __future__ import annotations

import hashlib
import re
import secrets
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.domain.mapping import read_sample, suggest
from app.extensions import db
from app.models import Role, StagedImport, User
from app.services import imports
from app.services.measurements import find_or_prepare_measurement
from tests import mapping_files
from tests.conftest import login
from tests.stored_counts import stored_answers

OPTIONS = ("Helt uenig", "Uenig", "Hverken eller", "Enig", "Helt enig")
# unit -> (parent, respondents, {question: counts of options 1..5})
UNITS = {
    "A1": ("A", 7, {"PT-1": (0, 1, 2, 3, 1), "PT-2": (1, 1, 2, 2, 1)}),
    "A2": ("A", 5, {"PT-1": (1, 1, 1, 1, 1), "PT-2": (0, 0, 1, 2, 2)}),
}


def percent(count: int, total: int) -> str:
    """As the survey tools print it: one decimal, Danish comma, a per cent sign."""
    return f"{count / total * 100:.1f} %".replace(".", ",")


def wide_percent_csv(units: dict = UNITS, questions: tuple[str, ...] = ("PT-1", "PT-2")) -> bytes:
    """A row per unit, a column per question and option, percentages and the answer count."""
    header = ["Enhed", "Overordnet", "Antal besvarelser"] + [
        f"{q} {option}" for q in questions for option in OPTIONS
    ]
    lines = [";".join(header)]
    for unit, (parent, n, answers) in units.items():
        cells = [unit, parent, str(n)]
        for q in questions:
            cells += [percent(c, n) for c in answers[q]]
        lines.append(";".join(cells))
    return ("\n".join(lines) + "\n").encode()


def setup(app: Flask, make_user, org) -> int:  # type: ignore[no-untyped-def]
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    make_user("other@x.dk", [(Role.ADMIN, "R")])
    with app.app_context():
        measurement = find_or_prepare_measurement(
            db.session, name="APV 2026", year=2026, template_code="apv"
        )
        db.session.commit()
        return measurement.id


def stage(app: Flask, measurement_id: int, content: bytes, *, email: str = "hr@x.dk",
          name: str = "defgo.csv") -> str:  # fmt: skip
    """A file uploaded and waiting for its mapping, as the upload leaves it."""
    with app.app_context():
        sha = hashlib.sha256(content).hexdigest()
        area = imports.file_area(app.config, app.instance_path)
        imports.store_file(area, content, sha)
        user = db.session.scalar(select(User).where(User.email == email))
        staged = StagedImport(
            token=secrets.token_urlsafe(24),
            user_id=user.id,
            measurement_id=measurement_id,
            file_name=name,
            sha256=sha,
            stored_file=sha,
            size_bytes=len(content),
            state="uploaded",
        )
        db.session.add(staged)
        db.session.commit()
        return staged.token


def wide_form(questions: tuple[str, ...] = ("PT-1", "PT-2"), **changes: str) -> dict[str, str]:
    form = {
        "layout": "wide",
        "values": "percent",
        "col-unit_id": "Enhed",
        "col-parent_id": "Overordnet",
        "col-respondents": "Antal besvarelser",
        "rows": str(len(questions)),
        "slots": "6",
        "action": "check",
    }
    for i, q in enumerate(questions):
        form[f"q-{i}-id"] = q
        for j, option in enumerate(OPTIONS):
            form[f"q-{i}-opt-{j}"] = f"{q} {option}"
    form.update(changes)
    return form


def staged_row(app: Flask, token: str) -> StagedImport:
    with app.app_context():
        staged = db.session.scalar(select(StagedImport).where(StagedImport.token == token))
        db.session.expunge(staged)
        return staged


def test_screen_shows_what_was_recognised_and_the_first_rows(app: Flask, client: FlaskClient,
                                                               org, make_user) -> None:  # fmt: skip
    measurement_id = setup(app, make_user, org)
    token = stage(app, measurement_id, wide_percent_csv())
    login(client, "hr@x.dk")
    response = client.get(f"/imports/staged/{token}/mapping")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "defgo.csv" in page
    assert "Antal besvarelser" in page and "42,9 %" in page  # the first rows as a table
    assert 'name="col-unit_id"' in page
    # A template questionnaire: the question is chosen from its codes.
    assert re.search(r'<select[^>]*name="q-0-id"', page)
    assert '<option value="KA-4"' in page


def test_mapped_file_is_checked_like_a_native_one(app: Flask, client: FlaskClient, org,
                                                  make_user) -> None:  # fmt: skip
    measurement_id = setup(app, make_user, org)
    token = stage(app, measurement_id, wide_percent_csv())
    login(client, "hr@x.dk")
    response = client.post(f"/imports/staged/{token}/mapping", data=wide_form())
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert response.headers["Location"].endswith(f"/imports/staged/{token}")
    staged = staged_row(app, token)
    assert staged.mapping["layout"] == "wide"
    assert staged.mapping["questions"][0]["options"][0] == "PT-1 Helt uenig"
    assert staged.state == "checked", (staged.state, staged.error, staged.problems)
    assert staged.ok, staged.problems
    assert staged.preview["units"] >= 2
    with app.app_context():  # nothing is imported before the confirmation
        assert stored_answers() == []


def test_bad_mapping_comes_back_with_every_choice_kept(app: Flask, client: FlaskClient, org,
                                                       make_user) -> None:  # fmt: skip
    measurement_id = setup(app, make_user, org)
    token = stage(app, measurement_id, wide_percent_csv())
    login(client, "hr@x.dk")
    form = wide_form(**{"q-1-opt-2": "PT-2 Måske", "q-0-id": "PT-2"})
    response = client.post(f"/imports/staged/{token}/mapping", data=form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Filen har ingen kolonne “PT-2 Måske”" in page
    assert "Spørgsmålet PT-2 er kortlagt to gange" in page
    assert 'value="PT-2 Måske"' in page  # what was typed stays
    assert 'value="Antal besvarelser" selected' in page
    assert re.search(r'id="values-percent"[^>]*checked', page)
    staged = staged_row(app, token)
    assert staged.mapping is None and staged.state == "uploaded"  # nothing changed


def test_every_field_is_bounded(app: Flask, client: FlaskClient, org, make_user) -> None:
    measurement_id = setup(app, make_user, org)
    token = stage(app, measurement_id, wide_percent_csv())
    login(client, "hr@x.dk")
    long_text = "x" * 5000
    response = client.post(
        f"/imports/staged/{token}/mapping",
        data=wide_form(**{"col-unit_name": long_text, "rows": "999999", "slots": "99"}),
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert long_text not in page  # never echoed whole
    assert "højst være på 200 tegn" in page
    assert "højst have 500 spørgsmål" in page
    assert staged_row(app, token).mapping is None
    response = client.post(
        f"/imports/staged/{token}/mapping",
        data=wide_form(save_profile="y", profile_name="p" * 121),
    )
    assert response.status_code == 400
    assert staged_row(app, token).mapping is None


def test_add_a_question_row_keeps_what_was_chosen(app: Flask, client: FlaskClient, org,
                                                  make_user) -> None:  # fmt: skip
    measurement_id = setup(app, make_user, org)
    token = stage(app, measurement_id, wide_percent_csv())
    login(client, "hr@x.dk")
    response = client.post(
        f"/imports/staged/{token}/mapping",
        data=wide_form(action="add"),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment
    assert 'name="q-2-id"' in fragment and 'value="PT-2 Helt enig"' in fragment


def test_another_users_staged_file_is_not_found(app: Flask, client: FlaskClient, org,
                                                make_user) -> None:  # fmt: skip
    measurement_id = setup(app, make_user, org)
    token = stage(app, measurement_id, wide_percent_csv(), email="other@x.dk")
    login(client, "hr@x.dk")
    assert client.get(f"/imports/staged/{token}/mapping").status_code == 404
    assert client.post(f"/imports/staged/{token}/mapping", data=wide_form()).status_code == 404
    assert staged_row(app, token).mapping is None


def test_only_admins_map_files(app: Flask, client: FlaskClient, org, make_user) -> None:
    measurement_id = setup(app, make_user, org)
    token = stage(app, measurement_id, wide_percent_csv())
    make_user("leader@x.dk", [(Role.LEADER, "A")])
    login(client, "leader@x.dk")
    assert client.get(f"/imports/staged/{token}/mapping").status_code in (403, 404)
    assert client.post(f"/imports/staged/{token}/mapping", data=wide_form()).status_code in (
        403,
        404,
    )
    assert staged_row(app, token).mapping is None


def test_percentages_that_cannot_come_from_whole_counts_are_named(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    measurement_id = setup(app, make_user, org)
    content = wide_percent_csv().replace(b"42,9 %", b"40,0 %", 1)
    token = stage(app, measurement_id, content)
    login(client, "hr@x.dk")
    response = client.post(f"/imports/staged/{token}/mapping", data=wide_form())
    assert response.status_code == 302
    staged = staged_row(app, token)
    assert staged.state == "checked" and not staged.ok
    assert any(p["row"] == 2 for p in staged.problems), staged.problems
    page = client.get(f"/imports/staged/{token}").get_data(as_text=True)
    assert "40,0 %" in page


class _FormFields(HTMLParser):
    """What a browser would send for the mapping form as shown (the submit button aside)."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.fields: dict[str, str] = {}
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action", "").endswith(self.action)
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") in ("radio", "checkbox"):
                if "checked" in a:
                    self.fields[a["name"]] = a.get("value", "y")
            else:
                self.fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self.select = a.get("name")
            self.fields.setdefault(self.select or "", "")
        elif tag == "option" and self.select and "selected" in a:
            self.fields[self.select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None


def shown_form(page: str, action: str = "/mapping") -> dict[str, str]:
    parser = _FormFields(action)
    parser.feed(page)
    return parser.fields


@pytest.fixture(scope="module")
def small_native(tmp_path_factory: pytest.TempPathFactory) -> mapping_files.Native:
    """The generator's APV file cut to its first six units with answers and their parents."""
    path = mapping_files.generate("apv", tmp_path_factory.mktemp("native") / "apv.csv")
    native = mapping_files.read_native(path)
    parents = {unit["unit_id"]: unit["parent_id"] for unit in native.units}
    answered = list(dict.fromkeys(row["unit_id"] for row in native.rows if row["question_id"]))
    keep: set[str] = set()
    for unit in answered[:6]:
        while unit:
            keep.add(unit)
            unit = parents.get(unit, "")
    return mapping_files.Native([row for row in native.rows if row["unit_id"] in keep])


LAYOUTS = {
    "long": ("long.csv", lambda native, path: mapping_files.write_long(native, path)),
    "long-percent": (
        "long.csv",
        lambda native, path: mapping_files.write_long(native, path, values="percent"),
    ),
    "wide-percent": (
        "wide.csv",
        lambda native, path: mapping_files.write_wide(native, path, values="percent"),
    ),
    "option-rows": ("pivot.csv", mapping_files.write_option_rows),
    "sheets": (
        "sheets.xlsx",
        lambda native, path: mapping_files.write_sheets(native, path, unit_in="cell"),
    ),
    "option-sheets": ("option-sheets.xlsx", mapping_files.write_option_sheets),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_the_suggestion_goes_through_the_form_unchanged(
    app: Flask, client: FlaskClient, org, make_user, small_native, tmp_path, layout: str
) -> None:
    """A user who accepts what Kompas suggests sends exactly that mapping: the form shows
    every part of it (roles, questions, options, cells, sheet) and reads it back."""
    measurement_id = setup(app, make_user, org)
    name, write = LAYOUTS[layout]
    path = tmp_path / name
    write(small_native, path)
    suggested = suggest(read_sample(path)).to_dict()
    token = stage(app, measurement_id, path.read_bytes(), name=name)
    login(client, "hr@x.dk")
    page = client.get(f"/imports/staged/{token}/mapping").get_data(as_text=True)
    fields = shown_form(page)
    fields["action"] = "check"
    response = client.post(f"/imports/staged/{token}/mapping", data=fields)
    shown = response.get_data(as_text=True)
    assert response.status_code == 302, re.findall(
        r'alert-heading">([^<]*)|form-error-message"[^>]*>(.*?)</span>', shown
    )
    staged = staged_row(app, token)
    assert staged.mapping == suggested
    assert staged.state == "checked"
    if layout.startswith(("long", "wide")):
        assert staged.ok, staged.problems[:5]
