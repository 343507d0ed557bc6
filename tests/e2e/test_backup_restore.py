"""A backup of Balie is its PostgreSQL database and its key files, kept apart: restored
together into a fresh database, a restarted ``balie serve`` serves the same bookings, and the
manage link a resident was given before the backup opens and cancels their appointment.
(docs/operations.md, "Backup and restore".)

The flow, as an operator runs it: one node on database A; a resident books on the booking
pages and keeps the manage link from the confirmation; ``pg_dump --format=custom`` of A while
the node serves, and a copy of the key files; the node stops (its machine is lost). A fresh
database B, ``pg_restore --no-owner`` into B. A node on B at the same address, with the key
files from the backup (in a data directory of its own, as on a new machine): the manage page
and the API show the appointment as before, a planner signs in (the TOTP secret opens with
the vault key from the backup) and finds it, and the old link cancels it. The negatives show
why the key files belong in the backup: the same database with a fresh link-key file refuses
the old link with a readable page, and with a fresh vault key no member of staff gets past
the code step.

Needs PostgreSQL and its ``pg_dump`` and ``pg_restore``; a missing one fails the test.
"""

from __future__ import annotations

import asyncio
import base64
import html
import re
import secrets
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp
import pyotp
import pytest
from sqlalchemy.engine import make_url

from identity.vault import KeyRing, new_key_config_entry
from server.booking.links import LinkKeys
from server.core.secrets import write_secret
from server.staff.accounts import AccountStore
from server.staff.demo import DEMO_HASHER
from server.staff.model import Role
from signaling.tokens import KeySet
from tests.e2e.processes import bounded, database
from tests.server.booking.support import EMAIL, BookingClient, count_appointments, seed
from tests.server.db.support import create_postgres_database, drop_postgres_database
from tests.server.resident.support import Resident, book, field, manage_link, open_manage_link
from tests.server.staff.support import csrf_of
from tests.support import BalieProcess, balie_serve, free_port

pytestmark = pytest.mark.e2e

#: the planner who signs in on the restored node (obviously fake)
PLANNER: Final = "test-planner"
PLANNER_PASSWORD: Final = "test-wachtwoord-planner"
#: what a resident reads when a manage link does not check out
LINK_REFUSED: Final = "Deze link klopt niet"
#: what a member of staff reads when a sign-in step is refused
SIGN_IN_REFUSED: Final = "Inloggen is niet gelukt"
FACTS: Final = re.compile(r'<dl class="facts">.*?</dl>', re.DOTALL)


@dataclass(frozen=True)
class KeyFiles:
    """The key files and secrets of a deployment, in one directory, as docker/make-secrets
    writes them: what a backup keeps beside the database dump."""

    directory: Path

    @classmethod
    def make(cls, directory: Path) -> KeyFiles:
        write_secret(directory / "room-keys.json", KeySet.generate().to_json())
        write_secret(directory / "link-keys.json", LinkKeys.generate().to_json())
        write_secret(directory / "BALIE_VAULT_KEYS", new_key_config_entry("k1"))
        write_secret(
            directory / "BALIE_FEED_SECRET", base64.b64encode(secrets.token_bytes(32)).decode()
        )
        return cls(directory)

    def copy(self, directory: Path) -> KeyFiles:
        shutil.copytree(self.directory, directory)
        return KeyFiles(directory)

    def read(self, name: str) -> str:
        return (self.directory / name).read_text().strip()

    def env(self, database_url: str) -> dict[str, str]:
        """A node's settings: the database, and every key from these files."""
        return {
            "BALIE_DATABASE_URL": database_url,
            "BALIE_DEMO_DATA": "false",
            "BALIE_ROOM_KEYS_FILE": str(self.directory / "room-keys.json"),
            "BALIE_LINK_KEYS_FILE": str(self.directory / "link-keys.json"),
            "BALIE_VAULT_KEYS": self.read("BALIE_VAULT_KEYS"),
            "BALIE_FEED_SECRET": self.read("BALIE_FEED_SECRET"),
        }


def pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (Debian: postgresql-client)", pytrace=False)
    return found


def libpq(url: str) -> str:
    """The SQLAlchemy URL as the connection URI pg_dump and pg_restore take."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def run(*argv: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode == 0, (argv[0], process.returncode, out.decode(), err.decode())


@asynccontextmanager
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    """A browser of its own: keeps cookies (of 127.0.0.1 too)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield http


@asynccontextmanager
async def staff_browser(node: BalieProcess) -> AsyncIterator[aiohttp.ClientSession]:
    """A member of staff's browser: cookies, the node's Origin, asks for pages."""
    async with aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        headers={"Origin": node.url, "Accept": "text/html"},
    ) as http:
        yield http


