"""The running emulator's state, shared by the API handlers and the demo wallet page."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import Final

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from identity.emulator.sessions import TOKEN_ALPHABET, TOKEN_LENGTH, Session, SessionStore
from identity.emulator.settings import EmulatorSettings

#: the path under which session pointers live, as at the real server
CLIENT_PREFIX: Final = "/irma/session"
RESULT_SUBJECT: Final = "disclosing_result"


@dataclass
class Emulator:
    """One running emulator: its settings, sessions and signing key."""

    settings: EmulatorSettings
    store: SessionStore
    private_key: rsa.RSAPrivateKey
    #: keys the demo wallet page's app Authorization per browser (:meth:`wallet_authorization`)
    wallet_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def wallet_authorization(self, browser: str) -> str:
        """The app ``Authorization`` the demo wallet page uses in the browser whose wallet
        cookie is ``browser``: 20 characters ``[A-Za-z0-9]``, like the Yivi app's own.

        Derived, not stored: a session the page opened belongs to the browser whose
        cookie gives this value, and nothing grows per visitor.
        """
        digest = hmac.new(self.wallet_secret, browser.encode(), hashlib.sha256).digest()
        number = int.from_bytes(digest, "big")
        characters = []
        for _ in range(TOKEN_LENGTH):
            number, index = divmod(number, len(TOKEN_ALPHABET))
            characters.append(TOKEN_ALPHABET[index])
        return "".join(characters)

    def session_pointer(self, session: Session) -> dict[str, str]:
        return {
            "u": f"{self.settings.base_url}{CLIENT_PREFIX}/{session.client_token}",
            "irmaqr": "disclosing",
        }

    def session_package(self, session: Session) -> dict[str, object]:
        return {
            "sessionPtr": self.session_pointer(session),
            "token": session.requestor_token,
            "frontendRequest": session.frontend_request(),
        }

    def public_key_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def result_jwt(self, session: Session) -> str:
        now = int(self.settings.clock())
        claims = {
            **session.result(),
            "iss": self.settings.jwt_issuer,
            "iat": now,
            "exp": now + session.request.validity_s,
            "sub": RESULT_SUBJECT,
        }
        return jwt.encode(claims, self.private_key, algorithm="RS256")

    def client_token_from_link(self, link: str) -> str | None:
        """The client token in a pasted ``u`` or session-pointer JSON of this emulator."""
        text = link.strip()
        if text.startswith("{"):
            try:
                pointer = json.loads(text)
            except ValueError:
                return None
            text = pointer.get("u", "") if isinstance(pointer, dict) else ""
            if not isinstance(text, str):
                return None
        prefix = f"{self.settings.base_url}{CLIENT_PREFIX}/"
        if not text.startswith(prefix):
            return None
        token = text.removeprefix(prefix).rstrip("/")
        return token if token.isalnum() else None


EMULATOR: Final = web.AppKey("emulator", Emulator)
