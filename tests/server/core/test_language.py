"""English beside Dutch: every text marked for translation has an English translation with
the same placeholders, no translation is left over, and the switch keeps the choice, goes
back where the resident was, and refuses what it should."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Final

import aiohttp
import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

import identity
import server
import web
from server.core.language import (
    COOKIE,
    PLACEHOLDER,
    SCRIPT_KEYWORDS,
    Language,
    Languages,
    safe_return_path,
)
from tests.support import LiveServer, live_server

WEB_DIR: Final = Path(web.__file__).parent
SERVER_DIR: Final = Path(server.__file__).parent
IDENTITY_DIR: Final = Path(identity.__file__).parent
EN_DIR: Final = WEB_DIR / "locale" / "en"


def marked_texts() -> Iterator[tuple[str, str]]:
    """(where, Dutch text) for every text marked for translation."""
    templates = sorted((WEB_DIR / "templates").rglob("*.html"))
    scripts = sorted((WEB_DIR / "static").rglob("*.js"))
    modules = sorted([*SERVER_DIR.rglob("*.py"), *IDENTITY_DIR.rglob("*.py")])
    found = itertools.chain(
        (
            (p, extract_from_file("jinja2.ext:babel_extract", str(p), options={"trimmed": "true"}))
            for p in templates
        ),
        ((p, extract_from_file("javascript", str(p), keywords=SCRIPT_KEYWORDS)) for p in scripts),
        ((p, extract_from_file("python", str(p))) for p in modules),
    )
    for path, messages in found:
        for line, message, _comments, _context in messages:
            texts = (message,) if isinstance(message, str) else message
            for text in texts:
                if text:
                    yield f"{path.name}:{line}", text


def english() -> list[Catalog]:
    catalogs = []
    for path in sorted(EN_DIR.glob("*.po")):
        with path.open("rb") as po:
            catalogs.append(read_po(po, locale="en"))
    return catalogs


def translations() -> dict[str, str]:
    found: dict[str, str] = {}
    for catalog in english():
        for message in catalog:
            if message.id and not message.fuzzy:
                key = message.id if isinstance(message.id, str) else message.id[0]
                value = message.string
                found[key] = value if isinstance(value, str) else (value or ("",))[0]
    return found


def test_every_marked_text_has_an_english_translation() -> None:
    known = translations()
    missing = sorted({(text, where) for where, text in marked_texts() if not known.get(text)})
    assert not missing, "no English for:\n" + "\n".join(f"  {w}: {t!r}" for t, w in missing)


def test_there_are_marked_texts_in_every_kind_of_source() -> None:
    places = {where.rsplit(".", 1)[1].split(":")[0] for where, _ in marked_texts()}
    assert places == {"html", "js", "py"}


def test_translations_keep_the_placeholders() -> None:
    wrong = [
        (dutch, english_text)
        for dutch, english_text in translations().items()
        if sorted(PLACEHOLDER.findall(dutch)) != sorted(PLACEHOLDER.findall(english_text))
    ]
    assert not wrong, wrong


def test_no_translation_is_left_over_or_written_twice() -> None:
    marked = {text for _, text in marked_texts()}
    seen: dict[str, int] = {}
    for catalog in english():
        for message in catalog:
            if message.id:
                key = message.id if isinstance(message.id, str) else message.id[0]
                seen[key] = seen.get(key, 0) + 1
    assert sorted(set(seen) - marked) == []
    assert [text for text, count in seen.items() if count > 1] == []


def test_babel_finds_no_errors_in_the_catalogs() -> None:
    for catalog in english():
        problems = [(message.id, errors) for message, errors in catalog.check() if errors]
        assert problems == []


def test_scripts_get_exactly_their_own_texts() -> None:
    languages = Languages(WEB_DIR)
    assert languages.script_texts(Language.NL) == {}
    texts = languages.script_texts(Language.EN)
    script_messages = {text for where, text in marked_texts() if ".js:" in where}
    assert texts and set(texts) <= script_messages
    assert languages.gettext(Language.EN)("Naar het begin") == "Back to the start"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "/afspraak/demo/kies/intake?week=2026-12-01",
            "/afspraak/demo/kies/intake?week=2026-12-01",
        ),
        ("https://example.org/", "/"),
        ("//example.org/", "/"),
        ("/\\example.org", "/"),
        ("javascript:alert(1)", "/"),
        ("/a\r\nSet-Cookie: x=1", "/"),
        ("/" + "a" * 3000, "/"),
        ("", "/"),
    ],
)
def test_the_switch_returns_to_pages_of_this_site_only(value: str, expected: str) -> None:
    assert safe_return_path(value) == expected


# --- the switch on a live server -------------------------------------------------------------


@pytest.fixture
async def balie(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with live_server(tmp_path) as live:
        yield live


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    # unsafe: the jar otherwise keeps no cookies for an IP address like 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


def lang_of(page: str) -> str:
    found = re.search(r'<html lang="(\w+)"', page)
    assert found is not None
    return found.group(1)


async def switch(
    balie: LiveServer, http: aiohttp.ClientSession, language: str, back: str, **headers: str
) -> aiohttp.ClientResponse:
    return await http.post(
        balie.url + "/taal",
        data={"taal": language, "terug": back},
        headers={"Origin": balie.url, **headers},
        allow_redirects=False,
    )


async def test_the_switch_keeps_the_choice_and_goes_back(
    balie: LiveServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(balie.url + "/") as response:
        page = await response.text()
    assert lang_of(page) == "nl"
    assert 'name="taal" value="en"' in page and 'name="terug" value="/"' in page

    async with await switch(balie, http, "en", "/missing?x=1") as response:
        assert response.status == 303
        assert response.headers["Location"] == "/missing?x=1"
        cookie = response.cookies[COOKIE]
        assert cookie.value == "en" and cookie["httponly"] and cookie["samesite"] == "Lax"
    async with http.get(balie.url + "/", headers={"Accept": "text/html"}) as response:
        page = await response.text()
    assert lang_of(page) == "en" and 'name="taal" value="nl"' in page
    # error pages follow the choice too
    async with http.get(balie.url + "/missing", headers={"Accept": "text/html"}) as response:
        assert response.status == 404
        page = await response.text()
    assert lang_of(page) == "en" and "This page does not exist" in page

    async with await switch(balie, http, "nl", "/") as response:
        assert response.cookies[COOKIE].value == "nl"
    async with http.get(balie.url + "/") as response:
        assert lang_of(await response.text()) == "nl"


async def test_staff_pages_follow_the_choice_too(
    balie: LiveServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(balie.url + "/staff/sign-in") as response:
        page = await response.text()
    assert lang_of(page) == "nl" and "Gebruikersnaam" in page
    assert 'name="taal" value="en"' in page
    async with await switch(balie, http, "en", "/staff/sign-in") as response:
        assert response.headers["Location"] == "/staff/sign-in"
    async with http.get(balie.url + "/staff/sign-in") as response:
        page = await response.text()
    assert lang_of(page) == "en" and "User name" in page and "Gebruikersnaam" not in page


async def test_the_switch_refuses_an_unknown_language_and_changes_nothing(
    balie: LiveServer, http: aiohttp.ClientSession
) -> None:
    async with await switch(balie, http, "fy", "/") as response:
        assert response.status == 400
        assert COOKIE not in response.cookies
        page = await response.text()
    assert "Deze taal kennen we niet" in page
    async with http.get(balie.url + "/") as response:
        assert lang_of(await response.text()) == "nl"


async def test_the_switch_refuses_a_foreign_origin(
    balie: LiveServer, http: aiohttp.ClientSession
) -> None:
    async with http.post(
        balie.url + "/taal",
        data={"taal": "en", "terug": "/"},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    ) as response:
        assert response.status == 403
        assert COOKIE not in response.cookies


async def test_a_forged_cookie_value_falls_back_to_dutch(balie: LiveServer) -> None:
    async with aiohttp.ClientSession(cookies={COOKIE: "<script>"}) as http:
        async with http.get(balie.url + "/") as response:
            assert lang_of(await response.text()) == "nl"
