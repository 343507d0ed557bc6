"""Who is asking: the client's address, seen through the proxies we trust.

Behind the TLS proxy every request comes from the proxy. Its ``X-Forwarded-For`` names the
client, but anyone can send that header, so it counts only when the request came from a
proxy in ``BALIE_TRUSTED_PROXIES``; the address used is the last hop that is not such a
proxy. Rate limits and hold caps count per client address; an IPv6 client counts per /64,
the block one household or phone gets.
"""

from __future__ import annotations

import ipaddress
from typing import Final

from aiohttp import web

from server.core.appkeys import CONFIG

#: IPv6 clients get a /64 each: counting single addresses would let one rotate through them
IPV6_CLIENT_PREFIX: Final = 64


def client_address(request: web.Request) -> str:
    """The address of the client behind our trusted proxies ("unknown" if none is known)."""
    trusted = request.app[CONFIG].trusted_proxies
    hops = [request.remote or ""]
    if trusted:
        forwarded = ",".join(request.headers.getall("X-Forwarded-For", []))
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()] + hops
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            return "unknown"
        if not any(address in network for network in trusted):
            return str(address)
    return "unknown"


def client_key(request: web.Request) -> str:
    """What limits count per: the client's address, or its /64 for IPv6."""
    address = _parse(client_address(request))
    if address is None:
        return "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(address)


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
