"""Secrets the processes share: given in the environment, or generated once into a file under var/.

The web server signs its calls to the action server with one (ACTION_SERVER_SECRET); both processes start
at the same moment, so the file is created atomically (written aside, then linked into place): whichever
process comes second reads what the first wrote, never a half-written or a second, different secret.
"""
from __future__ import annotations

import hmac
import os
import secrets
import tempfile
from pathlib import Path
from typing import Optional

ACTION_SECRET_HEADER = "X-Action-Secret"


def load_or_create_secret(explicit: Optional[str], path: Path) -> bytes:
    """``explicit`` if set; else the file's content, creating the file (mode 600) on first use."""
    if explicit:
        return explicit.encode("utf-8")
    if path.is_file():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, aside = tempfile.mkstemp(dir=path.parent, prefix=".secret-")  # mkstemp: mode 600
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(secrets.token_hex(32).encode())
        try:
            os.link(aside, path)  # fails if another process got there first: then theirs is the secret
        except FileExistsError:
            pass
    finally:
        os.unlink(aside)
    return path.read_bytes().strip()


def secret_matches(given: Optional[str], secret: bytes) -> bool:
    """Constant-time comparison of a header's value with the secret (any text, even non-ASCII)."""
    return given is not None and hmac.compare_digest(given.encode("utf-8", "surrogateescape"), secret)
