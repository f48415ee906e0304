"""WhatsApp Cloud API: messages to a customer's WhatsApp number, their photos, the read receipt.

Buttons go the richest way that fits: up to 3 short ones as reply buttons, up to 10 as a list, and
otherwise as a numbered list in the text (the customer types the number). Limits are the Cloud API's own
(developers.facebook.com/docs/whatsapp/cloud-api/messages/interactive-reply-buttons-messages and
.../interactive-list-messages): past them Meta refuses the whole message.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bot.channels.outgoing import Button, CheckResult, Delivery, Media, MediaError, Outgoing, shortened
from bot.channels.provider_http import PROMPT, Answer, GraphClient, cut, fit_numbered

logger = logging.getLogger(__name__)
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
BUTTON_BODY_LIMIT = 1024  # body of a reply-buttons message
LIST_BODY_LIMIT = 4096  # body of a list message
TEMPLATE_TEXT_LIMIT = 900  # a template's body, its own words and the parameter together, is at most 1024
WINDOW_CLOSED = 131047  # "Re-engagement message": more than 24 hours since the customer wrote
_LINK = re.compile(r"https?://")


def _unique(buttons: Sequence[Button]) -> bool:
    # Meta refuses reply buttons or list rows with the same id or title twice.
    return len({b.payload for b in buttons}) == len(buttons) == len({b.title for b in buttons})


def _fits(buttons: Sequence[Button], count: Tuple[int, int], title: int, payload: int) -> bool:
    return (
        count[0] <= len(buttons) <= count[1]
        and _unique(buttons)
        and all(0 < len(b.title) <= title and 0 < len(b.payload) <= payload for b in buttons)
    )


def interactive(text: str, buttons: Sequence[Button]) -> Optional[Dict[str, Any]]:
    """The reply-buttons or list message for these buttons, or None when neither fits. Titles too long for
    reply buttons (20) go in a list (24); longer ones are cut there, the whole title under it (72)."""
    body = text or PROMPT
    if _fits(buttons, (1, 3), 20, 256) and len(body) <= BUTTON_BODY_LIMIT:
        return {
            "type": "button",
            "body": {"text": body},
            "action": {
                "buttons": [{"type": "reply", "reply": {"id": b.payload, "title": b.title}} for b in buttons]
            },
        }
    rows = shortened(buttons, 24) if all(len(b.title) <= 72 for b in buttons) else None
    if rows is not None and _fits(rows, (1, 10), 24, 200) and len(body) <= LIST_BODY_LIMIT:
        return {
            "type": "list",
            "body": {"text": body},
            "action": {
                "button": "Choose",
                "sections": [
                    {"rows": [_row(short, whole) for short, whole in zip(rows, buttons, strict=True)]}
                ],
            },
        }
    return None


def _row(short: Button, whole: Button) -> Dict[str, Any]:
    row: Dict[str, Any] = {"id": short.payload, "title": short.title}
    if short.title != whole.title:
        row["description"] = whole.title
    return row


class WhatsAppClient(GraphClient):
    channel = "whatsapp"
    label = "WhatsApp"
    window = dt.timedelta(hours=24)

    @property
    def token(self) -> str:  # type: ignore[override]
        return self.settings.whatsapp_token

    def window_closed(self, code: Any, subcode: Any) -> bool:
        return code == WINDOW_CLOSED

    def message_id(self, answer: Answer) -> str:
        # {"messaging_product": "whatsapp", "contacts": [...], "messages": [{"id": "wamid.…"}]}
        messages = answer.data.get("messages") if isinstance(answer.data, dict) else None
        first = messages[0] if isinstance(messages, list) and messages else None
        return str(first.get("id") or "")[:200] if isinstance(first, dict) else ""

    def _message(self, address: str, kind: str, content: Dict[str, Any]) -> Dict[str, Any]:
        return {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": address,
            "type": kind,
            kind: content,
        }

    def _text(self, address: str, text: str) -> Dict[str, Any]:
        return self._message(
            address, "text", {"body": cut(text, TEXT_LIMIT), "preview_url": bool(_LINK.search(text))}
        )

    def bodies(self, address: str, message: Outgoing) -> Tuple[List[Dict[str, Any]], bool]:
        """The requests that make up ``message``, and whether its buttons became a numbered list."""
        bodies: List[Dict[str, Any]] = []
        text, numbered = message.text, False
        if message.template:
            return [self._template(address, message)], False
        if message.image:
            # A caption carries the text only when there are no buttons (an image message has none).
            caption = text if not message.buttons and len(text) <= CAPTION_LIMIT else ""
            image: Dict[str, Any] = {"link": message.image}
            if caption:
                image["caption"] = caption
            bodies.append(self._message(address, "image", image))
            if caption:
                return bodies, False
        if message.buttons:
            native = interactive(text, message.buttons)
            if native is not None:
                bodies.append(self._message(address, "interactive", native))
                return bodies, False
            text, numbered = fit_numbered(text, message.buttons, TEXT_LIMIT), True
        if text:
            bodies.append(self._text(address, text))
        return bodies, numbered

    def _template(self, address: str, message: Outgoing) -> Dict[str, Any]:
        """A person's reply after the 24 hours, as the shop's approved template: the reply is its one
        parameter ({{1}}), on one line (WhatsApp refuses line breaks, tabs and runs of spaces there)."""
        words = cut(" ".join(message.text.split()), TEMPLATE_TEXT_LIMIT)
        return self._message(address, "template", {
            "name": message.template,
            "language": {"code": self.settings.whatsapp_template_language},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": words}]}],
        })

    async def send(self, address: str, message: Outgoing, skip: int = 0) -> Delivery:
        bodies, numbered = self.bodies(address, message)
        if not bodies:
            return Delivery(False, "nothing to send: the message has no text, buttons or image")
        url = self.graph(f"{self.settings.whatsapp_phone_number_id}/messages")
        return await self.post_all(address, [(url, body) for body in bodies], self.auth, numbered, skip)

    async def fetch_media(self, ref: str) -> Media:
        # A media id first gives a short-lived URL, which itself wants the token.
        answer = await self.call("GET", self.graph(ref), headers=self.auth)
        url = answer.data.get("url") if answer.ok and isinstance(answer.data, dict) else None
        if not isinstance(url, str) or not url:
            raise MediaError(
                self.unreachable(answer).detail if not answer.ok else "WhatsApp gave no media URL"
            )
        media = await self.download(url, self.auth)
        mime = answer.data.get("mime_type")
        return Media(media.data, mime) if isinstance(mime, str) and mime else media

    async def acknowledge(self, ref: str) -> None:
        # Shows the customer's message as read (blue ticks); if it fails nothing is lost.
        await self._read(ref, typing=False)

    async def typing(self, address: str, ref: str) -> None:
        # One call: read, and "typing…" until the answer arrives (or 25 seconds pass).
        await self._read(ref, typing=True)

    async def _read(self, ref: str, typing: bool) -> None:
        if not ref:
            return
        body: Dict[str, Any] = {"messaging_product": "whatsapp", "status": "read", "message_id": ref}
        if typing:
            body["typing_indicator"] = {"type": "text"}
        answer = await self.call(
            "POST",
            self.graph(f"{self.settings.whatsapp_phone_number_id}/messages"),
            body=body,
            headers=self.auth,
        )
        if not answer.ok:
            logger.debug("whatsapp read receipt not taken: HTTP %s %s", answer.status, answer.problem)

    async def check(self) -> CheckResult:
        data, answer = await self.get_json(
            self.settings.whatsapp_phone_number_id, "display_phone_number,verified_name"
        )
        if data is None:
            return self.unreachable(answer)
        return CheckResult(
            True,
            f"WhatsApp number {data.get('display_phone_number') or '?'}"
            f" ({data.get('verified_name') or 'no verified name'})",
        )
