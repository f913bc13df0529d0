"""The layers of app/, enforced: a lower layer never imports a higher one.

    domain < extensions < models < policy < services < web support < blueprints < top

- app/domain: pure rules; imports nothing from app but app.domain.
- app/extensions.py: the Flask extension objects; imports nothing from app.
- app/models: may import domain, extensions, models.
- app/policy.py: who may do what; may import domain, extensions, models (not services).
- app/services: may import domain, extensions, models, policy, services (never the web).
- web support (app/forms.py, app/vocabulary.py, app/blueprints/__init__.py): may import
  everything above, not a blueprint.
- app/blueprints/<name>: may import everything above and other blueprints, but never another
  blueprint's private names (a name starting with "_").
- app/__init__.py, app/cli.py, app/demo.py, app/demo_school.py, app/demo_common.py,
  app/read_transactions.py,
  app/worker.py: the top, may import anything.

Every import counts, also those inside functions and under TYPE_CHECKING: the whole AST is
walked. A module of app/ not classified here fails the test, so a new one gets a place.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"

DOMAIN, EXTENSIONS, MODELS, POLICY, SERVICES, WEB, BLUEPRINTS, TOP = (
    "domain", "extensions", "models", "policy", "services", "web support", "blueprints", "top",
)  # fmt: skip
ALLOWED: dict[str, set[str]] = {
    DOMAIN: {DOMAIN},
    EXTENSIONS: {EXTENSIONS},
    MODELS: {DOMAIN, EXTENSIONS, MODELS},
    POLICY: {DOMAIN, EXTENSIONS, MODELS, POLICY},
    SERVICES: {DOMAIN, EXTENSIONS, MODELS, POLICY, SERVICES},
    WEB: {DOMAIN, EXTENSIONS, MODELS, POLICY, SERVICES, WEB},
    BLUEPRINTS: {DOMAIN, EXTENSIONS, MODELS, POLICY, SERVICES, WEB, BLUEPRINTS},
    TOP: {DOMAIN, EXTENSIONS, MODELS, POLICY, SERVICES, WEB, BLUEPRINTS, TOP},
}


def layer_of(module: str) -> str | None:
    """The layer of a module of app (dotted name), None if it has no place yet."""
    parts = module.split(".")
    if parts[0] != "app":
        return None
    if len(parts) == 1 or parts[1] in (
        "cli",
        "demo",
        "demo_common",
        "demo_school",
        "read_transactions",
        "worker",
    ):
        return TOP
    first = parts[1]
    if first == "blueprints":
        return WEB if len(parts) == 2 else BLUEPRINTS
    return {
        "domain": DOMAIN,
        "extensions": EXTENSIONS,
        "models": MODELS,
        "policy": POLICY,
        "services": SERVICES,
        "forms": WEB,
        "vocabulary": WEB,
    }.get(first)


def blueprint_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["app", "blueprints"] else None


@dataclass(frozen=True)
class Offence:
    path: str
    line: int
    importer: str
    imported: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.importer} imports {self.imported}: {self.reason}"


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an ImportFrom reads from (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _module_exists(module: str) -> bool:
    path = APP.parent.joinpath(*module.split("."))
    return path.is_dir() or path.with_suffix(".py").is_file()


def check_source(source: str, module: str, path: str = "<string>") -> list[Offence]:
    """Every import in `source` (the module `module` of app) that breaks the layers."""
    is_package = path.endswith("__init__.py")
    importer_layer = layer_of(module)
    if importer_layer is None:
        return [Offence(path, 1, module, "-", "module has no layer: classify it in this test")]
    allowed = ALLOWED[importer_layer]
    own_blueprint = blueprint_of(module)
    found: list[Offence] = []
    # Names bound to a module of another blueprint, to catch `other_routes._helper`.
    other_blueprint_modules: dict[str, str] = {}

    def imported(line: int, target: str, names: list[str]) -> None:
        target_layer = layer_of(target)
        if target_layer is None:
            if target == "app" or target.startswith("app."):
                found.append(Offence(path, line, module, target, "module has no layer"))
            return
        if target_layer not in allowed:
            found.append(
                Offence(path, line, module, target, f"{importer_layer} may not import "
                        f"{target_layer}")
            )  # fmt: skip
            return
        other = blueprint_of(target)
        if importer_layer == BLUEPRINTS and other is not None and other != own_blueprint:
            for name in names:
                if name.startswith("_"):
                    found.append(
                        Offence(path, line, module, f"{target}.{name}",
                                f"private name of blueprint {other!r}")
                    )  # fmt: skip

    tree = ast.parse(source, filename=path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported(node.lineno, alias.name, [])
                if alias.asname and blueprint_of(alias.name) not in (None, own_blueprint):
                    other_blueprint_modules[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom):
            source_module = _resolve(module, is_package, node)
            for alias in node.names:
                # `from app import vocabulary`, `from app.blueprints.main import routes`:
                # the name is a module, judged as one.
                submodule = f"{source_module}.{alias.name}"
                if source_module.startswith("app") and _module_exists(submodule):
                    imported(node.lineno, submodule, [])
                    if blueprint_of(submodule) not in (None, own_blueprint):
                        other_blueprint_modules[alias.asname or alias.name] = submodule
                else:
                    imported(node.lineno, source_module, [alias.name])
    if importer_layer == BLUEPRINTS:
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in other_blueprint_modules
                and node.attr.startswith("_")
            ):
                target = other_blueprint_modules[node.value.id]
                found.append(
                    Offence(path, node.lineno, module, f"{target}.{node.attr}",
                            f"private name of blueprint {blueprint_of(target)!r}")
                )  # fmt: skip
    return list(dict.fromkeys(found))  # one line per import, not per name


def check_app() -> list[Offence]:
    found: list[Offence] = []
    for file in sorted(APP.rglob("*.py")):
        relative = file.relative_to(APP.parent)
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found += check_source(file.read_text(encoding="utf-8"), ".".join(parts), str(relative))
    return found


# Known offences, each to be fixed and then removed here (the test fails on a stale entry).
# (file, imported) -> what should happen.
KNOWN: dict[tuple[str, str], str] = {}


def test_no_layer_imports_a_higher_one() -> None:
    offences = check_app()
    new = [o for o in offences if (o.path, o.imported) not in KNOWN]
    assert not new, "Imports against the layers (see tests/test_layers.py):\n" + "\n".join(
        map(str, new)
    )
    stale = set(KNOWN) - {(o.path, o.imported) for o in offences}
    assert not stale, f"Fixed, so remove from KNOWN in tests/test_layers.py: {sorted(stale)}"


def test_the_check_finds_bad_imports() -> None:
    """The checker itself works: crafted bad imports are reported, good ones are not."""
    bad_service = (
        "from app.models import Unit\n"
        "def f():\n"
        "    from app.blueprints.main.routes import unit_page\n"  # inside a function
        "    import app.blueprints.results.routes\n"
    )
    offences = check_source(bad_service, "app.services.sample", "app/services/sample.py")
    assert [(o.line, o.imported) for o in offences] == [
        (3, "app.blueprints.main.routes"),
        (4, "app.blueprints.results.routes"),
    ]
    assert all("services may not import blueprints" in str(o) for o in offences)

    bad_policy = "from app.services import units\nfrom app.services.units import breadcrumbs\n"
    offences = check_source(bad_policy, "app.policy", "app/policy.py")
    assert [(o.line, o.imported) for o in offences] == [
        (1, "app.services.units"),
        (2, "app.services.units"),
    ]

    bad_domain = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app.models import Unit\n"
    )
    assert [o.line for o in check_source(bad_domain, "app.domain.sample")] == [3]
    assert [o.line for o in check_source("from ..models import Unit\n", "app.domain.x")] == [1]

    private = (
        "from app.blueprints.followup.routes import STATUS_LABELS, _owner_choices\n"
        "from app.blueprints.results import routes as results_routes\n"
        "from app.blueprints.board.routes import _own_helper\n"
        "x = results_routes._hidden()\n"
    )
    offences = check_source(private, "app.blueprints.board.routes", "app/blueprints/board/x.py")
    assert [(o.line, o.imported) for o in offences] == [
        (1, "app.blueprints.followup.routes._owner_choices"),
        (4, "app.blueprints.results.routes._hidden"),
    ]

    unclassified = check_source("import os\n", "app.newthing", "app/newthing.py")
    assert [o.reason for o in unclassified] == ["module has no layer: classify it in this test"]

    good = (
        "from app.domain.scoring import question_score\nfrom app.extensions import db\n"
        "from app.models import Unit\nfrom app.policy import Access\n"
        "from app.services import units\n"
    )
    assert check_source(good, "app.services.sample") == []
    assert check_source(good, "app.blueprints.main.routes") == []
    assert check_source("from app.blueprints.main import bp\n", "app.blueprints.main.routes") == []
