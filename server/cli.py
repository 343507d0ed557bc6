"""The ``balie`` command."""

from __future__ import annotations

import argparse
import asyncio
import errno
import importlib
import json
import os
import socket
import sys
import time
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import UTC, datetime

import pyotp
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from identity.vault import new_key_config_entry, reseal_all
from server import check
from server.app import create_app
from server.booking.links import LinkKeys
from server.call.rooms import IssuedRoom, issue_room, room_json
from server.config import Config, ConfigError
from server.core import logs
from server.core.appkeys import KEYS
from server.core.secrets import RotatingKeys, load_keys, rotate_key_file, vault_keys
from server.core.serving import serve_until_stopped
from server.core.tasks import innermost
from server.db import create_engine, migrate
from server.db.demo import DEMO_TENANT
from server.db.migrate import current_revision
from server.db.sole_node import migration_turn, sole_node
from server.probe import command as probe
from server.staff.accounts import AccountStore
from server.staff.demo import print_demo_accounts
from server.staff.tenants import FirstAdministrator, create_tenant
from server.verification.vault_store import SqlVault
from server.walkin.callbacks import Callbacks
from signaling.tokens import KeySet

#: how long ``balie serve`` waits for the database before saying it cannot be reached
DATABASE_CHECK_SECONDS = 10


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="balie", description="Balie: the digital counter.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")

    room = commands.add_parser("room", help="rooms without an appointment")
    room_commands = room.add_subparsers(dest="room_command", required=True)
    create = room_commands.add_parser("create", help="print join links for a new room")
    create.add_argument("--count", type=int, default=1, help="how many rooms (default 1)")
    create.add_argument("--json", action="store_true", help="print JSON instead of text")
    create.add_argument(
        "--purpose", help="the purpose whose identity check the resident must pass (e.g. wmo)"
    )
    create.add_argument("--tenant", default="demo", help="the purpose's tenant (default demo)")
    create.add_argument(
        "--url",
        help="the address people open, where Balie runs (default BALIE_PUBLIC_URL, else "
        "http://BALIE_HOST:BALIE_PORT)",
    )

    keys = commands.add_parser("keys", help="the signing keys of room tokens and manage links")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    rotate = key_commands.add_parser(
        "rotate",
        help="add a new signing key to the file; old keys keep verifying, and running nodes "
        "that read the same file take it up without a restart",
    )
    rotate.add_argument(
        "which",
        nargs="?",
        choices=("rooms", "links"),
        default="rooms",
        help="room tokens (BALIE_ROOM_KEYS_FILE, the default) or manage links "
        "(BALIE_LINK_KEYS_FILE)",
    )

    commands.add_parser(
        "migrate", help="bring the database schema to this version's (serve does it too)"
    )

    tenant = commands.add_parser("tenant", help="municipalities (tenants)")
    tenant_commands = tenant.add_subparsers(dest="tenant_command", required=True)
    new_tenant = tenant_commands.add_parser(
        "create", help="add a tenant and its first administrator; prints their credentials once"
    )
    new_tenant.add_argument("tenant_id", help="a short id, e.g. gemeente-utrecht")
    new_tenant.add_argument("--name", required=True, help='e.g. "Gemeente Utrecht"')
    new_tenant.add_argument("--admin-login", required=True, help="the user name they sign in with")
    new_tenant.add_argument("--admin-name", required=True, help="the name shown to colleagues")

    vault = commands.add_parser("vault", help="the attribute vault's keys")
    vault_commands = vault.add_subparsers(dest="vault_command", required=True)
    vault_commands.add_parser(
        "new-key", help="print a new key entry to put first in BALIE_VAULT_KEYS"
    )
    vault_commands.add_parser(
        "reseal", help="re-encrypt every vault entry under the first (active) key"
    )

    check.add_parser(commands)
    probe.add_parser(commands)

    args = parser.parse_args(argv)
    env = dict(os.environ)
    if getattr(args, "host", None):
        env["BALIE_HOST"] = args.host
    if getattr(args, "port", None):
        env["BALIE_PORT"] = str(args.port)
    if getattr(args, "url", None):
        env["BALIE_PUBLIC_URL"] = args.url
    if args.command == "check":
        return check.run(env, as_json=args.json)
    if args.command == "probe":
        return probe.run(args, env)
    try:
        config = Config.from_env(env)
        if args.command == "serve":
            return _serve(config)
        if args.command == "vault":
            return _vault(config, args.vault_command)
        if args.command == "room":
            purpose = (args.purpose, args.tenant) if args.purpose else None
            return _room_create(config, args.count, args.json, purpose)
        if args.command == "migrate":
            return _migrate(config)
        if args.command == "tenant":
            return _tenant_create(config, args)
        return _rotate(config, args.which)
    except ConfigError as exc:
        print(f"balie: configuration error: {exc}", file=sys.stderr)
        return 2


