"""Staff routes are authenticated by default: each declares the access it needs, and the
middleware refuses a route that declared none."""

from __future__ import annotations

import tempfile
from pathlib import Path

from aiohttp import web

from server.app import create_app
from server.config import Config
from server.staff.auth import Access, access_of, is_staff_path, public, requires
from server.staff.model import Role
from tests.server.staff.support import sign_in, staff_client, staffed_server


def staff_routes() -> list[tuple[str, str, Access | None]]:
    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(Config(data_dir=Path(data_dir)))
    found = []
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if is_staff_path(path):
            found.append((route.method, path, access_of(route.handler)))
    return found


def test_every_staff_route_declares_its_access() -> None:
    routes = staff_routes()
    assert len(routes) >= 20  # sign-in, session, desk and planner routes
    undeclared = [f"{method} {path}" for method, path, access in routes if access is None]
    assert undeclared == []


def test_the_declarations_are_what_each_page_needs() -> None:
    declared = {(method, path): access for method, path, access in staff_routes()}
    assert declared[("GET", "/staff/sign-in")] == Access(None, public=True)
    assert declared[("GET", "/staff")] == Access(None)
    assert declared[("GET", "/staff/session")] == Access(None, touch=False)
    assert declared[("GET", "/staff/desk")] == Access(Role.SPECIALIST)
    assert declared[("GET", "/staff/desk/state")] == Access(Role.SPECIALIST, touch=False)
    planner = [
        a for (m, p), a in declared.items() if p.startswith("/staff/planner") and m != "HEAD"
    ]
    assert planner and all(access == Access(Role.PLANNER) for access in planner)


async def _undeclared(request: web.Request) -> web.Response:
    return web.Response(text="should never be served")


@requires(Role.PLANNER)
async def _planners_only(request: web.Request) -> web.Response:
    return web.Response(text="planner ok")


@public
async def _open(request: web.Request) -> web.Response:
    return web.Response(text="open")


async def test_an_undeclared_staff_route_is_refused_even_to_a_signed_in_planner(
    tmp_path: Path,
) -> None:
    routes = [
        ("GET", "/staff/forgotten", _undeclared),
        ("GET", "/staff/planners-only", _planners_only),
        ("GET", "/staff/open", _open),
    ]
    async with staffed_server(tmp_path, routes=routes) as server, staff_client(server) as client:
        async with client.get(server.url + "/staff/open") as response:
            assert response.status == 200 and await response.text() == "open"
        async with client.get(server.url + "/staff/planners-only", allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/staff/sign-in"
        await sign_in(client, server, "planner")
        async with client.get(server.url + "/staff/planners-only") as response:
            assert response.status == 200 and await response.text() == "planner ok"
        async with client.get(server.url + "/staff/forgotten") as response:
            assert response.status == 403
            assert "should never be served" not in await response.text()
