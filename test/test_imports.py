"""Imports run one way (README): read every module's imports and check their direction."""

import ast
from pathlib import Path

import pytest

from batfriend.keys import FAMILIES

ROOT = Path(__file__).resolve().parent.parent

# Lowest first; a module imports only from its own layer or lower ones.
LAYERS = [
    (
        "base",
        {
            "batfriend",
            "batfriend.config",
            "batfriend.errors",
            "batfriend.keys",
            "batfriend.message",
            "batfriend.passwords",
            "batfriend.redaction",
            "batfriend.scripts",
            "batfriend.startup",
            "batfriend.embedded",
            "batfriend.embedded_cluster",
            "batfriend.lua",
        },
    ),
    ("handles", {"batfriend.databases", "batfriend.monitoring"}),
    (
        "storage",
        {
            "batfriend.archive",
            "batfriend.archive.boundary",
            "batfriend.archive.schema",
            "batfriend.archive.store",
        },
    ),
    (
        "models",
        {
            "batfriend.agent",
            "batfriend.agency",
            "batfriend.counter",
            "batfriend.doorman",
            "batfriend.durability",
            "batfriend.friends",
            "batfriend.health",
            "batfriend.migrate",
            "batfriend.lobby",
            "batfriend.messages",
            "batfriend.phone_numbers",
            "batfriend.rate_limiter",
            "batfriend.scheduled",
            "batfriend.session",
            "batfriend.sqs_ledger",
            "batfriend.sweeper",
            "batfriend.worklist",
        },
    ),
    ("passes", {"batfriend.archiver", "batfriend.passes"}),
    (
        "entries",
        {
            "batfriend.watcher",
            "batfriend.bundle",
            "batfriend.api",
            "batfriend.api.agents",
            "batfriend.api.auth",
            "batfriend.api.client",
            "batfriend.api.errors",
            "batfriend.api.headers",
            "batfriend.api.friends",
            "batfriend.api.json_provider",
            "batfriend.api.lobbies",
            "batfriend.api.messages",
            "batfriend.api.openapi",
            "batfriend.api.phones",
            "batfriend.api.service",
            "batfriend.api.sqs",
            "batfriend.api.validation",
        },
    ),
    ("top", {"batfriend.local", "app", "basic_config", "runlocal"}),
]
LAYER_OF = {module: n for n, (_, modules) in enumerate(LAYERS) for module in modules}
BLUEPRINTS = {
    f"batfriend.api.{name}"
    for name in ("agents", "friends", "lobbies", "messages", "phones", "service", "sqs")
}
WEB = ("flask", "werkzeug", "batfriend.api", "app")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports anywhere (``from a import b`` adds a.b when a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(
                f"{node.module}.{alias.name}"
                for alias in node.names
                if f"{node.module}.{alias.name}" in LAYER_OF
            )
    return found


MODULES = {
    module_name(path): imports_of(path)
    for path in [*ROOT.glob("batfriend/**/*.py"), *ROOT.glob("*.py")]
    if path.name != "setup.py"
}


def under(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_every_module_has_a_layer():
    assert sorted(set(MODULES) - set(LAYER_OF)) == []
    assert sorted(set(LAYER_OF) - set(MODULES)) == [], "a layer names a module that is gone"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_runs_up_the_layers(module):
    upward = [
        f"{name} ({LAYERS[LAYER_OF[name]][0]})"
        for name in MODULES[module]
        if name in LAYER_OF and LAYER_OF[name] > LAYER_OF[module]
    ]
    assert upward == [], f"{module} ({LAYERS[LAYER_OF[module]][0]}) imports upward"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if LAYER_OF.get(m, 99) <= 4))
def test_models_and_below_never_import_the_web(module):
    assert [name for name in MODULES[module] if under(name, WEB)] == []


def test_the_watcher_never_imports_the_web_app():
    assert [name for name in MODULES["batfriend.watcher"] if under(name, WEB)] == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if under(m, ("batfriend.api",))))
def test_the_app_never_imports_the_watcher(module):
    """``/sqs`` runs the passes, not the watcher's entry module (signals, argparse, start-up)."""
    assert sorted(MODULES[module] & {"batfriend.watcher", "batfriend.local"}) == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if under(m, ("batfriend.api",))))
def test_handlers_never_touch_redis_clients_or_keys(module):
    touched = [
        name
        for name in MODULES[module]
        if under(name, ("redis", "sqlalchemy", "batfriend.keys", "batfriend.scripts"))
    ]
    assert touched == []
    if module != "batfriend.api.errors":  # it maps DATABASE_DOWN to 503, and only that
        assert "batfriend.databases" not in MODULES[module]


@pytest.mark.parametrize("module", sorted(BLUEPRINTS))
def test_a_blueprint_never_imports_a_sibling_blueprint(module):
    assert sorted(MODULES[module] & (BLUEPRINTS - {module})) == []


def test_key_names_are_spelt_only_in_keys():
    prefixes = tuple(family.PREFIX for family in FAMILIES if hasattr(family, "PREFIX"))
    spelt = {
        f"{path.relative_to(ROOT)}: {node.value!r}"
        for path in ROOT.glob("batfriend/**/*.py")
        if path.name != "keys.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if node.value.startswith(prefixes)
    }
    assert sorted(spelt) == []


def test_lua_is_read_by_the_one_loader_only():
    readers = [m for m, names in MODULES.items() if "importlib.resources" in names]
    assert readers == ["batfriend.scripts"]


def test_the_checks_see_imports_inside_functions():
    assert "batfriend.api" in MODULES["batfriend.local"]  # imported inside main()


def test_test_modules_never_import_one_another():
    shared = {
        f"{path.name}: {name}"
        for path in ROOT.glob("test/*.py")
        for name in imports_of(path)
        if name.startswith("test_")
    }
    assert sorted(shared) == [], "shared helpers live in conftest.py or a helper module"
