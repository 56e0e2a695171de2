"""The layout's rules, enforced (README, "Layout"): the walls between packages (import-linter's
contracts in pyproject.toml), types (mypy, configured in pyproject.toml), libraries used through
their public surface only, and no two product modules named alike by accident."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import subprocess
import sys
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
OWN = ("floe", "renderer", "publish", "dynamic")
#: What may repeat across areas, by design: each area has its own.
SHARED_BASENAMES = {"__init__", "models", "views", "forms", "cli", "mails"}

#: The one module allowed to reach past a library's surface (Flask-FlatPages' parsing), with
#: its own test, tests/test_flatpages_adapter.py, that fails when the library changes.
ADAPTER = "renderer/content/flatpages_adapter.py"
#: Private-looking names that are public: ``os._exit`` is the standard library's documented
#: way to end a process without running its exit handlers (a forked worker, the CLI's exit).
ALLOWED = {("renderer/engine/parallel.py", "os._exit"), ("build.py", "os._exit")}


def product_files() -> Iterator[Path]:
    for package in OWN:
        for path in sorted((REPO / package).rglob("*.py")):
            if "migrations/versions" not in path.relative_to(REPO).as_posix():
                yield path
    yield REPO / "build.py"


def _tool(name: str) -> str:
    """The venv's console script (next to the interpreter running the tests)."""
    return str(Path(sys.executable).with_name(name))


# --- the walls ----------------------------------------------------------------------------


def test_import_contracts_hold() -> None:
    """floe imports no other package of ours; renderer and dynamic never import each other;
    publish imports neither; dynamic's areas stack admin > split_tests > payments > accounts
    > core (pyproject.toml, [tool.importlinter])."""
    result = subprocess.run(
        [_tool("lint-imports"), "--no-cache"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_contracts_exempt_nothing() -> None:
    """A tie that runs the wrong way is cut, never exempted."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert len(config["contracts"]) == 4
    assert [c["name"] for c in config["contracts"] if "ignore_imports" in c] == []


def test_mypy_is_clean_on_every_product_package() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", *OWN, "build.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- public APIs only ---------------------------------------------------------------------


def _private(name: str) -> bool:
    return len(name) > 1 and name[0] == "_" and not (name[:2] == "__" == name[-2:])


def _is_own(value: Any) -> bool:
    module = value.__name__ if isinstance(value, ModuleType) else getattr(value, "__module__", "")
    return isinstance(module, str) and module.split(".")[0] in (*OWN, "build")


def _library_bases(cls: type) -> list[type]:
    """The classes ``cls`` inherits from that are neither ours nor builtins."""
    return [
        base
        for base in cls.__mro__[1:]
        if not _is_own(base) and base.__module__ not in ("builtins", "typing", "abc")
    ]


def _library_knows(bases: list[type], name: str) -> bool:
    """Whether ``name`` is one of those classes' attributes, or appears in their source (an
    attribute set in ``__init__``, such as Flask-FlatPages' ``self._pages``)."""
    for base in bases:
        if name in vars(base):
            return True
        try:
            source = inspect.getsource(base)
        except (OSError, TypeError):
            continue
        if re.search(rf"\b{re.escape(name)}\b", source):
            return True
    return False


def private_uses(source: str, namespace: dict[str, Any]) -> list[tuple[int, str]]:
    """Where ``source`` (a module whose globals are ``namespace``) defines, overrides or uses a
    private attribute (``_x``, not a dunder) of an object that is not ours.

    - ``x._name`` is flagged unless ``x`` is ``self``, ``cls``, ``super()`` or a name bound to a
      module or object of our own packages; ``getattr(x, "_name")`` alike.
    - In a class that inherits from a library's class, ``def _name``, ``_name = …`` and
      ``self._name``/``super()._name`` are flagged when that library class has ``_name``.
    """
    tree = ast.parse(source)
    found: list[tuple[int, str]] = []
    library_class_lines: dict[int, list[type]] = {}

    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            cls = namespace.get(node.name)
            if isinstance(cls, type):
                bases = _library_bases(cls)
                if bases:
                    library_class_lines[id(node)] = bases
                    for item in ast.walk(node):
                        name = None
                        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                            name = item.name
                        elif isinstance(item, ast.Name) and isinstance(item.ctx, ast.Store):
                            name = item.id
                        elif isinstance(item, ast.Attribute) and _owner(item.value) in {
                            "self",
                            "cls",
                            "super()",
                        }:
                            name = item.attr
                        if name and _private(name) and _library_knows(bases, name):
                            found.append((item.lineno, f"{node.name}: {name}"))

    for node in ast.walk(tree):
        target: ast.expr | None = None
        name = ""
        if isinstance(node, ast.Attribute) and _private(node.attr):
            target, name = node.value, node.attr
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"getattr", "setattr", "hasattr", "delattr"}
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _private(node.args[1].value)
        ):
            target, name = node.args[0], node.args[1].value
        if target is None:
            continue
        owner = _owner(target)
        if owner in {"self", "cls", "super()"}:
            continue  # ours, unless the class is a library's (checked above)
        if isinstance(target, ast.Name) and target.id in namespace:
            if _is_own(namespace[target.id]) and not isinstance(namespace[target.id], type):
                continue  # a module or object of our own packages
            if (
                isinstance(namespace[target.id], type)
                and _is_own(namespace[target.id])
                and not _library_knows(_library_bases(namespace[target.id]), name)
            ):
                continue  # a class of ours, its own attribute
        found.append((node.lineno, f"{ast.unparse(target)}.{name}"))
    return sorted(set(found))


