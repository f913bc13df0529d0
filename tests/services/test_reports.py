"""Report assembly and PDFs (issue 8): the figures in the reports are the stored, shown
figures; a hidden unit's figures appear nowhere; charts and checksums are plain arithmetic;
the PDF fetcher serves the app's static files and nothing else."""

from __future__ import annotations

import io
import json
import re
from datetime import date

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from app.domain import reports as domain
from app.extensions import db
from app.models import ActionStatus, Measurement, Unit, UnitFigures
from app.services import alerts, followup, pdf, report_archive
from app.services import reports as service
from tests.services.test_figures import answers, declare, load, team

QUESTIONS = ("PT-1", "MT-1")
PT = "Min enhed – psykologisk tryghed"
MT = "Mit arbejde – motivation og tilfredshed"

# 2025: every team shown. 2026: A2 has 3 answers (hidden) and A1 goes with it (else A minus
# A1 would give A2 away). A2's 97 invited appears in no other figure of either year.
YEAR_2025 = [
    declare("R"), declare("A", "R"), declare("B", "R"),
    team("A1", "A", 6, QUESTIONS, option=4, invited=8),
    team("A2", "A", 8, QUESTIONS, option=3, invited=41),
    team("B1", "B", 12, QUESTIONS, option=4, invited=14),
    answers("B1", "B", "KA-1", [12, 0, 0], invited=14),
]  # fmt: skip
YEAR_2026 = [
    declare("R"), declare("A", "R"), declare("B", "R"),
    team("A1", "A", 6, QUESTIONS, option=4, invited=8),
    [answers("A2", "A", q, [0, 3, 0, 0, 0], invited=97) for q in QUESTIONS],
    team("B1", "B", 12, QUESTIONS, option=5, invited=13),
    answers("B1", "B", "KA-1", [10, 2, 0], invited=13),
]  # fmt: skip
MARKER = "97"


def pdf_text(content: bytes) -> str:
    """The PDF's text with hyphenation undone and all white space as single spaces."""
    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return " ".join(text.replace("\u2010\n", "").split())


@pytest.fixture
def two_years(app: Flask, org) -> dict[str, int]:
    with app.app_context():
        first = load(YEAR_2025, name="APV 2025", year=2025)
        second = load(
            YEAR_2026, name="APV 2026", year=2026,
            results_released_on=date(2026, 3, 2), action_plan_deadline=date(2026, 6, 30),
        )  # fmt: skip
        # As if raised on the release day (the import raised them today).
        alerts.clear_for(db.session, second)
        alerts.open_alerts(db.session, second, today=date(2026, 3, 2))
        db.session.commit()
        return {"2025": first.id, "2026": second.id}