def _serve(config: Config) -> int:
    """Check what can be checked before printing anything (the port, the database), so a
    mistake is one line naming its cause, exit status 2; then start."""
    logs.configure(config.log_level, config.log_format, config.log_key)
    sock = _listen(config)
    loop = _new_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(check_database(config.database.url, clustered=config.clustered))
        app = create_app(config)
    except BaseException:
        sock.close()
        loop.close()
        raise
    print(f"Balie luistert op {config.public_url}  (stoppen: Ctrl+C)", flush=True)
    if not config.production:
        # a newcomer sees a whole call in two browser tabs without further steps
        print("Demo: open deze twee links in twee tabbladen / open these in two tabs:")
        # with demo data, the resident first shows who they are with the demo wallet
        gated = config.database.demo_data
        room = issue_room(
            config,
            app[KEYS],
            now=int(time.time()),
            purpose="bijstand" if gated else None,
            tenant=DEMO_TENANT if gated else None,
        )
        _print_rooms([room])
        print_demo_accounts(config)
    try:
        loop.run_until_complete(
            serve_until_stopped(app, sock, header_timeout=config.header_timeout)
        )
    finally:
        loop.close()
    return 0


def _listen(config: Config) -> socket.socket:
    """The listening socket, bound now: a port in use is a clear error, not a traceback after
    the demo links have been printed."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            config.host, config.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror:
        raise ConfigError(
            f"BALIE_HOST {config.host!r} is not an address this machine has"
        ) from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {config.port} on {config.host} is already in use (is Balie running "
                "already?); choose another with --port or BALIE_PORT"
            ) from None
        raise ConfigError(
            f"cannot listen on {config.host}:{config.port}: {error.strerror}"
        ) from None
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


async def check_database(url: str, *, clustered: bool = False) -> None:
    """Reach the database, see that no other node serves it (unless nodes share it through
    Redis), and bring its schema to head; or say in one line why not."""
    if url.startswith("postgresql"):
        try:
            importlib.import_module("asyncpg")  # the driver the engine loads at first use
        except ImportError:
            raise ConfigError(
                "BALIE_DATABASE_URL is a PostgreSQL URL, but PostgreSQL support is not "
                "installed: run `.venv/bin/pip install -e '.[postgres]'`"
            ) from None
    engine = create_engine(url)
    try:
        async with asyncio.timeout(DATABASE_CHECK_SECONDS):
            # a second node stops here, before it migrates
            async with nullcontext() if clustered else sole_node(engine):
                async with migration_turn(engine):
                    await migrate(engine)
    except TimeoutError:
        raise _unreachable(url, f"no answer within {DATABASE_CHECK_SECONDS} s") from None
    except (OSError, SQLAlchemyError) as error:
        raise _unreachable(url, _cause(error)) from None
    finally:
        await engine.dispose()


def _unreachable(url: str, reason: str) -> ConfigError:
    """One line: the database (its URL without the password) and why it cannot be used."""
    shown = make_url(url).render_as_string(hide_password=True)
    return ConfigError(f"BALIE_DATABASE_URL {shown}: {reason}")


def _cause(error: BaseException) -> str:
    """The driver's own first line, which says what is wrong (refused, no such database,
    authentication failed), without SQLAlchemy's wrapping and links."""
    seen = innermost(error)
    text = str(seen).strip().splitlines()[0] if str(seen).strip() else type(seen).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _vault(config: Config, command: str) -> int:
    """Key rotation: put a new key first in BALIE_VAULT_KEYS, restart, run ``reseal``,
    then drop the old key (docs/operations.md, "Keys")."""
    if command == "new-key":
        print(new_key_config_entry("k" + time.strftime("%Y%m%d")))
        return 0
    keys = vault_keys(config)

    async def reseal() -> tuple[int, int, int]:  # (vault entries, TOTP secrets, call-backs)
        engine = create_engine(config.database.url)
        try:
            await migrate(engine)
            entries = await reseal_all(SqlVault(engine), keys)
            totp = await AccountStore(engine).reseal_totp_secrets(keys, datetime.now(UTC))
            callbacks = await Callbacks(engine, keys).reseal()
            return entries, totp, callbacks
        finally:
            await engine.dispose()

    entries, totp, callbacks = asyncio.run(reseal())
    print(
        f"{entries} vault entries, {totp} staff TOTP secrets and {callbacks} call-back numbers"
        f" now sealed with {keys.active}"
    )
    return 0