def _owner(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super":
        return "super()"
    return ""


def _module_of(path: Path) -> ModuleType:
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return importlib.import_module(".".join(parts))


def test_no_module_reaches_past_a_library_surface() -> None:
    """No module of the product defines, overrides or calls a private attribute of
    Frozen-Flask, Flask-FlatPages, Pygments, Flask or any other library, but the adapter."""
    found = []
    for path in product_files():
        rel = path.relative_to(REPO).as_posix()
        if rel == ADAPTER or rel == "dynamic/migrations/env.py":
            continue  # (env.py runs only under Alembic; it has no private use, see below)
        module = _module_of(path)
        for line, use in private_uses(path.read_text(encoding="utf-8"), vars(module)):
            if (rel, use) not in ALLOWED:
                found.append(f"{rel}:{line}: {use}")
    assert found == []


def test_migrations_env_uses_no_private_attribute() -> None:
    source = (REPO / "dynamic/migrations/env.py").read_text(encoding="utf-8")
    assert private_uses(source, {}) == []


OLD_USES = {
    # renderer/freeze.py before issue 15: the builder of each URL, Frozen-Flask's private.
    "from flask_frozen import Freezer\n"
    "class SiteFreezer(Freezer):\n"
    "    def _build_one(self, url, last_modified=None):\n"
    "        return super()._build_one(url, last_modified)\n": {
        (3, "SiteFreezer: _build_one"),
        (4, "SiteFreezer: _build_one"),
    },
    # renderer/markdown.py before: Pygments' private stylesheet builder.
    "from pygments.formatters import HtmlFormatter\n"
    "class Formatter(HtmlFormatter):\n"
    "    def _create_stylesheet(self):\n"
    "        super()._create_stylesheet()\n": {
        (3, "Formatter: _create_stylesheet"),
        (4, "Formatter: _create_stylesheet"),
    },
    # dynamic/ before: werkzeug's proxies and Flask-Login's identifier.
    "from flask import current_app\n"
    "from flask_login import LoginManager, current_user\n"
    "login_manager = LoginManager()\n"
    "def view():\n"
    "    a = current_app._get_current_object()\n"
    "    u = current_user._get_current_object()\n"
    "    i = login_manager._session_identifier_generator()\n"
    "    return getattr(login_manager, '_login_disabled')\n": {
        (5, "current_app._get_current_object"),
        (6, "current_user._get_current_object"),
        (7, "login_manager._session_identifier_generator"),
        (8, "login_manager._login_disabled"),
    },
}


@pytest.mark.parametrize("source", list(OLD_USES), ids=["freezer", "pygments", "proxies"])
def test_the_check_flags_what_the_old_code_did(source: str) -> None:
    namespace: dict[str, Any] = {"__name__": "old_code"}
    exec(compile(source, "old_code.py", "exec"), namespace)
    assert set(private_uses(source, namespace)) >= OLD_USES[source]


def test_the_check_leaves_our_own_private_names_alone() -> None:
    source = (
        "from floe import tenants\n"
        "class Box:\n"
        "    _size = 1\n"
        "    def _grow(self):\n"
        "        return self._size + super().__hash__()\n"
        "def peek(box):\n"
        "    return tenants.__name__\n"
    )
    namespace: dict[str, Any] = {"__name__": "renderer.example"}
    exec(compile(source, "example.py", "exec"), namespace)
    assert private_uses(source, namespace) == []


# --- names --------------------------------------------------------------------------------


def test_no_two_product_modules_share_a_name_by_accident() -> None:
    places: dict[str, list[str]] = defaultdict(list)
    for path in product_files():
        if path.name == "build.py":
            continue
        places[path.stem].append(path.relative_to(REPO).as_posix())
    repeated = {
        name: paths
        for name, paths in places.items()
        if len(paths) > 1 and name not in SHARED_BASENAMES
    }
    assert repeated == {}
