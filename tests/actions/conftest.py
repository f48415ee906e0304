"""Fixtures shared by the action tests: a migrated SQLite database and an SMTP server on loopback."""
from __future__ import annotations

import email
import socket
from email.message import Message
from typing import List, Tuple

import pytest
from aiosmtpd.controller import Controller

from actions.services.database import create_database_engine
from actions.services.mail import Mailer, SmtpSettings
from actions.services.migrations import migrate


class Inbox:
    """What the loopback SMTP server received: each message with its envelope recipients."""

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


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def smtp(smtp_server):
    """A Mailer that delivers to the loopback server, and that server's inbox."""
    controller, inbox = smtp_server
    return Mailer(SmtpSettings(host="127.0.0.1", port=controller.port, starttls=False)), inbox


@pytest.fixture
def engine(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path}/actions.db")
    migrate(engine)
    yield engine
    engine.dispose()
