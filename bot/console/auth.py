"""Console sign-in state: a signed, HttpOnly, SameSite=Strict session cookie and per-session CSRF tokens.

The cookie holds ``<owner id>.<issued at>.<signature>``; the signature is an HMAC with the console
secret, so it cannot be forged or changed. A form's CSRF token is an HMAC of the session cookie: it
is the same on every form of a session, unknown to other sites, and useless after sign-out.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import Callable, Optional

COOKIE = "shopbot_console"
SESSION_SECONDS = 12 * 60 * 60


def load_secret(explicit: Optional[str], path: Path) -> bytes:
    """CONSOLE_SECRET if set; else one generated once and kept in var/ (so restarts keep sessions)."""
    if explicit:
        return explicit.encode("utf-8")
    if path.is_file():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(secret)
    return secret


class SessionSigner:
    def __init__(self, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        self.secret = secret
        self.clock = clock

    def _mac(self, text: str) -> str:
        return hmac.new(self.secret, text.encode(), hashlib.sha256).hexdigest()

    def issue(self, owner_id: int) -> str:
        body = f"{owner_id}.{int(self.clock())}"
        return f"{body}.{self._mac(body)}"

    def owner_id(self, cookie: Optional[str]) -> Optional[int]:
        """The signed-in owner's id, or None for a missing, forged or expired cookie."""
        try:
            owner, issued, signature = (cookie or "").split(".")
            if not hmac.compare_digest(signature, self._mac(f"{owner}.{issued}")):
                return None
            if self.clock() - int(issued) > SESSION_SECONDS:
                return None
            return int(owner)
        except ValueError:
            return None

    def csrf_token(self, cookie: str) -> str:
        return self._mac("csrf:" + cookie)

    def csrf_ok(self, cookie: Optional[str], token: Optional[str]) -> bool:
        return bool(cookie and token) and hmac.compare_digest(self.csrf_token(cookie or ""), token or "")
