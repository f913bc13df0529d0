"""The import as one pipeline (issue 20): the file is read once, streamed from disk; figures
come from the parsed counts and alerts from the release in memory, and both are exactly what
the database path (a recompute) makes of the same rows; progress is told phase by phase."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.domain.scoring import QuestionCounts, RawUnit, roll_up
from app.extensions import db
from app.models import ImportLog, Measurement, UnitFigures, ZeroToleranceAlert
from app.services import alerts, imports
from app.services.figures import compute_figures
from app.services.measurements import find_or_prepare_measurement

GENERATOR = Path(__file__).resolve().parents[2].parent / "shared" / "tools" / "gen_results.py"


def generate(kind: str, out: Path, seed: int, units: int = 0) -> Path:
    if not GENERATOR.exists():
        pytest.fail(f"{GENERATOR} is missing: the suite expects ../shared beside the repo")
    command = [sys.executable, str(GENERATOR), kind, "--seed", str(seed), "-o", str(out)]
    if units:
        command += ["--units", str(units)]
    subprocess.run(command, check=True)
    return out


def released() -> dict[str, Any]:
    """The stored release, the measurement's audit state and the open alerts, comparable."""
    figures = sorted(
        (
            row.unit_id,
            row.parent_unit_id,
            row.shown,
            row.hidden_reason,
            row.respondents,
            row.invited,
            row.overall_score,
            row.colour,
            row.indicators,
            row.zero_tolerance_hits,
            row.questions,
            row.hidden_questions,
        )
        for row in db.session.scalars(select(UnitFigures))
    )
    measurement = db.session.scalar(select(Measurement))
    assert measurement is not None
    return {
        "figures": figures,
        "anonymity": (measurement.anonymity_ok, measurement.anonymity_problems),
        "alerts": sorted(
            (alert.unit_id, alert.opened_on, alert.due_on, tuple(q.id for q in alert.questions))
            for alert in db.session.scalars(select(ZeroToleranceAlert))
        ),
    }


@pytest.fixture
def pipeline_ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app
        db.session.rollback()
        db.session.remove()


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(["gym", "apv", "large"]),
    seed=st.integers(min_value=1, max_value=10_000),
    units=st.integers(min_value=20, max_value=400),
    with_template=st.booleans(),
)
def test_figures_from_the_parsed_file_are_those_of_the_database_path(
    pipeline_ctx: Flask, kind: str, seed: int, units: int, with_template: bool
) -> None:
    template = kind if with_template and kind != "large" else None
    with tempfile.TemporaryDirectory() as tmp:
        path = generate(kind, Path(tmp) / "results.csv", seed, units if kind == "large" else 0)
        try:
            measurement = find_or_prepare_measurement(
                db.session, name="M", year=2025, template_code=template
            )
            checked = imports.check(
                db.session,
                path,
                file_name=path.name,
                year=2025,
                questionnaire=measurement.questionnaire,
                threshold=measurement.threshold,
            )
            assert checked.ok, checked.result.errors[:3]
            imports.apply(db.session, None, checked, measurement)
            fast = released()
            # The database path, as a recompute does it (a measurement's rules changed).
            outcome = compute_figures(db.session, measurement)
            assert outcome.ok
            alerts.open_alerts(db.session, measurement)
            db.session.flush()
            db.session.expire_all()
            assert released() == fast
            assert fast["figures"], "the release stores figures"
        finally:
            db.session.rollback()


def test_a_file_on_disk_gives_the_same_import_as_its_bytes(ctx: Flask, tmp_path: Path) -> None:
    path = generate("apv", tmp_path / "apv.csv", seed=3)
    measurement = find_or_prepare_measurement(db.session, name="M", year=2025, template_code="apv")
    options: dict[str, Any] = {
        "file_name": path.name,
        "year": 2025,
        "questionnaire": measurement.questionnaire,
    }
    from_path = imports.check(db.session, path, **options)
    from_bytes = imports.check(db.session, path.read_bytes(), **options)
    assert from_path.ok and from_bytes.ok
    assert from_path.result == from_bytes.result
    assert (from_path.sha256, from_path.size_bytes) == (from_bytes.sha256, from_bytes.size_bytes)
    assert from_path.preview == from_bytes.preview
    assert from_path.content == b"" and from_path.path == path  # not held in memory


def test_progress_goes_through_every_phase_in_order(ctx: Flask, tmp_path: Path) -> None:
    path = generate("large", tmp_path / "large.csv", seed=2, units=300)
    measurement = find_or_prepare_measurement(db.session, name="M", year=2025, template_code=None)
    heard: list[tuple[str, int]] = []

    def progress(phase: str, percent: int) -> None:
        heard.append((phase, percent))

    checked = imports.check(
        db.session,
        path,
        file_name=path.name,
        year=2025,
        questionnaire=measurement.questionnaire,
        progress=progress,
    )
    area = tmp_path / "area"
    log = imports.apply(db.session, None, checked, measurement, file_area=area, progress=progress)
    phases = list(dict.fromkeys(phase for phase, _ in heard))
    assert phases == ["reading", "validating", "writing", "figures", "alerts", "done"]
    percents = [percent for _, percent in heard]
    assert percents == sorted(percents) and percents[0] == 0 and percents[-1] == 100
    # Reading a 15,000-row file is heard about every tenth of it, not once.
    assert sum(1 for phase, _ in heard if phase == "reading") >= 4
    # The file on disk is kept for "Gendan" without being read into memory: the same bytes.
    assert log.stored_file == checked.sha256
    assert (area / log.stored_file).read_bytes() == path.read_bytes()


