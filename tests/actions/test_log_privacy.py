"""Contact details are masked in every log line, whatever logged it; ordinary lines are left alone."""
from __future__ import annotations

import io
import logging
import time
from typing import Iterator, Tuple

import pytest

from actions.services.log_privacy import (
    ContactMaskingFilter,
    install_contact_masking,
    mask_contacts,
    parse_log_level,
)


@pytest.fixture
def log() -> Iterator[Tuple[logging.Logger, io.StringIO]]:
    """A logger writing to a string through a handler with the filter, as the servers' root handlers."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    install_contact_masking([handler])
    logger = logging.getLogger("tests.log_privacy")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, out
    logger.removeHandler(handler)


@pytest.mark.parametrize("text, expected", [
    ("where is my order KC-10003? my email is jo.baker@example.com",
     "where is my order KC-10003? my email is j***@example.com"),
    ("JO.Baker+shop@mail.example.co.uk", "J***@mail.example.co.uk"),
    ("/console/conversations?q=jo.baker%40example.com", "/console/conversations?q=j***%40example.com"),
    ("my phone is 07700 900123", "my phone is <phone>"),
    ("call me on +44 7700 900123 please", "call me on <phone> please"),
    ("+44 (0)7700-900-123", "<phone>"),
    ("(555) 123-4567 or 07700900123", "<phone> or <phone>"),
    ("SlotSet(key: order_contact, value: 07700 900123)", "SlotSet(key: order_contact, value: <phone>)"),
])
def test_emails_and_phone_numbers_are_masked(text, expected):
    assert mask_contacts(text) == expected
    assert mask_contacts(expected) == expected  # masking twice (two handlers) changes nothing more


@pytest.mark.parametrize("text", [
    "Order KC-10003 is on its way",
    "Model 20261202-164512-brave-fish loaded; serving on http://127.0.0.1:53811/",
    "2026-12-02 16:47:46 INFO Starting worker [20196]",
    "from 2026-12-01 to 2026-12-31, 1234 messages",
    "confidence 0.7242026329040527 for intent order_status",
    "conversation 3f2a9c0e8d7b4a3e9f0e1d2c3b4a5968 at 0x7f6cb822f6a0",
    "uuid 123e4567-e89b-12d3-a456-426614174000",
    "Refused a request from origin http://evil.example to GET /widget/config",
    "Action action_help failed in conversation walker-42; the customer got an apology",
])
def test_ordinary_text_is_left_alone(text):
    assert mask_contacts(text) == text


def test_the_filter_masks_the_message_and_its_arguments(log):
    logger, out = log
    logger.info("Contact for %s is %s", "KC-10003", "jo.baker@example.com")
    logger.debug("slot_values=\n\torder_contact: 07700 900123\n\torder_id: KC-10003")
    text = out.getvalue()
    assert "INFO Contact for KC-10003 is j***@example.com" in text
    assert "order_contact: <phone>\n\torder_id: KC-10003" in text
    assert "jo.baker" not in text and "900123" not in text


def test_the_filter_masks_exception_text(log):
    logger, out = log
    try:
        raise ValueError("no order for jo.baker@example.com / 07700 900123")
    except ValueError:
        logger.exception("Checking order KC-10003 failed")
    text = out.getvalue()
    assert "Checking order KC-10003 failed" in text and "Traceback" in text
    assert "ValueError: no order for j***@example.com / <phone>" in text
    assert "jo.baker" not in text and "900123" not in text


def test_the_filter_is_installed_once_and_drops_nothing():
    handler = logging.NullHandler()
    install_contact_masking([handler])
    install_contact_masking([handler])
    assert sum(isinstance(f, ContactMaskingFilter) for f in handler.filters) == 1
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "plain %s", ("text",), None)
    assert ContactMaskingFilter().filter(record) and record.getMessage() == "plain text"


def test_masking_is_cheap_even_for_long_adversarial_text():
    lines = ["x" * 100_000 + "@", "1 " * 50_000, "a.b-c+" * 20_000 + "@example"]
    started = time.perf_counter()
    for line in lines:
        mask_contacts(line)
    assert time.perf_counter() - started < 0.5


def test_log_level_defaults_to_info_and_refuses_unknown_names():
    assert parse_log_level(None) == parse_log_level("") == logging.INFO
    assert parse_log_level(" debug ") == logging.DEBUG
    with pytest.raises(ValueError, match="LOG_LEVEL='chatty' must be one of DEBUG, INFO, WARNING, ERROR"):
        parse_log_level("chatty")
