"""Console sign-in state: a session cookie naming a server-side session, and per-session CSRF tokens.

The cookie holds ``<token>.<signature>``: the token of a row in ``console_sessions``
(actions/services/console_sessions.py), signed with the console secret so a made-up cookie is refused
without asking the database. Every console request checks the row, so sign-out (and a password change,
for the other sessions) ends a session for good. A form's CSRF token is an HMAC of the session cookie:
the same on every form of a session, unknown to other sites, and useless once the session ends.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Optional

from actions.services.console_sessions import ConsoleSessions

COOKIE = "shopbot_console"
SESSION_SECONDS = 12 * 60 * 60


class SessionCookies:
    """Sessions as cookies: opened at sign-in, looked up on every request, ended at sign-out.
    The methods touching the database are synchronous: call them through ``asyncio.to_thread``."""

    def __init__(self, secret: bytes, sessions: ConsoleSessions) -> None:
        self.secret = secret
        self.sessions = sessions

    def _mac(self, text: str) -> str:
        return hmac.new(self.secret, text.encode(), hashlib.sha256).hexdigest()

    def _token(self, cookie: Optional[str]) -> Optional[str]:
        token, _, signature = (cookie or "").rpartition(".")
        if not token or not hmac.compare_digest(signature.encode(), self._mac(token).encode()):
            return None
        return token

    def open(self, owner_id: int) -> str:
        """A new session for the owner; returns the cookie's value."""
        token = self.sessions.open(owner_id)
        return f"{token}.{self._mac(token)}"

    def owner_id(self, cookie: Optional[str]) -> Optional[int]:
        """The signed-in owner's id, or None for a missing, forged, ended or expired session."""
        token = self._token(cookie)
        return self.sessions.owner_of(token) if token else None

    def close(self, cookie: Optional[str]) -> None:
        """Sign-out: the cookie opens nothing from now on, wherever it was copied to."""
        token = self._token(cookie)
        if token:
            self.sessions.revoke(token)

    def close_others(self, owner_id: int, cookie: Optional[str]) -> int:
        """End the owner's sessions except this cookie's (after a password change); how many ended."""
        return self.sessions.revoke_others(owner_id, keep=self._token(cookie))

    def csrf_token(self, cookie: str) -> str:
        return self._mac("csrf:" + cookie)

    def csrf_ok(self, cookie: Optional[str], token: Optional[str]) -> bool:
        # Bytes: compare_digest raises TypeError on str outside ASCII (a form posting csrf=é).
        return bool(cookie and token) and hmac.compare_digest(self.csrf_token(cookie or "").encode(),
                                                              (token or "").encode("utf-8", "surrogatepass"))
