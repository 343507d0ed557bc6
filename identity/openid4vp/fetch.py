"""Fetching status lists: the one place the package does network I/O.

A credential's status list URI is chosen by whoever made the credential, so a
fetch is a server-side request an attacker can aim (SSRF). The rules:

- ``https`` only (an explicit constructor argument relaxes this for tests only;
  nothing reads it from the environment);
- no user info in the URL;
- the host is resolved by us and *every* address must be public: private,
  loopback, link-local, multicast, reserved, shared and unspecified
  addresses are refused, IPv4-mapped IPv6 included. The connection then uses
  exactly the vetted addresses, so a second DNS answer cannot swap them
  (rebinding). IP literals are checked the same way;
- no redirects, a total time limit, a size limit on the body, no automatic
  decompression, no proxy from the environment;
- the answer must be ``200`` with ``Content-Type: application/statuslist+jwt``.

Every refusal raises :class:`FetchError` with a stable ``rule``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Final, Protocol
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from identity.errors import FetchError

MEDIA_TYPE: Final = "application/statuslist+jwt"
DEFAULT_MAX_BYTES: Final = 1024 * 1024
DEFAULT_TIMEOUT: Final = 5.0
_CHUNK: Final = 16 * 1024

#: checks one resolved address; raises :class:`FetchError` (rule ``address``) to refuse it
AddressRule = Callable[[str], None]


class StatusListFetcher(Protocol):
    """Fetches a status list token; raises :class:`FetchError` for anything but one."""

    async def fetch(self, uri: str) -> bytes: ...


def is_public_address(address: str) -> bool:
    """Whether ``address`` is a public unicast address a status list may live on."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def refuse_non_public(address: str) -> None:
    """The production :data:`AddressRule`."""
    if not is_public_address(address):
        raise FetchError("address", "the host resolves to a non-public address")


def check_url(uri: str, *, allow_http: bool = False, address_rule: AddressRule) -> str:
    """The host of ``uri`` if its shape is allowed (scheme, no user info, a host; an IP
    literal must pass ``address_rule``); :class:`FetchError` otherwise."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        raise FetchError("url", "not a URL") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise FetchError("scheme", "only https status lists are fetched")
    if parts.username is not None or parts.password is not None:
        raise FetchError("url", "user info in the URL")
    host = parts.hostname
    if not host:
        raise FetchError("url", "no host")
    if port == 0:
        raise FetchError("url", "port 0")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host  # a name: checked when resolved
    address_rule(host)
    return host


class _RefusedAddress(OSError):
    """Raised inside aiohttp's connector; carries the :class:`FetchError`."""

    def __init__(self, error: FetchError) -> None:
        super().__init__(error.message)
        self.error = error


class _VettedResolver(AbstractResolver):
    """Resolves with aiohttp's default resolver and refuses the whole answer if any
    address fails the rule (a mixed answer is how rebinding attacks start)."""

    def __init__(self, rule: AddressRule, inner: AbstractResolver | None = None) -> None:
        self._rule = rule
        self._inner = inner if inner is not None else aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            try:
                self._rule(result["host"])
            except FetchError as exc:
                raise _RefusedAddress(exc) from None
        return results

    async def close(self) -> None:
        await self._inner.close()


class AiohttpStatusListFetcher:
    """:class:`StatusListFetcher` over aiohttp with the SSRF rules of this module.

    Owns its client session (its connector carries the vetting resolver); close it
    with :meth:`close` (the server's ``cleanup_ctx``).

    :param max_bytes: the largest body read
    :param timeout: seconds for the whole fetch: resolving, connecting, reading
    :param address_rule: the address check; tests pass one that admits loopback
    :param allow_http: tests only: also fetch ``http`` URLs
    :param resolver: the resolver whose answers are vetted (aiohttp's threaded one)
    """

    def __init__(
        self,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: float = DEFAULT_TIMEOUT,
        address_rule: AddressRule = refuse_non_public,
        allow_http: bool = False,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._rule = address_rule
        self._allow_http = allow_http
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None

    async def fetch(self, uri: str) -> bytes:
        check_url(uri, allow_http=self._allow_http, address_rule=self._rule)
        session = self._open()
        try:
            async with session.get(
                uri,
                headers={"Accept": MEDIA_TYPE, "Accept-Encoding": "identity"},
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            ) as response:
                if response.status != 200:
                    raise FetchError("http", f"HTTP {response.status}")
                if response.content_type != MEDIA_TYPE:
                    raise FetchError("media-type", "not application/statuslist+jwt")
                if response.content_length is not None and response.content_length > (
                    self._max_bytes
                ):
                    raise FetchError("size", "the status list is too large")
                body = bytearray()
                async for chunk in response.content.iter_chunked(_CHUNK):
                    body += chunk
                    if len(body) > self._max_bytes:
                        raise FetchError("size", "the status list is too large")
                return bytes(body)
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, _RefusedAddress):
                raise exc.os_error.error from None
            raise FetchError("network", exc.__class__.__name__) from None
        except TimeoutError:
            raise FetchError("time", "the status list did not arrive in time") from None
        except aiohttp.ClientError as exc:
            raise FetchError("network", exc.__class__.__name__) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=_VettedResolver(self._rule, self._resolver), use_dns_cache=False
            )
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, trust_env=False
            )
        return self._session
