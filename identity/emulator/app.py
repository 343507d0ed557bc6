"""The IRMA emulator as an aiohttp application: thin handlers over :mod:`.sessions`.

Routes, relative to wherever the app is mounted (research §1-§3):

* requestor API: ``POST /session``, ``GET /session/{token}/status|statusevents|
  result|result-jwt``, ``DELETE /session/{token}``, ``GET /publickey``, ``GET /health``;
* per session, under ``u = {public_url}/irma/session/{clientToken}``: the
  frontend endpoints ``{u}/frontend/status|statusevents|options|pairingcompleted``
  and the app endpoints ``{u}/``, ``{u}/status``, ``{u}/request``, ``{u}/proofs``,
  ``DELETE {u}``;
* the demo wallet page at ``/wallet`` (:mod:`.wallet_page`).

Server-sent events are off, as at a default ``irma server``: the
``statusevents`` endpoints answer 500 ``SSE_DISABLED`` and yivi-frontend polls.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from identity.emulator.auth import authenticate_request
from identity.emulator.errors import (
    MALFORMED_INPUT,
    SSE_DISABLED,
    EmulatorRefused,
    RemoteError,
)
from identity.emulator.request import parse_session_request
from identity.emulator.sessions import Session, SessionStore
from identity.emulator.settings import EmulatorSettings
from identity.emulator.state import CLIENT_PREFIX, EMULATOR, Emulator
from identity.emulator.wallet_page import add_wallet_routes

log = logging.getLogger("balie.identity.emulator")

_CORS: Final = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Accept, Authorization, Content-Type, Cache-Control",
    "Access-Control-Allow-Methods": "GET, POST, DELETE",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_emulator_app(settings: EmulatorSettings) -> web.Application:
    """The emulator app; mount it with ``add_subapp(prefix, ...)`` or run it alone.

    Raises :class:`EmulatorRefused` when ``settings.production`` is true: the
    emulator checks no proofs and must never stand in for a real irma server.
    """
    if settings.production:
        raise EmulatorRefused(
            "The IRMA emulator checks no proofs and is for development and tests only; "
            "it refuses to run with production=True. Configure a real irma server instead."
        )
    key = settings.jwt_private_key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    emulator = Emulator(
        settings=settings,
        store=SessionStore(
            clock=settings.clock, switches=settings.switches, lifetimes=settings.lifetimes
        ),
        private_key=key,
    )
    app = web.Application(middlewares=[_remote_errors])
    app[EMULATOR] = emulator
    r = app.router
    r.add_post("/session", _start)
    r.add_get("/session/{token}/status", _requestor_status)
    r.add_get("/session/{token}/statusevents", _requestor_statusevents)
    r.add_get("/session/{token}/result", _result)
    r.add_get("/session/{token}/result-jwt", _result_jwt)
    r.add_delete("/session/{token}", _requestor_cancel)
    r.add_get("/publickey", _public_key)
    r.add_get("/health", _health)
    for suffix in ("", "/"):
        r.add_get(f"{CLIENT_PREFIX}/{{ct}}{suffix}", _client_connect)
        r.add_delete(f"{CLIENT_PREFIX}/{{ct}}{suffix}", _client_cancel)
    r.add_get(CLIENT_PREFIX + "/{ct}/status", _client_status)
    r.add_get(CLIENT_PREFIX + "/{ct}/statusevents", _client_statusevents)
    r.add_get(CLIENT_PREFIX + "/{ct}/request", _client_request)
    r.add_post(CLIENT_PREFIX + "/{ct}/proofs", _client_proofs)
    r.add_get(CLIENT_PREFIX + "/{ct}/frontend/status", _frontend_status)
    r.add_get(CLIENT_PREFIX + "/{ct}/frontend/statusevents", _frontend_statusevents)
    r.add_post(CLIENT_PREFIX + "/{ct}/frontend/options", _frontend_options)
    r.add_post(CLIENT_PREFIX + "/{ct}/frontend/pairingcompleted", _frontend_pairing_completed)
    r.add_route("OPTIONS", "/session{tail:.*}", _preflight)
    r.add_route("OPTIONS", CLIENT_PREFIX + "/{tail:.*}", _preflight)
    if settings.wallet_page:
        add_wallet_routes(app)
    return app


@web.middleware
async def _remote_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except RemoteError as exc:
        # codes and states only; never a token or a value
        log.info("emulator answered %s on %s %s", exc.kind.error, request.method, _route(request))
        response = web.json_response(exc.to_json(), status=exc.kind.status)
    # the API is open to any origin, as at the real server; the demo pages are not an API
    if response.content_type != "text/html":
        response.headers.update(
            {"Access-Control-Allow-Origin": "*"} if request.method != "OPTIONS" else _CORS
        )
    return response


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "?"


def _emulator(request: web.Request) -> Emulator:
    return request.config_dict[EMULATOR]


async def _preflight(request: web.Request) -> web.Response:
    return web.Response(status=204)


# -- requestor API -----------------------------------------------------------------


async def _start(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    settings = emulator.settings
    body = await request.read()
    raw = authenticate_request(
        settings.requestor_auth,
        authorization=request.headers.get("Authorization"),
        content_type=request.content_type,
        body=body,
        now=settings.clock(),
        max_age_s=settings.max_request_age_s,
    )
    session = emulator.store.start(parse_session_request(raw))
    log.info("emulator session started: %d disjunction(s)", len(session.request.request.disclose))
    return web.json_response(emulator.session_package(session))


def _requestor_session(request: web.Request) -> Session:
    return _emulator(request).store.by_requestor_token(request.match_info["token"])


async def _requestor_status(request: web.Request) -> web.Response:
    return web.json_response(str(_requestor_session(request).status))


async def _requestor_statusevents(request: web.Request) -> web.Response:
    _requestor_session(request)
    raise RemoteError(SSE_DISABLED)


async def _result(request: web.Request) -> web.Response:
    return web.json_response(_requestor_session(request).result())


async def _result_jwt(request: web.Request) -> web.Response:
    session = _requestor_session(request)
    return web.Response(text=_emulator(request).result_jwt(session), content_type="text/plain")


async def _requestor_cancel(request: web.Request) -> web.Response:
    _emulator(request).store.cancel(_requestor_session(request))
    return web.Response(status=204)


async def _public_key(request: web.Request) -> web.Response:
    return web.Response(text=_emulator(request).public_key_pem(), content_type="text/plain")


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "UP"})


# -- frontend (yivi-frontend) --------------------------------------------------------


def _client_session(request: web.Request) -> Session:
    return _emulator(request).store.by_client_token(request.match_info["ct"])


async def _frontend_status(request: web.Request) -> web.Response:
    session = _client_session(request)
    _emulator(request).store.check_frontend(session, request.headers.get("Authorization"))
    return web.json_response({"status": str(session.status)})


async def _frontend_statusevents(request: web.Request) -> web.Response:
    _client_session(request)
    raise RemoteError(SSE_DISABLED)


async def _frontend_options(request: web.Request) -> web.Response:
    session = _client_session(request)
    body = await _json_body(request)
    options = _emulator(request).store.frontend_options(
        session, request.headers.get("Authorization"), body
    )
    return web.json_response(options)


async def _frontend_pairing_completed(request: web.Request) -> web.Response:
    session = _client_session(request)
    _emulator(request).store.pairing_completed(session, request.headers.get("Authorization"))
    return web.Response(status=204)


# -- app (wallet) ------------------------------------------------------------------------


async def _client_connect(request: web.Request) -> web.Response:
    session = _client_session(request)
    body = _emulator(request).store.client_connect(
        session,
        request.headers.get("Authorization"),
        request.headers.get("X-IRMA-MinProtocolVersion"),
        request.headers.get("X-IRMA-MaxProtocolVersion"),
    )
    return web.json_response(body)


async def _client_status(request: web.Request) -> web.Response:
    return web.json_response(str(_client_session(request).status))


async def _client_statusevents(request: web.Request) -> web.Response:
    _client_session(request)
    raise RemoteError(SSE_DISABLED)


async def _client_request(request: web.Request) -> web.Response:
    session = _client_session(request)
    body = _emulator(request).store.client_request(session, request.headers.get("Authorization"))
    return web.json_response(body)


async def _client_proofs(request: web.Request) -> web.Response:
    session = _client_session(request)
    body = await _json_body(request)
    status = _emulator(request).store.client_proofs(
        session, request.headers.get("Authorization"), body
    )
    return web.json_response({"proofStatus": str(status)})


async def _client_cancel(request: web.Request) -> web.Response:
    _emulator(request).store.cancel(_client_session(request))
    return web.Response(status=200)


async def _json_body(request: web.Request) -> object:
    try:
        body: object = json.loads(await request.read())
    except ValueError as exc:
        raise RemoteError(MALFORMED_INPUT, "the body is not JSON") from exc
    return body
