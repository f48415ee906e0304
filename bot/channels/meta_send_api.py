"""Messenger and Instagram: Meta's Send API (POST /me/messages with the page's token).

Both take text, an image attachment and quick replies (up to 13, titles of up to 20 characters); past
that the buttons go as a numbered list. Instagram allows half Messenger's text. Both mark the customer's
message seen (``mark_seen``) and show "typing…" (``typing_on``) while the bot answers.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, ClassVar, Dict, List, Tuple

from bot.channels.outgoing import CheckResult, Delivery, Media, Outgoing, shortened
from bot.channels.provider_http import PROMPT, GraphClient, cut, fit_numbered

logger = logging.getLogger(__name__)
QUICK_REPLIES = 13
QUICK_REPLY_TITLE = 20
QUICK_REPLY_PAYLOAD = 1000
OUTSIDE_WINDOW = (10, 2018278)  # code, subcode: "This message is sent outside of allowed window"


class SendApiClient(GraphClient):
    window = dt.timedelta(hours=24)
    text_limit: ClassVar[int]
    checked_as: ClassVar[str]  # what check() calls the page: "Facebook page"

    def window_closed(self, code: Any, subcode: Any) -> bool:
        # Code 551 ("This person isn't available right now") is refused for good, but no window is closed.
        return (code, subcode) == OUTSIDE_WINDOW

    def bodies(self, address: str, message: Outgoing) -> Tuple[List[Dict[str, Any]], bool]:
        """The requests that make up ``message``, and whether its buttons became a numbered list."""
        bodies: List[Dict[str, Any]] = []
        # An answer within the 24 hours; a person's reply after them carries its tag (HUMAN_AGENT).
        kind = {"messaging_type": "MESSAGE_TAG", "tag": message.tag} if message.tag else {
            "messaging_type": "RESPONSE"}

        def _body(address: str, content: Dict[str, Any]) -> Dict[str, Any]:
            return {"recipient": {"id": address}, **kind, "message": content}

        if message.image:
            bodies.append(
                _body(
                    address,
                    {"attachment": {"type": "image", "payload": {"url": message.image, "is_reusable": True}}},
                )
            )
        buttons = shortened(message.buttons, QUICK_REPLY_TITLE) or message.buttons  # "Returns & refunds po…"
        native = len(buttons) <= QUICK_REPLIES and all(
            0 < len(b.title) <= QUICK_REPLY_TITLE and 0 < len(b.payload) <= QUICK_REPLY_PAYLOAD
            for b in buttons
        )
        if buttons and native:
            bodies.append(
                _body(
                    address,
                    {
                        "text": cut(message.text or PROMPT, self.text_limit),
                        "quick_replies": [
                            {"content_type": "text", "title": b.title, "payload": b.payload} for b in buttons
                        ],
                    },
                )
            )
        elif buttons:
            bodies.append(_body(address, {"text": fit_numbered(message.text, buttons, self.text_limit)}))
        elif message.text:
            bodies.append(_body(address, {"text": cut(message.text, self.text_limit)}))
        return bodies, bool(buttons) and not native

    async def send(self, address: str, message: Outgoing, skip: int = 0) -> Delivery:
        bodies, numbered = self.bodies(address, message)
        if not bodies:
            return Delivery(False, "nothing to send: the message has no text, buttons or image")
        url = self.graph("me/messages")
        return await self.post_all(address, [(url, body) for body in bodies], self.auth, numbered, skip)

    async def acknowledge(self, ref: str) -> None:
        # ``ref`` is the customer's page-scoped id: the whole conversation is marked seen.
        await self._sender_action(ref, "mark_seen")

    async def typing(self, address: str, ref: str) -> None:
        await self.acknowledge(ref)  # one action a request
        await self._sender_action(address, "typing_on")  # off by itself when the answer arrives

    async def _sender_action(self, recipient: str, action: str) -> None:
        if not recipient:
            return
        answer = await self.call(
            "POST",
            self.graph("me/messages"),
            headers=self.auth,
            body={"recipient": {"id": recipient}, "sender_action": action},
        )
        if not answer.ok:
            logger.debug("%s %s not taken: HTTP %s %s", self.channel, action, answer.status, answer.problem)

    async def fetch_media(self, ref: str) -> Media:
        # The attachment URL in the webhook is a signed CDN address: it needs (and gets) no token.
        return await self.download(ref)

    async def check(self) -> CheckResult:
        data, answer = await self.get_json("me", "id,name")
        if data is None:
            return self.unreachable(answer)
        return CheckResult(True, f"{self.checked_as} {data.get('name') or data.get('id') or '?'}")


class MessengerClient(SendApiClient):
    channel = "messenger"
    label = "Messenger"
    text_limit = 2000
    checked_as = "Facebook page"

    @property
    def token(self) -> str:  # type: ignore[override]
        return self.settings.messenger_page_token


class InstagramClient(SendApiClient):
    channel = "instagram"
    label = "Instagram"
    text_limit = 1000
    checked_as = "Instagram via page"

    @property
    def token(self) -> str:  # type: ignore[override]
        return self.settings.instagram_token
