"""Each messaging channel's API client, by channel name."""
from __future__ import annotations

from typing import Dict, Iterable, Type

from bot.channels.channel_settings import ChannelSettings
from bot.channels.meta_send_api import InstagramClient, MessengerClient
from bot.channels.outgoing import ChannelClient
from bot.channels.telegram_api import TelegramClient
from bot.channels.whatsapp_api import WhatsAppClient

CLIENTS: Dict[str, Type[ChannelClient]] = {
    "whatsapp": WhatsAppClient, "messenger": MessengerClient, "instagram": InstagramClient,
    "telegram": TelegramClient,
}


def clients_for(settings: ChannelSettings, channels: Iterable[str]) -> Dict[str, ChannelClient]:
    return {name: CLIENTS[name](settings) for name in channels}
