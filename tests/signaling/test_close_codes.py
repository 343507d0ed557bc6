"""One list of close codes: the server, docs/signaling.md and the browser client agree."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from signaling.close_codes import CloseCode, to_javascript

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "web" / "static" / "call" / "close-codes.js"
DOCS = ROOT / "docs" / "signaling.md"


def test_the_browser_module_is_generated_from_the_enum() -> None:
    assert GENERATED.read_text() == to_javascript(), (
        "web/static/call/close-codes.js is out of date: run "
        "`.venv/bin/python -m signaling.close_codes web/static/call/close-codes.js`"
    )


def test_every_code_is_documented_and_nothing_else() -> None:
    section = DOCS.read_text().split("## Close codes", 1)[1]
    documented = {int(code) for code in re.findall(r"^\| (\d{4}) \|", section, flags=re.M)}
    assert documented == {int(code) for code in CloseCode}


def test_no_module_defines_its_own_close_code() -> None:
    """A constant named like a close code outside signaling/close_codes.py is a second list."""
    offenders = []
    for package in ("server", "signaling", "identity"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name == "close_codes.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                targets = (
                    [node.target]
                    if isinstance(node, ast.AnnAssign)
                    else node.targets
                    if isinstance(node, ast.Assign)
                    else []
                )
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                offenders += [
                    f"{path.relative_to(ROOT)}:{n}" for n in names if n.startswith("CLOSE_")
                ]
    assert offenders == []


def test_the_browser_client_uses_the_generated_module() -> None:
    """No close code as a bare number in the client's scripts (1000 is left out: it is a
    second's milliseconds far more often than it is a close code)."""
    scripts = [p for p in (ROOT / "web" / "static").rglob("*.js") if p != GENERATED]
    literal = re.compile(r"(?<![\w.])(?:1001|1007|1009|4[45]\d\d)(?![\w.])")
    found = [f"{p.relative_to(ROOT)}" for p in scripts if literal.search(p.read_text())]
    assert found == []
