# Longer than 500 lines: every BALIE_* variable is read and checked here, in one place, on purpose.
"""Configuration: read from the environment here and nowhere else.

Every setting is a typed field of a small frozen value object with a named
default; :meth:`Config.from_env` parses ``BALIE_*`` variables and refuses bad
values at start-up with a message naming the variable. The README lists them.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Final, TypeVar
from urllib.parse import urlsplit

from server.core.checks import refusals
from signaling.link_wire import split_address
from signaling.turn import IceSettings

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8080
DEFAULT_DATA_DIR: Final = "var"
# npm installs the browser packages Balie serves beside pyproject.toml
DEFAULT_NODE_MODULES: Final = Path(__file__).resolve().parent.parent / "node_modules"
_UID_DOMAIN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,99}")
_PREFIX: Final = re.compile(r"[A-Za-z0-9_.:-]{1,32}")
#: a host name, an IPv4 address or a bracketed IPv6 one; a listening address may leave it out
_HOST: Final = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")
_LINK_LISTEN: Final = re.compile(rf"(?:{_HOST.pattern})?:[0-9]{{1,5}}")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class Environment(StrEnum):
    #: the embedded default: demo data and development helpers allowed
    DEVELOPMENT = "development"
    #: no development helpers; secrets must be provided
    PRODUCTION = "production"


#: the staff feed's HMAC secret must be at least this long (server/calendars/feed.py)
MIN_FEED_SECRET_BYTES: Final = 32
#: a named CalDAV credential pair: BALIE_CALDAV_<NAME>_USERNAME / _PASSWORD
_CREDENTIAL_VAR: Final = re.compile(r"BALIE_CALDAV_([A-Z0-9_]+?)_(USERNAME|PASSWORD)")


@dataclass(frozen=True, slots=True)
class CalDAVCredentials:
    """A CalDAV login that a staff member's ``calendar_source`` names (docs/calendars.md)."""

    username: str
    password: str = field(default="", repr=False)


def credentials_from_env(env: Mapping[str, str]) -> dict[str, CalDAVCredentials]:
    """The named CalDAV credential pairs in ``env``: ``BALIE_CALDAV_<NAME>_USERNAME`` and
    ``..._PASSWORD``. A pair missing its user name is refused (a typo would otherwise log in
    anonymously)."""
    parts: dict[str, dict[str, str]] = {}
    for key, value in env.items():
        found = _CREDENTIAL_VAR.fullmatch(key)
        if found:
            parts.setdefault(found.group(1), {})[found.group(2)] = value
    pairs: dict[str, CalDAVCredentials] = {}
    for name, values in parts.items():
        if not values.get("USERNAME"):
            raise ConfigError(f"BALIE_CALDAV_{name}_USERNAME is missing or empty")
        pairs[name] = CalDAVCredentials(values["USERNAME"], values.get("PASSWORD", ""))
    return pairs


@dataclass(frozen=True, slots=True)
class WebSocketSettings:
    #: largest accepted frame in bytes; larger frames close the socket with 1009
    max_message: int = 64 * 1024
    #: seconds between WebSocket pings; a peer that misses a pong is dropped
    heartbeat: float = 15.0
    #: seconds a new socket has to send its first frame (``join`` or ``resume``)
    join_timeout: float = 10.0
    #: sustained messages per second per socket
    rate: float = 50.0
    #: burst allowance per socket (a browser trickles ~20 candidates at once)
    burst: float = 200.0
    #: frames refused for rate in a row before the socket is closed with 4429
    rate_strikes: int = 100
    #: frames queued for a socket that does not read before it is closed (4503)
    send_queue: int = 512
    #: permessage-deflate; off because frames are small and deflate costs CPU
    compress: bool = False
    #: seconds a dropped participant's seat is kept for ``resume``
    resume_grace: float = 30.0
    #: participants in one call
    max_in_call: int = 3