def _rotate(config: Config, which: str) -> int:
    if which == "links":
        rotated: RotatingKeys = rotate_key_file(
            config.link_keys_file, LinkKeys.from_json, LinkKeys.generate
        )
    else:
        rotated = rotate_key_file(config.keys_file, KeySet.from_json, KeySet.generate)
    kids = ", ".join(rotated.kids)
    print(f"{which}: signing key is now {rotated.active}; keys in the set: {kids}")
    return 0


def _migrate(config: Config) -> int:
    """Upgrade the schema, waiting its turn if a starting node migrates at the same moment.
    Nodes migrate at start as well; this is for an upgrade done as its own step."""

    async def run() -> tuple[str | None, str | None]:
        engine = create_engine(config.database.url)
        try:
            before = await current_revision(engine)
            async with migration_turn(engine):
                await migrate(engine)
            return before, await current_revision(engine)
        finally:
            await engine.dispose()

    try:
        before, after = asyncio.run(run())
    except (OSError, SQLAlchemyError) as error:
        raise _unreachable(config.database.url, _cause(error)) from None
    if before == after:
        print(f"the database is at {after} already; nothing to do")
    else:
        print(f"the database went from {before or 'empty'} to {after}")
    return 0


def _tenant_create(config: Config, args: argparse.Namespace) -> int:
    keys = vault_keys(config)

    async def run() -> FirstAdministrator:
        engine = create_engine(config.database.url)
        try:
            async with migration_turn(engine):
                await migrate(engine)
            return await create_tenant(
                engine,
                keys,
                tenant_id=args.tenant_id,
                name=args.name,
                login=args.admin_login,
                display_name=args.admin_name,
                now=datetime.now(UTC),
            )
        finally:
            await engine.dispose()

    try:
        admin = asyncio.run(run())
    except ValueError as error:
        print(f"balie: {error}", file=sys.stderr)
        return 2
    except (OSError, SQLAlchemyError) as error:
        raise _unreachable(config.database.url, _cause(error)) from None
    uri = pyotp.TOTP(admin.totp_secret).provisioning_uri(name=admin.login, issuer_name="Balie")
    # printed once, to the operator's terminal only: hand them over in person
    print(f"tenant {admin.tenant_id} created; first administrator:")
    print(f"  sign in at   {config.public_url}/staff/sign-in?tenant={admin.tenant_id}")
    print(f"  user name    {admin.login}")
    print(f"  password     {admin.password}")
    print(f"  TOTP secret  {admin.totp_secret}  ({uri})")
    return 0


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def _room_create(
    config: Config, count: int, as_json: bool, purpose: tuple[str, str] | None = None
) -> int:
    if count < 1:
        print("balie: --count must be at least 1", file=sys.stderr)
        return 2
    keys = load_keys(config)
    purpose_key, tenant = purpose if purpose else (None, None)
    try:
        rooms = [
            issue_room(config, keys, now=int(time.time()), purpose=purpose_key, tenant=tenant)
            for _ in range(count)
        ]
    except ValueError as exc:
        print(f"balie: {exc}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps([room_json(room) for room in rooms], indent=2))
        return 0
    _print_rooms(rooms)
    return 0


def _print_rooms(rooms: list[IssuedRoom]) -> None:
    for room in rooms:
        print(f"Ruimte {room.room}")
        for seat in room.seats:
            label = {"resident": "Inwoner", "specialist": "Medewerker"}.get(seat.role.value, "")
            print(f"  {label} ({seat.role.value}): {seat.url}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
