"""The OpenID4VP endpoints a wallet calls (docs/openid4vp.md), and the page it sends the
browser back to in the same-device flow.

- ``GET``/``POST /oid4vp/request/{request_id}``: the signed request object, served once
  (``application/oauth-authz-req+jwt``, never a redirect);
- ``POST /oid4vp/response/{request_id}``: the wallet's ``direct_post`` or ``direct_post.jwt``
  answer, taken once; always ``200 application/json`` with ``Cache-Control: no-store`` once
  the envelope is ours (a refused presentation is explained on the resident's page);
- ``GET /identiteit/wallet``: where the wallet sends the phone's browser back, with the
  response code in the fragment (never sent to us in a URL); the page hands it to the call
  page in the same browser.

The request id is public (it is in the QR code); a wallet learns nothing else from these
answers. Errors are OAuth ``invalid_request`` with a log-safe check code, never a value.
"""

from __future__ import annotations

import logging
from typing import Final

from aiohttp import web

from identity.errors import TransactionStateError, UnknownTransaction, WalletResponseError
from identity.openid4vp import REQUEST_OBJECT_MEDIA_TYPE, OpenID4VPVerifier
from server.core.pages import render

log = logging.getLogger("balie.identity")

REQUEST_PATH: Final = "/oid4vp/request/{request_id}"
RESPONSE_PATH: Final = "/oid4vp/response/{request_id}"
RETURN_PATH: Final = "/identiteit/wallet"
#: a wallet's response: a few credentials, encrypted; far below the application's limit
MAX_RESPONSE_BYTES: Final = 256 * 1024
_NO_STORE: Final = {"Cache-Control": "no-store"}

OPENID4VP = web.AppKey("openid4vp_verifier", OpenID4VPVerifier)


def add_routes(app: web.Application) -> None:
    app.router.add_get(REQUEST_PATH, request_object)
    app.router.add_post(REQUEST_PATH, request_object)
    app.router.add_post(RESPONSE_PATH, wallet_response)
    app.router.add_get(RETURN_PATH, wallet_return)


def _wallet_error(status: int, check: str) -> web.Response:
    return web.json_response(
        {"error": "invalid_request", "error_description": check}, status=status, headers=_NO_STORE
    )


def _configured(request: web.Request) -> None:
    if OPENID4VP not in request.app:
        raise web.HTTPNotFound()  # no EU/NL wallet verifier on this Balie


async def request_object(request: web.Request) -> web.Response:
    """The request object, once; a ``POST`` may carry the wallet's ``wallet_nonce``."""
    _configured(request)
    wallet_nonce = None
    if request.method == "POST":
        form = await request.post()
        nonce = form.get("wallet_nonce")
        wallet_nonce = nonce if isinstance(nonce, str) else None
    try:
        jar = await request.app[OPENID4VP].request_object(
            request.match_info["request_id"], wallet_nonce=wallet_nonce
        )
    except UnknownTransaction:
        return _wallet_error(404, "request.unknown")
    except TransactionStateError as error:
        log.info("a request object was asked for again (state %s)", error.state)
        return _wallet_error(400, "request.used")
    except WalletResponseError as error:
        return _wallet_error(400, error.check)
    return web.Response(text=jar, content_type=REQUEST_OBJECT_MEDIA_TYPE, headers=_NO_STORE)


async def wallet_response(request: web.Request) -> web.Response:
    """The wallet's answer, once. A presentation that fails a check is recorded and
    answered like a good one; the resident's page says what went wrong."""
    _configured(request)
    if request.content_length is not None and request.content_length > MAX_RESPONSE_BYTES:
        return _wallet_error(413, "response.size")
    if request.content_type != "application/x-www-form-urlencoded":
        return _wallet_error(400, "response.media-type")
    form = await request.post()
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    if len(fields) != len(form):  # a field given twice, or a file: not a wallet's answer
        return _wallet_error(400, "response.form")
    try:
        reply = await request.app[OPENID4VP].accept_response(
            request.match_info["request_id"], fields
        )
    except UnknownTransaction:
        return _wallet_error(404, "response.unknown")
    except TransactionStateError as error:
        log.warning("a wallet response was refused: the transaction is %s", error.state)
        return _wallet_error(400, "response.state")
    except WalletResponseError as error:
        log.warning("a wallet response was refused: %s", error.check)
        return _wallet_error(400, error.check)
    log.info("a wallet answered (%s)", "verified" if reply.verified else "refused")
    return web.json_response(dict(reply.body), headers=_NO_STORE)


async def wallet_return(request: web.Request) -> web.Response:
    """The page the wallet opens after a same-device answer."""
    _configured(request)
    response = render(request, "resident/wallet_return.html")
    response.headers["Cache-Control"] = "no-store"
    return response
