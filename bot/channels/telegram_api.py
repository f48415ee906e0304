"""Telegram Bot API: messages to a chat, the customer's photos, a tapped button's answer, the webhook.

Buttons are an inline keyboard, one button a row, while every payload fits Telegram's 64 bytes of
``callback_data``; otherwise they go as a numbered list. The token is part of every URL
(``/bot<token>/method``), so nothing this module says may quote a URL unscrubbed.
"""

from __future__ import annotations

import logging
import mimetypes
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bot.channels.outgoing import Button, CheckResult, Delivery, Media, MediaError, Outgoing
from bot.channels.provider_http import (
    ERROR_CHARS,
    MAX_MEDIA_BYTES,
    PROMPT,
    Answer,
    ProviderClient,
    cut,
    fit_numbered,
    size,
)

logger = logging.getLogger(__name__)
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_BYTES = 64
ALLOWED_UPDATES = ["message", "callback_query"]


def keyboard(buttons: Sequence[Button]) -> Optional[Dict[str, Any]]:
    """An inline keyboard, one button a row, or None when a payload is too long for ``callback_data``."""
    if not buttons or any(not 0 < len(b.payload.encode("utf-8")) <= CALLBACK_DATA_BYTES for b in buttons):
        return None
    keys = [{"text": b.title, "callback_data": b.payload} for b in buttons]
    # Short choices (a 0-10 scale, 1-5 stars) side by side, six a row; the rest one a row, readable.
    width = 6 if all(len(b.title) <= 3 for b in buttons) else 1
    return {"inline_keyboard": [keys[start : start + width] for start in range(0, len(keys), width)]}


