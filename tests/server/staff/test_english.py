"""Staff sign-in and the staff home page in English, beside Dutch, against a real Balie
server: a staff member who chose English signs in, sees form errors, refusals, notices and
the home page in English (the session warning's texts included), and no Dutch is left in
the page; without a choice everything stays Dutch. The server and the sign-in steps are
those of ``test_staff_auth``.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Final

import aiohttp

import web
from server.core.language import Language, Languages
from server.core.limits import LocalLimiter
from server.staff.accounts import MAX_FAILURES
from server.staff.auth import SIGN_IN
from server.staff.model import ROLE_LABELS, Role
from server.staff.sign_in import SIGN_IN_CODE
from tests.english import assert_english, choose_english
from tests.server.staff.support import (
    Staffed,
    code_step,
    csrf_of,
    password_step,
    sign_in,
    staff_client,
)

#: staff words besides the common ones of the resident pages
STAFF_DUTCH: Final = (
    "inloggen",
    "ingelogd",
    "uitloggen",
    "uitgelogd",
    "medewerker",
    "gebruikersnaam",
    "wachtwoord",
    "verder",
    "welkom",
    "rollen",
    "gemeente",
    "cijfers",
    "vul ",
    "toegang",
    "formulier",
)
#: the tenants' names (the sign-in form offers both), shown as stored
TENANT: Final = "Gemeente Voorbeeld (demo)"
DATA_NAMES: Final = (TENANT, "Andere")


def _assert_english(page: str, *names: str) -> None:
    assert_english(page, leave_out=(*DATA_NAMES, *names), more_dutch=STAFF_DUTCH, title=True)


def _switch_back(page: str) -> str:
    found = re.search(r'name="terug" value="([^"]*)"', page)
    assert found is not None
    return html.unescape(found.group(1))


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url, allow_redirects=False) as response:
        return response.status, await response.text()


async def _post_sign_in(
    session: aiohttp.ClientSession, server: Staffed, login: str, password: str
) -> tuple[int, str]:
    token = await csrf_of(session, server.url + SIGN_IN)
    form = {"csrf_token": token, "tenant": "demo", "login": login, "password": password}
    async with session.post(server.url + SIGN_IN, data=form, allow_redirects=False) as response:
        return response.status, await response.text()


# --- signing in ----------------------------------------------------------------------------


async def test_sign_in_in_english(server: Staffed) -> None:
    async with staff_client(server) as client:
        choose_english(client, server.url)
        status, page = await _get(client, server.url + SIGN_IN)
        assert status == 200
        _assert_english(page)
        assert "<title>Staff sign-in – Balie</title>" in page
        assert "<h1>Staff sign-in</h1>" in page
        assert '<span class="brand-sub">staff</span>' in page
        assert '<label for="login">User name</label>' in page
        assert '<label for="password">Password</label>' in page
        assert "Step 1 of 2: your user name and password." in page
        assert ">Continue</button>" in page
        assert _switch_back(page) == SIGN_IN

        # nothing filled in: an error per field, and the switch does not return to the POST
        status, page = await _post_sign_in(client, server, " ", "")
        assert status == 400
        _assert_english(page)
        assert "<title>Error: Staff sign-in – Balie</title>" in page
        assert "There is a problem" in page
        assert '<span class="visually-hidden">Error: </span>Enter your user name.' in page
        assert '<span class="visually-hidden">Error: </span>Enter your password.' in page
        assert _switch_back(page) == SIGN_IN

        status, page = await _post_sign_in(client, server, "specialist", "wrong")
        assert status == 200
        _assert_english(page)
        assert "Signing in did not work. Check your details and try again." in page

        password, _ = server.creds("specialist")
        assert (await password_step(client, server, "specialist", password)).status == 303
        status, page = await _get(client, server.url + SIGN_IN_CODE)
        assert status == 200
        _assert_english(page)
        assert "<h1>Enter the code</h1>" in page
        assert '<label for="code">6-digit code</label>' in page
        assert ">Sign in</button>" in page and ">Start again</a>" in page
        assert "(authenticator app)" in page

        response, page = await code_step(client, server, "abcdef")
        assert response.status == 200
        _assert_english(page)
        assert "<title>Error: Enter the code – Balie</title>" in page
        assert "Signing in did not work. Check your details and try again." in page
        assert ">Enter the newest code from your app.</a>" in page
        assert _switch_back(page) == SIGN_IN_CODE


async def test_a_locked_account_is_told_in_english(server: Staffed) -> None:
    async with staff_client(server) as client:
        choose_english(client, server.url)
        for _ in range(MAX_FAILURES):
            status, page = await _post_sign_in(client, server, "planner", "wrong")
        assert status == 429
        _assert_english(page)
        assert "Signing in went wrong too many times. Wait a quarter of an hour" in page


async def test_too_many_attempts_in_english(server: Staffed) -> None:
    server.auth.limiter = LocalLimiter(burst=1, per_minute=1)
    async with staff_client(server) as client:
        choose_english(client, server.url)
        await _post_sign_in(client, server, "nobody", "wrong")
        status, page = await _post_sign_in(client, server, "nobody", "wrong")
        assert status == 429
        _assert_english(page)
        assert "<h1>Too many attempts for a moment</h1>" in page
        assert "We received too many sign-in attempts. Wait a minute and try again." in page
        assert ">Continue</a>" in page
        assert _switch_back(page) == SIGN_IN


# --- the home page and signing out ---------------------------------------------------------


async def test_the_home_page_in_english(server: Staffed) -> None:
    async with staff_client(server) as client:
        await sign_in(client, server, "planner")
        choose_english(client, server.url)
        status, page = await _get(client, server.url + "/staff")
        assert status == 200
        found = re.search(r"<h1>Welcome, ([^<]*)</h1>", page)
        assert found is not None
        name = html.unescape(found.group(1))
        _assert_english(page, name)
        assert "<title>Staff – Balie</title>" in page
        assert "<dt>User name</dt>" in page and "<dt>Municipality</dt>" in page
        assert "<dt>Roles</dt><dd>Planner</dd>" in page
        assert "<dt>Signed in until</dt>" in page
        assert re.search(r"\d\d:\d\d\. If you do nothing for 15 minutes, Balie signs you out", page)
        assert ">To the planning: week overview, appointments and figures</a>" in page
        assert ">You will be signed out soon</h2>" in page and ">Stay signed in</button>" in page
        assert ">Sign out</button>" in page and ">Sign out everywhere</button>" in page
        assert _switch_back(page) == "/staff"
        # the session warning (staff.js) gets its English from the page
        texts = re.search(r'<script type="application/json" id="balie-texts">(.*?)</script>', page)
        assert texts is not None
        script_texts = json.loads(html.unescape(texts.group(1)))
        assert script_texts[
            "U wordt over {minutes} minuten uitgelogd, omdat u een tijdje niets heeft gedaan."
        ] == (
            "You will be signed out in {minutes} minutes, "
            "because you have not done anything for a while."
        )

        token = await csrf_of(client, server.url + "/staff")
        async with client.post(
            server.url + "/staff/sign-out", data={"csrf_token": token}
        ) as response:
            page = await response.text()
        _assert_english(page)
        assert '<p class="notice" role="status">You are signed out.</p>' in page


async def test_the_specialist_sees_the_role_and_the_desk_link_in_english(
    server: Staffed,
) -> None:
    async with staff_client(server) as client:
        await sign_in(client, server, "specialist")
        choose_english(client, server.url)
        _, page = await _get(client, server.url + "/staff")
        assert "<dt>Roles</dt><dd>Specialist</dd>" in page
        assert ">To my calls for today</a>" in page

        server.clock.advance(minutes=16)
        status, page = await _get(client, server.url + "/staff")
        assert status == 303
        _, page = await _get(client, server.url + SIGN_IN + "?verlopen=1")
        _assert_english(page)
        assert "You were signed out because you did nothing for a while." in page
        assert _switch_back(page) == SIGN_IN + "?verlopen=1"


# --- refusals ------------------------------------------------------------------------------


async def test_refusals_in_english(server: Staffed) -> None:
    async with staff_client(server) as client:
        await sign_in(client, server, "specialist")
        choose_english(client, server.url)
        status, page = await _get(client, server.url + "/staff/planner")
        assert status == 403
        _assert_english(page)
        assert "<title>You do not have access here – Balie</title>" in page
        assert "This page belongs to another role or another municipality" in page
        assert '<a href="/staff">Continue</a>' in page
        # problem JSON keeps its (untranslated) title
        async with client.get(
            server.url + "/staff/planner", headers={"Accept": "application/json"}
        ) as response:
            assert response.status == 403
            assert (await response.json())["title"] == "U heeft hier geen toegang"

        async with client.post(
            server.url + "/staff/sign-out", data={"csrf_token": "x" * 43}
        ) as response:
            assert response.status == 403
            page = await response.text()
        _assert_english(page)
        assert "<h1>This form has expired</h1>" in page
        assert "To protect your account, we do not accept this form." in page
        assert _switch_back(page) == SIGN_IN


async def test_every_role_has_an_english_label(server: Staffed) -> None:
    async with staff_client(server) as client:
        await sign_in(client, server, "other")  # both roles, in the other tenant
        choose_english(client, server.url)
        _, page = await _get(client, server.url + "/staff")
        assert "<dt>Roles</dt><dd>Specialist, Planner</dd>" in page
    english = Languages(Path(web.__file__).parent).gettext(Language.EN)
    assert [english(ROLE_LABELS[role]) for role in Role] == [
        "Specialist",
        "Planner",
        "Functional administrator",
    ]


# --- Dutch stays the default ---------------------------------------------------------------


async def test_without_a_choice_the_staff_pages_stay_dutch(server: Staffed) -> None:
    async with staff_client(server) as client:
        _, page = await _get(client, server.url + SIGN_IN)
        assert '<html lang="nl">' in page
        assert 'name="taal" value="en" lang="en">English' in page
        assert "<h1>Inloggen voor medewerkers</h1>" in page and "Gebruikersnaam" in page
        await sign_in(client, server, "planner")
        _, page = await _get(client, server.url + "/staff")
        assert '<html lang="nl">' in page
        assert "<dt>Rollen</dt><dd>Planner</dd>" in page
        assert "Doet u 15 minuten niets, dan logt Balie u uit." in page
        assert ">U wordt bijna uitgelogd</h2>" in page
        assert '<script type="application/json" id="balie-texts">{}</script>' in page
