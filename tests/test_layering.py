"""The house rules of imports, checked on the source (AST) and on what importing loads.

- ``signaling/`` and ``identity/`` never import ``server/`` or ``web/`` (and ``signaling``
  is I/O-free: no web framework, no templates);
- ``server/core`` and ``server/db`` import no feature (``server.call``, ``server.booking``,
  ``server.calendars``, ``server.verification``, ``server.resident``, ``server.staff``,
  ``server.probe``, ``server.walkin``, ``server.municipality``, ``server.messages``);
- no feature imports another feature's HTTP handlers (the modules the router's handlers
  live in, and each feature's ``setup``);
- the booking engine imports neither aiohttp nor SQLAlchemy.

Each rule is a function of a source tree, so the tests at the bottom can show it failing on
a tree with a deliberate bad import.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PURE = ("signaling", "identity")
FORBIDDEN = ("server", "web")
#: signaling is also I/O-free (docs/signaling.md): no web framework or templates
FORBIDDEN_IN = {"signaling": (*FORBIDDEN, "aiohttp", "jinja2"), "identity": FORBIDDEN}
FEATURES = (
    "call",
    "booking",
    "calendars",
    "verification",
    "resident",
    "staff",
    "probe",
    "walkin",
    "municipality",
    "messages",
)
INFRASTRUCTURE = ("server.core", "server.db")
#: the pure slot engine and its values (docs/booking.md): no web framework, no SQL
ENGINE = tuple(
    f"server.booking.{name}"
    for name in (
        "appointment",
        "busy",
        "errors",
        "explanation",
        "intervals",
        "links",
        "model",
        "slots",
    )
)
ENGINE_FORBIDDEN = ("aiohttp", "sqlalchemy")


@dataclass(frozen=True)
class Violation:
    module: str
    imports: str
    rule: str

    def __str__(self) -> str:
        return f"{self.module} imports {self.imports}: {self.rule}"


# --- reading a tree ------------------------------------------------------------------------


def imported_modules(path: Path, root: Path = ROOT) -> list[str]:
    """The modules ``path`` imports; ``from server.booking import api`` counts as the module
    ``server.booking.api`` when ``root`` has such a module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: stays inside the package
                continue
            base = node.module or ""
            submodules = [f"{base}.{alias.name}" for alias in node.names]
            submodules = [name for name in submodules if _is_module(root, name)]
            names += submodules or [base]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
            names += [v for a in node.args if (v := _str_value(a)) is not None]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
        ):
            names += [v for a in node.args if (v := _str_value(a)) is not None]
    return names