@dataclass(frozen=True, slots=True)
class TokenSettings:
    #: the ``iss`` of room tokens
    issuer: str = "balie"
    #: lifetime of tokens minted by ``balie room create``, in seconds
    room_token_ttl: int = 4 * 3600
    #: the key set file; created with a fresh key in development if missing
    keys_file: Path | None = None


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    #: SQLAlchemy URL; empty means an SQLite file in the data directory
    url: str = ""
    #: seed the demo tenant, purposes and staff at start-up (development only)
    demo_data: bool = True
    #: seconds PostgreSQL gets to connect, to run one statement, and a request to wait for a
    #: pooled connection: an unreachable database is a quick 503, never a hanging request
    #: (at worst twice this: the pooled connection's ping, then a fresh connection)
    timeout: float = 5.0


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    """Several nodes on one Redis (server/call/homes.py); empty ``redis_url``: one node."""

    #: ``redis://`` or ``rediss://`` (TLS), with ``user:password@`` for an ACL user
    redis_url: str = ""
    #: put before every Redis key and channel, so deployments can share a Redis
    prefix: str = "balie:"
    #: ``kid:base64key,...``, the first seals: every node must have the same ring
    bus_keys: str = ""
    #: ``host:port`` to listen on for links from the other nodes (server/call/node_link.py);
    #: empty: none, everything between nodes goes through Redis
    link_listen: str = ""
    #: the host the other nodes reach this one's links at; empty: the listening host, or
    #: the address this machine's host name resolves to if that is every interface
    link_advertise: str = ""

    @property
    def link(self) -> tuple[str, int] | None:
        """Where links are listened for (host, port; port 0: any free one), or None."""
        if not self.link_listen:
            return None
        return split_address(self.link_listen)


@dataclass(frozen=True, slots=True)
class IrmaSettings:
    """How Balie reaches a Yivi (IRMA) server as a requestor.

    An empty ``url`` in development runs the built-in emulator under
    ``/irma-emulator``; production requires a real ``irma server``.
    """

    #: the requestor API base of the irma server, e.g. https://irma.internal:8088
    url: str = ""
    #: requestor token (``token`` auth); sent as the raw Authorization header
    token: str = field(default="", repr=False)
    #: PEM file holding the irma server's JWT public key, pinned for result JWTs
    result_key_file: Path | None = None
    #: the ``iss`` the irma server puts in result JWTs (its ``jwt_issuer``)
    issuer: str = "irmaserver"
    #: the URL browsers and wallets reach the irma server at (its ``url``
    #: setting) when that is not ``url``: the requestor API may be internal
    public_url: str = ""

    @property
    def browser_origins(self) -> tuple[str, ...]:
        """Origins the wallet flow in the browser polls: our CSP must allow them."""
        reachable = self.public_url or self.url
        return (_origin(reachable),) if reachable else ()


@dataclass(frozen=True, slots=True)
class OpenID4VPSettings:
    """The OpenID4VP verifier for EU and NL identity wallets (docs/identity.md). Off until
    ``certificate_file`` is set; the request, response and return URLs follow from
    ``BALIE_PUBLIC_URL``."""

    #: PEM chain of the relying-party access certificate, leaf first (``x509_hash``)
    certificate_file: Path | None = None
    #: PEM private key of that certificate (EC P-256); signs request objects
    key_file: Path | None = None
    #: credential type (``vct`` or mdoc ``docType``) -> PEM file of its trust anchors
    trust_anchors: tuple[tuple[str, Path], ...] = ()
    #: ``direct_post.jwt`` (encrypted, HAIP and the NL Wallet) or ``direct_post``
    response_mode: str = "direct_post.jwt"
    #: the wallet's authorization endpoint in the QR code and the button
    wallet_url: str = "openid4vp://"
    #: seconds a resident has to answer with the wallet
    ttl: int = 300
    #: the https base wallets reach Balie at, when not ``BALIE_PUBLIC_URL``
    public_url: str = ""

    @property
    def enabled(self) -> bool:
        return self.certificate_file is not None


@dataclass(frozen=True, slots=True)
class IdentitySettings:
    #: accept ``irma-demo.*`` credentials; never allowed in production
    demo_mode: bool = True
    irma: IrmaSettings = field(default_factory=IrmaSettings)
    openid4vp: OpenID4VPSettings = field(default_factory=OpenID4VPSettings)
    #: attribute-vault keys ``kid:base64key[,kid:base64key...]``, the first one
    #: encrypts; empty in development means a key file in the data directory
    vault_keys: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class BookingSettings:
    """Booking, manage links, calendars (docs/booking.md, docs/calendars.md)."""

    #: minutes a hold blocks its slot: long enough for a DigiD or wallet round trip
    hold_minutes: int = 15
    #: HMAC keys of manage links; created in development, required in production
    link_keys_file: Path | None = None
    #: the staff-feed token key, >= 32 bytes; empty in development means a file in the
    #: data directory (``feed-secret.txt``), made on first start
    feed_secret: bytes = field(default=b"", repr=False)
    #: seconds per CalDAV request
    caldav_timeout: float = 15.0
    #: the right-hand side of Balie's iCalendar UIDs; unique per deployment
    caldav_uid_domain: str = "balie"
    #: named CalDAV credential pairs (``BALIE_CALDAV_<NAME>_USERNAME`` / ``_PASSWORD``)
    caldav_credentials: Mapping[str, CalDAVCredentials] = field(default_factory=dict, repr=False)
    #: the ORGANIZER address of residents' invites; empty means noreply@<public host>
    invite_from: str = ""
    #: holds one client address may keep at once (0: no cap); one browser keeps one
    holds_per_client: int = 5


