"""Small modules: a product module over 500 lines says why on its first line."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 500
#: the first line of a longer module starts with this (``#`` in Python, ``//`` in scripts)
REASON = "Longer than 500 lines:"
GENERATED = {ROOT / "web" / "static" / "call" / "close-codes.js"}


def product_files() -> list[Path]:
    files = [
        p
        for package in ("server", "signaling", "identity", "web")
        for p in (ROOT / package).rglob("*.py")
    ]
    files += [p for p in (ROOT / "web" / "static").rglob("*.js") if p not in GENERATED]
    return sorted(files)


def unexplained(files: list[Path]) -> list[str]:
    found = []
    for path in files:
        lines = path.read_text().splitlines()
        if len(lines) > LIMIT and REASON not in (lines[0] if lines else ""):
            found.append(f"{path.name}: {len(lines)} lines")
    return found


def test_long_modules_say_why() -> None:
    assert unexplained(product_files()) == []


def test_the_rule_catches_a_long_module(tmp_path: Path) -> None:
    long = tmp_path / "long.py"
    long.write_text("x = 1\n" * (LIMIT + 1))
    explained = tmp_path / "explained.py"
    explained.write_text(f"# {REASON} a reason\n" + "x = 1\n" * LIMIT)
    assert unexplained([long, explained]) == [f"long.py: {LIMIT + 1} lines"]
