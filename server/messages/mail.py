"""Sending an e-mail: over SMTP (``aiosmtplib``), or into a folder in development.

:class:`SmtpMailer` opens one connection per message: messages go out one by one from the
outbox worker, minutes apart, and a held-open connection would only time out in between.
Security is the operator's choice (``BALIE_SMTP_SECURITY``): STARTTLS on 587 (the default;
a server that does not offer it is refused, never silently sent to in clear), TLS from the
first byte on 465, or none for a relay on loopback. With a user name, AUTH after TLS.

Its errors say whether a retry can help (:mod:`server.messages.errors`): a 5xx answer to the
recipient or the data is permanent (:class:`DeliveryRefused`); a connection that fails, a
timeout, a 4xx, or a failed sign-in (the operator can fix the password meanwhile) is
:class:`DeliveryDeferred`. Reasons carry SMTP codes, never the address.

:class:`FolderMailer` writes each message as ``<outbox id>.eml`` into a folder: what
``balie serve`` does without an SMTP server, so that whoever tries Balie can open the
confirmation (and its links) without running a mail server. Production refuses it
(server/core/checks.py).
"""

from __future__ import annotations

import asyncio
import os
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiosmtplib

from server.config import MessagesSettings, SmtpSecurity
from server.messages.errors import DeliveryDeferred, DeliveryRefused


class Mailer(Protocol):
    async def send(self, message: EmailMessage, message_id: str) -> None:
        """Send ``message`` or raise a :class:`~server.messages.errors.DeliveryError`;
        ``message_id`` is the outbox row's id (the same on every attempt)."""


class SmtpMailer:
    def __init__(self, settings: MessagesSettings, tls: ssl.SSLContext | None = None) -> None:
        self._settings = settings
        self._tls = tls or ssl.create_default_context()

    async def send(self, message: EmailMessage, message_id: str) -> None:
        settings = self._settings
        security = settings.smtp_security
        client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            timeout=settings.smtp_timeout,
            use_tls=security is SmtpSecurity.TLS,
            start_tls=security is SmtpSecurity.STARTTLS,
            tls_context=self._tls,
        )
        try:
            async with client:
                if settings.smtp_username:
                    await client.login(settings.smtp_username, settings.smtp_password)
                await client.send_message(message)
        except aiosmtplib.SMTPAuthenticationError as error:
            raise DeliveryDeferred(f"SMTP sign-in refused ({error.code})") from None
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = sorted({refusal.code for refusal in error.recipients})
            kind = DeliveryRefused if all(code >= 500 for code in codes) else DeliveryDeferred
            raise kind(f"SMTP refused the recipient ({', '.join(map(str, codes))})") from None
        except aiosmtplib.SMTPResponseException as error:
            kind = DeliveryRefused if error.code >= 500 else DeliveryDeferred
            raise kind(f"SMTP answered {error.code}") from None
        except aiosmtplib.SMTPTimeoutError:
            raise DeliveryDeferred("SMTP server did not answer in time") from None
        except (aiosmtplib.SMTPException, OSError) as error:
            # connection refused, lost, TLS failed, STARTTLS not offered: the class only, as
            # some messages quote the server's banner
            raise DeliveryDeferred(f"SMTP connection failed ({type(error).__name__})") from None


class FolderMailer:
    """Development: each message a ``.eml`` file (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    async def send(self, message: EmailMessage, message_id: str) -> None:
        await asyncio.to_thread(self._write, message.as_bytes(), message_id)

    def _write(self, data: bytes, message_id: str) -> None:
        self._folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        final = self._folder / f"{message_id}.eml"
        partial = final.with_suffix(".part")
        # written whole, then renamed: a reader never sees half a message, and a second
        # attempt after a crash replaces the first instead of adding a copy
        partial.write_bytes(data)
        os.chmod(partial, 0o600)
        partial.replace(final)


def mailer_for(settings: MessagesSettings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(settings)
    assert settings.mail_dir is not None  # Config.__post_init__ sets it
    return FolderMailer(settings.mail_dir)