@dataclass(frozen=True, slots=True)
class StaffSettings:
    """Staff sign-in sessions (docs/security.md, "Staff sign-in")."""

    #: minutes without a request after which a staff session ends
    idle_minutes: int = 15
    #: hours after sign-in after which a staff session ends, however active
    absolute_hours: int = 8


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"  #: plain connect, then STARTTLS before anything else (port 587)
    TLS = "tls"  #: TLS from the first byte (port 465)
    NONE = "none"  #: no TLS: only for a relay on loopback or in tests; refused in production


class SmsProviderName(StrEnum):
    NONE = "none"  #: no SMS: messages to a phone number fail with a clear reason
    CM = "cm"  #: CM.com's Business Messaging API (server/messages/sms.py)


@dataclass(frozen=True, slots=True)
class MessagesSettings:
    """E-mail, SMS and the outbox worker (docs/messages.md)."""

    #: the SMTP server; empty: e-mails are written as .eml files to ``mail_dir`` (development)
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    #: seconds per SMTP connection attempt and command
    smtp_timeout: float = 30.0
    #: the From of every e-mail; empty: the invite sender (BALIE_INVITE_FROM)
    mail_from: str = ""
    #: without an SMTP server: where e-mails are written (default: <data dir>/mail)
    mail_dir: Path | None = None
    sms_provider: SmsProviderName = SmsProviderName.NONE
    #: the provider's API endpoint (CM.com's gateway by default; tests point it elsewhere)
    sms_url: str = ""
    #: the provider's secret (CM.com: the product token)
    sms_token: str = field(default="", repr=False)
    #: the sender shown on the phone: up to 11 letters and digits
    sms_sender: str = "Gemeente"
    #: seconds per request to the SMS provider
    sms_timeout: float = 15.0
    #: seconds between the worker's looks for due messages
    poll_seconds: float = 5.0
    #: attempts before a message is marked failed for the planner (backoff doubles each time)
    max_attempts: int = 8
    #: seconds a worker owns a message it claimed; a worker that died mid-send leaves it to
    #: another after this. Longer than an SMTP conversation or SMS call with its timeout
    lease_seconds: float = 120.0


class LogFormat(StrEnum):
    #: readable lines, for a person at a terminal (the default)
    TEXT = "text"
    #: one JSON object a line, for a log collector (docs/operations.md)
    JSON = "json"