def _is_module(root: Path, name: str) -> bool:
    path = root / name.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _str_value(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def modules(root: Path, package: str) -> dict[str, Path]:
    """Module name → file, for every module of ``package`` under ``root``."""
    base = root / package.replace(".", "/")
    found = {}
    for path in sorted(base.rglob("*.py")):
        name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        # Alembic's migration scripts run inside Alembic only; they import the schema
        if not name.startswith("server.db.migrations"):
            found[name] = path
    return found


def _within(name: str, packages: Iterable[str]) -> str | None:
    for package in packages:
        if name == package or name.startswith(package + "."):
            return package
    return None


def feature_of(module: str) -> str | None:
    """``server.staff.desk.pages`` → ``server.staff.desk``; ``server.booking.api`` →
    ``server.booking``; None outside the features."""
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "server" or parts[1] not in FEATURES:
        return None
    if parts[1] == "staff" and len(parts) > 2 and parts[2] in ("desk", "planner"):
        return ".".join(parts[:3])
    return ".".join(parts[:2])


# --- the rules -----------------------------------------------------------------------------


def pure_violations(root: Path) -> list[Violation]:
    found = []
    for package in PURE:
        for name, path in modules(root, package).items():
            for imported in imported_modules(path, root):
                bad = _within(imported, FORBIDDEN_IN[package])
                if bad:
                    found.append(Violation(name, imported, f"{package}/ must not import {bad}"))
    return found


def infrastructure_violations(root: Path) -> list[Violation]:
    found = []
    for package in INFRASTRUCTURE:
        for name, path in modules(root, package).items():
            for imported in imported_modules(path, root):
                if feature_of(imported) is not None:
                    rule = f"{package} must not import a feature"
                    found.append(Violation(name, imported, rule))
    return found


def handler_violations(root: Path, handler_modules: Iterable[str]) -> list[Violation]:
    handlers = set(handler_modules)
    found = []
    for name, path in modules(root, "server").items():
        own = feature_of(name)
        if own is None:
            continue
        for imported in imported_modules(path, root):
            other = feature_of(imported)
            # a feature composes its own sub-features (staff sets up desk and planner)
            composes = other is not None and other.startswith(own + ".")
            if other is not None and other != own and not composes and imported in handlers:
                rule = f"{own} must not use {other}'s HTTP handlers"
                found.append(Violation(name, imported, rule))
    return found


def engine_violations(root: Path, engine: Sequence[str] = ENGINE) -> list[Violation]:
    found = []
    for name in engine:
        path = root / (name.replace(".", "/") + ".py")
        for imported in imported_modules(path, root):
            bad = _within(imported, ENGINE_FORBIDDEN)
            if bad:
                found.append(Violation(name, imported, f"the booking engine must not use {bad}"))
    return found


def loaded_by(root: Path, names: Sequence[str], forbidden: Sequence[str]) -> list[str]:
    """The modules of ``forbidden`` packages that importing ``names`` loads (in a fresh
    interpreter, so nothing this test process imported counts)."""
    script = (
        "import importlib, sys\n"
        f"for name in {list(names)!r}:\n"
        "    importlib.import_module(name)\n"
        f"forbidden = {list(forbidden)!r}\n"
        "bad = sorted(m for m in sys.modules\n"
        "             if any(m == f or m.startswith(f + '.') for f in forbidden))\n"
        "print(repr(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = ast.literal_eval(result.stdout.strip())
    return loaded


def route_handler_modules() -> set[str]:
    """The modules the application's route handlers are defined in, and every ``setup``."""
    from server.app import create_app
    from server.config import Config

    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(Config(data_dir=Path(data_dir)))
    found = {getattr(route.handler, "__module__", "") for route in app.router.routes()} | set(
        m for m in modules(ROOT, "server") if m.endswith(".setup")
    )
    return {m for m in found if m.startswith("server.")}


# --- the real tree -------------------------------------------------------------------------


def _report(found: Sequence[Violation]) -> str:
    return "\n".join(str(v) for v in found)


def test_signaling_and_identity_import_neither_server_nor_web() -> None:
    found = pure_violations(ROOT)
    assert found == [], _report(found)


def test_core_and_db_import_no_feature() -> None:
    found = infrastructure_violations(ROOT)
    assert found == [], _report(found)


def test_no_feature_imports_another_features_http_handlers() -> None:
    handlers = route_handler_modules()
    assert "server.booking.api" in handlers and "server.staff.planner.week" in handlers
    found = handler_violations(ROOT, handlers)
    assert found == [], _report(found)


def test_the_booking_engine_uses_neither_aiohttp_nor_sqlalchemy() -> None:
    found = engine_violations(ROOT)
    assert found == [], _report(found)


@pytest.mark.parametrize(
    ("packages", "forbidden"),
    [
        (PURE, FORBIDDEN),
        (INFRASTRUCTURE, tuple(f"server.{f}" for f in FEATURES)),
        (ENGINE, ENGINE_FORBIDDEN),
    ],
    ids=["pure packages", "core and db", "booking engine"],
)
def test_importing_loads_nothing_forbidden(
    packages: Sequence[str], forbidden: Sequence[str]
) -> None:
    """What the AST rules say, checked again on what importing really loads."""
    names = [m for package in packages for m in modules(ROOT, package)] or list(packages)
    if packages is ENGINE:
        names = list(ENGINE)
    assert loaded_by(ROOT, names, forbidden) == []


# --- the rules can fail --------------------------------------------------------------------


def _tree(tmp_path: Path, files: Mapping[str, str]) -> Path:
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        for parent in path.relative_to(tmp_path).parents:
            if parent != Path("."):
                (tmp_path / parent / "__init__.py").touch()
    return tmp_path


def test_the_checker_sees_imports() -> None:
    sample = ROOT / "server" / "call" / "endpoint.py"
    assert "aiohttp" in imported_modules(sample)
    assert "server.call.hub" in imported_modules(sample)


def test_a_pure_package_importing_the_server_is_caught(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"signaling/room.py": "from server.app import create_app\n"})
    assert [v.imports for v in pure_violations(root)] == ["server.app"]


def test_core_importing_a_feature_is_caught(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "server/core/pages.py": "from server.booking import api\n",
            "server/booking/api.py": "",
            "server/db/tx.py": "import sqlalchemy\n",
        },
    )
    found = infrastructure_violations(root)
    assert [(v.module, v.imports) for v in found] == [("server.core.pages", "server.booking.api")]


def test_a_feature_using_another_features_handlers_is_caught(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "server/staff/planner/week.py": "from server.booking.api import problem_for\n",
            "server/resident/booking.py": "from server.booking.wire import tenant_of\n",
            "server/booking/setup.py": "from server.booking import api\n",
        },
    )
    handlers = {"server.booking.api", "server.booking.setup"}
    found = handler_violations(root, handlers)
    assert [(v.module, v.imports) for v in found] == [
        ("server.staff.planner.week", "server.booking.api")
    ]


def test_the_engine_importing_sqlalchemy_is_caught(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "server/booking/slots.py": "from sqlalchemy import select\n",
            "server/booking/model.py": "import datetime\n",
        },
    )
    engine = ("server.booking.slots", "server.booking.model")
    assert [v.module for v in engine_violations(root, engine)] == ["server.booking.slots"]
    # and what importing loads says the same
    (root / "sqlalchemy").mkdir()
    (root / "sqlalchemy" / "__init__.py").write_text("select = None\n")
    assert loaded_by(root, engine, ENGINE_FORBIDDEN) == ["sqlalchemy"]
