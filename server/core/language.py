"""The language of a page: Dutch first, English second.

Texts are written in Dutch where they are shown and marked for translation: ``_()`` in
templates, ``gettext()``/``N_()`` in Python, ``t()`` in scripts. The English lives in
``web/locale/en/*.po``, ordinary gettext catalogs any translator's PO editor opens; they are
read (and compiled in memory, by Babel) once at start. A message without an English
translation shows in Dutch, and a test fails on it.

Residents and staff choose with the switch at the top of each page. The choice is kept in a
cookie holding only ``nl`` or ``en``: nothing about the person.
"""

from __future__ import annotations

import gettext as stdlib_gettext
import io
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Final

import jinja2
from aiohttp import web
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

log = logging.getLogger("balie.language")

COOKIE: Final = "balie_taal"
COOKIE_AGE: Final = 365 * 24 * 3600
#: the longest return path the switch accepts; page paths are far shorter
MAX_RETURN: Final = 2000
#: placeholders a message may hold: ``%(name)s`` (templates, Python) and ``{name}`` (scripts)
PLACEHOLDER: Final = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
#: what ``t()`` is called in the scripts, for extraction
SCRIPT_KEYWORDS: Final = {"t": None}


class Language(StrEnum):
    NL = "nl"
    EN = "en"


DEFAULT: Final = Language.NL


def N_(message: str) -> str:
    """Mark a constant for translation; :func:`gettext_for` translates it where shown."""
    return message


class Languages:
    """Per language: the gettext catalog, a Jinja environment that translates with it, and
    the translations the page scripts need."""

    def __init__(self, web_dir: Path) -> None:
        self._translations: dict[Language, stdlib_gettext.NullTranslations] = {
            Language.NL: stdlib_gettext.NullTranslations(),
            Language.EN: read_catalogs(web_dir / "locale" / Language.EN.value),
        }
        script_messages = sorted(set(messages_in_scripts(web_dir / "static")))
        self._environments: dict[Language, jinja2.Environment] = {}
        self._script_texts: dict[Language, dict[str, str]] = {}
        for language, translations in self._translations.items():
            environment = jinja2.Environment(
                loader=jinja2.FileSystemLoader(web_dir / "templates"),
                autoescape=True,
                undefined=jinja2.StrictUndefined,
                extensions=["jinja2.ext.i18n"],
            )
            # {% trans %} blocks ignore line breaks and indentation, as the extraction does
            environment.policies["ext.i18n.trimmed"] = True
            # newstyle: templates format with %(name)s after translating, and escape values
            environment.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
            self._environments[language] = environment
            self._script_texts[language] = {
                message: translations.gettext(message)
                for message in script_messages
                if translations.gettext(message) != message
            }

    def environment(self, language: Language) -> jinja2.Environment:
        return self._environments[language]

    def gettext(self, language: Language) -> Callable[[str], str]:
        return self._translations[language].gettext

    def script_texts(self, language: Language) -> Mapping[str, str]:
        """Dutch text → translation, for the messages the scripts show."""
        return self._script_texts[language]


LANGUAGES = web.AppKey("languages", Languages)


def read_catalogs(folder: Path) -> stdlib_gettext.NullTranslations:
    """Every ``*.po`` file in ``folder`` as one set of translations (fuzzy entries left out,
    as ``msgfmt`` would)."""
    merged = stdlib_gettext.NullTranslations()
    for path in sorted(folder.glob("*.po")):
        with path.open("rb") as po:
            catalog = read_po(po, locale=folder.name)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        part = stdlib_gettext.GNUTranslations(compiled)
        part.add_fallback(merged)
        merged = part
    return merged


def messages_in_scripts(folder: Path) -> Iterator[str]:
    """The texts the page scripts pass to ``t()``."""
    for path in sorted(folder.rglob("*.js")):
        for _line, message, _comments, _context in extract_from_file(
            "javascript", str(path), keywords=SCRIPT_KEYWORDS
        ):
            if isinstance(message, str):
                yield message


# --- the request's language ----------------------------------------------------------------


def language_of(request: web.Request) -> Language:
    """The resident's choice from the cookie, else Dutch."""
    try:
        return Language(request.cookies.get(COOKIE, DEFAULT.value))
    except ValueError:
        return DEFAULT


def gettext_for(request: web.Request) -> Callable[[str], str]:
    """Translate a Dutch text into the request's language."""
    return request.app[LANGUAGES].gettext(language_of(request))


def safe_return_path(value: str) -> str:
    """A path on this site to go back to; anything else (another site, a scheme) is ``/``."""
    if (
        not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or len(value) > MAX_RETURN
        or any(ord(char) < 0x20 for char in value)
    ):
        return "/"
    return value
