"""Every zero-tolerance hit of a re-measurement raises an alert (Hypothesis, no database).

A re-measurement stores only the units it measured again whole; the alerts come from the
whole audited release (`figures.raised_alerts`), so a hit below a unit measured in part is
not lost, and no alert ever sits at a unit that hides the question.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.domain.release import remeasured_units
from app.services.figures import raised_alerts
from tests.domain.test_release import FAST, Org, orgs, release_of


@st.composite
def remeasurements(draw: st.DrawFn) -> tuple[Org, dict[str, str | None]]:
    """A small re-measured organisation and the first measurement's tree: the same units,
    and below some of them units that were not measured again."""
    org = draw(orgs())
    first: dict[str, str | None] = dict(org.parent)
    for i, unit in enumerate(draw(st.lists(st.sampled_from(org.ids), max_size=3))):
        first[f"x{i}"] = unit
    return org, first


@FAST
@given(remeasurements())
def test_every_hit_raises_an_alert_at_the_unit_that_shows_it(
    case: tuple[Org, dict[str, str | None]],
) -> None:
    org, first = case
    units = release_of(org)  # audited: no problems
    raised = raised_alerts(units.values(), ["Z"])
    whole = remeasured_units(org.parent, first)
    for unit in org.ids:
        if org.own[unit]["Z"][1] + org.own[unit]["Z"][2] == 0:
            continue
        # The nearest unit at or above it that shows the question carries the alert, stored
        # or not (a unit measured in part is not stored).
        node: str | None = unit
        while node is not None and "Z" not in units[node].questions:
            node = org.parent[node]
        if node is not None:
            assert raised.get(node) == {"Z"}, (unit, node, node in whole)
    for code in raised:
        # Never at a unit that hides the question (a hidden unit above all).
        assert units[code].shown and "Z" in units[code].questions
    for code in whole:
        # Where the figures are stored, the page and the alert agree.
        stored = bool(units[code].questions.get("Z", {}).get("za"))
        assert stored == (code in raised)


def test_no_zero_tolerance_question_raises_nothing() -> None:
    org = Org({"u0": None}, {"u0": {q: (0, 10, 2, 0) for q in ("Q", "R", "Z")}}, 3, 5)
    assert raised_alerts(release_of(org).values(), []) == {}
    assert raised_alerts(release_of(org).values(), ["Z"]) == {"u0": {"Z"}}
