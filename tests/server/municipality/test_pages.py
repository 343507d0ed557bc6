"""The municipality's own pages on a live Balie with the demo data: the home page per tenant,
contact, the privacy statement made from the purposes as stored, the accessibility
statement, the footer on every resident page of a tenant, English by the switch, and what
``tenant_contact`` gives the messages."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.core.language import COOKIE
from server.db import writer
from server.db.appkeys import ENGINE
from server.db.demo import DEMO_PROFILE
from server.db.schema import purposes, tenants
from server.municipality.profile import from_data
from server.municipality.store import tenant_contact
from tests.support import LiveServer, live_server

OTHER = "leeg"


@pytest.fixture
async def balie(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with live_server(tmp_path) as live:
        # a second municipality that has not filled anything in
        async with writer(live.app[ENGINE]).begin() as conn:
            await conn.execute(
                insert(tenants).values(id=OTHER, name="Gemeente Leeg", created_at=datetime.now(UTC))
            )
        yield live


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def get(http: aiohttp.ClientSession, balie: LiveServer, path: str) -> tuple[int, str]:
    async with http.get(balie.url + path, allow_redirects=False) as response:
        return response.status, await response.text()


def text_of(page: str) -> str:
    """The page's words without tags, with single spaces."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def hrefs(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]*)"', page)]


def footer(page: str) -> str:
    found = re.search(r'<footer class="site-footer">.*?</footer>', page, re.S)
    return found.group(0) if found else ""


def section(page: str, purpose: str) -> str:
    found = re.search(
        rf'<section[^>]*aria-labelledby="purpose-{purpose}">.*?</section>', page, re.S
    )
    assert found is not None, f"no section for {purpose}"
    return text_of(found.group(0))


def engine(balie: LiveServer) -> AsyncEngine:
    return balie.app[ENGINE]


async def test_the_site_home_links_each_municipalitys_own_home_page(
    balie: LiveServer, http: aiohttp.ClientSession
) -> None:
    status, page = await get(http, balie, "/")
    assert status == 200
    assert {"/gemeente/demo", f"/gemeente/{OTHER}"} <= set(hrefs(page))
    assert not footer(page)  # the site's home belongs to no municipality

    status, page = await get(http, balie, "/gemeente/demo")
    assert status == 200
    assert "Praten met Gemeente Voorbeeld (demo)" in text_of(page)
    links = hrefs(page)
    assert {"/balie/demo", "/afspraak/demo", "/gemeente/demo/privacy"} <= set(links)
    assert "Wmo: hulp en ondersteuning thuis" in text_of(page)


async def test_a_municipality_without_a_walkin_counter_only_offers_booking(
    balie: LiveServer, http: aiohttp.ClientSession
) -> None:
    status, page = await get(http, balie, f"/gemeente/{OTHER}")
    assert status == 200
    assert f"/afspraak/{OTHER}" in hrefs(page)
    assert f"/balie/{OTHER}" not in hrefs(page)


async def test_every_resident_page_of_a_municipality_has_its_contact_footer(
    balie: LiveServer, http: aiohttp.ClientSession
) -> None:
    for path in ("/afspraak/demo", "/balie/demo", "/balie/demo/wmo", "/gemeente/demo/privacy"):
        status, page = await get(http, balie, path)
        assert status == 200, path
        bottom = footer(page)
        assert "0900-0000000" in bottom, path
        assert 'href="tel:09000000000"' in bottom
        assert "mailto:balie@gemeente-voorbeeld.example.org" in bottom
        assert "/gemeente/demo/toegankelijkheid" in hrefs(bottom)
    # an error page of the municipality too, such as a purpose it does not have
    status, page = await get(http, balie, "/balie/demo/onbekend")
    assert status == 404 and "0900-0000000" in footer(page)


async def test_a_municipality_that_filled_in_nothing_still_gets_its_statements(
    balie: LiveServer, http: aiohttp.ClientSession
) -> None:
    status, page = await get(http, balie, f"/afspraak/{OTHER}")
    assert status == 200
    bottom = footer(page)
    assert "tel:" not in bottom and f"/gemeente/{OTHER}/privacy" in hrefs(bottom)
    status, page = await get(http, balie, f"/gemeente/{OTHER}/contact")
    assert status == 200 and "nog niet ingevuld" in text_of(page)
    status, page = await get(http, balie, f"/gemeente/{OTHER}/privacy")
    assert status == 200
    assert "functionaris gegevensbescherming bereikt" in text_of(page)
    assert "Deze gemeente heeft nog geen onderwerpen." in text_of(page)
    status, page = await get(http, balie, f"/gemeente/{OTHER}/toegankelijkheid")
    assert status == 200 and "nog niet beoordeeld" in text_of(page)


@pytest.mark.parametrize("path", ["", "/contact", "/privacy", "/toegankelijkheid"])
async def test_an_unknown_municipality_is_a_page_with_a_way_back(
    balie: LiveServer, http: aiohttp.ClientSession, path: str
) -> None:
    status, page = await get(http, balie, f"/gemeente/nergens{path}")
    assert status == 404
    assert "Deze gemeente kent Balie niet" in text_of(page)
    assert "/" in hrefs(page) and not footer(page)


async def test_the_contact_page_shows_everything_filled_in(
    balie: LiveServer, http: aiohttp.ClientSession
) -> None:
    status, page = await get(http, balie, "/gemeente/demo/contact")
    assert status == 200
    words = text_of(page)
    assert "Maandag tot en met vrijdag van 9.00 tot 17.00 uur (demo)" in words
    assert "https://gemeente-voorbeeld.example.org/contact" in hrefs(page)
    assert "Voorbeeldplein 1\n9999 XX  Voorbeeld" in html.unescape(page)


