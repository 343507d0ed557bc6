"""What the English page tests share: the text a reader sees, and the check that no Dutch
is left on a page that should be English.

Names stored in Dutch (a tenant, a purpose, a staff member) are shown as stored, so each
test names those it expects and they are left out before the check.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Final

import aiohttp
from yarl import URL

from server.core.language import COOKIE, Language

#: common Dutch words and word parts; none may be left on an English page (case-insensitive,
#: matched in the visible text with a space on either side where given)
DUTCH: Final = (
    " uw ",
    " u ",
    " de ",
    " het ",
    " een ",
    " en ",
    " van ",
    " op ",
    " om ",
    " tot ",
    " niet ",
    " uur",
    "kies ",
    "afspraak",
    "gesprek",
    "gemeente ",
    "maandag",
    "dinsdag",
    "woensdag",
    "donderdag",
    "vrijdag",
    "zaterdag",
    "zondag",
)


def choose_english(session: aiohttp.ClientSession, url: str) -> None:
    """The cookie the language switch sets, as if the person had chosen English."""
    session.cookie_jar.update_cookies({COOKIE: Language.EN.value}, URL(url))


def visible_text(page: str, *, leave_out: Iterable[str] = (), title: bool = False) -> str:
    """The text a reader sees in <main> (and the <title>, if asked): tags stripped, entities
    read, ``leave_out`` (names shown as stored) removed, white space collapsed."""
    found = re.search(r"<main\b[^>]*>(.*?)</main>", page, re.S)
    assert found is not None, page
    text = html.unescape(re.sub(r"<[^>]+>", " ", found.group(1)))
    if title:
        named = re.search(r"<title>(.*?)</title>", page, re.S)
        assert named is not None, page
        text += " " + html.unescape(named.group(1))
    for name in sorted(leave_out, key=len, reverse=True):
        text = text.replace(name, " ")
    return " ".join(text.split())


def assert_english(
    page: str,
    *,
    leave_out: Iterable[str] = (),
    more_dutch: Iterable[str] = (),
    title: bool = False,
) -> None:
    """An English page: ``lang="en"``, the switch offers Dutch (marked as Dutch), and none of
    :data:`DUTCH` (nor ``more_dutch``) is left in what a reader sees."""
    assert '<html lang="en">' in page
    assert 'name="taal" value="nl" lang="nl">Nederlands' in page
    text = f" {visible_text(page, leave_out=leave_out, title=title).lower()} "
    left = [word for word in (*DUTCH, *more_dutch) if word in text]
    assert not left, f"Dutch left on an English page: {left} in {text!r}"


def assert_dutch(page: str) -> None:
    """A Dutch page whose switch offers English (marked as English)."""
    assert '<html lang="nl">' in page
    assert 'name="taal" value="en" lang="en">English' in page


#: a date as the English pages write it: "Tuesday 1 December"
ENGLISH_DAY: Final = (
    r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday) \d{1,2} [A-Z][a-z]+"
)
