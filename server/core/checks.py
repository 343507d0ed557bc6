"""What is wrong with a configuration, as rules: a configuration in, findings out.

``balie check`` runs every rule and prints each finding on a line of its own; ``balie serve``
refuses to start on the findings marked ``refuses_start`` (:meth:`Config.validate` raises the
first of them), so each rule is written once for both. A rule that refuses nothing points at
a setting that starts but would serve people badly or unsafely: a public deployment left in
development mode, a page that cannot get the camera, a WebSocket its own pages cannot open.

*Production* is ``BALIE_ENV=production``, and only that: nothing switches it on by guessing.
Guessing is what ``balie check`` does instead, the other way round: a development
configuration whose public URL names a host people reach on the internet (not a loopback or
private address, not a reserved test name) is a finding that says to set ``BALIE_ENV``.

Each finding's message is one line that names the variable, says what is wrong and what to
set. No message ever holds a secret's value.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

if TYPE_CHECKING:  # server.config imports this module: no import back at run time
    from server.config import Config

#: a probe secret shorter than this is refused (``openssl rand -base64 32`` gives 44)
MIN_PROBE_SECRET: Final = 32
#: names no one outside reaches: a development server may use them freely
_RESERVED_SUFFIXES: Final = (
    ".localhost",
    ".test",
    ".local",
    ".internal",
    ".lan",
    ".home.arpa",
    ".invalid",
)


@dataclass(frozen=True, slots=True)
class Finding:
    #: the setting to change
    variable: str
    #: one line: what is wrong and what to set
    message: str
    #: ``balie serve`` stops on it (else only ``balie check`` reports it)
    refuses_start: bool = False

    def __str__(self) -> str:
        return self.message


def refusals(config: Config) -> list[Finding]:
    """The findings ``balie serve`` stops on."""
    return [finding for rule in REFUSED for finding in rule(config)]


def findings(config: Config, env: Mapping[str, str]) -> list[Finding]:
    """Every finding, refused or not; ``env`` says which variables were set at all (a
    default is not always what an operator meant)."""
    found = refusals(config)
    for advice in ADVISED:
        found += advice(config, env)
    return found


# --- refused: balie serve does not start --------------------------------------------------


def public_url_in_production(config: Config) -> Iterator[Finding]:
    if config.production and not config.public_url.startswith("https://"):
        yield _refused(
            "BALIE_PUBLIC_URL",
            "BALIE_PUBLIC_URL must be an https:// URL in production: set it to the address "
            "people open, behind the TLS proxy (https://balie.gemeente.example)",
        )


def demo_in_production(config: Config) -> Iterator[Finding]:
    if not config.production:
        return
    if config.identity.demo_mode:
        yield _refused(
            "BALIE_DEMO_MODE",
            "BALIE_DEMO_MODE must be off in production (irma-demo credentials are forgeable): "
            "remove it or set BALIE_DEMO_MODE=false",
        )
    if config.database.demo_data:
        yield _refused(
            "BALIE_DEMO_DATA",
            "BALIE_DEMO_DATA must be off in production (it seeds demo staff with known "
            "passwords): remove it or set BALIE_DEMO_DATA=false",
        )


def verifier_in_production(config: Config) -> Iterator[Finding]:
    """Without these the built-in IRMA emulator, or an unpinned result, would decide who a
    resident is."""
    if not config.production:
        return
    irma = config.identity.irma
    if not irma.url.startswith("https://"):
        yield _refused(
            "BALIE_IRMA_URL",
            "BALIE_IRMA_URL must be the https:// URL of a real irma server (the built-in "
            "emulator never runs in production): set it to the requestor API's address",
        )
    if not irma.token:
        yield _refused(
            "BALIE_IRMA_TOKEN",
            "BALIE_IRMA_TOKEN must be set in production: the irma server's requestor token",
        )
    if irma.result_key_file is None:
        yield _refused(
            "BALIE_IRMA_RESULT_KEY_FILE",
            "BALIE_IRMA_RESULT_KEY_FILE must name the pinned result-JWT key: a file with the "
            "PEM public key of the irma server's jwt_privkey",
        )


def vault_key_in_production(config: Config) -> Iterator[Finding]:
    if config.production and not config.identity.vault_keys:
        yield _refused(
            "BALIE_VAULT_KEYS",
            "BALIE_VAULT_KEYS must be set in production: put the line `balie vault new-key` "
            "prints in it, the same on every node",
        )


def cluster_storage(config: Config) -> Iterator[Finding]:
    if not config.clustered:
        return
    if not config.database.url.startswith("postgresql+asyncpg://"):
        yield _refused(
            "BALIE_DATABASE_URL",
            "BALIE_REDIS_URL runs several nodes, and they need one PostgreSQL database "
            "(BALIE_DATABASE_URL=postgresql+asyncpg://...): an SQLite file belongs to one node",
        )
    if not config.cluster.bus_keys:
        yield _refused(
            "BALIE_BUS_KEYS",
            "BALIE_BUS_KEYS must be set with BALIE_REDIS_URL: every node seals what it puts "
            "in Redis with it and opens what the others put there (k1:$(openssl rand -base64 "
            "32), the same on every node)",
        )


def probe_secret(config: Config) -> Iterator[Finding]:
    secret = config.probe_secret
    if secret and (len(secret) < MIN_PROBE_SECRET or any(c.isspace() for c in secret)):
        yield _refused(
            "BALIE_PROBE_SECRET",
            f"BALIE_PROBE_SECRET must be at least {MIN_PROBE_SECRET} characters without "
            "spaces: set it to the output of `openssl rand -base64 32`, or leave it out "
            "(no probes)",
        )


# --- advised: balie serve starts, balie check says what is wrong --------------------------


def development_in_public(config: Config, env: Mapping[str, str]) -> Iterator[Finding]:
    host = urlsplit(config.public_url).hostname
    if config.production or not _reached_from_outside(host):
        return
    on = [
        what
        for what, is_on in (
            ("demo mode (forgeable irma-demo credentials)", config.identity.demo_mode),
            ("demo data (staff with known passwords)", config.database.demo_data),
            ("the built-in IRMA emulator", config.emulate_irma),
        )
        if is_on
    ]
    listed = ", ".join(on[:-1]) + " and " + on[-1] if len(on) > 1 else "".join(on)
    doing = f": {listed} {'is' if len(on) == 1 else 'are'} on" if on else ""
    yield Finding(
        "BALIE_ENV",
        f"BALIE_ENV is development, but BALIE_PUBLIC_URL {config.public_url} is reached from "
        f"outside{doing}; set BALIE_ENV=production",
    )


def plain_http(config: Config, env: Mapping[str, str]) -> Iterator[Finding]:
    parts = urlsplit(config.public_url)
    if config.production or parts.scheme == "https" or _loopback(parts.hostname):
        return  # production refuses it already (public_url_in_production)
    yield Finding(
        "BALIE_PUBLIC_URL",
        f"BALIE_PUBLIC_URL {config.public_url} is not https: browsers give camera and "
        "microphone to https:// pages only (and to localhost); put a TLS proxy in front and "
        "set BALIE_PUBLIC_URL=https://...",
    )


def origins(config: Config, env: Mapping[str, str]) -> Iterator[Finding]:
    own = _origin(config.public_url)
    if config.production and not env.get("BALIE_ALLOWED_ORIGINS", "").strip():
        yield Finding(
            "BALIE_ALLOWED_ORIGINS",
            "BALIE_ALLOWED_ORIGINS is not set: name the origins whose pages may open the "
            "WebSocket, the same on every node "
            f"(BALIE_ALLOWED_ORIGINS=https://{urlsplit(own).netloc})",
        )
    if own not in config.allowed_origins:
        yield Finding(
            "BALIE_ALLOWED_ORIGINS",
            f"BALIE_ALLOWED_ORIGINS does not name {own}, the public URL's origin: the call "
            f"page there cannot open its WebSocket (403); add {own}",
        )
    if config.production:
        for origin in config.allowed_origins:
            # the public URL's own origin is refused with the public URL
            if origin != own and not origin.startswith("https://"):
                yield Finding(
                    "BALIE_ALLOWED_ORIGINS",
                    f"BALIE_ALLOWED_ORIGINS names {origin}: in production only https:// pages "
                    "may open the WebSocket; remove it",
                )


def turn(config: Config, env: Mapping[str, str]) -> Iterator[Finding]:
    """TURN URLs without a secret are refused while the configuration is read
    (``signaling.turn.IceSettings``); these are the mistakes that still start."""
    ice = config.ice
    if ice.turn_secret and not ice.turn_urls:
        yield Finding(
            "BALIE_TURN_URLS",
            "BALIE_TURN_SECRET is set but BALIE_TURN_URLS is empty: no browser is told about "
            "the TURN server; set BALIE_TURN_URLS=turn:<host>:3478?transport=udp,...",
        )
    if config.production and not ice.turn_urls:
        yield Finding(
            "BALIE_TURN_URLS",
            "BALIE_TURN_URLS is not set: about one call in five needs a TURN relay (strict "
            "firewalls, mobile networks); run coturn and set BALIE_TURN_URLS and "
            "BALIE_TURN_SECRET (docs/deployment.md, TURN)",
        )


#: the rules ``balie serve`` stops on, in the order their findings are listed
def messages_in_production(config: Config) -> Iterator[Finding]:
    """Residents must get their confirmation: no folder of e-mails nobody reads, and no
    e-mail with its join link in clear over the network."""
    if not config.production:
        return
    messages = config.messages
    if not messages.smtp_host:
        yield _refused(
            "BALIE_SMTP_HOST",
            "BALIE_SMTP_HOST must be set in production: without it confirmations are written "
            "to a folder instead of sent (set the municipality's SMTP relay)",
        )
    elif messages.smtp_security.value == "none" and not _loopback(messages.smtp_host):
        yield _refused(
            "BALIE_SMTP_SECURITY",
            "BALIE_SMTP_SECURITY=none is only allowed for a relay on this machine: e-mails "
            "carry join links; use starttls (port 587) or tls (port 465)",
        )


REFUSED: Final[tuple[Callable[[Config], Iterator[Finding]], ...]] = (
    public_url_in_production,
    demo_in_production,
    verifier_in_production,
    vault_key_in_production,
    cluster_storage,
    probe_secret,
    messages_in_production,
)
#: the rules only ``balie check`` reports
ADVISED: Final[tuple[Callable[[Config, Mapping[str, str]], Iterator[Finding]], ...]] = (
    development_in_public,
    plain_http,
    origins,
    turn,
)


def _refused(variable: str, message: str) -> Finding:
    return Finding(variable, message, refuses_start=True)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _loopback(host: str | None) -> bool:
    """Browsers treat these as secure without TLS."""
    if not host:
        return True
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = _address(host)
    return address is not None and address.is_loopback


def _reached_from_outside(host: str | None) -> bool:
    """A host on the internet: neither loopback nor private, nor a name reserved for tests
    and local networks."""
    if host is None or _loopback(host):
        return False
    address = _address(host)
    if address is not None:
        return not (address.is_private or address.is_link_local or address.is_unspecified)
    return not host.lower().endswith(_RESERVED_SUFFIXES)
