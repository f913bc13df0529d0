"""URL builders compiled when first asked for (app.blueprints.BuiltWhenAskedRule): none is
made at app start, each gives the address werkzeug's own rule gives, and is then kept."""

from __future__ import annotations

from flask import Flask, url_for
from werkzeug.routing import Map, Rule

from app.blueprints import BoundedIntegerConverter, BuiltWhenAskedRule


def test_no_builder_is_compiled_at_app_start_and_each_builds_what_werkzeugs_rule_does(
    app: Flask,
) -> None:
    ours = [rule for rule in app.url_map.iter_rules() if isinstance(rule, BuiltWhenAskedRule)]
    assert len(ours) > 100  # every route of the app's blueprints
    assert all(rule._build.__name__ == "build_when_first_asked" for rule in ours)
    unit = next(rule for rule in ours if rule.endpoint == "main.unit")
    lazy = unit._build

    eager_map = Map(converters={"int": BoundedIntegerConverter})
    for rule in ours:
        eager = Rule(rule.rule, endpoint=rule.endpoint, methods=rule.methods)
        eager_map.add(eager)
        values = {
            name: 7 if type(converter).__name__ == "BoundedIntegerConverter" else "AK-1"
            for name, converter in rule._converters.items()
        }
        for append_unknown in (False, True):
            given = {**values, "page": "2"} if append_unknown else values
            assert rule.build(given, append_unknown) == eager.build(given, append_unknown)
    # The builder made at the first use replaced the stand-in and is kept.
    kept = unit._build
    assert kept is not lazy and kept.__name__ != "build_when_first_asked"
    with app.test_request_context():
        assert url_for("main.unit", code="AK-2") == "/units/AK-2"
    assert unit._build is kept
