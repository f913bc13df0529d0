"""The organisation overview and the results export; the unit page shows
`results/_unit_results.html` rendered here (unit_results_html)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

from flask import (
    Response,
    abort,
    after_this_request,
    current_app,
    g,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import BaseConverter

from app.blueprints.results import bp
from app.extensions import db, htmx
from app.models import Measurement, Unit
from app.policy import Permission, current_access, require
from app.services import prepared, references, spreadsheets
from app.services import release as release_service
from app.services import results as results_service
from app.vocabulary import colour_label

PER_PAGE = 200
SORTS = {
    "tree": None,
    "name": lambda r: (r.name.lower(), r.code),
    "overall": lambda r: (r.figures.overall_score is None, -(r.figures.overall_score or 0)),
    "response_rate": lambda r: (r.figures.response_rate is None, -(r.figures.response_rate or 0)),
    "change": lambda r: (r.change is None, r.change or 0),
}


def unit_results_html(
    unit: Unit, measurement: Measurement, measurements: list[Measurement]
) -> Markup:
    """results/_unit_results.html for the unit and measurement: as prepared from the release
    (app/services/prepared.py), or rendered now and stored, kept for every process once the
    page is made (_keep_once_made)."""
    locale = str(get_locale())
    code_version = current_app.config["PREPARED_VERSION"]
    html, version = prepared.find(db.session, measurement.id, unit.id, locale, code_version)
    if html is None:
        html = render_unit_results(unit, measurement, measurements)
        try:  # a section made at the first view serves every later one, in every process
            prepared.store(db.session, measurement.id, unit.id, locale, version, html)
            _keep_once_made()
        except IntegrityError:
            db.session.rollback()  # another process stored the same section a moment ago
    return Markup(html)  # noqa: S704 - our own template, autoescaped when it was rendered


def _keep_once_made() -> None:
    """Commit the section stored in this request (a GET, nothing else to commit) once the
    page is made, whichever page it is: committed mid-page, it expired everything the page
    had read, and the rest of the page read each of those again. A page that failed keeps
    nothing; if another process stored the same section meanwhile, this one is dropped (it
    is the same)."""
    if g.get("section_to_keep"):
        return
    g.section_to_keep = True

    @after_this_request
    def commit(response: Response) -> Response:
        if response.status_code >= 400:
            db.session.rollback()
            return response
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
        return response


def analysis_indicators_html(unit: Unit, measurement: Measurement, *, keep: bool) -> Markup:
    """The analysis step's indicators side by side for the unit (empty where its figures are
    not shown): as prepared from the release, or rendered now and (`keep`: a GET, with nothing
    else to commit) stored, kept for every process once the page is made (_keep_once_made)."""
    key = prepared.analysis_key(str(get_locale()))
    code_version = current_app.config["PREPARED_VERSION"]
    found, version = prepared.find(db.session, measurement.id, unit.id, key, code_version)
    if found is not None:
        return Markup(found)  # noqa: S704 - our own template, autoescaped
    html = render_analysis_indicators(unit, measurement)
    if not keep:
        return Markup(html)  # noqa: S704 - our own template, autoescaped when it was rendered
    try:
        prepared.store_many(db.session, measurement.id, {unit.id: html}, key, version)
        _keep_once_made()
    except IntegrityError:
        db.session.rollback()  # another process kept the same table a moment ago
    return Markup(html)  # noqa: S704 - our own template, autoescaped when it was rendered


def render_analysis_indicators(
    unit: Unit, measurement: Measurement, *, view: results_service.UnitView | None = None
) -> str:
    view = view or results_service.unit_view(db.session, unit, measurement)
    return render_template(
        "results/_analysis_indicators.html", view=view, measurement=measurement
    ).strip()


def render_unit_results(
    unit: Unit,
    measurement: Measurement,
    measurements: list[Measurement],
    *,
    view: results_service.UnitView | None = None,
) -> str:
    view = view or results_service.unit_view(
        db.session, unit, measurement, measurements=measurements
    )
    return render_template(
        "results/_unit_results.html", view=view, measurements=measurements, bar=distribution_bar
    )


_BAR_HEAD = Markup(  # as the macro `distribution` in _macros/results.html writes it
    '\n\n\n<svg class="kompas-bar" viewBox="0 0 100 6" preserveAspectRatio="none"'
    ' aria-hidden="true" focusable="false">\n  \n  '
)


def distribution_bar(counts: list[int], labels: list[str], direction: str) -> Markup:
    """The macro `distribution` (_macros/results.html) in Python, byte for byte (a unit page
    draws some 24 bars: the macro was a sixth of the section's time). tests/web/
    test_unit_section_bars.py compares the two."""
    total = sum(counts)
    if not total > 0:
        return Markup("\n")
    k = len(counts)
    parts = [_BAR_HEAD]
    x = 0
    for index, count in enumerate(counts):
        width = 100 * count / total
        step = index if direction == "higher_better" else k - 1 - index
        part = (step * 4 // (k - 1)) if k > 1 else 0
        parts.append(
            f'\n  \n  \n  <rect x="{x:.3f}" y="0" width="{width:.3f}" height="6"'
            f' class="kompas-bar__part kompas-bar__part--{part}"></rect>\n  \n  '
        )
        x = x + width
    words = ", ".join(
        f"{escape(labels[index]) if index < len(labels) else index + 1}: {escape(count)}"
        for index, count in enumerate(counts)
    )
    parts.append(f'\n</svg>\n<span class="sr-only">{words}</span>\n')
    return Markup("".join(parts))  # noqa: S704 - labels and counts escaped above


def overview_cells(
    rows: list[results_service.OverviewRow],
    measurement: Measurement,
    themes: list[str],
    display: str,
) -> dict[int, str]:
    """The figures of each row of the overview ({unit id: cells}, our own markup, autoescaped
    when it was rendered), as prepared from the release (app/services/prepared.py, by
    language and indicator display: `cells_key`) and read with the rows, the missing ones
    rendered now and kept for every process: they are the same for everyone who may see the
    unit."""
    found = {row.unit_id: row.cells for row in rows if row.cells is not None}
    missing = [row for row in rows if row.cells is None]
    if missing:
        key, _ = cells_key(display)
        version = missing[0].cells_version  # read with the rows, as their figures
        made = render_overview_cells(missing, measurement, themes, display)
        found.update(made)
        if version is None:  # rows read without their kept figures: nothing to keep under
            return found
        try:  # made at the first view: every later one, in every process, reads them
            prepared.store_many(db.session, measurement.id, made, key, version)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # another process kept the same rows a moment ago
    return found


def cells_key(display: str) -> tuple[str, str]:
    """(key, the code's version) of the overview rows' prepared figures in this language and
    display."""
    return prepared.row_key(str(get_locale()), display), current_app.config["PREPARED_VERSION"]


def render_overview_cells(
    rows: list[results_service.OverviewRow],
    measurement: Measurement,
    themes: list[str],
    display: str,
) -> dict[int, str]:
    cells = current_app.jinja_env.get_template("results/_overview_cells.html").module.cells  # type: ignore[attr-defined]
    return {row.unit_id: str(cells(row, themes, display, measurement)) for row in rows}


# A unit code that every quoting leaves as it is (URL-unreserved characters only).
_PLAIN_CODE = re.compile(r"[A-Za-z0-9_.~-]+")


def _unit_href(measurement: Measurement) -> Callable[[str], str]:
    """url_for("main.unit", code=..., m=...) for many codes, escaped for an attribute: routed
    once, then filled in with the code as the route's converter writes it."""
    marker = "kompas0marker0"
    head, _sep, tail = url_for("main.unit", code=marker, m=measurement.id).partition(marker)
    return _filled(head, tail, BaseConverter(current_app.url_map).to_url)


def _subtree_href(measurement: Measurement) -> Callable[[str], str]:
    """url_for("results.overview", m=..., root=...) for many codes, escaped for an attribute:
    routed once, then the code filled in as werkzeug writes a query value (urlencode with its
    safe characters)."""
    marker = "kompas0marker0"
    head, _sep, tail = url_for("results.overview", m=measurement.id, root=marker).partition(marker)
    return _filled(head, tail, lambda code: quote_plus(code, safe=QUERY_SAFE))


def _filled(head: str, tail: str, quoted: Callable[[str], str]) -> Callable[[str], str]:
    """An address with a code between head and tail, quoted, then escaped as markup. Escaping
    goes character by character, so head and tail are escaped once; a plain code
    (URL-unreserved characters only) is the same quoted and escaped."""
    plain = _PLAIN_CODE.fullmatch
    head, tail = str(escape(head)), str(escape(tail))
    return lambda code: f"{head}{code if plain(code) else escape(quoted(code))}{tail}"


QUERY_SAFE = "!$'()*,/:;?@"  # werkzeug.urls._urlencode's


def overview_body(
    rows: list[results_service.OverviewRow],
    cells: dict[int, str],
    measurement: Measurement,
    *,
    flat: bool,
    root: str,
) -> Markup:
    """The overview table's rows (results/_overview_table.html prints them in its <tbody>):
    the unit's name with its link (and the link to its part of the organisation, where it has
    units below), then its prepared figures (`overview_cells`). Plain markup from one pattern
    per row, escaped as the template would: as a Jinja loop the rows were a third of the
    page's time."""
    unit_href, subtree_href = _unit_href(measurement), _subtree_href(measurement)
    # The text around the name, translated once ("\x00" stands for the name); markup as in a
    # template (the translation as it is, the name escaped).
    said = _("Show only the part under %(name)s", name="\x00")
    before, named, after = said.partition("\x00")
    parts = []
    for row in rows:
        name = escape(row.name)
        depth = 0 if flat else min(row.depth, 6)
        subtree = (
            f'<a class="kompas-subtree d-print-none" href="{subtree_href(row.code)}">'
            f'<span class="sr-only">{before}{name if named else ""}{after}</span>'
            '<span aria-hidden="true">\u2935</span></a>'
            if row.has_children and not flat and row.code != root
            else ""
        )
        parts.append(
            f'\n  <tr>\n    <th scope="row" class="weight-normal kompas-depth-{depth}">\n'
            f'      <a href="{unit_href(row.code)}">{name}</a>\n      {subtree}\n'
            f"    </th>\n    {cells.get(row.unit_id, '')}\n  </tr>\n  "
        )
    return Markup("".join(parts))  # noqa: S704 - every value above is escaped or our markup


def chosen_measurement(measurements: list[Measurement]) -> Measurement | None:
    wanted = request.args.get("m", type=int)
    if wanted is not None:
        found = next((m for m in measurements if m.id == wanted), None)
        if found is None:
            abort(404)
        return found
    return measurements[0] if measurements else None


def _overview_root() -> int | None:
    """The unit of ?root= (None: everything the user sees), after the checks: run on every
    request, whatever a cache holds."""
    require(Permission.VIEW_RESULTS)
    root_code = request.args.get("root", "").strip()
    if not root_code:
        return None
    root_id = db.session.scalar(select(Unit.id).where(Unit.code == root_code))
    if root_id is None or not current_access().may(db.session, Permission.VIEW_RESULTS, root_id):
        abort(404)
    return root_id


def _overview_context(*, root_id: int | None, paginate: bool = True) -> dict[str, Any]:
    """What the overview shows; paginated: the page (each row's prepared figures read with the
    rows), else the exports (every row, no markup)."""
    access = current_access()
    measurements = results_service.measurements_with_figures(db.session)
    measurement = chosen_measurement(measurements)
    query = request.args.get("q", "").strip()
    sort = request.args.get("sort", "tree")
    if sort not in SORTS:
        sort = "tree"
    root_code = request.args.get("root", "").strip() if root_id is not None else ""
    # Before management releases the measurement, only the person's admin and leader roles
    # reach its results (app.policy): a class team's or student council's table is empty.
    held_back = measurement is not None and not access.results_access(measurement).may_anywhere(
        Permission.VIEW_RESULTS
    )
    display_refs = (
        references.display_and_references(
            db.session, measurement.questionnaire_id, measurement.year
        )
        if measurement is not None
        else ("score", None)
    )
    questions = results_service.question_themes(db.session, measurement) if measurement else []
    rows = (
        results_service.overview_rows(
            db.session,
            access.results_access(measurement),
            measurement,
            root_unit_id=root_id,
            questions=questions,
            measurements=measurements,
            cells=cells_key(display_refs[0]) if paginate else None,
        )
        if measurement and not held_back
        else []
    )
    if query:
        needle = query.lower()
        rows = [r for r in rows if needle in r.name.lower() or needle in r.code.lower()]
    key = SORTS[sort]
    if key is not None:
        shown = sorted((r for r in rows if r.shown), key=key)
        rows = shown + [r for r in rows if not r.shown]
    # Indicators only: themes of zero-tolerance questions never get a score.
    themes = results_service.scored_themes(questions)
    total = len(rows)
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    page = min(max(1, request.args.get("page", 1, type=int)), pages)
    if paginate:
        rows = rows[(page - 1) * PER_PAGE : page * PER_PAGE]
    return {
        "display_refs": display_refs,
        "measurements": measurements,
        "measurement": measurement,
        "rows": rows,
        # Whether a row shown has an indicator made of some of its questions (a footnote).
        "partial_footnote": any(row.partial_themes for row in rows),
        "total": total,
        "page": page,
        "pages": pages,
        "query": query,
        "sort": sort,
        "root": root_code,
        "themes": themes,
        "flat": bool(query) or key is not None,
        "held_back": held_back,
        "release": (
            release_service.status(db.session, measurement, held=access.hold_results)
            if measurement
            else None
        ),
        "may_release": access.may_release_results(db.session),
    }


@bp.get("/")
@login_required
def overview() -> str:
    root_id = _overview_root()
    context = _overview_context(root_id=root_id)
    measurement = context["measurement"]
    if measurement is not None:
        cells = overview_cells(
            context["rows"], measurement, context["themes"], context["display_refs"][0]
        )
        context["body"] = overview_body(
            context["rows"], cells, measurement, flat=context["flat"], root=context["root"]
        )
    if htmx:
        return render_template("results/_overview_table.html", **context)
    return render_template("results/overview.html", **context)


def _export_table() -> tuple[Measurement, str, list[str], list[list[Any]]]:
    """The overview as rows for the CSV and XLSX exports, in the screen's words: shown cells
    only; a hidden unit says so and nothing else. Also the part of the organisation exported
    (a unit code, or "" for all the user sees), for the file name."""
    context = _overview_context(paginate=False, root_id=_overview_root())
    measurement = context["measurement"]
    if measurement is None or context["held_back"]:
        abort(404)
    themes = context["themes"]
    header = [_("Unit id"), _("Unit"), _("Respondents"), _("Response rate (%)"),
              _("Overall score"), _("Traffic light"), *themes, change_heading(measurement),
              _("Zero tolerance")]  # fmt: skip
    rows: list[list[Any]] = []
    for row in context["rows"]:
        if not row.shown:
            rows.append([row.code, row.name, _("Not shown")])
            continue
        figures = row.figures
        rate = figures.response_rate * 100 if figures.response_rate is not None else None
        rows.append(
            [row.code, row.name, figures.respondents, _round(rate), _round(figures.overall_score),
             colour_label(figures.colour), *(_round(figures.indicators.get(t)) for t in themes),
             _round(row.change), _("Yes") if figures.zero_tolerance_hits else ""]
        )  # fmt: skip
    if measurement.remeasure_of_id is None:
        # The published reference figures of the year, marked with source and year, on the
        # same 0-100 scale as the indicator columns (services.references).
        for title, line_of in references.reference_table(
            db.session, measurement.questionnaire_id, measurement.year, themes
        ):
            rows.append(
                ["", _("%(reference)s (reference)", reference=title), None, None, None, "",
                 *(_round(line.score) if line else None for line in line_of), None, ""]
            )  # fmt: skip
    part = context["root"]
    if not part and context["sort"] == "tree" and not context["query"]:
        tops = [row.code for row in context["rows"] if row.depth == 0]
        part = tops[0] if len(tops) == 1 else ""
    return measurement, part, header, rows


def change_heading(measurement: Measurement) -> str:
    """The change column, on the page and in the exports: a re-measurement compares each unit
    with its own first measurement, not with last year."""
    if measurement.remeasure_of_id is not None:
        return _("Change since the first measurement")
    return _("Change since last year")


def _export_name(measurement: Measurement, part: str, extension: str) -> str:
    return spreadsheets.export_file_name(
        _("results"), measurement.name.lower(), part, extension=extension
    )


@bp.get("/export.csv")
@login_required
def overview_csv() -> Response:
    """The overview as CSV: shown cells only; a hidden unit says so and nothing else."""
    measurement, part, header, rows = _export_table()
    return spreadsheets.csv_response(header, rows, _export_name(measurement, part, "csv"))


@bp.get("/export.xlsx")
@login_required
def overview_xlsx() -> Response:
    """The overview as a spreadsheet: the same cells as the CSV, numbers as numbers."""
    measurement, part, header, rows = _export_table()
    return spreadsheets.xlsx_response(
        _("Results"), header, rows, _export_name(measurement, part, "xlsx")
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
