"""Report benchmark: the annual follow-up report's data assembly against WeasyPrint's rendering.

    .venv/bin/python bench/report_bench.py [--units 5000] [--repeat 3] [--database-url URL]

Two organisations, each in a fresh temporary SQLite database (or the given, empty PostgreSQL
database, emptied between them):

  demo   the demo municipality (`app.demo.build_demo`: 207 units, 160 teams, two years,
         follow-ups, actions and alerts)
  large  the 5,000-unit organisation of ../shared/tools/gen_results.py, two years (the
         files are cached in bench/data/, shared with the other benches), with follow-ups
         and completed actions on 400 units last year and action plans on 600 this year

For each, in the same run, best of --repeat:

  assemble  app.services.reports.assemble_annual: every query and every figure of the report
  html      the Jinja templates and the SVG charts (annual_charts + render_template)
  render    WeasyPrint: layout and writing the PDF (app.services.pdf.render_pdf)

and prints the times, the pages, and the ratio assemble / render (target: <= 0.20). The
5,000-unit report summarises (the report's unit and its direct children, then counts and
short lists), so its page count stays that of the demo's.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT.parent / "shared" / "tools" / "gen_results.py"
sys.path.insert(0, str(ROOT))

T = TypeVar("T")


def large_file(units: int, year: int) -> Path:
    """The generated file of `units` units for `year` (2025 is the other benches' file)."""
    data = ROOT / "bench" / "data"
    data.mkdir(parents=True, exist_ok=True)
    path = data / (f"large-{units}.csv" if year == 2025 else f"large-{units}-{year}.csv")
    if not path.exists():
        subprocess.run(
            [sys.executable, str(GENERATOR), "large", "--units", str(units), "--year", str(year),
             "-o", str(path)],
            check=True,
        )  # fmt: skip
    return path


def best(repeat: int, run: Callable[[], T]) -> tuple[float, T]:
    times, result = [], None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result  # type: ignore[return-value]


def fresh_app(url: str) -> Any:
    from app import create_app
    from app.extensions import db

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


def build_large(units: int) -> str:
    """Import two years of the large organisation, with follow-ups; returns the root code."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import ActionStatus, Measurement, Organisation, Unit, UnitFigures
    from app.services import followup, imports
    from app.services.measurements import find_or_prepare_measurement

    db.session.add(Organisation(name="Stor Organisation"))
    measurements = {}
    for year in (2024, 2025):
        path = large_file(units, year)
        measurement = find_or_prepare_measurement(
            db.session, name=f"Måling {year}", year=year, template_code=None
        )
        measurement.action_plan_deadline = date(year, 6, 30)
        checked = imports.check(
            db.session, path.read_bytes(), file_name=path.name, year=year,
            questionnaire=measurement.questionnaire,
        )  # fmt: skip
        assert checked.ok, checked.result.errors[:3]
        imports.apply(db.session, None, checked, measurement)
        db.session.commit()
        measurements[year] = measurement
    themes = sorted(
        {q.theme for q in measurements[2024].questionnaire.questions if q.theme}
    )  # fmt: skip
    rng = random.Random(8)
    for year, count, done in ((2024, 400, True), (2025, 600, False)):
        measurement = db.session.get(Measurement, measurements[year].id)
        shown = list(
            db.session.scalars(
                select(Unit).join(UnitFigures, UnitFigures.unit_id == Unit.id).where(
                    UnitFigures.measurement_id == measurement.id, UnitFigures.shown.is_(True),
                    Unit.parent_id.is_not(None),
                )
            )
        )  # fmt: skip
        for unit in rng.sample(shown, min(count, len(shown))):
            follow_up = followup.start(db.session, None, measurement, unit)
            theme = followup.add_theme(
                db.session, None, follow_up, title=rng.choice(themes), current_score=None,
                target_score=None, goal="", approach="",
            )  # fmt: skip
            for number in range(3):
                action = followup.add_action(
                    db.session, None, follow_up, title=f"Handling {number + 1}", theme=theme
                )
                action.status = ActionStatus.DONE if done else rng.randrange(5)
        db.session.commit()
    return db.session.scalar(select(Unit.code).where(Unit.parent_id.is_(None)))


def build_demo() -> str:
    from app.demo import build_demo as build
    from app.extensions import db

    build(db.session, password="benchmark password 1")  # noqa: S106 - local only
    db.session.commit()
    return "AK"


def measure(app: Any, label: str, root_code: str, year: int, repeat: int) -> dict[str, Any]:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Unit
    from app.services import pdf, reports

    with app.app_context(), app.test_request_context("/"):
        unit = db.session.scalar(select(Unit).where(Unit.code == root_code))

        def assemble() -> Any:
            db.session.expire_all()
            return reports.assemble_annual(db.session, unit, year)

        assemble()  # warm up: first queries, imports
        assemble_s, report = best(repeat, assemble)

        def html() -> str:
            return pdf.annual_html(report, reports.annual_charts(report))

        html()  # warm up: the templates compile
        html_s, document = best(repeat, html)
        pdf.render_pdf(document)  # warm up: fonts, stylesheets
        renders = [pdf.render_pdf(document) for _ in range(repeat)]
        fastest = min(renders, key=lambda r: r.seconds)
        units = report.units_below + 1
    return {
        "label": label, "units": units, "assemble": assemble_s, "html": html_s,
        "render": fastest.seconds, "pages": fastest.pages, "kb": len(fastest.pdf) // 1024,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", help="an empty PostgreSQL database it may fill")
    args = parser.parse_args()
    os.environ.setdefault("KOMPAS_ENV", "testing")
    from app.extensions import db

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, build, year in (("demo", build_demo, 2026), ("large", None, 2025)):
            url = args.database_url or f"sqlite:///{tmp}/{label}.db"
            app = fresh_app(url)
            start = time.perf_counter()
            with app.app_context():
                root = build() if build else build_large(args.units)
                db.session.remove()
            built = time.perf_counter() - start
            result = measure(app, label, root, year, args.repeat)
            result["built"] = built
            results.append(result)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"report benchmark: the annual follow-up report, {database}, best of {args.repeat}")
    for r in results:
        ratio = r["assemble"] / r["render"]
        verdict = "ok" if ratio <= 0.20 else "over the 0.20 target"
        print(
            f"  {r['label']:<6} {r['units']:>5} units (built in {r['built']:.0f} s): "
            f"assemble {r['assemble'] * 1000:6.0f} ms · html {r['html'] * 1000:5.0f} ms · "
            f"WeasyPrint {r['render'] * 1000:6.0f} ms · {r['pages']} pages, {r['kb']} kB · "
            f"assemble/render {ratio:.2f} ({verdict})"
        )


if __name__ == "__main__":
    main()
