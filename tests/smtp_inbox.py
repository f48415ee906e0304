"""A real SMTP server on loopback (aiosmtpd) for tests, and what it received."""
from __future__ import annotations

import email
import socket
from email.message import Message
from typing import List, Tuple

import pytest
from aiosmtpd.controller import Controller

from actions.services.mail import Mailer, SmtpSettings


class Inbox:
    """aiosmtpd handler keeping each message with its envelope recipients."""

    def __init__(self) -> None:
        self.envelopes: List[Tuple[List[str], Message]] = []

    @property
    def messages(self) -> List[Message]:
        return [message for _, message in self.envelopes]

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.envelopes.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_smtp() -> Tuple[Controller, Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller, inbox


def settings_for(controller: Controller) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=controller.port, starttls=False,
                        sender="assistant@kettleandcrumb.example")


@pytest.fixture
def smtp_server():
    controller, inbox = start_smtp()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def smtp(smtp_server):
    """A Mailer that delivers to the loopback server, and that server's inbox."""
    controller, inbox = smtp_server
    return Mailer(settings_for(controller)), inbox
