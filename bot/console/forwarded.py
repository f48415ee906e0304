"""Who is asking and over what: the client's address and whether it came over HTTPS.

Behind a reverse proxy that ends TLS, the connection comes from the proxy over plain HTTP; the proxy says
the truth in X-Forwarded-Proto and X-Forwarded-For. Those headers are believed only from an address in
TRUSTED_PROXIES: anyone else could send them to pass as someone else.
"""
from __future__ import annotations

import ipaddress
from typing import Sequence

from sanic.request import Request


def _trusted(address: str, proxies: Sequence[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(proxy) for proxy in proxies)


def _proxies(request: Request) -> Sequence[str]:
    return request.app.ctx.settings.trusted_proxies


def over_https(request: Request) -> bool:
    """TLS to this server, or a trusted proxy says the client used https."""
    if request.conn_info is not None and request.conn_info.ssl:
        return True
    if not _trusted(request.ip, _proxies(request)):
        return False
    # A proxy chain may list one protocol per hop; the first is what the client used.
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return proto == "https"


def client_address(request: Request) -> str:
    """The client's address: the peer, or behind trusted proxies the last address they did not add."""
    proxies = _proxies(request)
    address = request.ip
    if not _trusted(address, proxies):
        return address
    hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",") if hop.strip()]
    for hop in reversed(hops):  # each proxy appends who it heard from; the first untrusted one is the client
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else address
