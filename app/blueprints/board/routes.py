"""The status-arrow board: cards in five columns, moved by drag and drop or by buttons.

Moves are small POSTs that name the card's version; htmx swaps the columns in place, and
without JavaScript the same forms post and redirect back to the board.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import bindparam, select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from app.blueprints.admin.forms import EmptyForm
from app.blueprints.board import bp
from app.blueprints.followup.forms import ActionForm
from app.blueprints.followup.routes import STATUS_LABELS
from app.extensions import db, htmx
from app.models import Action, ActionStatus, PlanTheme, Role, Unit, User
from app.policy import Permission as Can
from app.policy import current_access, require
from app.services import board as service
from app.services import plan as plan_service
from app.services import results as results_service
from app.services import spreadsheets

STATUSES = tuple(ActionStatus)
LIST_SORTS = {  # the list view's columns, each sortable
    "title": lambda c: c.action.title.lower(),
    "unit": lambda c: (c.unit.name.lower(), c.action.title.lower()),
    "theme": lambda c: (c.theme.lower(), c.action.title.lower()),
    "owner": lambda c: ((c.owner or "").lower(), c.action.title.lower()),
    "deadline": lambda c: (c.action.deadline is None, c.action.deadline),
    "status": lambda c: (c.action.status, c.action.title.lower()),
}
# Cards per column on the board: the most urgent first, "show more" adds as many again (up to
# COLUMN_MOST, through ?cards=), and the list view has every one.
COLUMN_LIMIT = 10
COLUMN_MOST = 200


# Built once: SQLAlchemy then finds each one's compiled form by a key it keeps with the
# statement, instead of walking a new statement (or Session.get's) on every board.
_UNIT_BY_ID = select(Unit).where(Unit.id == bindparam("unit_id"))
_UNIT_BY_CODE = select(Unit).where(Unit.code == bindparam("code"))


def _default_unit() -> Unit | None:
    """The unit the board opens on: the first the user holds a non-board role on; None for
    HR (every unit of the organisation, whichever top unit it is under) and for a reader of
    reports only (every unit they may see)."""
    access = current_access()
    for role, unit_id in access.assignments:
        if role != Role.BOARD:
            return db.session.scalars(_UNIT_BY_ID, {"unit_id": unit_id}).one_or_none()
    return None


def _board_scope(args: MultiDict[str, str]) -> tuple[service.BoardFilter, Unit | None]:
    """The filter in `args` and the unit it names (or the user's own), after the checks: 404
    for a unit the user may not see. Run on every request, whatever a cache holds."""
    require(Can.VIEW_FOLLOWUP)
    access = current_access()
    wanted = service.BoardFilter.from_args(args)
    unit = None
    if wanted.scope != "mine":
        if wanted.unit:
            unit = db.session.scalars(_UNIT_BY_CODE, {"code": wanted.unit}).one_or_none()
            if unit is None or not access.may(db.session, Can.VIEW_FOLLOWUP, unit.id):
                abort(404)
        else:
            unit = _default_unit()
            if unit is not None:
                wanted.unit = unit.code
    return wanted, unit


def _board_context(
    args: MultiDict[str, str] | None = None,
    scope: tuple[service.BoardFilter, Unit | None] | None = None,
    *,
    page: bool = False,
) -> dict[str, Any]:
    """Everything the board templates need, for the filter in `args` (default: the URL);
    with `page`, also what the whole page's filters offer."""
    args = request.args if args is None else args
    wanted, unit = _board_scope(args) if scope is None else scope
    access = current_access()
    today = date.today()
    view = args.get("view", "board")
    per_column = min(max(args.get("cards", COLUMN_LIMIT, type=int), COLUMN_LIMIT), COLUMN_MOST)
    board = service.board(
        db.session,
        access,
        wanted,
        unit,
        today,
        per_column=per_column if view != "list" else None,
        choices=page,
    )
    sort = args.get("sort", "deadline")
    if sort in LIST_SORTS and sort != "deadline":  # the query already orders by deadline
        board.cards.sort(key=LIST_SORTS[sort])
    rights = service.Rights(db.session, access)
    return {
        "board": board,
        "wanted": wanted,
        "unit": unit,
        "statuses": STATUSES,
        "status_labels": {status: str(label) for status, label in STATUS_LABELS.items()},
        "themes": board.choices.themes if board.choices else [],
        "owners": board.choices.owners if board.choices else [],
        "move_form": _MoveForm(),
        # "My unit" and "my unit and below" where the board has a unit (the person's own or
        # one asked for); else "every unit you can see" (HR, a reader of reports).
        "unit_scopes": unit is not None
        or bool(wanted.unit)
        or any(role != Role.BOARD for role, _unit in access.assignments),
        "today": today,
        "may_move": rights.may_move,
        "may_edit": rights.may_edit,
        "return_to": url_for(
            "board.index", **{k: v for k, v in args.items() if k not in ("fragment", "at")}
        ),
        "per_column": per_column,
        "column_step": COLUMN_LIMIT,
        "column_most": COLUMN_MOST,
        "view": view,
        "sort": sort if sort in LIST_SORTS else "deadline",
        "card_text": {
            "theme": _("Theme"),
            "owner": _("Owner"),
            "deadline": _("Deadline"),
            "overdue": _("overdue"),
            "due_soon": _("due soon"),
            "unit": _("Unit"),
            "passed_on": _("Passed on to"),
            "move_back": _("Move back"),
            "move_on": _("Move on"),
        },
        "action_url": _url_with_id("board.detail"),
        "move_url": _url_with_id("board.move"),
        "date_text": _format_dates_once(),
    }


def _url_with_id(endpoint: str) -> Callable[[int], str]:
    """url_for(endpoint, action_id=...) for many ids: routed once, then filled in. A board of
    200 cards would otherwise route 600 times, a good part of the page's time."""
    marker = "2147483647"
    head, _sep, tail = url_for(endpoint, action_id=int(marker)).partition(marker)
    return lambda action_id: f"{head}{action_id}{tail}"


def _format_dates_once() -> Callable[[date], str]:
    """format_date(day, "medium") in the request's language: Babel takes a third of a
    millisecond per date, so each day is formatted once per language and process."""
    language = str(get_locale())
    return lambda day: _medium_date(day, language)


@lru_cache(maxsize=4096)
def _medium_date(day: date, language: str) -> str:
    """Called within a request whose language is `language` (the cache key)."""
    return format_date(day, "medium")


class _MoveForm:
    """The form of the move buttons, whose hidden CSRF field is the same for every card of
    a page: rendered once, not again for each of the 3,000 buttons of a big board."""

    def __init__(self) -> None:
        self._form = EmptyForm()
        self._hidden: Markup | None = None

    def hidden_tag(self, *fields: Any) -> Markup:
        if fields:
            return self._form.hidden_tag(*fields)
        if self._hidden is None:
            self._hidden = self._form.hidden_tag()
        return self._hidden

    def __getattr__(self, name: str) -> Any:
        return getattr(self._form, name)


@bp.get("/")
@login_required
def index() -> str:
    args = request.args
    scope = _board_scope(args)  # access
    context = _board_context(args, scope, page=not htmx)
    if htmx and args.get("fragment") == "columns":
        # "Show more" in a column: the focus goes to the first card it brought.
        at = args.get("at", type=_status)
        if at is not None:
            column = context["board"].column(at)
            first_new = context["per_column"] - COLUMN_LIMIT
            if 0 < first_new < len(column):
                context["focus"] = f"card-{column[first_new].action.id}-link"
        return render_template("board/_columns.html", **context)
    if htmx:
        return render_template("board/_content.html", **context)
    # Only the whole page has the filters, which offer the measurements.
    context["measurements"] = results_service.measurement_names_with_figures(db.session)
    return render_template("board/index.html", **context)


def _action_or_404(action_id: int, *, deleted: bool = False) -> Action:
    """The action, if the user may see it; a deleted one only where `deleted` asks for it."""
    action = db.session.get(
        Action, action_id, execution_options={"include_deleted_actions": deleted}
    )
    if (
        action is None
        or (action.deleted_at is not None) != deleted
        or not service.may_see(db.session, current_access(), current_user, action)
    ):
        abort(404)
    return action


def _safe_return(target: str | None) -> str:
    if target and target.startswith("/board") and "//" not in target:
        return target
    return url_for("board.index")


@bp.post("/actions/<int:action_id>/move")
@login_required
def move(action_id: int) -> Any:
    action = _action_or_404(action_id)
    access = current_access()
    if not service.may_move(db.session, access, current_user, action):
        abort(404)
    form = EmptyForm()
    try:
        status = ActionStatus(int(request.form.get("status", "")))
        version = int(request.form.get("version", ""))
    except ValueError:
        abort(400)
    if not form.validate_on_submit():
        abort(400)
    conflict = None
    try:
        service.move(
            db.session,
            current_user,
            action,
            status,
            expected_version=version,
            comment=request.form.get("comment", ""),
        )
    except service.Conflict as error:
        conflict = error.action
    return_to = _safe_return(request.form.get("return_to"))
    if htmx:
        # The board again, as the filter it was moved from asks, with the outcome in words:
        # the card in its column among the most urgent (or beyond them), both columns'
        # counts, every card's version, and what the filter no longer keeps. Made before the
        # commit, from what the move wrote: after it, every object read (the user, the
        # action) would be read again.
        context = _board_context(_args_of(return_to))
        context.update(
            conflict=conflict,
            wanted_status=status,
            moved=None if conflict else action,
            focus=_focus_after_move(action.id, request.form, status, conflict),
        )
        response = make_response(render_template("board/_columns.html", **context))
        if conflict:
            response.status_code = 409
        else:
            db.session.commit()
        return response
    if conflict is not None:
        flash(_conflict_message(conflict, status), "warning")
    else:
        flash(
            _(
                "“%(title)s” is now at “%(status)s”.",
                title=action.title,
                status=STATUS_LABELS[status],
            ),
            "success",
        )
        db.session.commit()
    return redirect(return_to)


def _status(value: str) -> ActionStatus:
    return ActionStatus(int(value))  # ValueError for anything else: MultiDict.get gives None


def _focus_after_move(
    action_id: int, form: Any, wanted: ActionStatus, conflict: Action | None
) -> str:
    """The id of the button to give the focus back to after a move made with a card's
    button: the same direction, on the card where it stands now, or the other button if
    the card has reached the end of the arrow. Nothing after a drag (no `was`)."""
    was = form.get("was", type=int)
    if was is None:
        return ""
    now = conflict.status if conflict is not None else wanted
    onward = wanted > was
    if onward and now >= ActionStatus.DONE:
        onward = False
    elif not onward and now <= ActionStatus.NOT_STARTED:
        onward = True
    return f"move-{action_id}-{'on' if onward else 'back'}"


def _args_of(path: str) -> MultiDict[str, str]:
    return MultiDict(parse_qsl(urlsplit(path).query))


def _conflict_message(current: Action, wanted: ActionStatus) -> str:
    return _(
        "Someone else changed “%(title)s” first: it is now at “%(status)s”. Your move to "
        "“%(wanted)s” was not saved. Look at the card and move it again if it still should.",
        title=current.title,
        status=STATUS_LABELS[ActionStatus(current.status)],
        wanted=STATUS_LABELS[wanted],
    )


@bp.get("/actions/<int:action_id>")
@login_required
def detail(action_id: int) -> str:
    action = _action_or_404(action_id)
    access = current_access()
    return render_template(
        "board/detail.html",
        action=action,
        updates=service.history(db.session, action),
        status_labels=STATUS_LABELS,
        statuses=STATUSES,
        move_form=EmptyForm(),
        may_move=service.may_move(db.session, access, current_user, action),
        may_edit=service.may_edit(db.session, access, action),
    )


@bp.route("/actions/<int:action_id>/edit", methods=["GET", "POST"])
@login_required
def edit(action_id: int) -> Any:
    action = _action_or_404(action_id)
    if not service.may_edit(db.session, current_access(), action):
        abort(404)
    form = ActionForm(obj=action) if request.method == "GET" else ActionForm()
    themes = db.session.scalars(
        select(PlanTheme).where(PlanTheme.follow_up_id == action.follow_up_id)
    ).all()
    form.theme_id.choices = [SelectChoice(0, str(_("— no theme —")))] + [
        SelectChoice(t.id, t.title) for t in themes
    ]
    form.owner_user_id.choices = [SelectChoice(0, str(_("— nobody chosen —")))] + [
        SelectChoice(u.id, u.name)
        for u in plan_service.owner_choices(db.session, action.unit, keep=action.owner)
    ]
    if request.method == "GET":
        form.theme_id.data = action.theme_id or 0
        form.owner_user_id.data = action.owner_user_id or 0
    if form.validate_on_submit():
        expected = request.form.get("version", type=int)
        if expected != action.version:
            flash(_conflict_message(action, ActionStatus(action.status)), "warning")
        else:
            before = {"title": action.title, "owner": action.owner_label}
            action.title = (form.title.data or "").strip()
            action.theme_id = form.theme_id.data or None
            owner = (
                db.session.get(User, form.owner_user_id.data) if form.owner_user_id.data else None
            )
            action.owner_user_id = owner.id if owner else None
            action.owner_name = "" if owner else (form.owner_name.data or "").strip()
            action.deadline = form.deadline.data
            from app.services import audit

            audit.record(
                db.session,
                current_user,
                "action.edited",
                "action",
                action.id,
                unit_id=action.unit_id,
                before=before,
                title=action.title,
            )
            db.session.commit()
            flash(_("The action was saved."), "success")
            return redirect(url_for("board.detail", action_id=action.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "board/edit.html", form=form, action=action, undo_days=plan_service.UNDO_DAYS
    ), status


@bp.route("/actions/<int:action_id>/delete", methods=["GET", "POST"])
@login_required
def delete(action_id: int) -> Any:
    """GET asks first; POST marks the action deleted, and the next page offers "Fortryd"."""
    action = _action_or_404(action_id)
    if not service.may_edit(db.session, current_access(), action):
        abort(404)
    form = EmptyForm()
    if request.method == "GET" or not form.validate_on_submit():
        return render_template(
            "board/delete.html", action=action, form=form, undo_days=plan_service.UNDO_DAYS
        ), (400 if request.method == "POST" else 200)
    plan_service.delete_action(db.session, current_user, action)
    db.session.commit()
    return redirect(url_for("board.deleted", action_id=action.id))


@bp.get("/actions/<int:action_id>/deleted")
@login_required
def deleted(action_id: int) -> str:
    action = _action_or_404(action_id, deleted=True)
    if not service.may_edit(db.session, current_access(), action):
        abort(404)
    return render_template(
        "board/deleted.html",
        action=action,
        form=EmptyForm(),
        undo_until=plan_service.undo_until(action),
    )


@bp.post("/actions/<int:action_id>/restore")
@login_required
def restore(action_id: int) -> Response:
    action = _action_or_404(action_id, deleted=True)
    if (
        not service.may_edit(db.session, current_access(), action)
        or not EmptyForm().validate_on_submit()
    ):
        abort(404)
    try:
        plan_service.restore_action(db.session, current_user, action)
    except plan_service.FollowUpError:
        abort(404)
    db.session.commit()
    flash(_("“%(title)s” is back.", title=action.title), "success")
    return redirect(url_for("board.detail", action_id=action.id))


EXPORT_COLUMNS = (
    _l("Id"),
    _l("Activity"),
    _l("Unit"),
    _l("Theme"),
    _l("Who owns it"),
    _l("Deadline"),
    _l("How far are we"),
    _l("Passed on to"),
    _l("Last comment"),
)


def _export_rows() -> list[list[Any]]:
    context = _board_context()
    return [
        [
            c.action.id,
            c.action.title,
            c.unit.name,
            c.theme,
            c.owner,
            c.action.deadline,  # a date cell in the spreadsheet, YYYY-MM-DD in the CSV
            str(STATUS_LABELS[ActionStatus(c.action.status)]),
            c.escalated_to,
            c.action.last_comment,
        ]
        for c in context["board"].cards
    ]


def _headers() -> list[str]:
    return [str(c) for c in EXPORT_COLUMNS]


@bp.get("/export.csv")
@login_required
def export_csv() -> Response:
    return spreadsheets.csv_response(_headers(), _export_rows(), _export_name("csv"))


@bp.get("/export.xlsx")
@login_required
def export_xlsx() -> Response:
    return spreadsheets.xlsx_response(
        _("Actions"), _headers(), _export_rows(), _export_name("xlsx")
    )


def _export_name(extension: str) -> str:
    """`kompas-handlinger-<unit code, or "mine">-<date>`: which part of the board it holds."""
    wanted, unit = _board_scope(request.args)
    part = _("mine") if wanted.scope == "mine" else (unit.code if unit is not None else "")
    return spreadsheets.export_file_name(_("actions"), part, extension=extension)


@bp.get("/calendar/<token>.ics")
def calendar(token: str) -> Response:
    """A user's action deadlines and dialogue meetings as iCalendar, for Outlook and others.

    The token is the only key (calendar clients cannot sign in); it is long, random and can
    be replaced or removed from the profile page.
    """
    from app.services.calendar import feed

    user = db.session.scalar(select(User).where(User.calendar_token == token))
    if user is None or not user.active or len(token) < 32:
        abort(404)
    response = make_response(feed(db.session, user))
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = spreadsheets.content_disposition(
        "kompas.ics", inline=True
    )
    response.headers["Cache-Control"] = "private, max-age=900"
    return response
