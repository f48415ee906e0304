"""Customers' contact details stay out of the logs: emails and phone numbers are masked in every line.

Both servers put ``ContactMaskingFilter`` on the root logger's handlers (``install_contact_masking``), so
whatever logger writes a line (ours, Rasa's, Sanic's, a traceback) it reaches the log with
``jo.baker@example.com`` as ``j***@example.com`` and ``07700 900123`` as ``<phone>``. Order numbers stay:
they say nothing about a person by themselves and the owner needs them to follow a problem.

The log level is the second half: at INFO neither server logs what customers type; ``LOG_LEVEL=DEBUG``
brings back Rasa's turn-by-turn detail (message text, slots) for a developer, still masked.
"""
from __future__ import annotations

import logging
import re
from typing import Iterable, Optional

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

# The local part before an @ (or its URL-encoded %40) and a dotted domain after it. A match starts only
# where a run of such characters starts, so a long run without an @ is not tried at every position.
_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*(@|%40)([\w-]+(?:\.[\w-]+)+)")
# 9 to 15 digits with single spaces, dashes or brackets between them, optionally after a + or a (: UK,
# US and international numbers. Not dates (8 digits), times, IP addresses, decimals, ports, process ids,
# or digits that are part of a word, a path, a hex id or a longer number.
_PHONE = re.compile(r"(?<![\w+\-./:])\+?\(?\d(?:[ \-()]{0,2}\d){8,14}(?![\w\-/:]|\.\d)")

EMAIL_PATTERN, PHONE_PATTERN = _EMAIL, _PHONE  # also used to keep contacts out of exported tests


def mask_contacts(text: str) -> str:
    """``text`` with every email as ``j***@example.com`` and every phone number as ``<phone>``."""
    if "@" in text or "%40" in text:
        text = _EMAIL.sub(r"\1***\2\3", text)
    return _PHONE.sub("<phone>", text)


class ContactMaskingFilter(logging.Filter):
    """Masks the final message of every record, its traceback and stack; never drops a record."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = mask_contacts(record.getMessage()), None
        if record.exc_info and not record.exc_text:  # the handler's Formatter then uses this text
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_contacts(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_contacts(record.stack_info)
        return True


def install_contact_masking(handlers: Optional[Iterable[logging.Handler]] = None) -> None:
    """Put the filter on ``handlers`` (default: the root logger's) unless it is there already."""
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        if not any(isinstance(f, ContactMaskingFilter) for f in handler.filters):
            handler.addFilter(ContactMaskingFilter())


def parse_log_level(raw: Optional[str]) -> int:
    """``LOG_LEVEL`` as a number: unset or empty is INFO; ValueError names the accepted levels."""
    name = (raw or "INFO").strip().upper()
    if name not in LOG_LEVELS:
        raise ValueError(f"LOG_LEVEL={raw!r} must be one of {', '.join(LOG_LEVELS)}")
    return logging.getLevelName(name)