async def test_the_privacy_statement_tells_per_purpose_what_is_asked_kept_and_seen(
    balie: LiveServer, http: aiohttp.ClientSession
) -> None:
    status, page = await get(http, balie, "/gemeente/demo/privacy")
    assert status == 200
    words = text_of(page)
    assert str(DEMO_PROFILE["controller"]) in words
    assert "mailto:privacy@gemeente-voorbeeld.example.org" in hrefs(page)
    wmo = section(page, "wmo")
    for label in ("Burgerservicenummer (BSN)", "Naam", "Adres"):
        assert label in wmo
    assert "Tot 30 dagen na het gesprek" in wmo
    assert "een medewerker die over Wmo: hulp en ondersteuning thuis gaat" in wmo
    assert "Bij de gemeente zijn dat nu 2 medewerkers." in wmo  # Anna and Bram
    burgerzaken = section(page, "burgerzaken")
    assert "Naam" in burgerzaken and "Geboortedatum" in burgerzaken
    assert "Burgerservicenummer" not in burgerzaken
    assert "Tot het einde van het gesprek" in burgerzaken
    # the demo has walk-in counters: the call-back numbers are explained
    assert "Terugbellen" in words and "wissen het nummer" in words


async def test_changing_a_purpose_changes_the_statement(
    balie: LiveServer, http: aiohttp.ClientSession
) -> None:
    async with writer(engine(balie)).begin() as conn:
        await conn.execute(
            update(purposes)
            .where(purposes.c.tenant_id == "demo", purposes.c.key == "burgerzaken")
            .values(disclosure={"required": ["over_18"], "optional": ["email"]}, retention_days=1)
        )
        await conn.execute(
            update(purposes)
            .where(purposes.c.tenant_id == "demo", purposes.c.key == "belastingen")
            .values(disclosure=[])
        )
        await conn.execute(
            update(purposes)
            .where(purposes.c.tenant_id == "demo", purposes.c.key == "bijstand")
            .values(active=False)
        )
    status, page = await get(http, balie, "/gemeente/demo/privacy")
    assert status == 200
    burgerzaken = section(page, "burgerzaken")
    assert "18 jaar of ouder" in burgerzaken and "E-mailadres (optioneel)" in burgerzaken
    assert "Geboortedatum" not in burgerzaken
    assert "Tot 1 dag na het gesprek" in burgerzaken
    belastingen = section(page, "belastingen")
    assert "Niets. Voor dit onderwerp hoeft u niet te laten zien wie u bent." in belastingen
    assert "Hoe lang" not in belastingen
    assert 'aria-labelledby="purpose-bijstand"' not in page


async def test_a_policy_that_cannot_be_read_is_said_so_not_guessed(
    balie: LiveServer, http: aiohttp.ClientSession
) -> None:
    async with writer(engine(balie)).begin() as conn:
        await conn.execute(
            update(purposes)
            .where(purposes.c.tenant_id == "demo", purposes.c.key == "wmo")
            .values(disclosure=["shoe_size"])
        )
    status, page = await get(http, balie, "/gemeente/demo/privacy")
    assert status == 200
    assert "Dit kunnen we nu niet laten zien." in section(page, "wmo")


async def test_the_accessibility_statement_follows_the_model_headings(
    balie: LiveServer, http: aiohttp.ClientSession
) -> None:
    status, page = await get(http, balie, "/gemeente/demo/toegankelijkheid")
    assert status == 200
    headings = re.findall(r"<h2>([^<]+)</h2>", page)
    assert headings == [
        "Nalevingsstatus",
        "Opstellen van deze verklaring",
        "Wat nog niet goed werkt",
        "Feedback en contactgegevens",
        "Handhavingsprocedure",
    ]
    words = text_of(page)
    assert "voldoet gedeeltelijk aan de eisen van WCAG 2.1 op niveau AA" in words
    assert "opgesteld op 1 december 2026" in words
    assert "De grafieken van de planners hebben nog geen beschrijving" in words


async def test_the_pages_speak_english_after_the_switch(balie: LiveServer) -> None:
    async with aiohttp.ClientSession(cookies={COOKIE: "en"}) as http:
        _, page = await get(http, balie, "/gemeente/demo/privacy")
        wmo = section(page, "wmo")
        assert "Privacy statement" in text_of(page)
        assert "Citizen service number (BSN)" in wmo and "Until 30 days after the call" in wmo
        _, page = await get(http, balie, "/gemeente/demo/toegankelijkheid")
        assert "partly meets" in text_of(page) and "1 December 2026" in text_of(page)
        _, page = await get(http, balie, "/afspraak/demo")
        assert "Contact Gemeente Voorbeeld (demo)" in text_of(footer(page))


async def test_an_unreadable_stored_profile_leaves_the_pages_working(
    balie: LiveServer, http: aiohttp.ClientSession
) -> None:
    async with writer(engine(balie)).begin() as conn:
        await conn.execute(
            update(tenants).where(tenants.c.id == "demo").values(profile={"version": 99})
        )
    for path in ("/afspraak/demo", "/gemeente/demo/contact", "/gemeente/demo/privacy"):
        status, page = await get(http, balie, path)
        assert status == 200, path
        assert "0900-0000000" not in page
    assert await tenant_contact(engine(balie), "demo") is None


async def test_tenant_contact_gives_messages_the_profile(balie: LiveServer) -> None:
    expected = from_data(DEMO_PROFILE)
    assert await tenant_contact(engine(balie), "demo") == expected
    async with engine(balie).connect() as conn:
        assert await tenant_contact(conn, "demo") == expected
        assert await tenant_contact(conn, OTHER) is None
        assert await tenant_contact(conn, "nergens") is None
