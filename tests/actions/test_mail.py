"""Email really goes through an SMTP server on loopback (aiosmtpd), and a dead server is an error."""

from __future__ import annotations

import pytest

from actions.services.mail import Mailer, MailError, SmtpSettings
from tests.smtp_inbox import free_port


def test_a_message_arrives_with_its_headers(smtp_server):
    controller, inbox = smtp_server
    mailer = Mailer(
        SmtpSettings.from_env(
            {
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(controller.port),
                "SMTP_FROM": "bot@kettleandcrumb.example",
                "SMTP_STARTTLS": "0",
            }
        )
    )
    message_id = mailer.send(
        "owner@kettleandcrumb.example",
        "New ticket from a customer",
        "A customer asked for a person at 23:10.\nReply by tomorrow.",
        reply_to="customer@example.com",
    )
    [(recipients, received)] = inbox.envelopes
    assert recipients == ["owner@kettleandcrumb.example"]
    assert received["Subject"] == "New ticket from a customer"
    assert received["From"] == "bot@kettleandcrumb.example" and received["Reply-To"] == "customer@example.com"
    assert received["Message-ID"] == message_id and message_id.endswith("@kettleandcrumb.example>")
    assert "asked for a person at 23:10" in received.get_payload()


def test_no_smtp_host_means_no_mail_and_a_clear_error():
    mailer = Mailer(SmtpSettings.from_env({}))
    assert not mailer.enabled
    with pytest.raises(MailError, match="SMTP_HOST is not set"):
        mailer.send("owner@example.com", "x", "y")


def test_an_unreachable_server_is_an_error_not_silence():
    mailer = Mailer(SmtpSettings(host="127.0.0.1", port=free_port(), starttls=False, timeout=3))
    with pytest.raises(MailError, match="could not send mail to owner@example.com"):
        mailer.send("owner@example.com", "x", "y")
