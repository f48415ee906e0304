"""``python -m bot channels check`` and ``channels telegram-webhook URL``: connecting the messaging channels.

``check`` prints, for WhatsApp, Messenger, Instagram and Telegram, which settings are set (never their
values), whether the provider answers with them, and the webhook address to give the provider. Its exit
status is 1 when a channel that is on cannot reach its provider, so a deployment script can stop there.
``telegram-webhook`` registers the webhook with Telegram together with TELEGRAM_SECRET_TOKEN, which Telegram
then sends back on every update (the proof the webhook checks).
"""
from __future__ import annotations

import argparse
import asyncio
from typing import Any, List

from bot.channels.channel_settings import CHANNELS
from bot.cli.configuration import fail, read_settings

WEBHOOK_PATH = "/webhooks/{channel}/webhook"


def add_commands(commands: Any) -> None:
    group = commands.add_parser("channels", help="WhatsApp, Messenger, Instagram and Telegram")
    actions = group.add_subparsers(dest="channels_command", required=True)
    check = actions.add_parser("check", help="what is set for each channel and whether its provider answers")
    check.set_defaults(func=check_channels)
    hook = actions.add_parser("telegram-webhook", help="point Telegram at this server's webhook")
    hook.add_argument("url", help="the public https address of this server, e.g. https://chat.myshop.example")
    hook.set_defaults(func=register_telegram_webhook)


def check_channels(args: argparse.Namespace) -> None:
    raise SystemExit(asyncio.run(_check()))


async def _check() -> int:
    from actions.services.channels.conversations import HUMAN_AGENT_CHANNELS, LABELS
    from bot.channels.providers import CLIENTS

    settings = read_settings()
    channels = settings.channels
    base = settings.public_url or "https://<this server's public address>"
    unreachable = 0
    for name in CHANNELS:
        needed = channels.needs()[name]
        missing = [variable for variable, value in needed if not value]
        print(f"{LABELS[name]}:")
        print("  settings: " + ", ".join(f"{variable} {'missing' if not value else 'set'}"
                                         for variable, value in needed))
        if missing:
            print("  off (set the missing settings to connect it)")
            continue
        client = CLIENTS[name](channels)
        try:
            result = await client.check()
        finally:
            await client.close()
        unreachable += not result.reachable
        print(f"  {'reachable' if result.reachable else 'NOT reachable'}: {result.detail}")
        for warning in result.warnings:
            print(f"  warning: {warning}")
        print(f"  webhook: {base}{WEBHOOK_PATH.format(channel=name)}")
        if name == "whatsapp":
            template = channels.whatsapp_reply_template
            print("  a person's reply: " + (f'after 24 hours as the template "{template}" '
                                            f"({channels.whatsapp_template_language})" if template else
                                            "up to 24 hours after the customer's last message (set "
                                            "WHATSAPP_REPLY_TEMPLATE to an approved template for later)"))
        if name in HUMAN_AGENT_CHANNELS:
            print("  a person's reply: " + ("up to 7 days after the customer's last message, tagged "
                                            "HUMAN_AGENT (META_HUMAN_AGENT)" if channels.meta_human_agent else
                                            "up to 24 hours after the customer's last message (with Meta's "
                                            "Human Agent permission, set META_HUMAN_AGENT=true for 7 days)"))
    return 1 if unreachable else 0


def register_telegram_webhook(args: argparse.Namespace) -> None:
    from bot.channels.telegram_api import TelegramClient

    settings = read_settings().channels
    if "telegram" not in settings.enabled:
        raise fail("Telegram is off: set TELEGRAM_BOT_TOKEN (from BotFather) and TELEGRAM_SECRET_TOKEN first")
    url: str = args.url.rstrip("/")
    if not url.startswith("https://"):
        raise fail("Telegram sends webhooks only to https:// addresses")

    async def register() -> List[Any]:
        client = TelegramClient(settings)
        try:
            return list(await client.set_webhook(url + WEBHOOK_PATH.format(channel="telegram"),
                                                 settings.telegram_secret_token))
        finally:
            await client.close()

    ok, description = asyncio.run(register())
    if not ok:
        raise fail(f"Telegram refused the webhook: {description}")
    hook = url + WEBHOOK_PATH.format(channel="telegram")
    print(f"Telegram sends this bot's messages to {hook} ({description})")
