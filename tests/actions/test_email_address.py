"""Issue 13: a ticket email ``<svg/onload=alert(1)>@x.yz`` was accepted and repeated back. Addresses are
read with a parser: an RFC 5322 dot-atom before the @, a DNS host name with a real top-level domain after."""
from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import valid_email
from actions.services.email_address import parse_email


@pytest.mark.parametrize("typed, read", [
    ("jo.baker@example.com", "jo.baker@example.com"),
    ("  Jo.Baker@Example.COM ", "Jo.Baker@example.com"),  # the domain is case-blind, the local part not
    ("o'neil+shop@mail.example.co.uk", "o'neil+shop@mail.example.co.uk"),
    ("kunde@bäckerei.de", "kunde@bäckerei.de"),
    ("a@b.io", "a@b.io"),
])
def test_ordinary_addresses_are_read(typed, read):
    assert parse_email(typed) == read


@pytest.mark.parametrize("typed", [
    "<svg/onload=alert(1)>@x.yz", "<script>@example.com", "jo@example.com<img src=x>", '"jo"@example.com',
    "jo baker@example.com", "jo@example", "jo@@example.com", "jo@exa_mple.com", "jo@-example.com",
    "jo@example.c0m", "jo@ex..com", ".jo@example.com", "jo.@example.com", "jo@[127.0.0.1]", "jo@example.com.",
    "", "@", "jo", "x" * 65 + "@example.com", "jø@example.com",
])
def test_anything_else_is_not_an_address(typed):
    assert parse_email(typed) is None


def test_the_ticket_form_refuses_markup_and_says_how_an_address_looks():
    dispatcher = CollectingDispatcher()
    assert valid_email("<svg/onload=alert(1)>@x.yz", dispatcher) is None
    # and the way out, which the form's rule for "never mind" takes
    assert dispatcher.messages[0]["text"] == (
        "That doesn't look like an email address; please type it like name@example.com, or say "
        "\"never mind\" to leave it.")
