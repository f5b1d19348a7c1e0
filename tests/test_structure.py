"""The shape of the code: dependencies flow into the front ends and never back to the composition
root, the feature services are declared once, and no module grows past what one reader holds.

Read from the source files (``ast``), so a lazy import inside a function or one under
``TYPE_CHECKING`` counts as much as one at the top.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.services import FeatureServices

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "core"
FRONT_ENDS = ("core/discord_bot", "core/web", "core/cli")
# Where the composition root is built and started: the entry points and the demo's own runtime.
MAY_IMPORT_THE_ROOT = {
    "core/__main__.py",
    "core/wsgi.py",
    "core/demo.py",
    "core/demo_twitch.py",
    "core/demo_site.py",
}
# DESIGN.md's entry point ``gunicorn "core.web:create_app()"``: the web package's create_app,
# called with nothing, hands over to core.wsgi's from inside the function, never at import.
ENTRY_SHIMS = {"core/web/__init__.py": {"core.wsgi"}}
MAX_LINES = 400
MAX_RUNTIME_LINES = 250
# Modules allowed past MAX_LINES until the change that splits them lands (none now).
OVER_THE_LIMIT_FOR_NOW: set[str] = set()


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def core_files() -> Iterator[Path]:
    for path in sorted(CORE.rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def imported_modules(path: Path) -> set[str]:
    """Every ``core`` module ``path`` imports anywhere in it (``from a import b`` counts as
    ``a.b`` too, since ``b`` may be a module)."""
    tree = ast.parse(path.read_text(), str(path))
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else None
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this file's package
                anchor = (package or module_name(path)).split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "core" or name.startswith("core.")}


def import_graph() -> dict[str, set[str]]:
    """Who imports whom at import time: an entry shim's call-time hand-over is no edge."""
    files = {module_name(path): path for path in core_files()}
    return {
        name: (imported_modules(path) - shim_imports(path)) & files.keys()
        for name, path in files.items()
    }


def shim_imports(path: Path) -> set[str]:
    return ENTRY_SHIMS.get(str(path.relative_to(ROOT)), set())


def test_no_front_end_imports_the_composition_root():
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for front_end in FRONT_ENDS
        for path in sorted((ROOT / front_end).rglob("*.py"))
        for name in imported_modules(path) - shim_imports(path)
        if name in {"core.runtime", "core.wsgi", "core.__main__"}
        or name.startswith("core.runtime.")
    ]
    assert offenders == []


def test_an_entry_shim_reaches_the_root_only_when_called():
    """Its hand-over is inside a function: importing the web side never builds a runtime."""
    for shim, names in ENTRY_SHIMS.items():
        tree = ast.parse((ROOT / shim).read_text())
        at_import = {
            alias.name if isinstance(node, ast.Import) else node.module
            for node in tree.body
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        }
        at_import |= {
            f"core.{alias.name}"
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.module == "core"
            for alias in node.names
        }
        assert not at_import & names, shim
        assert names <= imported_modules(ROOT / shim), shim  # the shim is still there


def test_only_the_entry_points_import_the_composition_root():
    importers = {
        str(path.relative_to(ROOT))
        for path in core_files()
        if "core.runtime" in imported_modules(path)
    }
    assert importers <= MAY_IMPORT_THE_ROOT


def test_nothing_the_composition_root_imports_imports_it_back():
    graph = import_graph()
    seen: set[str] = set()
    stack = sorted(graph["core.runtime"])
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(graph.get(name, ()))
    assert "core.runtime" not in seen


def test_the_composition_root_stays_small():
    assert len((CORE / "runtime.py").read_text().splitlines()) < MAX_RUNTIME_LINES


def test_no_module_passes_the_line_limit():
    long = {
        str(path.relative_to(ROOT)): count
        for path in core_files()
        if (count := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert {name for name in long if name not in OVER_THE_LIMIT_FOR_NOW} == set(), long


# --- the feature services, declared once ---------------------------------------------------------


def assigned_by_installs() -> dict[str, list[str]]:
    """Each ``rt.<name> = ...`` an install in ``core/wiring/`` makes (``self.<name>`` in
    ``assembly.py``), by name: the modules that set it."""
    setters: dict[str, list[str]] = {}
    for path in sorted((CORE / "wiring").glob("*.py")):
        owner = "self" if path.name == "assembly.py" else "rt"
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign):
                targets = [node.target]
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == owner
                ):
                    setters.setdefault(target.attr, []).append(path.name)
    return setters


SERVICES = [field.name for field in dataclasses.fields(FeatureServices)]


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_is_built_by_one_install(name):
    assert len(assigned_by_installs().get(name, [])) == 1, name


def front_end_configurations() -> list[type]:
    from core.discord_bot.services import BotServices
    from core.web.app import WebServices
    from core.web.dashboard.config import DashboardConfig

    return [BotServices, DashboardConfig, WebServices]


@pytest.mark.parametrize("configuration", front_end_configurations(), ids=lambda c: c.__name__)
def test_front_ends_take_the_services_and_declare_none_again(configuration):
    assert issubclass(configuration, FeatureServices)
    own = inspect.get_annotations(configuration)
    assert set(own) & set(SERVICES) == set()


def test_the_front_ends_configurations_name_no_service_one_by_one():
    # core/wiring/front_ends.py fills each front end with services_of(runtime): a service added
    # to FeatureServices reaches every front end without a line there. It names a service only
    # to build a call the front end is given (the raffle's proof files, a guild's roles).
    source = (CORE / "wiring" / "front_ends.py").read_text()
    keywords = {
        keyword.arg
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg is not None
    }
    assert keywords & set(SERVICES) == set()


def test_a_service_added_to_the_declaration_reaches_the_front_ends(make_runtime):
    # Followed once: the dashboard's sessions were built by the dashboard's wiring and declared
    # in its configuration; now core/wiring/web_sessions.py builds them, FeatureServices types
    # them, and the dashboard reads config.sessions as every other service.
    runtime = make_runtime()
    bot, web = runtime.bot_services(), runtime.web_services()
    for name in SERVICES:
        assert getattr(runtime, name) is not None, name
        assert getattr(bot, name) is getattr(runtime, name), name
        assert getattr(web, name) is getattr(runtime, name), name
        assert getattr(web.dashboard, name) is getattr(runtime, name), name
