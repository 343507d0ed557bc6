"""Every route still answers where it did: the router's table against a checked-in list.

A route added, moved or removed fails this test until ``tests/server/routes.txt`` is
updated on purpose (``.venv/bin/python -m tests.server.test_routes`` rewrites it).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from server.app import create_app
from server.config import Config

EXPECTED = Path(__file__).with_name("routes.txt")


def route_table() -> list[str]:
    """``METHOD path  pattern`` for every route, sorted; sub-applications included."""
    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(Config(data_dir=Path(data_dir)))
    rows = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("formatter") or info.get("path") or info.get("prefix")
        pattern = info.get("pattern")
        rows.add(f"{route.method} {path}" + (f"  {pattern.pattern}" if pattern else ""))
    return sorted(rows)


def test_the_routes_are_the_checked_in_ones() -> None:
    expected = EXPECTED.read_text().splitlines()
    actual = route_table()
    added = sorted(set(actual) - set(expected))
    removed = sorted(set(expected) - set(actual))
    assert (added, removed) == ([], []), (
        "the routes changed; if on purpose, run `.venv/bin/python -m tests.server.test_routes`"
    )


if __name__ == "__main__":  # pragma: no cover - a developer's command
    EXPECTED.write_text("\n".join(route_table()) + "\n")
    sys.stdout.write(f"wrote {EXPECTED}\n")