class TelegramClient(ProviderClient):
    channel = "telegram"
    label = "Telegram"
    window = None

    def secrets(self) -> Tuple[str, ...]:
        return (self.settings.telegram_bot_token,)

    def method(self, name: str) -> str:
        return f"{self.settings.telegram_api_url.rstrip('/')}/bot{self.settings.telegram_bot_token}/{name}"

    def reason(self, data: Any) -> str:
        return str(data.get("description") or "") if isinstance(data, dict) else ""

    def special(self, answer: Answer, reason: str) -> Optional[Delivery]:
        if answer.status == 429:  # Telegram says how long to wait in the body, not in a header
            parameters = answer.data.get("parameters") if isinstance(answer.data, dict) else None
            wait = parameters.get("retry_after") if isinstance(parameters, dict) else None
            return Delivery(
                False,
                f"Telegram rate limit: {reason}",
                retry=True,
                retry_after=float(wait) if isinstance(wait, (int, float)) else answer.retry_after,
            )
        return None

    def delivery(self, answer: Answer, address: str) -> Delivery:
        # Telegram's answer is {"ok": false, ...} whatever the status; a 2xx without "ok" is not sent.
        if answer.ok and not (isinstance(answer.data, dict) and answer.data.get("ok") is True):
            reason = cut(self.scrub(self.reason(answer.data) or "no ok in the answer", address), ERROR_CHARS)
            return Delivery(False, f"Telegram refused the message: {reason}")
        return super().delivery(answer, address)

    def bodies(self, address: str, message: Outgoing) -> Tuple[List[Tuple[str, Dict[str, Any]]], bool]:
        """The (method, body) calls that make up ``message``, and whether its buttons became numbered."""
        markup = keyboard(message.buttons)
        numbered = bool(message.buttons) and markup is None
        text = (
            fit_numbered(message.text, message.buttons, TEXT_LIMIT, utf16=True) if numbered else message.text
        )
        calls: List[Tuple[str, Dict[str, Any]]] = []
        if message.image:
            photo: Dict[str, Any] = {"chat_id": address, "photo": message.image}
            if size(text, utf16=True) <= CAPTION_LIMIT:  # the text and its keyboard go with the photo
                if text:
                    photo["caption"] = text
                if markup:
                    photo["reply_markup"] = markup
                return [("sendPhoto", photo)], numbered
            calls.append(("sendPhoto", photo))
        if text or markup:
            body: Dict[str, Any] = {"chat_id": address, "text": cut(text or PROMPT, TEXT_LIMIT, utf16=True)}
            if markup:
                body["reply_markup"] = markup
            calls.append(("sendMessage", body))
        return calls, numbered

    async def send(self, address: str, message: Outgoing, skip: int = 0) -> Delivery:
        calls, numbered = self.bodies(address, message)
        if not calls:
            return Delivery(False, "nothing to send: the message has no text, buttons or image")
        return await self.post_all(
            address, [(self.method(name), body) for name, body in calls], numbered=numbered, skip=skip
        )

    async def fetch_media(self, ref: str) -> Media:
        answer = await self.call("POST", self.method("getFile"), body={"file_id": ref})
        result = answer.data.get("result") if answer.ok and isinstance(answer.data, dict) else None
        if not isinstance(result, dict) or not result.get("file_path"):
            raise MediaError(
                self.unreachable(answer).detail if not answer.ok else "Telegram gave no file path"
            )
        if int(result.get("file_size") or 0) > MAX_MEDIA_BYTES:
            raise MediaError(f"the photo is larger than {MAX_MEDIA_BYTES // 2**20} MB")
        path = str(result["file_path"])
        base = self.settings.telegram_api_url.rstrip("/")
        media = await self.download(f"{base}/file/bot{self.settings.telegram_bot_token}/{path}")
        if media.content_type == "application/octet-stream":  # what Telegram's file server usually says
            guessed = mimetypes.guess_type(path)[0]
            return Media(media.data, guessed) if guessed else media
        return media

    async def acknowledge(self, ref: str) -> None:
        # Stops the spinner on the button the customer tapped; nothing is lost if it fails.
        if not ref:
            return  # a typed message: nothing to answer
        answer = await self.call("POST", self.method("answerCallbackQuery"), body={"callback_query_id": ref})
        if not answer.ok:
            logger.debug("telegram answerCallbackQuery not taken: HTTP %s %s", answer.status, answer.problem)

    async def typing(self, address: str, ref: str) -> None:
        await self.acknowledge(ref)
        # "typing…" for five seconds, or until the answer arrives
        answer = await self.call(
            "POST", self.method("sendChatAction"), body={"chat_id": address, "action": "typing"}
        )
        if not answer.ok:
            logger.debug("telegram sendChatAction not taken: HTTP %s %s", answer.status, answer.problem)

    async def check(self) -> CheckResult:
        me = await self.call("POST", self.method("getMe"))
        result = me.data.get("result") if me.ok and isinstance(me.data, dict) else None
        if not isinstance(result, dict):
            return self.unreachable(me)
        warnings: List[str] = []
        hook = await self.call("POST", self.method("getWebhookInfo"))
        info = hook.data.get("result") if hook.ok and isinstance(hook.data, dict) else None
        if not isinstance(info, dict):
            warnings.append(f"the webhook could not be read: {self.unreachable(hook).detail}")
        else:
            if not info.get("url"):
                warnings.append("no webhook set: run python -m bot channels telegram-webhook URL")
            if info.get("last_error_message"):
                warnings.append(
                    "Telegram's last delivery to the webhook failed: "
                    + cut(self.scrub(str(info["last_error_message"])), ERROR_CHARS)
                )
            if int(info.get("pending_update_count") or 0) > 0:
                warnings.append(f"{info['pending_update_count']} updates wait to be delivered to the webhook")
        return CheckResult(True, f"Telegram bot @{result.get('username') or '?'}", tuple(warnings))

    async def set_webhook(self, url: str, secret_token: str) -> Tuple[bool, str]:
        """Points Telegram at our webhook; (whether it took it, Telegram's description or why not)."""
        answer = await self.call(
            "POST",
            self.method("setWebhook"),
            body={
                "url": url,
                "secret_token": secret_token,
                "allowed_updates": ALLOWED_UPDATES,
                "drop_pending_updates": False,
            },
        )
        reason = self.scrub(self.reason(answer.data), secret_token)
        if answer.ok and isinstance(answer.data, dict) and answer.data.get("ok") is True:
            return True, reason or "Webhook was set"
        if answer.status == 0:
            return False, f"Telegram did not answer: {answer.problem}"
        return False, reason or f"Telegram answered HTTP {answer.status}"
