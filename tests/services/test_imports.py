"""Importing into the database: all or nothing, re-imports replace, the CLI and the log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import ImportLog, Measurement, Question, Unit, UnitResult
from app.services import imports
from tests.stored_counts import StoredAnswer, stored_answers

GENERATOR = Path(__file__).resolve().parents[2].parent / "shared" / "tools" / "gen_results.py"


def generate(kind: str, tmp_path: Path, year: int = 2025, seed: int = 1) -> Path:
    if not GENERATOR.exists():
        pytest.fail(f"{GENERATOR} is missing: the suite expects ../shared beside the repo")
    out = tmp_path / f"{kind}-{year}-{seed}.csv"
    subprocess.run(
        [sys.executable, str(GENERATOR), kind, "--year", str(year), "--seed", str(seed), "-o",
         str(out)],
        check=True,
    )  # fmt: skip
    return out


def counts(rows: list[str]) -> tuple[int, int]:
    """(units, questions) in a generated CSV."""
    header = rows[0].split(";")
    unit_at, question_at = header.index("unit_id"), header.index("question_id")
    cells = [row.split(";") for row in rows[1:] if row]
    return len({c[unit_at] for c in cells}), len({c[question_at] for c in cells if c[question_at]})


@pytest.mark.parametrize(("kind", "template"), [("gym", "gym"), ("apv", "apv"), ("apv", None)])
def test_generated_files_import_on_an_empty_database(app: Flask, tmp_path, kind, template):
    path = generate(kind, tmp_path)
    units, questions = counts(path.read_text(encoding="utf-8").splitlines())
    args = ["kompas", "import", str(path), "--measurement", f"{kind} 2025", "--year", "2025"]
    if template:
        args += ["--template", template]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    with app.app_context():
        measurement = db.session.scalar(select(Measurement))
        assert db.session.scalar(select(func.count()).select_from(Unit)) == units
        assert db.session.scalar(
            select(func.count()).select_from(Question).where(
                Question.questionnaire_id == measurement.questionnaire_id
            )
        ) == questions  # fmt: skip
        roots = db.session.scalars(select(Unit.code).where(Unit.parent_id.is_(None))).all()
        assert roots == [{"gym": "FG", "apv": "AK"}[kind]]
        log = db.session.scalar(select(ImportLog))
        assert (log.outcome, log.units, log.questions) == ("imported", units, questions)
        assert len(log.sha256) == 64


def test_dry_run_writes_nothing(app: Flask, tmp_path) -> None:
    path = generate("apv", tmp_path)
    result = app.test_cli_runner().invoke(
        args=["kompas", "import", str(path), "--measurement", "m", "--year", "2025", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Unit)) == 0
        assert db.session.scalar(select(func.count()).select_from(Measurement)) == 0


def test_cli_exits_non_zero_and_names_the_errors(app: Flask, tmp_path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text("unit_id;question_id;n_1;n_2;n_3;n_4;n_5\nA;PT-1;3;x;1;1;1\n", "utf-8")
    result = app.test_cli_runner().invoke(
        args=["kompas", "import", str(path), "--measurement", "m", "--year", "2025",
              "--template", "apv", "--language", "en"]
    )  # fmt: skip
    assert result.exit_code != 0
    assert "row 2" in result.output and "n_2" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Unit)) == 0


def _import(path: Path, measurement: Measurement) -> None:
    checked = imports.check(
        db.session,
        path.read_bytes(),
        file_name=path.name,
        year=measurement.year,
        questionnaire=measurement.questionnaire,
    )
    assert checked.ok, checked.result.errors[:3]
    imports.apply(db.session, None, checked, measurement)


def _stored(measurement_id: int) -> list[StoredAnswer]:
    return stored_answers(UnitResult.measurement_id == measurement_id)


def test_reimport_replaces_and_a_failing_reimport_keeps_the_old(ctx, tmp_path) -> None:
    from app.services.measurements import find_or_prepare_measurement

    first, second = generate("apv", tmp_path, seed=1), generate("apv", tmp_path, seed=2)
    measurement = find_or_prepare_measurement(
        db.session, name="APV", year=2025, template_code="apv"
    )
    _import(first, measurement)
    db.session.commit()
    before = _stored(measurement.id)

    _import(second, measurement)
    db.session.commit()
    after = _stored(measurement.id)
    assert after != before and len(after) == len(before)
    assert db.session.scalar(select(func.count()).select_from(ImportLog)) == 2
    assert db.session.scalar(select(ImportLog).order_by(ImportLog.id.desc())).replaced_earlier

    # A crash in the middle of writing: everything goes back to the second import.
    original = imports._unit_result_rows

    def crash(*args, **kwargs):
        yield from original(*args, **kwargs)
        raise RuntimeError("the process died")

    imports._unit_result_rows = crash
    try:
        with pytest.raises(RuntimeError):
            _import(first, measurement)
        db.session.rollback()
    finally:
        imports._unit_result_rows = original
    assert _stored(measurement.id) == after
    assert db.session.scalar(select(func.count()).select_from(ImportLog)) == 2


def test_units_are_created_moved_and_found_by_code_next_year(ctx, tmp_path) -> None:
    from app.services.measurements import find_or_prepare_measurement

    first = find_or_prepare_measurement(db.session, name="A", year=2025, template_code="apv")
    _import(generate("apv", tmp_path, year=2025), first)
    db.session.commit()
    team = db.session.scalar(select(Unit).where(Unit.code == "AK-BF-001-T001"))
    ids_before = dict(db.session.execute(select(Unit.code, Unit.id)).all())

    moved = tmp_path / "moved.csv"
    text = generate("apv", tmp_path, year=2026).read_text(encoding="utf-8")
    moved.write_text(
        text.replace("AK-BF-001-T001;Team 1;AK-BF-001;", "AK-BF-001-T001;Team 1;AK-SO-002;"),
        encoding="utf-8",
    )
    second = find_or_prepare_measurement(db.session, name="B", year=2026, template_code="apv")
    checked = imports.check(db.session, moved.read_bytes(), file_name="moved.csv", year=2026,
                            questionnaire=second.questionnaire)  # fmt: skip
    assert checked.ok
    assert any(w.code == "unit_moved" for w in checked.result.warnings)
    assert "AK-BF-001-T001" in checked.preview["changed_units"]
    imports.apply(db.session, None, checked, second)
    db.session.commit()
    # Same ids (found by code), new parent; the 2025 results keep the old parent.
    assert dict(db.session.execute(select(Unit.code, Unit.id)).all()) == ids_before
    db.session.refresh(team)
    assert team.parent.code == "AK-SO-002"
    old = db.session.get(UnitResult, (first.id, team.id))
    assert db.session.get(Unit, old.parent_unit_id).code == "AK-BF-001"
