"""Email addresses, read with a parser rather than a pattern.

``<svg/onload=alert(1)>@x.yz`` passed the old ``[^@\\s]+@[^@\\s]+\\.[^@\\s]+`` check and was repeated back
to the customer. Here the local part must be an RFC 5322 dot-atom (the standard library's address parser
decides) and the domain a DNS host name with a top-level domain of letters (international names through
IDNA), which is what a shop can send mail to.
"""
from __future__ import annotations

import re
from email.errors import HeaderParseError
from email.headerregistry import Address
from typing import Optional

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TOP_LEVEL = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")


def _host(domain: str) -> Optional[str]:
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or len(ascii_domain) > 253 or not _TOP_LEVEL.fullmatch(labels[-1]):
        return None
    return ascii_domain if all(_LABEL.fullmatch(label) for label in labels) else None


def parse_email(text: str) -> Optional[str]:
    """``text`` as one plain address (``local@host.tld``, domain in lower case), or None if it is not one."""
    text = (text or "").strip()
    if not 3 <= len(text) <= 254 or text.count("@") != 1 or text.startswith('"'):
        return None
    local, domain = text.split("@")
    try:
        parsed = Address(addr_spec=text)
    except (HeaderParseError, ValueError, IndexError):  # the parser's defects are ValueErrors
        return None
    if parsed.username != local or len(local) > 64 or not local.isascii():
        return None
    return f"{local}@{domain.lower()}" if _host(domain) else None
