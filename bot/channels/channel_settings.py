"""Settings of the messaging channels (WhatsApp, Messenger, Instagram, Telegram), from environment variables.

A channel is on when its settings are set, and only then has a webhook. Half a channel is an error that
names what is missing: a token without the secret that proves the webhooks come from the provider would
let anyone write as any customer. The base URLs point the real HTTP clients at the providers; tests point
them at fake providers on loopback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Mapping, Tuple

from actions.services.channels.conversations import LABELS, YES, LateReplies

META_GRAPH_URL = "https://graph.facebook.com/v21.0"
TELEGRAM_API_URL = "https://api.telegram.org"
CHANNELS = ("whatsapp", "messenger", "instagram", "telegram")
# Telegram's rule for the secret token of setWebhook: 1-256 characters A-Z, a-z, 0-9, _ and -.
_TELEGRAM_SECRET = re.compile(r"[A-Za-z0-9_-]{16,256}")
_TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")  # WhatsApp's rule for a template's name
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")


class ChannelSettingsError(ValueError):
    """A channel is half set up; the message names the variable."""


def _yes_or_no(name: str, text: str) -> bool:
    if text.lower() in ("", "0", "false", "no", "off"):
        return False
    if text.lower() in YES:
        return True
    raise ChannelSettingsError(f"{name}={text!r} must be true or false")


@dataclass(frozen=True)
class ChannelSettings:
    meta_app_secret: str = ""  # META_APP_SECRET: signs every Meta webhook (X-Hub-Signature-256)
    meta_verify_token: str = ""  # META_VERIFY_TOKEN: the word Meta's GET handshake must bring
    meta_graph_url: str = META_GRAPH_URL
    whatsapp_token: str = ""  # WHATSAPP_TOKEN: a system user's permanent token
    whatsapp_phone_number_id: str = ""
    messenger_page_token: str = ""  # MESSENGER_PAGE_TOKEN: the Facebook page's access token
    instagram_token: str = ""  # INSTAGRAM_TOKEN: the token of the page the Instagram account is linked to
    telegram_bot_token: str = ""  # TELEGRAM_BOT_TOKEN: from BotFather
    telegram_secret_token: str = ""  # TELEGRAM_SECRET_TOKEN: given to setWebhook, sent back on every update
    telegram_api_url: str = TELEGRAM_API_URL
    # META_HUMAN_AGENT: Meta gave the app the Human Agent permission, so a person's reply may go on Messenger
    # and Instagram up to 7 days after the customer's last message (tagged HUMAN_AGENT), not only 24 hours
    meta_human_agent: bool = False
    # WHATSAPP_REPLY_TEMPLATE: an approved template ({{1}}: the reply) a person's reply goes as after the 24
    # hours; WHATSAPP_TEMPLATE_LANGUAGE: its language code, as approved ("en", "en_GB")
    whatsapp_reply_template: str = ""
    whatsapp_template_language: str = "en"

    @property
    def late_replies(self) -> LateReplies:
        """How a person's reply may still go after a platform's 24 hours."""
        return LateReplies(self.meta_human_agent, self.whatsapp_reply_template)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "ChannelSettings":
        def value(name: str) -> str:
            return (env.get(name) or "").strip()

        settings = cls(
            meta_app_secret=value("META_APP_SECRET"),
            meta_verify_token=value("META_VERIFY_TOKEN"),
            meta_graph_url=(value("META_GRAPH_URL") or META_GRAPH_URL).rstrip("/"),
            whatsapp_token=value("WHATSAPP_TOKEN"),
            whatsapp_phone_number_id=value("WHATSAPP_PHONE_NUMBER_ID"),
            messenger_page_token=value("MESSENGER_PAGE_TOKEN"),
            instagram_token=value("INSTAGRAM_TOKEN"),
            telegram_bot_token=value("TELEGRAM_BOT_TOKEN"),
            telegram_secret_token=value("TELEGRAM_SECRET_TOKEN"),
            telegram_api_url=(value("TELEGRAM_API_URL") or TELEGRAM_API_URL).rstrip("/"),
            meta_human_agent=_yes_or_no("META_HUMAN_AGENT", value("META_HUMAN_AGENT")),
            whatsapp_reply_template=value("WHATSAPP_REPLY_TEMPLATE"),
            whatsapp_template_language=value("WHATSAPP_TEMPLATE_LANGUAGE") or "en",
        )
        settings.check()
        return settings

    def needs(self) -> Dict[str, Tuple[Tuple[str, str], ...]]:
        """Per channel: (variable, value) of every setting it needs."""
        meta = (("META_APP_SECRET", self.meta_app_secret), ("META_VERIFY_TOKEN", self.meta_verify_token))
        return {
            "whatsapp": (
                ("WHATSAPP_TOKEN", self.whatsapp_token),
                ("WHATSAPP_PHONE_NUMBER_ID", self.whatsapp_phone_number_id),
                *meta,
            ),
            "messenger": (("MESSENGER_PAGE_TOKEN", self.messenger_page_token), *meta),
            "instagram": (("INSTAGRAM_TOKEN", self.instagram_token), *meta),
            "telegram": (
                ("TELEGRAM_BOT_TOKEN", self.telegram_bot_token),
                ("TELEGRAM_SECRET_TOKEN", self.telegram_secret_token),
            ),
        }

    # The setting whose presence means "connect this channel": the others are then required.
    _SWITCH = {
        "whatsapp": "WHATSAPP_TOKEN",
        "messenger": "MESSENGER_PAGE_TOKEN",
        "instagram": "INSTAGRAM_TOKEN",
        "telegram": "TELEGRAM_BOT_TOKEN",
    }

    @property
    def enabled(self) -> Tuple[str, ...]:
        return tuple(name for name, needed in self.needs().items() if all(value for _, value in needed))

    def check(self) -> None:
        for channel, needed in self.needs().items():
            values = dict(needed)
            if not values[self._SWITCH[channel]]:
                continue
            missing = [name for name, value in needed if not value]
            if missing:
                verb = "is" if len(missing) == 1 else "are"
                raise ChannelSettingsError(
                    f"{self._SWITCH[channel]} is set but {', '.join(missing)} {verb} not: {LABELS[channel]} "
                    "stays off until it is, so that no unverified webhook is accepted"
                )
        if self.telegram_secret_token and not _TELEGRAM_SECRET.fullmatch(self.telegram_secret_token):
            raise ChannelSettingsError(
                "TELEGRAM_SECRET_TOKEN must be 16-256 letters, digits, _ or - "
                "(Telegram's rule; at least 16 so it cannot be guessed)"
            )
        if self.whatsapp_reply_template and not _TEMPLATE_NAME.fullmatch(self.whatsapp_reply_template):
            raise ChannelSettingsError(
                "WHATSAPP_REPLY_TEMPLATE must be a template's name as WhatsApp Manager shows it: lower-case "
                "letters, digits and _"
            )
        if not _LANGUAGE.fullmatch(self.whatsapp_template_language):
            raise ChannelSettingsError(
                "WHATSAPP_TEMPLATE_LANGUAGE must be a language code such as en or en_GB"
            )
        for name, url in (
            ("META_GRAPH_URL", self.meta_graph_url),
            ("TELEGRAM_API_URL", self.telegram_api_url),
        ):
            if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
                raise ChannelSettingsError(
                    f"{name}={url!r} must be an https:// address (http only on loopback)"
                )
