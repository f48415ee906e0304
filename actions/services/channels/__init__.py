"""Conversations on WhatsApp, Messenger, Instagram and Telegram: who they are there, what their webhooks
brought, and the sending of what the bot and the shop's people say back (issue 19)."""
