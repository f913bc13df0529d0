"""gunicorn.conf.py's master hook: templates compiled and the app's objects frozen before the
workers are forked (gc.freeze: a worker's full collections no longer walk them)."""

from __future__ import annotations

import gc
import importlib.util
from pathlib import Path
from types import SimpleNamespace

from flask import Flask


def test_the_master_compiles_templates_and_freezes_the_app_before_forking(app: Flask) -> None:
    path = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
    spec = importlib.util.spec_from_file_location("gunicorn_conf", path)
    assert spec is not None and spec.loader is not None
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    app.jinja_env.cache.clear()  # type: ignore[union-attr]
    gc.unfreeze()
    try:
        conf.when_ready(SimpleNamespace(app=SimpleNamespace(wsgi=lambda: app)))
        assert gc.get_freeze_count() > 10_000
        compiled = {name for _, name in app.jinja_env.cache}  # type: ignore[union-attr]
        assert {"base.html", "main/unit.html"} <= compiled
    finally:
        gc.unfreeze()