@dataclass(frozen=True)
class Kept:
    """What the resident holds: the manage link from the confirmation."""

    link: str

    @property
    def path(self) -> str:
        return urlsplit(self.link).path

    @property
    def appointment_id(self) -> str:
        return self.path.rsplit("/", 1)[1]

    @property
    def token(self) -> str:
        return urlsplit(self.link).fragment.removeprefix("token=")


async def open_link(node: BalieProcess, kept: Kept) -> tuple[int, str]:
    """A fresh browser opens the manage link on ``node``: the answer to posting its token,
    and (if it let them in) the appointment's page."""
    assert kept.link.startswith(node.url + "/"), (kept.link, node.url)
    async with browser() as http:
        resident = Resident(BookingClient(node.url, http), http)
        status, answer = await open_manage_link(resident, kept.link)
        if status != 303:
            return status, answer
        assert answer == kept.path + "/beheren", answer
        return await resident.get(answer)


def facts(page: str) -> str:
    """The appointment's facts on a page (subject, when, reference)."""
    found = FACTS.search(page)
    assert found is not None, page
    return found.group(0)


async def details(node: BalieProcess, tenant: str, kept: Kept) -> tuple[int, Any]:
    """The booking API's details of the appointment, with the link's token."""
    async with aiohttp.ClientSession() as http:
        api = BookingClient(node.url, http)
        path = f"/appointments/{kept.appointment_id}"
        return await api.call("GET", api.api(tenant, path), token=kept.token)


def comparable(body: dict[str, Any]) -> dict[str, Any]:
    """The details with the join link cut before its room token, which is minted afresh
    each time (the room stays)."""
    return body | {"join_url": body["join_url"].split("#", 1)[0]}


async def add_planner(database_url: str, tenant: str, keys: KeyFiles) -> str:
    """A planner account of ``tenant``, its TOTP secret sealed with the vault key as the
    node seals it; the secret."""
    secret = pyotp.random_base32(32)
    async with database(database_url) as engine:
        await AccountStore(engine).create(
            tenant_id=tenant,
            login=PLANNER,
            display_name="Test Planner",
            roles=[Role.PLANNER],
            password_hash=DEMO_HASHER.hash(PLANNER_PASSWORD),
            keys=KeyRing.from_config(keys.read("BALIE_VAULT_KEYS")),
            totp_secret=secret,
            now=datetime.now(UTC),
        )
    return secret


async def sign_in(
    http: aiohttp.ClientSession, node: BalieProcess, tenant: str, secret: str
) -> tuple[int, str]:
    """Both sign-in steps as the planner takes them; the code step's status and page (303
    to ``/staff``: signed in)."""
    form = {
        "csrf_token": await csrf_of(http, f"{node.url}/staff/sign-in?tenant={tenant}"),
        "tenant": tenant,
        "login": PLANNER,
        "password": PLANNER_PASSWORD,
    }
    async with http.post(f"{node.url}/staff/sign-in", data=form, allow_redirects=False) as first:
        assert (first.status, first.headers.get("Location")) == (303, "/staff/sign-in/code"), (
            await first.text()
        )
    code = {
        "csrf_token": await csrf_of(http, f"{node.url}/staff/sign-in/code"),
        "code": pyotp.TOTP(secret).now(),
    }
    async with http.post(
        f"{node.url}/staff/sign-in/code", data=code, allow_redirects=False
    ) as second:
        return second.status, second.headers.get("Location") or await second.text()


async def page(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url, allow_redirects=False) as response:
        text = await response.text()
        assert response.status == 200, (url, response.status, text)
        return text


