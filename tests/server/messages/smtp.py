"""A real SMTP server for the message tests: aiosmtpd on a loopback port, in its own thread.

It keeps every message it accepted (parsed), can be stopped and started again on the same
port (the mail server is down, then back), and can hold a conversation at one SMTP step
until the test lets it go (the crash tests kill Balie while it waits there).
"""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session

from server.config import MessagesSettings, SmtpSecurity
from tests.support import free_port


@dataclass
class Delivered:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class Handler:
    """aiosmtpd's handler: keeps what it accepts; ``hold_at`` ("MAIL", "RCPT", "DATA")
    makes the conversation wait at that step until :attr:`release` is set."""

    received: list[Delivered] = field(default_factory=list)
    hold_at: str | None = None
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    #: answer every RCPT with this (e.g. "550 5.1.1 no such user"); None: accept
    refuse_rcpt: str | None = None
    #: called when a message's data has arrived, before it is accepted
    before_accept: Callable[[], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _hold(self, step: str) -> None:
        if self.hold_at == step:
            self.holding.set()
            self.release.wait(60)

    async def handle_MAIL(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        self._hold("MAIL")
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        self._hold("RCPT")
        if self.refuse_rcpt is not None:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        if self.before_accept is not None:
            self.before_accept()
        self._hold("DATA")
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.received.append(
                Delivered(str(envelope.mail_from), list(envelope.rcpt_tos), parsed)
            )
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on 127.0.0.1:``port``; :meth:`stop` and :meth:`start` again keep the port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.handler = Handler()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self.handler.release.set()
            self._controller.stop()
            self._controller = None

    @property
    def received(self) -> list[Delivered]:
        with self.handler.lock:
            return list(self.handler.received)

    def __enter__(self) -> SmtpServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def smtp_settings(port: int, **overrides: Any) -> MessagesSettings:
    """Balie's settings for sending to a test server on 127.0.0.1:``port`` (plain SMTP on
    loopback). Its worker polls once an hour unless ``poll_seconds`` says otherwise: a test
    runs what is due itself (``app[OUTBOX].run_due()``), at its clock's time."""
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": SmtpSecurity.NONE,
        "smtp_timeout": 5,
        "poll_seconds": 3600,
    }
    return MessagesSettings(**(values | overrides))