def unit(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


# --- pure parts ----------------------------------------------------------------------------


def test_effects_compare_completed_actions_with_none_and_skip_unfinished() -> None:
    changes = {1: {"T": 6.0}, 2: {"T": 4.0}, 3: {"T": 1.0}, 4: {"T": -1.0}, 5: {"T": None},
               6: {"T": 9.0}}  # fmt: skip
    found = domain.effects(["T", "U"], changes, {"T": {1, 2, 5}}, {"T": {1, 2, 5, 6}})
    assert len(found) == 1  # "U": nobody acted on it, so there is no group to compare
    effect = found[0]
    # Unit 5 is not shown in both years; unit 6 has an unfinished action: in neither group.
    assert (effect.with_actions.units, effect.with_actions.mean_change) == (2, 5.0)
    assert (effect.without_actions.units, effect.without_actions.mean_change) == (2, 0.0)
    assert effect.difference == 5.0
    # Without shown units on one side there is nothing to show.
    assert domain.effects(["T"], {1: {"T": 3.0}}, {"T": {1}}, {"T": {1}}) == []


def test_checksum_leaves_out_when_and_sees_every_figure() -> None:
    data = {"generated_on": date(2026, 1, 1), "score": 61.25, "units": [1, 2]}
    same = {"generated_on": date(2026, 5, 5), "score": 61.25, "units": [1, 2]}
    other = {"generated_on": date(2026, 1, 1), "score": 61.5, "units": [1, 2]}
    key = ("generated_on",)
    assert domain.checksum(data, leave_out=key) == domain.checksum(same, leave_out=key)
    assert domain.checksum(data, leave_out=key) != domain.checksum(other, leave_out=key)
    assert len(domain.checksum(data)) == 64


def test_chart_geometry() -> None:
    bars = domain.distribution_bar([1, 1, 2, 0, 4], "higher_better")
    assert [r.width for r in bars] == [12.5, 12.5, 25.0, 50.0]
    assert bars[0].fill == domain.ANSWER_FILLS[0] and bars[-1].fill == domain.ANSWER_FILLS[4]
    flipped = domain.distribution_bar([4, 0, 0, 0, 0], "lower_better")
    assert flipped[0].fill == domain.ANSWER_FILLS[4]  # option 1 is the best answer here
    chart = domain.grouped_bars([("PT", [50.0, 75.0], 80.0)], ["2025", "2026"], title="x")
    widths = [r.width for r in chart.rects]
    assert widths[1] == pytest.approx(widths[0] * 1.5)
    assert [r.label for r in chart.rects] == ["50", "75"]
    assert any(line.width == 2.0 for line in chart.lines)  # the goal's tick
    line = domain.score_line([("2025", 60.0), ("2026", None)], title="x", yellow_from=55,
                             green_from=65)  # fmt: skip
    assert len(line.points) == 1


def test_the_fetcher_serves_static_files_only(app: Flask) -> None:
    with app.app_context():
        fetcher = pdf.StaticOnlyFetcher(app.static_folder)
        served = fetcher.fetch(pdf.static_url("css/reports.css"))
        assert b".report-section" in served.read() and served.content_type == "text/css"
        for refused in (
            "file:///etc/passwd",
            "https://example.com/x.css",
            "http://kompas.invalid/static/css/reports.css",
            pdf.STATIC_ORIGIN + "static/../config.py",
            pdf.STATIC_ORIGIN + "static/%2e%2e/config.py",
            pdf.STATIC_ORIGIN + "other/x.css",
            "data:text/css,body{}",
        ):
            with pytest.raises(pdf.RefusedURL):
                fetcher.fetch(refused)
        with app.test_request_context("/"):
            html = (
                '<html><head><link rel="stylesheet" href="file:///etc/passwd">'
                '<link rel="stylesheet" href="static/css/reports.css"></head>'
                '<body><img src="https://example.com/a.png"><p>Hej</p></body></html>'
            )
            rendered = pdf.html_to_pdf(html)
        assert rendered.pdf.startswith(b"%PDF") and rendered.pages == 1


# --- the reports of a small organisation with a hidden unit --------------------------------


def test_annual_report_figures_and_no_hidden_unit(app: Flask, two_years) -> None:
    with app.app_context(), app.test_request_context("/"):
        report_archive.save_draft(
            db.session, None, unit("R"), 2026,
            followup_plan="Vi fortsætter med trivselsrunder.",
            goals={PT: {"target": 90, "criterion": "Alle tør sige fra"}},
        )  # fmt: skip
        report = service.assemble_annual(db.session, unit("R"), 2026, today=date(2026, 11, 1))
        root = db.session.get(UnitFigures, (two_years["2026"], unit("R").id))
        assert report.current.respondents == root.respondents == 21
        assert report.current.response_rate == pytest.approx(21 / (8 + 97 + 13))
        assert [y.year for y in report.years] == [2025, 2026]
        pt = next(i for i in report.indicators if i.theme == PT)
        assert pt.scores[-1] == pytest.approx(root.indicators[PT])
        assert (pt.target, pt.criterion, pt.met) == (90.0, "Alle tør sige fra", False)
        assert report.followup_plan == "Vi fortsætter med trivselsrunder."
        children = {c.name: c for c in report.children}
        assert set(children) == {"Enhed A", "Enhed B"}
        # A's teams are both hidden this year: counted as such, never coloured.
        assert (children["Enhed A"].colours.hidden, children["Enhed A"].colours.shown) == (2, 1)
        # The hits of B1 (shown, 13 invited, 12 answers) raise one alert there.
        assert report.alerts_total == 1 and report.alerts[0].unit_name == "Enhed B1"
        assert report.alerts[0].state == "overdue"
        # Did it work? Nothing to show: A1 and A2 are hidden this year, so B1 has no one
        # to be compared with.
        assert report.effects == []

        document = json.dumps(domain.plain(report), ensure_ascii=False)
        assert not re.search(rf"\b{MARKER}\b", document)
        rendered = pdf.annual_pdf(report)
    text = pdf_text(rendered.pdf)
    assert not re.search(rf"\b{MARKER}\b", text)
    assert "Enhed B1" in text and "Vi fortsætter med trivselsrunder." in text
    assert f"{round(root.overall_score)}" in text


def test_unit_report_as_on_screen_and_hidden_stays_hidden(app: Flask, two_years) -> None:
    with app.app_context(), app.test_request_context("/"):
        measurement = db.session.get(Measurement, two_years["2026"])
        hidden = service.assemble_unit(db.session, unit("A2"), measurement)
        assert not hidden.shown and not hasattr(hidden, "hidden_reason")  # no reason, ever
        assert hidden.indicators == [] and hidden.themes == [] and hidden.respondents is None
        text = pdf_text(pdf.unit_pdf(hidden).pdf)
        assert not re.search(rf"\b({MARKER}|41)\b", text)  # not even last year's figures
        assert "Vises ikke" in text
        assert "Resultaterne vises ikke af hensyn til anonymiteten." in text
        assert "Færre end 5" not in text and "For få besvarelser" not in text

        shown = service.assemble_unit(db.session, unit("B1"), measurement)
        figures = db.session.get(UnitFigures, (measurement.id, unit("B1").id))
        assert shown.respondents == 12 and shown.response_rate == pytest.approx(12 / 13)
        by_theme = {i.theme: i for i in shown.indicators}
        assert by_theme[PT].own == pytest.approx(figures.indicators[PT])
        assert by_theme[PT].last_year == pytest.approx(75.0)
        assert by_theme[PT].parent == pytest.approx(100.0)  # B = B1 alone
        lines = {q.code: q for block in shown.themes for q in block.questions}
        assert lines["PT-1"].counts == [0, 0, 0, 0, 12] and lines["PT-1"].bar
        # 2 of 12 answered other than "no" (12 reach the sensitive threshold of 10): a count
        # of 1 or 2 is never printed, only "fewer than 3"; no mean or score either.
        assert lines["KA-1"].statement == ("few", None) and lines["KA-1"].n == 12
        assert lines["KA-1"].counts is None and lines["KA-1"].score is None
        assert lines["KA-1"].mean is None and lines["KA-1"].last_year is None
        text = pdf_text(pdf.unit_pdf(shown).pdf)
    assert "Enhed B1" in text and "92 %" in text  # 12 of 13
    assert "Færre end 3 har svaret andet end “nej”." in text
    assert not re.search(r"(?<![\d,.])[12] har svaret andet end", text)
    assert not re.search(rf"\b{MARKER}\b", text)


def test_unit_report_brings_the_analysis(app: Flask, two_years) -> None:
    with app.app_context(), app.test_request_context("/"):
        from app.models import Step, StepState

        measurement = db.session.get(Measurement, two_years["2026"])
        follow_up = followup.start(db.session, None, measurement, unit("B1"))
        followup.save_step(
            db.session, _actor(), follow_up, Step.ANALYSIS,
            {"strengths": "Vi hjælper hinanden", "focus_areas": [f"theme:{MT}", "q:PT-1"]},
            StepState.DONE,
        )  # fmt: skip
        report = service.assemble_unit(db.session, unit("B1"), measurement)
        assert report.strengths_text == "Vi hjælper hinanden"
        assert report.focus_areas[0] == MT and len(report.focus_areas) == 2


def test_did_it_work_compares_shown_units(app: Flask, org) -> None:
    """Both years shown: B1 completed an action on PT after 2025, A1 and A2 had none."""
    shown_2026 = [
        declare("R"), declare("A", "R"), declare("B", "R"),
        team("A1", "A", 6, QUESTIONS, option=4), team("A2", "A", 8, QUESTIONS, option=4),
        team("B1", "B", 12, QUESTIONS, option=5),
    ]  # fmt: skip
    with app.app_context(), app.test_request_context("/"):
        first = load(YEAR_2025, name="APV 2025", year=2025)
        load(shown_2026, name="APV 2026", year=2026)
        actor = _actor()
        follow_up = followup.start(db.session, actor, first, unit("B1"))
        theme = followup.add_theme(db.session, actor, follow_up, title=PT, current_score=None,
                                   target_score=None, goal="", approach="")  # fmt: skip
        action = followup.add_action(db.session, actor, follow_up, title="Runde", theme=theme)
        followup.set_status(db.session, actor, action, ActionStatus.DONE)
        report = service.assemble_annual(db.session, unit("R"), 2026)
    assert [e.theme for e in report.effects] == [PT]
    effect = report.effects[0]
    # B1: 75 -> 100; A1: 75 -> 75; A2: 50 -> 75.
    assert (effect.units_with, effect.change_with) == (1, pytest.approx(25.0))
    assert (effect.units_without, effect.change_without) == (2, pytest.approx(12.5))


def _actor():
    from app.services.users import create_user

    return create_user(db.session, None, email="hr@x.dk", name="HR", password="a report admin 1")


def test_the_same_document_is_laid_out_once_and_a_changed_one_again(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    laid_out: list[str] = []
    real = pdf.render_pdf

    def counting(html: str) -> pdf.Rendered:
        laid_out.append(html)
        return real(html)

    monkeypatch.setattr(pdf, "render_pdf", counting)
    with app.test_request_context("/"):
        first = pdf.html_to_pdf("<html><body><p>Enhed 7: 61,2</p></body></html>")
        again = pdf.html_to_pdf("<html><body><p>Enhed 7: 61,2</p></body></html>")
        changed = pdf.html_to_pdf("<html><body><p>Enhed 7: 61,3</p></body></html>")
    assert again.pdf == first.pdf and len(laid_out) == 2
    assert "61,3" in pdf_text(changed.pdf) and "61,2" in pdf_text(first.pdf)
