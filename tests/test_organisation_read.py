"""The organisation is one row, read in one place (app/models/org.py).

Reading "the first row" elsewhere, without the same order, once made a school read as a
municipality on PostgreSQL (an updated row moves). This test fails when a module reads the
organisation's row (or orders by its id) itself instead of through app.models.org."""

from __future__ import annotations

import re
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
OWN_READ = re.compile(
    r"select\(Organisation\)|order_by\(Organisation\.id\)|min\(Organisation\.id\)"
)


def test_only_app_models_org_reads_the_organisations_row() -> None:
    offenders = [
        f"{path.relative_to(APP.parent)}:{number}"
        for path in sorted(APP.rglob("*.py"))
        if path != APP / "models" / "org.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if OWN_READ.search(line)
    ]
    assert offenders == []


def test_the_pattern_finds_a_read_of_its_own() -> None:
    assert OWN_READ.search("session.scalar(select(Organisation).limit(1))")
    assert OWN_READ.search("select(Organisation.kind).order_by(Organisation.id).limit(1)")
    assert not OWN_READ.search("organisation_value(session, Organisation.kind)")
