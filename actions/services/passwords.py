"""Password hashes for console accounts: scrypt (a memory-hard KDF in the standard library).

Stored as ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>`` so the cost can rise later and old hashes still
verify (``needs_rehash`` tells when to store a new one at the next login).
"""
from __future__ import annotations

import hashlib
import hmac
import os

N, R, P = 2**15, 8, 1  # ~32 MB and ~50-100 ms per hash on these machines: slow for guessing, fine for login
_MAXMEM = 64 * 1024 * 1024
MIN_PASSWORD_CHARS = 12


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    return f"scrypt${N}${R}${P}${salt.hex()}${_derive(password, salt, N, R, P).hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = _derive(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, bytes.fromhex(expected))


def needs_rehash(stored: str) -> bool:
    return not stored.startswith(f"scrypt${N}${R}${P}$")


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"Use at least {MIN_PASSWORD_CHARS} characters."
    if password.strip() != password or not password.strip():
        return "The password must not start or end with spaces."
    return None
