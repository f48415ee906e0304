"""Which client sent a message, as far as the action server needs to know: a keyed hash of its address.

The order flow counts failed order checks per client (actions/services/order_check_limits.py); it sees
only the message's metadata. The address is personal data, so the metadata (stored with the conversation)
holds HMAC-SHA256 of it under a server secret, cut to 16 hex: the same client gets the same key, and the key
cannot be turned back into the address without the secret. The client's own ``client_key``, if it sent
one, is replaced: it could otherwise pick a new one for every guess.

A loopback address gets no key: it is a proxy on the same machine that is not in TRUSTED_PROXIES (or a
test), and every customer would share its key, so ten wrong checks by anyone would stop everyone. The
per-order and overall limits still hold for such messages.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
from typing import Any, Dict, Optional

from actions.services.order_check_limits import CLIENT_KEY, CLIENT_KEY_LENGTH


class ClientKeys:
    def __init__(self, secret: bytes) -> None:
        # A key of its own, derived from the server's secret, so these hashes say nothing about cookies.
        self._key = hmac.new(secret, b"client address keys", hashlib.sha256).digest()

    def for_address(self, address: str) -> Optional[str]:
        if _loopback(address):
            return None
        digest = hmac.new(self._key, address.encode("utf-8", "surrogateescape"), hashlib.sha256)
        return digest.hexdigest()[:CLIENT_KEY_LENGTH]


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def with_client_key(metadata: Optional[Dict[str, Any]], key: Optional[str]) -> Optional[Dict[str, Any]]:
    """The message's metadata with the server's key for the client, and never one the client made up."""
    if metadata is None and key is None:
        return None
    cleaned = {name: value for name, value in (metadata or {}).items() if name != CLIENT_KEY}
    if key is not None:
        cleaned[CLIENT_KEY] = key
    return cleaned
