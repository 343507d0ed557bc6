"""signaling/ and identity/ are pure: they never import the server or the web layer."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PURE = ("signaling", "identity")
FORBIDDEN = ("server", "web")
#: signaling is also I/O-free (docs/signaling.md): no web framework or templates
FORBIDDEN_IN = {"signaling": (*FORBIDDEN, "aiohttp", "jinja2"), "identity": FORBIDDEN}


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: stays inside the package
                continue
            names.append(node.module or "")
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
            names += [v for a in node.args if (v := _str_value(a)) is not None]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
        ):
            names += [v for a in node.args if (v := _str_value(a)) is not None]
    return names


def _str_value(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def pure_files() -> list[Path]:
    files = [p for package in PURE for p in sorted((ROOT / package).rglob("*.py"))]
    assert files, "no source files found"
    return files


@pytest.mark.parametrize("path", pure_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_package_does_not_import_server_or_web(path: Path) -> None:
    forbidden = FORBIDDEN_IN[path.relative_to(ROOT).parts[0]]
    bad = [
        name
        for name in imported_modules(path)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]
    assert bad == [], f"{path.relative_to(ROOT)} imports {bad}"


def test_the_checker_sees_imports() -> None:
    sample = ROOT / "server" / "call" / "ws.py"
    assert "aiohttp" in imported_modules(sample)
    assert "signaling.room" in imported_modules(sample)


def test_importing_the_pure_packages_loads_no_server_or_web_module() -> None:
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in pure_files()
    )
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(repr(bad))\n"
        "assert 'signaling.room' in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"importing {PURE} loaded {result.stdout.strip()}"
