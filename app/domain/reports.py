"""Report arithmetic and chart geometry: plain data in, plain data out (no Flask, no DB).

The charts are drawn by Jinja templates (`reports/_charts.html`) from the geometry made here,
so the browser and the PDF show the very same SVG. Colours are SVG presentation attributes,
not CSS classes: WeasyPrint does not apply the page's stylesheet inside inline SVG, and the
Content-Security-Policy forbids inline styles in the browser.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import date, datetime
from statistics import fmean
from typing import Any

# DKFDS-like colours. Traffic lights always carry a word or a number beside them.
INK = "#1a1a1a"
MUTED = "#6f6f6f"
GRID = "#d8d8d8"
PRIMARY = "#0059b3"
YEAR_FILLS = {  # per number of years shown, oldest .. newest: the newest darkest
    1: ("#0059b3",),
    2: ("#8fb8de", "#0059b3"),
    3: ("#c4dbf0", "#6699cc", "#0059b3"),
}
LIGHT_FILLS = {"green": "#358000", "yellow": "#ffbb00", "red": "#c8102e", "none": "#bdbdbd"}
LIGHT_TEXT = {"green": "#ffffff", "yellow": "#1a1a1a", "red": "#ffffff", "none": "#1a1a1a"}
# Answer options from worst (0) to best (4), as on the unit page.
ANSWER_FILLS = ("#b3261e", "#e8a29e", "#c7c7c7", "#8fb8de", "#1c5a96")  # as kompas.css
STATUS_FILLS = ("#bdbdbd", "#b3cde6", "#6699cc", "#2f77c0", "#358000")


# --- checksums -------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """Dataclasses, dates and tuples as JSON-ready values (for checksums and exports)."""
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 6)  # the last bits of a float must not change a checksum
    return value


def checksum(data: Any, *, leave_out: Iterable[str] = ()) -> str:
    """SHA-256 of the data as canonical JSON (sorted keys), without the named top-level keys
    (such as when it was generated, which is not part of the data)."""
    document = plain(data)
    if isinstance(document, dict):
        for key in leave_out:
            document.pop(key, None)
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- "did it work?" --------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupChange:
    units: int
    mean_change: float


@dataclass(frozen=True)
class Effect:
    """Per theme: the change in score since last year for units that completed actions on
    it, beside units that had no actions on it."""

    theme: str
    with_actions: GroupChange
    without_actions: GroupChange

    @property
    def difference(self) -> float:
        return self.with_actions.mean_change - self.without_actions.mean_change


def effects(
    themes: Sequence[str],
    changes: Mapping[int, Mapping[str, float | None]],
    completed: Mapping[str, set[int]],
    any_action: Mapping[str, set[int]],
    *,
    minimum_units: int = 1,
) -> list[Effect]:
    """Compare, per theme, units that completed an action on it with units that had none.

    `changes` holds each compared unit's change per theme, None (or missing) where the theme
    was not shown in both years: such a unit is in neither group. `completed` and
    `any_action` name the units with a completed action, and with any action, per theme; a
    unit with only unfinished actions is in neither group. A theme is left out unless both
    groups have at least `minimum_units` shown units.
    """
    found = []
    for theme in themes:
        done = completed.get(theme, set())
        touched = any_action.get(theme, set())
        with_actions: list[float] = []
        without: list[float] = []
        for unit_id, per_theme in changes.items():
            change = per_theme.get(theme)
            if change is None:
                continue
            if unit_id in done:
                with_actions.append(change)
            elif unit_id not in touched:
                without.append(change)
        if len(with_actions) >= minimum_units and len(without) >= minimum_units:
            found.append(
                Effect(
                    theme,
                    GroupChange(len(with_actions), fmean(with_actions)),
                    GroupChange(len(without), fmean(without)),
                )
            )
    return found


# --- chart geometry --------------------------------------------------------------------------


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str
    label: str = ""  # the figure written on or beside the bar
    label_x: float = 0.0
    label_fill: str = INK
    label_anchor: str = "start"


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"
    fill: str = INK
    size: float = 11.0
    weight: str = "normal"


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str = GRID
    width: float = 1.0
    dash: str = ""


@dataclass
class Chart:
    """What a chart template draws: shapes in a viewBox, and its words for screen readers."""

    width: float
    height: float
    title: str
    rects: list[Rect] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    points: list[tuple[float, float]] = field(default_factory=list)
    polyline: str = ""
    legend: list[tuple[str, str]] = field(default_factory=list)  # (fill, label)


def _fmt(value: float) -> str:
    return str(round(value))


def grouped_bars(
    rows: Sequence[tuple[str, Sequence[float | None], float | None]],
    series: Sequence[str],
    *,
    title: str,
    target_label: str = "",
    width: float = 640.0,
    label_width: float = 230.0,
    bar_height: float = 11.0,
) -> Chart:
    """Horizontal bars on a 0-100 scale: per row (label, one value per series, a target), a
    bar per series (oldest first) and a tick at the target."""
    gap = 3.0
    row_gap = 10.0
    per_row = len(series) * (bar_height + gap) + row_gap
    top = 18.0
    plot = width - label_width - 36
    height = top + per_row * len(rows) + 16
    fills = YEAR_FILLS.get(len(series), YEAR_FILLS[3][-len(series) :]) if series else ()
    chart = Chart(width=width, height=height, title=title)
    for tick in (0, 25, 50, 75, 100):
        x = label_width + plot * tick / 100
        chart.lines.append(Line(x, top - 4, x, height - 14))
        chart.texts.append(Text(x, height - 2, str(tick), "middle", MUTED, 9))
    for index, (label, values, target) in enumerate(rows):
        y = top + index * per_row
        chart.texts.append(Text(label_width - 8, y + per_row / 2 - 2, label, "end", INK, 10.5))
        for number, value in enumerate(values):
            bar_y = y + number * (bar_height + gap)
            if value is None:
                chart.texts.append(Text(label_width + 4, bar_y + bar_height - 2, "–", fill=MUTED))
                continue
            w = plot * max(0.0, min(100.0, value)) / 100
            chart.rects.append(
                Rect(label_width, bar_y, w, bar_height, fills[number], _fmt(value),
                     label_width + w + 4, INK)
            )  # fmt: skip
        if target is not None:
            x = label_width + plot * target / 100
            chart.lines.append(Line(x, y - 2, x, y + per_row - row_gap + 1, INK, 2.0))
    chart.legend = [(fills[i], name) for i, name in enumerate(series)]
    if target_label and any(target is not None for *_, target in rows):
        chart.legend.append((INK, target_label))
    return chart


def score_line(
    points: Sequence[tuple[str, float | None]],
    *,
    title: str,
    yellow_from: float,
    green_from: float,
    width: float = 640.0,
    height: float = 190.0,
) -> Chart:
    """The overall score over the years as a line over traffic-light bands (0-100)."""
    left, right, top, bottom = 36.0, 20.0, 12.0, 26.0
    plot_w, plot_h = width - left - right, height - top - bottom
    low, high = 30.0, 100.0  # scores below 30 are drawn at the bottom edge
    chart = Chart(width=width, height=height, title=title)

    def y_of(value: float) -> float:
        clipped = max(low, min(high, value))
        return top + plot_h * (high - clipped) / (high - low)

    bands = [(low, yellow_from, "#f6d4da"), (yellow_from, green_from, "#fff1c2"),
             (green_from, high, "#dcefd0")]  # fmt: skip
    for start, end, fill in bands:
        if end > start:
            chart.rects.append(Rect(left, y_of(end), plot_w, y_of(start) - y_of(end), fill))
    for tick in (40, 60, 80, 100):
        chart.lines.append(Line(left, y_of(tick), left + plot_w, y_of(tick)))
        chart.texts.append(Text(left - 6, y_of(tick) + 3, str(tick), "end", MUTED, 9))
    count = len(points)
    step = plot_w / max(1, count - 1) if count > 1 else 0.0
    coordinates = []
    for index, (label, value) in enumerate(points):
        x = left + (index * step if count > 1 else plot_w / 2)
        chart.texts.append(Text(x, height - 8, label, "middle", INK, 10))
        if value is None:
            continue
        y = y_of(value)
        coordinates.append((x, y))
        chart.texts.append(Text(x, y - 8, _fmt(value), "middle", INK, 11, "bold"))
    chart.points = coordinates
    chart.polyline = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
    return chart


def stacked_bars(
    rows: Sequence[tuple[str, Sequence[int]]],
    parts: Sequence[tuple[str, str, str]],
    *,
    title: str,
    width: float = 640.0,
    label_width: float = 150.0,
    bar_height: float = 18.0,
) -> Chart:
    """One 100 % bar per row split into parts (fill, text colour, legend label), each part
    labelled with its count where it is wide enough."""
    gap = 8.0
    plot = width - label_width - 50
    height = len(rows) * (bar_height + gap) + 4
    chart = Chart(width=width, height=height, title=title)
    for index, (label, counts) in enumerate(rows):
        y = index * (bar_height + gap)
        total = sum(counts)
        chart.texts.append(Text(label_width - 8, y + bar_height - 5, label, "end", INK, 10.5))
        chart.texts.append(Text(width - 4, y + bar_height - 5, str(total), "end", MUTED, 10))
        x = label_width
        for count, (fill, text_fill, _name) in zip(counts, parts, strict=True):
            if not count or not total:
                continue
            w = plot * count / total
            chart.rects.append(
                Rect(x, y, w, bar_height, fill, str(count) if w >= 16 else "", x + w / 2,
                     text_fill, "middle")
            )  # fmt: skip
            x += w
    chart.legend = [(fill, name) for fill, _text, name in parts]
    return chart


def diverging_pairs(
    rows: Sequence[tuple[str, float, float]],
    series: tuple[str, str],
    *,
    title: str,
    width: float = 640.0,
    label_width: float = 230.0,
    bar_height: float = 11.0,
) -> Chart:
    """Per row two changes (e.g. with and without actions) as bars left or right of zero."""
    gap, row_gap = 3.0, 12.0
    per_row = 2 * (bar_height + gap) + row_gap
    biggest = max([abs(v) for _, a, b in rows for v in (a, b)] + [5.0])
    span = float(5 * (int(biggest / 5) + 1))
    plot = width - label_width - 40
    zero = label_width + plot / 2
    top = 6.0
    height = top + per_row * len(rows) + 16
    chart = Chart(width=width, height=height, title=title)
    chart.lines.append(Line(zero, 0, zero, height - 14, INK, 1.0))
    for tick in (-span, 0.0, span):
        x = zero + plot / 2 * tick / span
        chart.texts.append(Text(x, height - 2, f"{tick:+.0f}" if tick else "0", "middle", MUTED, 9))
    fills = (PRIMARY, "#9e9e9e")
    for index, (label, with_actions, without) in enumerate(rows):
        y = top + index * per_row
        chart.texts.append(Text(label_width - 8, y + per_row / 2 - 2, label, "end", INK, 10.5))
        for number, value in enumerate((with_actions, without)):
            bar_y = y + number * (bar_height + gap)
            w = plot / 2 * abs(value) / span
            x = zero if value >= 0 else zero - w
            text = f"{value:+.1f}".replace(".", ",")
            label_x = zero + w + 4 if value >= 0 else zero - w - 4
            chart.rects.append(
                Rect(x, bar_y, w, bar_height, fills[number], text, label_x, INK,
                     "start" if value >= 0 else "end")
            )  # fmt: skip
    chart.legend = [(fills[0], series[0]), (fills[1], series[1])]
    return chart


def distribution_bar(counts: Sequence[int], direction: str) -> list[Rect]:
    """The answer distribution as one stacked bar in a 100 x 6 viewBox, coloured from worst
    to best whichever way the question runs (as on the unit page)."""
    total = sum(counts)
    if total <= 0:
        return []
    k = len(counts)
    rects, x = [], 0.0
    for index, count in enumerate(counts):
        w = 100 * count / total
        step = index if direction == "higher_better" else k - 1 - index
        shade = (step * 4 // (k - 1)) if k > 1 else 0
        if w > 0:
            rects.append(Rect(round(x, 3), 0, round(w, 3), 6, ANSWER_FILLS[shade]))
        x += w
    return rects


def mean_or_none(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None
