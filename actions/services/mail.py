"""Email to the shop's owner and to customers, over SMTP with settings from the environment.

SMTP_HOST (unset: no mail is sent, and ``Mailer.enabled`` says so), SMTP_PORT (587), SMTP_USER and
SMTP_PASSWORD (optional), SMTP_FROM (the sender address), SMTP_STARTTLS (on unless "0").
"""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Mapping, Optional


class MailError(RuntimeError):
    """The message could not be handed to the SMTP server."""


@dataclass(frozen=True)
class SmtpSettings:
    host: Optional[str] = None
    port: int = 587
    user: Optional[str] = None
    password: Optional[str] = None
    sender: str = "shop-assistant@localhost"
    starttls: bool = True
    timeout: float = 20

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "SmtpSettings":
        return cls(host=env.get("SMTP_HOST") or None, port=int(env.get("SMTP_PORT") or 587),
                   user=env.get("SMTP_USER") or None, password=env.get("SMTP_PASSWORD") or None,
                   sender=env.get("SMTP_FROM") or cls.sender, starttls=env.get("SMTP_STARTTLS", "1") != "0")


class Mailer:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    @property
    def enabled(self) -> bool:
        return bool(self.settings.host)

    def send(self, to: str, subject: str, body: str, reply_to: Optional[str] = None) -> str:
        """Send a plain-text message; returns its Message-ID. Raises MailError if it was not accepted."""
        if not self.enabled:
            raise MailError("SMTP_HOST is not set, so no email can be sent")
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain=self.settings.sender.rpartition("@")[2] or None)
        if reply_to:
            message["Reply-To"] = reply_to
        message.set_content(body)
        s = self.settings
        try:
            with smtplib.SMTP(s.host or "", s.port, timeout=s.timeout) as smtp:
                if s.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.user and s.password:
                    smtp.login(s.user, s.password)
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            raise MailError(f"could not send mail to {to} via {s.host}:{s.port}: {error}") from error
        return str(message["Message-ID"])
