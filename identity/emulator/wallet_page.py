"""The demo wallet page: a person plays the wallet app in a second browser tab.

``POST /wallet/open`` takes a session link (the ``u`` of a session pointer, or
the pointer's JSON) and connects this browser's wallet to that session, as the
app's first ``GET {u}/`` would; ``GET /wallet`` lists the open sessions this
browser opened and takes a pasted link; ``GET /wallet/sessions/{ct}`` shows the
pairing code, the form with what is asked, or how the session ended; ``POST``
to it shares or refuses. Values travel only in POST bodies, never in URLs; the
page has no JavaScript and one small stylesheet, so a strict CSP fits it.

**Whose session.** On a demo deployment anyone can open this page, so it must
not hand one person's question to another. A browser gets a random cookie
(:data:`WALLET_COOKIE`: 256 bits, HttpOnly, SameSite=Strict, scoped to the
page's path) when it first opens a session, and the page's wallet uses an app
``Authorization`` derived from it (:meth:`Emulator.wallet_authorization`). A
session belongs to the browser whose wallet connected to it, which only a
browser that held the session link could do (the page that shows the QR code
posts it to ``/wallet/open``). Every other browser sees nothing of it: not in
the listing, and ``403`` with a readable page, changing nothing, on its session
page. Posts from another site are refused too (``Sec-Fetch-Site``).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import jinja2
from aiohttp import web

from identity.emulator.errors import RemoteError
from identity.emulator.request import Conjunction
from identity.emulator.sessions import (
    APP_PROTOCOL_VERSION,
    Session,
    Status,
)
from identity.emulator.state import EMULATOR, Emulator

#: obviously fake values, keyed by attribute name (the last part of the id)
DEMO_VALUES: Final[dict[str, str]] = {
    "bsn": "999999990",
    "fullname": "Test Persoon",
    "firstnames": "Test",
    "initials": "T.",
    "prefix": "",
    "familyname": "Persoon",
    "surname": "Persoon",
    "gender": "X",
    "dateofbirth": "1970-01-01",
    "cityofbirth": "Teststad",
    "countryofbirth": "Nederland",
    "nationality": "Yes",
    "over12": "Yes",
    "over16": "Yes",
    "over18": "Yes",
    "over21": "Yes",
    "over65": "No",
    "digidlevel": "Substantieel",
    "street": "Teststraat",
    "houseNumber": "1",
    "zipcode": "1234 AB",
    "city": "Teststad",
    "municipality": "Teststad",
    "email": "test@example.org",
    "domain": "example.org",
    "mobilenumber": "+31600000000",
}

#: what the page calls each attribute, in plain Dutch
LABELS: Final[dict[str, str]] = {
    "bsn": "Burgerservicenummer (BSN)",
    "fullname": "Volledige naam",
    "firstnames": "Voornamen",
    "initials": "Voorletters",
    "prefix": "Tussenvoegsel",
    "familyname": "Achternaam",
    "surname": "Achternaam",
    "gender": "Geslacht",
    "dateofbirth": "Geboortedatum",
    "cityofbirth": "Geboorteplaats",
    "countryofbirth": "Geboorteland",
    "nationality": "Nederlandse nationaliteit",
    "over12": "12 jaar of ouder",
    "over16": "16 jaar of ouder",
    "over18": "18 jaar of ouder",
    "over21": "21 jaar of ouder",
    "over65": "65 jaar of ouder",
    "digidlevel": "DigiD-niveau",
    "street": "Straat",
    "houseNumber": "Huisnummer",
    "zipcode": "Postcode",
    "city": "Woonplaats",
    "municipality": "Gemeente",
    "email": "E-mailadres",
    "domain": "Domein van het e-mailadres",
    "mobilenumber": "Mobiel nummer",
}

_CSS: Final = """
body { font: 1.125rem/1.5 system-ui, sans-serif; margin: 0; color: #1a1a1a; background: #fff; }
main { max-width: 40rem; margin: 0 auto; padding: 1rem; }
.demo { background: #fff4ce; border: 2px solid #8a6d00; padding: .5rem 1rem; }
fieldset { border: 1px solid #595959; margin: 1rem 0; padding: .5rem 1rem; }
label { display: block; margin-top: .5rem; }
input[type=text] { font: inherit; width: 100%; max-width: 30rem; padding: .25rem; }
button { font: inherit; padding: .5rem 1.25rem; margin: .5rem .5rem .5rem 0; }
:focus-visible { outline: 3px solid #0b57d0; outline-offset: 2px; }
.error { color: #a30000; font-weight: bold; }
"""

_TEMPLATES: Final = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def label_for(attribute_id: str) -> str:
    name = attribute_id.rsplit(".", 1)[-1]
    return LABELS.get(name, attribute_id)


def demo_value_for(attribute_id: str) -> str:
    return DEMO_VALUES.get(attribute_id.rsplit(".", 1)[-1], "")


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    attribute_id: str
    value: str
    required_value: str | None


@dataclass(frozen=True)
class Option:
    index: int
    fields: tuple[Field, ...]

    @property
    def summary(self) -> str:
        return ", ".join(f.label for f in self.fields) if self.fields else "Niets delen"


@dataclass(frozen=True)
class Question:
    index: int
    options: tuple[Option, ...]


def _questions(session: Session) -> list[Question]:
    questions = []
    for i, disjunction in enumerate(session.request.request.disclose):
        options = tuple(
            Option(j, _fields(i, j, conjunction)) for j, conjunction in enumerate(disjunction)
        )
        questions.append(Question(i, options))
    return questions


def _fields(i: int, j: int, conjunction: Conjunction) -> tuple[Field, ...]:
    return tuple(
        Field(
            name=f"waarde-{i}-{j}-{k}",
            label=label_for(attr.id),
            attribute_id=attr.id,
            value=attr.value if attr.value is not None else demo_value_for(attr.id),
            required_value=attr.value,
        )
        for k, attr in enumerate(conjunction)
    )


#: the browser's wallet identity; its value never names a session
WALLET_COOKIE: Final = "balie_demo_wallet"
#: ``secrets.token_urlsafe(32)``: 256 random bits
_BROWSER_ID: Final = re.compile(r"[A-Za-z0-9_-]{43}")
#: ``Sec-Fetch-Site`` of a form posted from this site or typed in; a browser that sends
#: the header says "cross-site" for a form on another site's page
_SAME_SITE: Final = frozenset({"same-origin", "same-site", "none"})


def add_wallet_routes(app: web.Application) -> None:
    app.router.add_get("/wallet", _overview, name="wallet")
    app.router.add_get("/wallet/wallet.css", _stylesheet, name="wallet-css")
    app.router.add_post("/wallet/open", _open, name="wallet-open")
    app.router.add_get("/wallet/sessions/{ct}", _show, name="wallet-session")
    app.router.add_post("/wallet/sessions/{ct}", _answer)


def _render(
    request: web.Request, view: str, *, status: int = 200, **context: object
) -> web.Response:
    # URLs from the router, so they carry the mount prefix
    router = request.app.router
    token = request.match_info.get("ct")
    urls = {
        "url_for_css": str(router["wallet-css"].url_for()),
        "open_url": str(router["wallet-open"].url_for()),
        "overview_url": str(router["wallet"].url_for()),
        "here": str(router["wallet-session"].url_for(ct=token)) if token else "",
    }
    body = _TEMPLATES.get_template("wallet.html").render(view=view, **urls, **context)
    response = web.Response(text=body, content_type="text/html", status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _emulator(request: web.Request) -> Emulator:
    return request.app[EMULATOR]


async def _stylesheet(request: web.Request) -> web.Response:
    return web.Response(text=_CSS, content_type="text/css")


def _browser(request: web.Request) -> str | None:
    """This browser's wallet cookie, if it has a well-formed one."""
    value = request.cookies.get(WALLET_COOKIE, "")
    return value if _BROWSER_ID.fullmatch(value) else None


def _mine(emulator: Emulator, session: Session, browser: str | None) -> str | None:
    """This browser's wallet ``Authorization`` if its wallet is the app bound to
    ``session``; ``None`` for every other browser."""
    bound = session.client_authorization
    if browser is None or bound is None:
        return None
    authorization = emulator.wallet_authorization(browser)
    return authorization if secrets.compare_digest(bound, authorization) else None


def _cross_site(request: web.Request) -> bool:
    site = request.headers.get("Sec-Fetch-Site")
    return site is not None and site not in _SAME_SITE


async def _overview(request: web.Request, *, error: str = "", status: int = 200) -> web.Response:
    emulator = _emulator(request)
    browser = _browser(request)
    mine = [s for s in emulator.store.open_sessions() if _mine(emulator, s, browser) is not None]
    sessions = [
        {"link": emulator.session_pointer(s)["u"], "number": n, "asks": _asks(s)}
        for n, s in enumerate(mine, start=1)
    ]
    return _render(request, "overview", sessions=sessions, error=error, status=status)


def _asks(session: Session) -> str:
    ids = sorted(session.request.request.attribute_ids)
    return ", ".join(label_for(i) for i in ids)


async def _open(request: web.Request) -> web.StreamResponse:
    """Bind the session whose link was posted to this browser, then show it."""
    if _cross_site(request):
        return _render(request, "refused", status=403)
    emulator = _emulator(request)
    form = await request.post()
    link = form.get("link")
    token = emulator.client_token_from_link(link) if isinstance(link, str) else None
    if token is None:
        return await _overview(
            request,
            error="Deze link ken ik niet. Plak de hele link van de sessie.",
            status=400,
        )
    browser = _browser(request)
    new_browser = browser is None
    if browser is None:
        browser = secrets.token_urlsafe(32)
    gone = "Deze sessie kan niet meer worden geopend. Begin opnieuw op de andere pagina."
    try:
        session = emulator.store.by_client_token(token)
    except RemoteError:
        return await _overview(request, error=gone, status=400)
    if session.client_authorization is not None and _mine(emulator, session, browser) is None:
        # another browser's wallet (or a real app) has it: nothing changes
        return _render(request, "elsewhere", status=403)
    if session.client_authorization is None:
        authorization, version = emulator.wallet_authorization(browser), APP_PROTOCOL_VERSION
        try:
            emulator.store.client_connect(session, authorization, version, version)
        except RemoteError:  # it ended before anyone opened it
            return await _overview(request, error=gone, status=400)
    redirect = web.HTTPSeeOther(request.app.router["wallet-session"].url_for(ct=token))
    if new_browser:
        redirect.set_cookie(
            WALLET_COOKIE,
            browser,
            path=str(request.app.router["wallet"].url_for()),
            secure=emulator.settings.base_url.startswith("https://"),
            httponly=True,
            samesite="Strict",
        )
    raise redirect


async def _show(request: web.Request, *, error: str = "", status: int = 200) -> web.Response:
    emulator = _emulator(request)
    token = request.match_info["ct"]
    try:
        session = emulator.store.by_client_token(token)
    except RemoteError:
        return _render(request, "unknown", status=404)
    if _mine(emulator, session, _browser(request)) is None:
        return _render(request, "elsewhere", status=403)
    if session.status is Status.PAIRING:
        return _render(request, "pairing", code=session.pairing_code)
    if session.status is Status.CONNECTED:
        return _render(request, "form", questions=_questions(session), error=error, status=status)
    return _render(request, "closed", status_text=_ended(session))


def _ended(session: Session) -> str:
    if session.status is Status.DONE:
        if session.proof_status is not None and session.proof_status.value == "VALID":
            return "U heeft de gegevens gedeeld. Ga terug naar de andere pagina."
        return "De gegevens zijn verstuurd, maar ze passen niet bij de vraag."
    if session.status is Status.CANCELLED:
        return "Deze sessie is gestopt. Er zijn geen gegevens gedeeld."
    # TIMEOUT: the only other end of a session this browser's wallet opened
    return "Deze sessie is verlopen. Begin opnieuw op de andere pagina."


async def _answer(request: web.Request) -> web.StreamResponse:
    if _cross_site(request):
        return _render(request, "refused", status=403)
    emulator = _emulator(request)
    token = request.match_info["ct"]
    form = await request.post()
    here = request.app.router["wallet-session"].url_for(ct=token)
    try:
        session = emulator.store.by_client_token(token)
    except RemoteError:
        return _render(request, "unknown", status=404)
    authorization = _mine(emulator, session, _browser(request))
    if authorization is None:
        return _render(request, "elsewhere", status=403)
    if form.get("actie") == "weigeren":
        emulator.store.cancel(session)
        raise web.HTTPSeeOther(here)
    if form.get("actie") != "delen":
        return await _show(request, error="Kies Delen of Weigeren.", status=400)
    choice: list[list[dict[str, str | None]]] = []
    for question in _questions(session):
        picked = form.get(f"keuze-{question.index}", "0")
        option = next((o for o in question.options if str(o.index) == picked), None)
        if option is None:
            return await _show(request, error="Kies bij elke vraag wat u deelt.", status=400)
        choice.append(
            [{"id": f.attribute_id, "rawvalue": _value(form.get(f.name))} for f in option.fields]
        )
    try:
        emulator.store.client_proofs(session, authorization, {"emulatorDisclosure": choice})
    except RemoteError:
        pass  # a forced outcome or a session that just ended: the page shows how it ended
    raise web.HTTPSeeOther(here)


def _value(raw: object) -> str | None:
    if not isinstance(raw, str) or raw.strip() == "":
        return None
    return raw.strip()
