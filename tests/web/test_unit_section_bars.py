"""The unit page's answer bars are drawn in Python (results.routes.distribution_bar), not by
the macro `distribution` in _macros/results.html that follow-up pages still use: the two
must write the very same bytes for any counts, labels and direction."""

from __future__ import annotations

from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from app.blueprints.results.routes import distribution_bar

_LABELS = st.lists(st.text(max_size=12), max_size=7)
_COUNTS = st.lists(st.integers(min_value=0, max_value=5000), max_size=7)
_DIRECTION = st.sampled_from(["higher_better", "lower_better"])


@settings(max_examples=300, deadline=None)
@given(counts=_COUNTS, labels=_LABELS, direction=_DIRECTION)
def test_a_bar_is_the_macros_bar(
    app: Flask, counts: list[int], labels: list[str], direction: str
) -> None:
    with app.test_request_context("/"):
        macro = app.jinja_env.get_template("_macros/results.html").module.distribution  # type: ignore[attr-defined]
        assert str(distribution_bar(counts, labels, direction)) == str(
            macro(counts, labels, direction)
        )


def test_a_bar_escapes_its_labels(app: Flask) -> None:
    with app.test_request_context("/"):
        html = str(distribution_bar([1, 2], ["<b>&", "ok"], "higher_better"))
    assert "&lt;b&gt;&amp;: 1, ok: 2" in html
    assert "<b>" not in html
