"""``balie tenant create``: an operator adds a municipality and its first administrator, who
then signs in as a person does (password, then the code from their authenticator app)."""

from __future__ import annotations

import asyncio
import re

import pyotp
import pytest
from sqlalchemy import func, select

from server.cli import main
from server.db.appkeys import ENGINE
from server.db.schema import audit_events, staff_accounts, tenants
from tests.server.staff.support import Staffed, code_step, password_step, staff_client
from tests.support import operator_env

NEW = "gemeente-proef"


@pytest.fixture(autouse=True)
def balie_env(server: Staffed, monkeypatch: pytest.MonkeyPatch) -> None:
    operator_env(monkeypatch, server.config.data_dir)


async def balie(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def counts(server: Staffed) -> tuple[int, int, int]:
    async with server.app[ENGINE].connect() as conn:
        found = []
        for table in (tenants, staff_accounts, audit_events):
            found.append((await conn.execute(select(func.count()).select_from(table))).scalar())
    return found[0] or 0, found[1] or 0, found[2] or 0


async def test_the_first_administrator_signs_in_with_what_the_command_printed(
    server: Staffed, capsys: pytest.CaptureFixture[str]
) -> None:
    before = await counts(server)
    command = ("tenant", "create", NEW, "--name", "Gemeente Proef")
    assert await balie(*command, "--admin-login", "Beheer", "--admin-name", "Proef Beheerder") == 0
    out = capsys.readouterr().out
    password = re.search(r"password\s+(\S+)", out)
    secret = re.search(r"TOTP secret\s+(\S+)", out)
    assert password and secret, out
    assert f"/staff/sign-in?tenant={NEW}" in out and "user name    beheer" in out
    # a tenant, an account, and what happened in the audit trail (never a credential)
    assert await counts(server) == (before[0] + 1, before[1] + 1, before[2] + 2)
    async with server.app[ENGINE].connect() as conn:
        rows = (
            await conn.execute(select(audit_events).where(audit_events.c.tenant_id == NEW))
        ).all()
    assert {row.action for row in rows} == {"tenant.created", "staff_account.created"}
    assert not any(password.group(1) in str(row) or secret.group(1) in str(row) for row in rows)

    async with staff_client(server) as session:
        step1 = await password_step(session, server, "Beheer", password.group(1), NEW)
        assert (step1.status, step1.headers["Location"]) == (303, "/staff/sign-in/code")
        code = pyotp.TOTP(secret.group(1)).at(server.clock.now)
        step2, _ = await code_step(session, server, code)
        assert (step2.status, step2.headers["Location"]) == (303, "/staff")
        async with session.get(f"{server.url}/staff/planner") as response:
            assert response.status == 200  # the first administrator can run the schedule


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        ((NEW.upper(), "--name", "X", "--admin-login", "a", "--admin-name", "A"), "tenant id"),
        ((NEW, "--name", " ", "--admin-login", "a", "--admin-name", "A"), "--name"),
        ((NEW, "--name", "X", "--admin-login", "a" * 129, "--admin-name", "A"), "--admin-login"),
        (("andere", "--name", "X", "--admin-login", "a", "--admin-name", "A"), "exists already"),
    ],
)
async def test_bad_input_or_a_taken_id_is_one_line_and_changes_nothing(
    server: Staffed, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], says: str
) -> None:
    before = await counts(server)
    assert await balie("tenant", "create", *argv) == 2
    captured = capsys.readouterr()
    assert says in captured.err and len(captured.err.strip().splitlines()) == 1
    assert "password" not in captured.out
    assert await counts(server) == before