@bounded
async def test_a_restored_dump_with_its_key_files_serves_the_same_bookings_and_manage_links(
    tmp_path: Path, postgres_url: str
) -> None:
    pg_dump, pg_restore = pg_tool("pg_dump"), pg_tool("pg_restore")
    keys = KeyFiles.make(tmp_path / "keys")
    # every node answers at the one address the links name, as behind the same public URL
    port = free_port()

    # --- in production: a resident books and keeps the manage link ------------------------
    async with balie_serve(tmp_path / "node-a", env=keys.env(postgres_url), port=port) as a:
        async with database(postgres_url) as engine:
            tenant = await seed(engine)
        secret = await add_planner(postgres_url, tenant, keys)
        async with browser() as http:
            confirmed, _ = await book(
                Resident(BookingClient(a.url, http), http), tenant, email=EMAIL
            )
        kept = Kept(manage_link(confirmed))
        status, managed = await open_link(a, kept)
        assert status == 200 and "Afspraak afzeggen" in managed, managed
        status, before = await details(a, tenant, kept)
        assert status == 200 and before["state"] == "booked", before

        # the backup, taken while the node serves: a dump of the database, and the key
        # files kept apart from it
        dump = tmp_path / "backup" / "balie.dump"
        dump.parent.mkdir()
        await run(pg_dump, "--format=custom", f"--file={dump}", libpq(postgres_url))
        backed_up = keys.copy(tmp_path / "backup" / "keys")

    # --- the restore: a fresh database, the dump into it -----------------------------------
    restored_url = await create_postgres_database()
    try:
        await run(
            pg_restore,
            "--no-owner",
            "--exit-on-error",
            f"--dbname={libpq(restored_url)}",
            str(dump),
        )
        async with database(restored_url) as engine:
            assert await count_appointments(engine, tenant) == {"booked": 1}

        # without the link keys of the backup: the old link is refused, readably
        fresh_links = backed_up.copy(tmp_path / "fresh-link-keys")
        write_secret(fresh_links.directory / "link-keys.json", LinkKeys.generate().to_json())
        env = fresh_links.env(restored_url)
        async with balie_serve(tmp_path / "node-fresh-links", env=env, port=port) as node:
            status, refused = await open_link(node, kept)
            assert status == 403 and LINK_REFUSED in refused, refused
            assert '<html lang="nl">' in refused and 'id="manage-form"' in refused, refused
            status, problem = await details(node, tenant, kept)
            assert status == 403 and problem["code"] == "link-invalid", problem

        # without the vault key of the backup: no member of staff gets past the code step
        fresh_vault = backed_up.copy(tmp_path / "fresh-vault-key")
        write_secret(fresh_vault.directory / "BALIE_VAULT_KEYS", new_key_config_entry("k1"))
        env = fresh_vault.env(restored_url)
        async with balie_serve(tmp_path / "node-fresh-vault", env=env, port=port) as node:
            async with staff_browser(node) as staff:
                status, answer = await sign_in(staff, node, tenant, secret)
                assert status == 200 and SIGN_IN_REFUSED in answer, answer

        # with the key files of the backup: all as before, on a node of its own
        restored = backed_up.copy(tmp_path / "restored-keys")
        env = restored.env(restored_url)
        async with balie_serve(tmp_path / "node-restored", env=env, port=port) as node:
            status, after = await details(node, tenant, kept)
            assert status == 200 and comparable(after) == comparable(before), after
            status, shown = await open_link(node, kept)
            assert status == 200 and facts(shown) == facts(managed), shown
            assert "Afspraak afzeggen" in shown, shown

            # the planner finds it, signed in with the TOTP secret sealed before the backup
            async with staff_browser(node) as staff:
                assert await sign_in(staff, node, tenant, secret) == (303, "/staff")
                planner = f"{node.url}/staff/planner"
                listed = await page(staff, f"{planner}/appointments/{kept.appointment_id}")
                assert before["reference"] in listed and "Staff s1" in listed, listed
                assert "bekend (e-mail)" in listed, listed  # the contact details came along
                week = re.search(r'href="(/staff/planner\?week=[^"]+)"', listed)
                assert week is not None, listed
                overview = await page(staff, node.url + html.unescape(week.group(1)))
                assert f"/staff/planner/appointments/{kept.appointment_id}" in overview, overview

            # and the old link cancels it
            async with browser() as http:
                resident = Resident(BookingClient(node.url, http), http)
                status, location = await open_manage_link(resident, kept.link)
                assert (status, location) == (303, kept.path + "/beheren"), location
                status, ask = await resident.get(kept.path + "/afzeggen")
                assert status == 200 and "Wilt u deze afspraak afzeggen?" in ask, ask
                status, location = await resident.post(
                    kept.path + "/afzeggen", {"key": field(ask, "key")}
                )
                assert (status, location) == (303, kept.path + "/beheren"), location
                status, cancelled = await resident.get(location)
                assert status == 200 and "afgezegd" in cancelled, cancelled
                assert "Afspraak afzeggen" not in cancelled, cancelled
            status, gone = await details(node, tenant, kept)
            assert status == 200 and gone["state"] == "cancelled", gone
            assert "Traceback" not in node.printed, node.printed

        async with database(restored_url) as engine:
            assert await count_appointments(engine, tenant) == {"cancelled": 1}
        async with database(postgres_url) as engine:  # the restore is a copy: A is untouched
            assert await count_appointments(engine, tenant) == {"booked": 1}
    finally:
        await drop_postgres_database(restored_url)