#: BALIE_LOG_KEY, when set, must decode to at least this many bytes
MIN_LOG_KEY_BYTES: Final = 16


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    """Prometheus metrics on a listener of their own, never on the public one
    (docs/operations.md, "Logs and metrics")."""

    #: the port ``/metrics`` is served on; 0: no metrics listener at all
    port: int = 0
    #: the address it listens on; loopback unless the operator opens it further
    host: str = DEFAULT_HOST
    #: when set, a scrape must send ``Authorization: Bearer <token>``
    token: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class Config:
    environment: Environment = Environment.DEVELOPMENT
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    #: the URL residents and staff open, used in links (no trailing slash)
    public_url: str = ""
    #: origins allowed to open the WebSocket; defaults to the public URL's
    allowed_origins: tuple[str, ...] = ()
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    #: where ``npm ci`` put the browser packages (yivi-frontend)
    node_modules: Path = DEFAULT_NODE_MODULES
    ws: WebSocketSettings = field(default_factory=WebSocketSettings)
    tokens: TokenSettings = field(default_factory=TokenSettings)
    ice: IceSettings = field(default_factory=IceSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    identity: IdentitySettings = field(default_factory=IdentitySettings)
    booking: BookingSettings = field(default_factory=BookingSettings)
    staff: StaffSettings = field(default_factory=StaffSettings)
    messages: MessagesSettings = field(default_factory=MessagesSettings)
    #: log level name for the ``balie`` loggers
    log_level: str = "INFO"
    #: readable text lines or one JSON object a line
    log_format: LogFormat = LogFormat.TEXT
    #: the key of the room references in logs (a keyed digest, never the room's id); empty:
    #: a random key per process, so references match within one process's life only
    log_key: bytes = field(default=b"", repr=False)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    #: proxies (addresses or networks) whose X-Forwarded-For names the real client
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    #: seconds a client has to send a request's headers (a slow sender is cut off)
    header_timeout: float = 10.0
    #: the bearer secret ``balie probe`` shows to get a probe room; empty: no probes
    probe_secret: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if not self.public_url:
            object.__setattr__(self, "public_url", f"http://{self._url_host()}:{self.port}")
        if not self.allowed_origins:
            origins = {_origin(self.public_url)}
            if self.host in ("127.0.0.1", "localhost", "::1") and not self.production:
                # the same development server reached by the other loopback name
                origins |= {f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}"}
            object.__setattr__(self, "allowed_origins", tuple(sorted(origins)))
        if self.tokens.keys_file is None:
            tokens = dataclasses.replace(self.tokens, keys_file=self.data_dir / "room-keys.json")
            object.__setattr__(self, "tokens", tokens)
        if self.booking.link_keys_file is None:
            booking = dataclasses.replace(
                self.booking, link_keys_file=self.data_dir / "link-keys.json"
            )
            object.__setattr__(self, "booking", booking)
        if not self.booking.invite_from:
            host = urlsplit(self.public_url).hostname or "localhost"
            booking = dataclasses.replace(self.booking, invite_from=f"noreply@{host}")
            object.__setattr__(self, "booking", booking)
        if self.messages.mail_dir is None or not self.messages.mail_from:
            messages = dataclasses.replace(
                self.messages,
                mail_dir=self.messages.mail_dir or self.data_dir / "mail",
                mail_from=self.messages.mail_from or self.booking.invite_from,
            )
            object.__setattr__(self, "messages", messages)
        if not self.database.url:
            url = f"sqlite+aiosqlite:///{self.data_dir / 'balie.db'}"
            object.__setattr__(self, "database", dataclasses.replace(self.database, url=url))

    def _url_host(self) -> str:
        return "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104

    @property
    def production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def keys_file(self) -> Path:
        assert self.tokens.keys_file is not None  # set in __post_init__
        return self.tokens.keys_file

    @property
    def link_keys_file(self) -> Path:
        assert self.booking.link_keys_file is not None  # set in __post_init__
        return self.booking.link_keys_file

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        config = cls.read_env(env)
        config.validate()
        return config

    @classmethod
    def read_env(cls, env: Mapping[str, str]) -> Config:
        """Every variable parsed (a value that does not parse is refused here), the settings
        not yet checked together: ``balie check`` lists all that is wrong with them."""
        read = _Reader(env)
        data_dir = Path(read.text("BALIE_DATA_DIR", DEFAULT_DATA_DIR))
        keys_file = read.text("BALIE_ROOM_KEYS_FILE", "")
        try:
            ice = IceSettings(
                stun_urls=read.items("BALIE_STUN_URLS"),
                turn_urls=read.items("BALIE_TURN_URLS"),
                turn_secret=read.text("BALIE_TURN_SECRET", ""),
                turn_ttl=read.integer("BALIE_TURN_TTL", 3600),
            )
        except ValueError as exc:
            raise ConfigError(f"BALIE_STUN_URLS/BALIE_TURN_*: {exc}") from None
        ws_defaults = WebSocketSettings()
        environment = read.choice("BALIE_ENV", Environment, Environment.DEVELOPMENT)
        production = environment is Environment.PRODUCTION
        config = cls(
            environment=environment,
            host=read.text("BALIE_HOST", DEFAULT_HOST),
            port=read.integer("BALIE_PORT", DEFAULT_PORT),
            public_url=read.text("BALIE_PUBLIC_URL", "").rstrip("/"),
            allowed_origins=read.items("BALIE_ALLOWED_ORIGINS"),
            data_dir=data_dir,
            node_modules=Path(read.text("BALIE_NODE_MODULES", str(DEFAULT_NODE_MODULES))),
            ws=WebSocketSettings(
                max_message=read.integer("BALIE_WS_MAX_MESSAGE", ws_defaults.max_message),
                heartbeat=read.number("BALIE_WS_HEARTBEAT", ws_defaults.heartbeat),
                join_timeout=read.number("BALIE_WS_JOIN_TIMEOUT", ws_defaults.join_timeout),
                rate=read.number("BALIE_WS_RATE", ws_defaults.rate),
                burst=read.number("BALIE_WS_BURST", ws_defaults.burst),
                rate_strikes=read.integer("BALIE_WS_RATE_STRIKES", ws_defaults.rate_strikes),
                send_queue=read.integer("BALIE_WS_SEND_QUEUE", ws_defaults.send_queue),
                compress=read.flag("BALIE_WS_COMPRESS", ws_defaults.compress),
                resume_grace=read.number("BALIE_RESUME_GRACE", ws_defaults.resume_grace),
            ),
            tokens=TokenSettings(
                issuer=read.text("BALIE_TOKEN_ISSUER", "balie"),
                room_token_ttl=read.integer("BALIE_ROOM_TOKEN_TTL", 4 * 3600),
                keys_file=Path(keys_file) if keys_file else None,
            ),
            ice=ice,
            database=DatabaseSettings(
                url=read.text("BALIE_DATABASE_URL", ""),
                demo_data=read.flag("BALIE_DEMO_DATA", not production),
                timeout=read.number("BALIE_DATABASE_TIMEOUT", 5.0),
            ),
            cluster=ClusterSettings(
                redis_url=read.text("BALIE_REDIS_URL", ""),
                prefix=read.text("BALIE_REDIS_PREFIX", "balie:"),
                bus_keys=read.text("BALIE_BUS_KEYS", ""),
                link_listen=read.text("BALIE_LINK_LISTEN", ""),
                link_advertise=read.text("BALIE_LINK_ADVERTISE", ""),
            ),
            identity=IdentitySettings(
                demo_mode=read.flag("BALIE_DEMO_MODE", not production),
                irma=IrmaSettings(
                    url=read.text("BALIE_IRMA_URL", "").rstrip("/"),
                    token=read.text("BALIE_IRMA_TOKEN", ""),
                    result_key_file=Path(key_file)
                    if (key_file := read.text("BALIE_IRMA_RESULT_KEY_FILE", ""))
                    else None,
                    issuer=read.text("BALIE_IRMA_ISSUER", "irmaserver"),
                    public_url=read.text("BALIE_IRMA_PUBLIC_URL", "").rstrip("/"),
                ),
                openid4vp=_openid4vp_from_env(read),
                vault_keys=read.text("BALIE_VAULT_KEYS", ""),
            ),
            booking=_booking_from_env(read, env),
            messages=_messages_from_env(read),
            staff=StaffSettings(
                idle_minutes=read.integer("BALIE_STAFF_IDLE_MINUTES", 15),
                absolute_hours=read.integer("BALIE_STAFF_ABSOLUTE_HOURS", 8),
            ),
            log_level=read.text("BALIE_LOG_LEVEL", "INFO").upper(),
            log_format=read.choice("BALIE_LOG_FORMAT", LogFormat, LogFormat.TEXT),
            log_key=read.base64("BALIE_LOG_KEY"),
            metrics=MetricsSettings(
                port=read.integer("BALIE_METRICS_PORT", 0),
                host=read.text("BALIE_METRICS_HOST", DEFAULT_HOST),
                token=read.text("BALIE_METRICS_TOKEN", ""),
            ),
            trusted_proxies=read.networks("BALIE_TRUSTED_PROXIES"),
            header_timeout=read.number("BALIE_HEADER_TIMEOUT", 10.0),
            probe_secret=read.text("BALIE_PROBE_SECRET", ""),
        )
        return config

    def validate(self) -> None:
        """Refuse the first thing wrong: a value out of its range, then the rules of
        server/core/checks.py that stop a start."""
        self.validate_values()
        for finding in refusals(self):
            raise ConfigError(finding.message)

    def validate_values(self) -> None:
        """Each value within its range (the rules between settings: server/core/checks.py)."""
        if not 0 < self.port < 65536:
            raise ConfigError("BALIE_PORT must be between 1 and 65535")
        for origin in self.allowed_origins:
            if _origin(origin) != origin:
                raise ConfigError(
                    f"BALIE_ALLOWED_ORIGINS: {origin!r} is not an origin like https://host[:port]"
                )
        if self.ws.max_message < 1024:
            raise ConfigError("BALIE_WS_MAX_MESSAGE must be at least 1024 bytes")
        if self.ws.rate <= 0 or self.ws.burst < 1:
            raise ConfigError("BALIE_WS_RATE must be positive and BALIE_WS_BURST at least 1")
        positive = {
            "BALIE_WS_SEND_QUEUE": self.ws.send_queue,
            "BALIE_WS_RATE_STRIKES": self.ws.rate_strikes,
            "BALIE_WS_HEARTBEAT": self.ws.heartbeat,
            "BALIE_WS_JOIN_TIMEOUT": self.ws.join_timeout,
            "BALIE_RESUME_GRACE": self.ws.resume_grace,
            "BALIE_ROOM_TOKEN_TTL": self.tokens.room_token_ttl,
            "BALIE_HEADER_TIMEOUT": self.header_timeout,
            "BALIE_DATABASE_TIMEOUT": self.database.timeout,
        }
        for name, value in positive.items():
            if not value > 0:
                raise ConfigError(f"{name} must be positive, not {value!r}")
        if self.booking.holds_per_client < 0:
            raise ConfigError("BALIE_HOLDS_PER_CLIENT must be 0 (no cap) or more")
        if not self.database.url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ConfigError(
                "BALIE_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        self._validate_booking()
        self._validate_staff()
        self._validate_cluster()
        if self.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError("BALIE_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
        if self.log_key and len(self.log_key) < MIN_LOG_KEY_BYTES:
            raise ConfigError(f"BALIE_LOG_KEY must decode to at least {MIN_LOG_KEY_BYTES} bytes")
        self._validate_metrics()
        self._validate_messages()
        self._validate_openid4vp()

    def _validate_openid4vp(self) -> None:
        oid4vp = self.identity.openid4vp
        if (oid4vp.certificate_file is None) != (oid4vp.key_file is None):
            raise ConfigError(
                "BALIE_OPENID4VP_CERTIFICATE_FILE and BALIE_OPENID4VP_KEY_FILE go together"
            )
        if not oid4vp.enabled:
            return
        if not oid4vp.trust_anchors:
            raise ConfigError(
                "BALIE_OPENID4VP_TRUST_ANCHORS must name the trust anchors of at least one "
                "credential type (type=file.pem,...)"
            )
        if oid4vp.response_mode not in ("direct_post", "direct_post.jwt"):
            raise ConfigError(
                "BALIE_OPENID4VP_RESPONSE_MODE must be direct_post.jwt or direct_post"
            )
        if not 30 <= oid4vp.ttl <= 1800:
            raise ConfigError("BALIE_OPENID4VP_TTL must be 30 to 1800 seconds")
        if not self.openid4vp_url.startswith("https://"):
            raise ConfigError(
                "BALIE_PUBLIC_URL (or BALIE_OPENID4VP_PUBLIC_URL) must be an https:// URL for "
                "the OpenID4VP verifier: wallets fetch the request and post their answer there"
            )

    @property
    def openid4vp_url(self) -> str:
        """Where wallets reach this Balie: request objects, responses, the way back."""
        return self.identity.openid4vp.public_url or self.public_url

    def _validate_messages(self) -> None:
        messages = self.messages
        if not 0 < messages.smtp_port < 65536:
            raise ConfigError("BALIE_SMTP_PORT must be between 1 and 65535")
        if min(messages.smtp_timeout, messages.sms_timeout, messages.poll_seconds) <= 0:
            raise ConfigError(
                "BALIE_SMTP_TIMEOUT, BALIE_SMS_TIMEOUT and BALIE_OUTBOX_POLL_SECONDS must be "
                "positive"
            )
        if not 1 <= messages.max_attempts <= 20:
            raise ConfigError("BALIE_OUTBOX_MAX_ATTEMPTS must be 1 to 20")
        if messages.lease_seconds <= max(messages.smtp_timeout, messages.sms_timeout):
            raise ConfigError(
                "BALIE_OUTBOX_LEASE_SECONDS must be longer than BALIE_SMTP_TIMEOUT and "
                "BALIE_SMS_TIMEOUT: a message still being sent would be claimed and sent "
                "again by another worker"
            )
        if bool(messages.smtp_username) != bool(messages.smtp_password):
            raise ConfigError("BALIE_SMTP_USERNAME and BALIE_SMTP_PASSWORD go together")
        if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", messages.mail_from):
            raise ConfigError("BALIE_MAIL_FROM must be a plain e-mail address")
        if not re.fullmatch(r"[A-Za-z0-9 ]{1,11}", messages.sms_sender):
            raise ConfigError("BALIE_SMS_SENDER must be 1 to 11 letters, digits or spaces")
        if messages.sms_provider is not SmsProviderName.NONE and not messages.sms_token:
            raise ConfigError("BALIE_SMS_TOKEN is needed with BALIE_SMS_PROVIDER")

    def _validate_metrics(self) -> None:
        metrics = self.metrics
        if not 0 <= metrics.port < 65536:
            raise ConfigError("BALIE_METRICS_PORT must be 0 (no metrics) or a port up to 65535")
        if metrics.port and metrics.port == self.port:
            # the public listener never serves /metrics
            raise ConfigError("BALIE_METRICS_PORT must differ from BALIE_PORT")
        if metrics.token and any(c.isspace() for c in metrics.token):
            raise ConfigError("BALIE_METRICS_TOKEN must not contain spaces")

    def _validate_booking(self) -> None:
        booking = self.booking
        if not 1 <= booking.hold_minutes <= 120:
            raise ConfigError(f"BALIE_HOLD_MINUTES must be 1 to 120, not {booking.hold_minutes!r}")
        if not booking.caldav_timeout > 0:
            raise ConfigError(
                f"BALIE_CALDAV_TIMEOUT must be positive, not {booking.caldav_timeout!r}"
            )
        if booking.feed_secret and len(booking.feed_secret) < MIN_FEED_SECRET_BYTES:
            raise ConfigError(
                f"BALIE_FEED_SECRET must decode to at least {MIN_FEED_SECRET_BYTES} bytes"
            )
        if not _UID_DOMAIN.fullmatch(booking.caldav_uid_domain):
            raise ConfigError("BALIE_CALDAV_UID_DOMAIN must be a host-like name")
        if "@" not in booking.invite_from or any(c in booking.invite_from for c in ":\r\n "):
            raise ConfigError("BALIE_INVITE_FROM must be a plain e-mail address")

    def _validate_cluster(self) -> None:
        cluster = self.cluster
        if not cluster.redis_url:
            if cluster.link_listen:
                raise ConfigError("BALIE_LINK_LISTEN needs BALIE_REDIS_URL: links join nodes")
            return
        if cluster.link_listen and not _LINK_LISTEN.fullmatch(cluster.link_listen):
            raise ConfigError("BALIE_LINK_LISTEN must be host:port (port 0: any free port)")
        if cluster.link and cluster.link[1] > 65535:
            raise ConfigError("BALIE_LINK_LISTEN: a port is at most 65535")
        if cluster.link_advertise and not _HOST.fullmatch(cluster.link_advertise):
            raise ConfigError("BALIE_LINK_ADVERTISE must be a host name or address, no port")
        if not cluster.redis_url.startswith(("redis://", "rediss://")):
            raise ConfigError("BALIE_REDIS_URL must start with redis:// or rediss:// (TLS)")
        if not _PREFIX.fullmatch(cluster.prefix):
            raise ConfigError("BALIE_REDIS_PREFIX must be 1-32 of A-Z a-z 0-9 _ - : .")

    @property
    def clustered(self) -> bool:
        return bool(self.cluster.redis_url)

    def _validate_staff(self) -> None:
        staff = self.staff
        # ASVS 7.3: an idle limit of minutes, an absolute limit of at most a working day
        if not 1 <= staff.idle_minutes <= 120:
            raise ConfigError(
                f"BALIE_STAFF_IDLE_MINUTES must be 1 to 120, not {staff.idle_minutes!r}"
            )
        if not 1 <= staff.absolute_hours <= 24:
            raise ConfigError(
                f"BALIE_STAFF_ABSOLUTE_HOURS must be 1 to 24, not {staff.absolute_hours!r}"
            )
        if staff.idle_minutes > staff.absolute_hours * 60:
            raise ConfigError("BALIE_STAFF_IDLE_MINUTES must not exceed BALIE_STAFF_ABSOLUTE_HOURS")

    @property
    def emulate_irma(self) -> bool:
        """Run the built-in IRMA emulator: development without a configured server."""
        return not self.production and not self.identity.irma.url


def _messages_from_env(read: _Reader) -> MessagesSettings:
    mail_dir = read.text("BALIE_MAIL_DIR", "")
    return MessagesSettings(
        smtp_host=read.text("BALIE_SMTP_HOST", ""),
        smtp_port=read.integer("BALIE_SMTP_PORT", 587),
        smtp_security=read.choice("BALIE_SMTP_SECURITY", SmtpSecurity, SmtpSecurity.STARTTLS),
        smtp_username=read.text("BALIE_SMTP_USERNAME", ""),
        smtp_password=read.text("BALIE_SMTP_PASSWORD", ""),
        smtp_timeout=read.number("BALIE_SMTP_TIMEOUT", 30.0),
        mail_from=read.text("BALIE_MAIL_FROM", ""),
        mail_dir=Path(mail_dir) if mail_dir else None,
        sms_provider=read.choice("BALIE_SMS_PROVIDER", SmsProviderName, SmsProviderName.NONE),
        sms_url=read.text("BALIE_SMS_URL", ""),
        sms_token=read.text("BALIE_SMS_TOKEN", ""),
        sms_sender=read.text("BALIE_SMS_SENDER", "Gemeente"),
        sms_timeout=read.number("BALIE_SMS_TIMEOUT", 15.0),
        poll_seconds=read.number("BALIE_OUTBOX_POLL_SECONDS", 5.0),
        max_attempts=read.integer("BALIE_OUTBOX_MAX_ATTEMPTS", 8),
        lease_seconds=read.number("BALIE_OUTBOX_LEASE_SECONDS", 120.0),
    )


def _openid4vp_from_env(read: _Reader) -> OpenID4VPSettings:
    certificate = read.text("BALIE_OPENID4VP_CERTIFICATE_FILE", "")
    key = read.text("BALIE_OPENID4VP_KEY_FILE", "")
    anchors = []
    for item in read.items("BALIE_OPENID4VP_TRUST_ANCHORS"):
        kind, _, path = item.rpartition("=")
        if not kind.strip() or not path.strip():
            raise ConfigError(
                "BALIE_OPENID4VP_TRUST_ANCHORS must be type=file.pem pairs, comma-separated"
            )
        anchors.append((kind.strip(), Path(path.strip())))
    return OpenID4VPSettings(
        certificate_file=Path(certificate) if certificate else None,
        key_file=Path(key) if key else None,
        trust_anchors=tuple(anchors),
        response_mode=read.text("BALIE_OPENID4VP_RESPONSE_MODE", "direct_post.jwt").lower(),
        wallet_url=read.text("BALIE_OPENID4VP_WALLET_URL", "openid4vp://"),
        ttl=read.integer("BALIE_OPENID4VP_TTL", 300),
        public_url=read.text("BALIE_OPENID4VP_PUBLIC_URL", "").rstrip("/"),
    )


def _booking_from_env(read: _Reader, env: Mapping[str, str]) -> BookingSettings:
    links = read.text("BALIE_LINK_KEYS_FILE", "")
    secret = read.text("BALIE_FEED_SECRET", "")
    try:
        feed_secret = base64.b64decode(secret, validate=True) if secret else b""
    except binascii.Error:
        raise ConfigError("BALIE_FEED_SECRET must be base64 (openssl rand -base64 32)") from None
    credentials = credentials_from_env(env)  # its errors name the variable, never the password
    return BookingSettings(
        hold_minutes=read.integer("BALIE_HOLD_MINUTES", 15),
        link_keys_file=Path(links) if links else None,
        feed_secret=feed_secret,
        caldav_timeout=read.number("BALIE_CALDAV_TIMEOUT", 15.0),
        caldav_uid_domain=read.text("BALIE_CALDAV_UID_DOMAIN", "balie"),
        caldav_credentials=credentials,
        invite_from=read.text("BALIE_INVITE_FROM", ""),
        holds_per_client=read.integer("BALIE_HOLDS_PER_CLIENT", 5),
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


_E = TypeVar("_E", bound=StrEnum)


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str, default: str) -> str:
        return self._env.get(name, default).strip()

    def items(self, name: str) -> tuple[str, ...]:
        raw = self._env.get(name, "")
        return tuple(item.strip() for item in raw.split(",") if item.strip())

    def integer(self, name: str, default: int) -> int:
        raw = self._env.get(name)
        if raw is None or not raw.strip():
            return default
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None

    def number(self, name: str, default: float) -> float:
        raw = self._env.get(name)
        if raw is None or not raw.strip():
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number, not {raw!r}") from None
        if not math.isfinite(value):
            raise ConfigError(f"{name} must be a finite number, not {raw!r}")
        return value

    def networks(self, name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        try:
            return tuple(ipaddress.ip_network(item, strict=False) for item in self.items(name))
        except ValueError as error:
            raise ConfigError(
                f"{name}: {error} (give addresses or networks, comma-separated)"
            ) from None

    def base64(self, name: str) -> bytes:
        raw = self.text(name, "")
        try:
            return base64.b64decode(raw, validate=True) if raw else b""
        except binascii.Error:
            raise ConfigError(f"{name} must be base64 (openssl rand -base64 32)") from None

    def flag(self, name: str, default: bool) -> bool:
        raw = self._env.get(name)
        if raw is None or not raw.strip():
            return default
        value = raw.strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, not {raw!r}")

    def choice(self, name: str, kind: type[_E], default: _E) -> _E:
        raw = self._env.get(name)
        if raw is None or not raw.strip():
            return default
        try:
            return kind(raw.strip().lower())
        except ValueError:
            allowed = ", ".join(m.value for m in kind)
            raise ConfigError(f"{name} must be one of {allowed}, not {raw!r}") from None
