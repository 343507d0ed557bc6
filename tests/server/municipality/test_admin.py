"""The administrator's page for the municipality's details: only an administrator of the
tenant may open or post it, a good form is saved and audited and shows on the residents'
pages at once, and a bad one is refused with an error per field and changes nothing."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from server.core.language import COOKIE
from server.db.schema import tenants
from server.municipality.store import PROFILE_SAVED
from tests.server.municipality import support
from tests.server.municipality.support import PAGE, errors_of, post, saves, stored
from tests.server.staff.support import Staffed, csrf_of, signed_in, staff_client, staffed_server

GOOD = {
    "phone": "14 099",
    "phone_hours": "Elke werkdag van 9 tot 12 uur",
    "email": "",
    "form_url": "https://voorbeeld.example/schrijf-ons",
    "visiting_address": "",
    "controller": "De burgemeester van Voorbeeld",
    "privacy_officer_email": "fg@voorbeeld.example",
    "privacy_url": "https://voorbeeld.example/privacy",
    "accessibility_status": "voldoet",
    "accessibility_date": "2026-01-15",
    "known_issues": "",
}


admin = support.admin


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Staffed]:
    async with staffed_server(tmp_path) as running:
        yield running


async def test_the_form_shows_what_is_stored(server: Staffed, admin: aiohttp.ClientSession) -> None:
    async with admin.get(server.url + PAGE) as response:
        assert response.status == 200
        page = html.unescape(await response.text())
    assert (
        'name="phone" type="tel" autocomplete="off" spellcheck="false" value="0900-0000000"' in page
    )
    assert 'value="voldoet-gedeeltelijk" checked' in page
    assert "Voorbeeldplein 1\n9999 XX  Voorbeeld</textarea>" in page
    # the staff landing page leads here for an administrator
    async with admin.get(server.url + "/staff") as response:
        assert PAGE in await response.text()


async def test_a_good_form_is_saved_audited_and_shown_to_residents(
    server: Staffed, admin: aiohttp.ClientSession
) -> None:
    status, location, _ = await post(admin, server, GOOD)
    assert (status, location) == (303, PAGE + "?klaar=opgeslagen")
    async with admin.get(server.url + location) as response:
        page = await response.text()
    assert "De gegevens van de gemeente zijn opgeslagen." in page
    data = await stored(server, tenants.c.profile)
    assert isinstance(data, dict)
    assert data["phone"] == "14 099" and data["email"] is None
    assert await saves(server, PROFILE_SAVED) == [("staff:demo-admin", "tenant:demo", "demo")]

    async with aiohttp.ClientSession() as resident:
        async with resident.get(server.url + "/afspraak/demo") as response:
            page = await response.text()
    assert 'href="tel:14099"' in page and "Elke werkdag van 9 tot 12 uur" in page
    assert "https://voorbeeld.example/schrijf-ons" in page


async def test_bad_input_is_refused_per_field_and_changes_nothing(
    server: Staffed, admin: aiohttp.ClientSession
) -> None:
    before = await stored(server, tenants.c.profile)
    bad = GOOD | {
        "phone": "bel ons",
        "form_url": "javascript:alert(1)",
        "accessibility_status": "voldoet",
        "known_issues": "De chat werkt niet met een schermlezer.",
        "accessibility_date": "2999-01-01",
    }
    status, _, page = await post(admin, server, bad)
    assert status == 400
    assert errors_of(page) == {
        "phone": "Vul een telefoonnummer in met alleen cijfers, spaties, streepjes en haakjes, "
        "en eventueel een + vooraan. Bijvoorbeeld 14 020 of 020-1234567.",
        "form_url": "Vul een volledige link in die begint met https://.",
        "accessibility_date": "Deze datum ligt in de toekomst. Vul de datum in waarop u keek.",
        "known_issues": "Er staan bekende problemen in de lijst. Dan voldoet Balie niet "
        "volledig: kies een andere status of maak de lijst leeg.",
    }
    # the summary links each field, the fields say they are invalid, the values come back
    assert page.count('href="#') >= 4 and 'href="#phone"' in page
    assert 'id="phone" name="phone" type="tel"' in page and 'aria-invalid="true"' in page
    assert "<title>Fout:" in page
    assert 'value="bel ons"' in page and "De chat werkt niet met een schermlezer." in page
    assert await stored(server, tenants.c.profile) == before
    assert await saves(server, PROFILE_SAVED) == []


async def test_an_empty_form_names_every_required_field(
    server: Staffed, admin: aiohttp.ClientSession
) -> None:
    status, _, page = await post(admin, server, {})
    assert status == 400
    assert set(errors_of(page)) == {
        "phone",
        "phone_hours",
        "email",
        "controller",
        "privacy_officer_email",
        "accessibility_status",
        "accessibility_date",
    }
    assert errors_of(page)["email"] == (
        "Vul een e-mailadres in, of een link naar een contactformulier."
    )


async def test_the_errors_speak_english_after_the_switch(
    server: Staffed, admin: aiohttp.ClientSession
) -> None:
    admin.cookie_jar.update_cookies({COOKIE: "en"})
    status, _, page = await post(admin, server, GOOD | {"phone": "1234"})
    assert status == 400
    assert errors_of(page) == {"phone": "A phone number has 5 to 15 digits."}


@pytest.mark.parametrize("login", ["specialist", "planner"])
async def test_other_roles_may_neither_open_nor_post_it(server: Staffed, login: str) -> None:
    before = await stored(server, tenants.c.profile)
    async with signed_in(server, login) as session:
        async with session.get(server.url + PAGE) as response:
            assert response.status == 403
        token = await csrf_of(session, server.url + "/staff")
        async with session.post(
            server.url + PAGE, data=GOOD | {"csrf_token": token}, allow_redirects=False
        ) as response:
            assert response.status == 403
    assert await stored(server, tenants.c.profile) == before
    assert await saves(server, PROFILE_SAVED) == []


async def test_nobody_signed_in_is_sent_to_sign_in(server: Staffed) -> None:
    async with staff_client(server) as session:
        async with session.get(server.url + PAGE, allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"].startswith("/staff/sign-in")
        async with session.post(server.url + PAGE, data=GOOD, allow_redirects=False) as response:
            assert response.status in (303, 403)
    assert await saves(server, PROFILE_SAVED) == []


async def test_a_post_without_the_token_or_from_another_site_changes_nothing(
    server: Staffed, admin: aiohttp.ClientSession
) -> None:
    before = await stored(server, tenants.c.profile)
    async with admin.post(server.url + PAGE, data=GOOD, allow_redirects=False) as response:
        assert response.status == 403
    token = await csrf_of(admin, server.url + PAGE)
    async with admin.post(
        server.url + PAGE,
        data=GOOD | {"csrf_token": token},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    ) as response:
        assert response.status == 403
    assert await stored(server, tenants.c.profile) == before
    assert await saves(server, PROFILE_SAVED) == []


async def test_another_tenants_page_is_refused(
    server: Staffed, admin: aiohttp.ClientSession
) -> None:
    async with admin.get(server.url + PAGE + "?tenant=andere") as response:
        assert response.status == 403