def test_the_command_line_reads_the_file_from_disk_and_prints_its_phases(
    app: Flask, tmp_path: Path
) -> None:
    path = generate("apv", tmp_path / "apv.csv", seed=5)
    result = app.test_cli_runner().invoke(
        args=["kompas", "import", str(path), "--measurement", "M", "--year", "2025",
              "--template", "apv", "--timings"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Imported into 'M'" in result.output
    for phase in ("reading", "writing", "figures", "alerts", "commit", "total"):
        assert f"timing: {phase}" in result.stderr
    with app.app_context():
        log = db.session.scalar(select(ImportLog))
        assert log is not None and log.outcome == "imported"
        assert db.session.scalar(select(Measurement.anonymity_ok)) is True


counts_strategy = st.builds(
    QuestionCounts.from_distribution,
    st.lists(st.integers(min_value=0, max_value=30), min_size=3, max_size=3),
    st.integers(min_value=0, max_value=5),
) | st.builds(
    QuestionCounts.from_mean,
    st.integers(min_value=1, max_value=30),
    st.sampled_from(["1.5", "2", "2.7", "3"]),
    st.integers(min_value=0, max_value=5),
)


@settings(max_examples=60, deadline=None)
@given(kids=st.lists(st.dictionaries(st.sampled_from("ABC"), counts_strategy), max_size=6))
def test_the_roll_up_sums_as_adding_counts_one_by_one(
    kids: list[dict[str, QuestionCounts]],
) -> None:
    raw = {"root": RawUnit(None, False)}
    for number, questions in enumerate(kids):
        raw[f"k{number}"] = RawUnit("root", True, questions, None)
    effective = roll_up(raw)["root"].questions
    expected: dict[str, QuestionCounts] = {}
    for questions in kids:
        for code, counts in questions.items():
            expected[code] = expected[code] + counts if code in expected else counts
    assert effective == expected


def test_the_release_is_stored_as_the_json_the_orm_would_write(ctx: Flask, tmp_path: Path) -> None:
    """The figures are written in bulk, not through SQLAlchemy's JSON type: the stored text
    must be what that type writes (the engine's serializer), byte for byte, in every JSON
    column."""
    import json

    from sqlalchemy import text

    serializer = db.engine.dialect._json_serializer  # type: ignore[attr-defined]

    path = generate("apv", tmp_path / "apv.csv", seed=11)
    measurement = find_or_prepare_measurement(db.session, name="M", year=2025, template_code="apv")
    checked = imports.check(
        db.session, path, file_name=path.name, year=2025, questionnaire=measurement.questionnaire
    )
    assert checked.ok
    imports.apply(db.session, None, checked, measurement)
    stored = db.session.execute(
        text(
            "SELECT CAST(indicators AS TEXT), CAST(questions AS TEXT),"
            " CAST(hidden_questions AS TEXT) FROM unit_figures"
        )
    ).all()
    assert len(stored) > 100
    shared_entries = 0
    for row in stored:
        for column in row:
            assert isinstance(column, str)
            assert column == serializer(json.loads(column))
        shared_entries += row[1].count('"score":')
    assert shared_entries > 1000
    # And the ORM reads back what the release made (a recompute writes the same rows).
    fast = released()
    assert compute_figures(db.session, measurement).ok
    db.session.expire_all()
    assert released()["figures"] == fast["figures"]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=6) | st.integers(-99, 99), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(value=st.dictionaries(st.text(max_size=6), json_values, max_size=6))
def test_the_json_columns_text_means_what_json_dumps_means(value: dict[str, Any]) -> None:
    """The JSON columns' codec (orjson) reads back what the json module would: the same
    values, numbers as numbers, whole-number keys as text."""
    import json

    from app.domain import json_text

    text = json_text.dumps(value)
    assert json.loads(text) == json.loads(json.dumps(value))
    assert json_text.loads(text) == json.loads(text)
    assert json_text.loads(json.dumps(value)) == json.loads(json.dumps(value))


def test_the_json_columns_are_read_and_written_with_the_shared_codec(ctx: Flask) -> None:
    """The ORM's JSON type and the import's bulk writers use one codec: a value the ORM
    stores is the text `json_text.dumps` makes."""
    from app.domain import json_text

    dialect = db.engine.dialect
    assert dialect._json_serializer is json_text.dumps  # type: ignore[attr-defined]
    assert dialect._json_deserializer is json_text.loads  # type: ignore[attr-defined]


def test_the_cycle_collector_is_on_again_after_an_import(ctx: Flask, tmp_path: Path) -> None:
    import gc

    path = generate("gym", tmp_path / "gym.csv", seed=2)
    measurement = find_or_prepare_measurement(db.session, name="M", year=2025, template_code="gym")
    checked = imports.check(
        db.session, path, file_name=path.name, year=2025, questionnaire=measurement.questionnaire
    )
    assert gc.isenabled()
    imports.apply(db.session, None, checked, measurement)
    assert gc.isenabled()
    with pytest.raises(RuntimeError):  # and after one that fails
        imports.apply(db.session, None, checked, measurement, progress=_fail)
    assert gc.isenabled()


def _fail(phase: str, percent: int) -> None:
    raise RuntimeError(phase)
