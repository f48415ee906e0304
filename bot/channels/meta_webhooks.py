"""Meta's webhooks (WhatsApp Cloud API, Messenger, Instagram): the proof they come from Meta, and the customer
messages in them.

Meta signs the raw body of every POST with the app secret (``X-Hub-Signature-256: sha256=<hex HMAC-SHA256>``);
the signature is compared in constant time and anything unsigned or signed wrongly is refused before its
body is even parsed. Rasa's Facebook channel checked only the old SHA-1 header with ``==`` and read only the
first event of a batch; here every entry, change and messaging event is read. Subscribing a webhook starts
with Meta's GET handshake, answered only when it brings our verify token.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from typing import Any, Dict, List, Mapping, Optional, Tuple

from actions.services.channels.inbox import Inbound
from bot.channels.webhook_json import as_dict, as_list, moment

SIGNATURE_HEADER = "X-Hub-Signature-256"
# What a WhatsApp message of a kind the bot cannot read is called in its answer ("I can't open a voice
# message here").
_OTHER_KINDS = {
    "audio": "a voice message",
    "voice": "a voice message",
    "video": "a video",
    "sticker": "a sticker",
    "document": "a document",
    "location": "a location",
    "contacts": "a contact card",
    "file": "a file",
    "reaction": "",
    "unsupported": "a message",
    "fallback": "a message",
    "share": "a link",
}


def signature_valid(app_secret: str, body: bytes, header: Optional[str]) -> bool:
    if not header or not header.startswith("sha256=") or not app_secret:
        return False
    expected = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256=") :].strip().lower())


def handshake(args: Mapping[str, Any], verify_token: str) -> Optional[str]:
    """The challenge to echo when Meta's subscription handshake brings our verify token; None otherwise."""

    def first(name: str) -> str:
        value = args.get(name)
        return str(value[0] if isinstance(value, list) else value or "")

    if first("hub.mode") != "subscribe" or not verify_token:
        return None
    if not hmac.compare_digest(first("hub.verify_token").encode(), verify_token.encode()):
        return None
    challenge = first("hub.challenge")
    return challenge if challenge and len(challenge) <= 200 and challenge.isprintable() else None


def whatsapp_messages(body: Dict[str, Any], phone_number_id: str) -> List[Inbound]:
    """Every customer message of a WhatsApp webhook sent to our number (statuses and other numbers'
    messages are not the customers' words)."""
    found: List[Inbound] = []
    for entry in as_list(body.get("entry")):
        for change in as_list(as_dict(entry).get("changes")):
            value = as_dict(as_dict(change).get("value"))
            if (
                as_dict(change).get("field") != "messages"
                or str(as_dict(value.get("metadata")).get("phone_number_id") or "") != phone_number_id
            ):
                continue
            names = {
                str(as_dict(c).get("wa_id")): str(as_dict(as_dict(c).get("profile")).get("name") or "")
                for c in as_list(value.get("contacts"))
            }
            for message in map(as_dict, as_list(value.get("messages"))):
                parsed = _whatsapp_message(message, names)
                if parsed is not None:
                    found.append(parsed)
    return found


def _whatsapp_message(message: Dict[str, Any], names: Dict[str, str]) -> Optional[Inbound]:
    sender, message_id, kind = (
        str(message.get("from") or ""),
        str(message.get("id") or ""),
        message.get("type"),
    )
    if not sender or not message_id:
        return None
    common = Inbound(
        message_id,
        sender,
        name=names.get(sender, ""),
        ack=message_id,
        sent_at=moment(message.get("timestamp")),
    )
    if kind == "text":
        return replace(common, text=str(as_dict(message.get("text")).get("body") or ""))
    if kind == "interactive":
        interactive = as_dict(message.get("interactive"))
        reply = as_dict(interactive.get("button_reply") or interactive.get("list_reply"))
        return replace(common, tap=str(reply.get("id") or ""), text=str(reply.get("title") or ""))
    if kind == "button":  # a quick-reply button of a template message
        button = as_dict(message.get("button"))
        return replace(common, tap=str(button.get("payload") or ""), text=str(button.get("text") or ""))
    if kind == "image":
        image = as_dict(message.get("image"))
        return replace(common, photo=str(image.get("id") or ""), text=str(image.get("caption") or ""))
    other = _OTHER_KINDS.get(str(kind), "a message")
    return replace(common, other=other) if other else None  # a reaction needs no answer


def whatsapp_failures(body: Dict[str, Any], phone_number_id: str) -> List[Tuple[str, str]]:
    """(our message's wamid, why) for each message WhatsApp took and then could not deliver: its "failed"
    statuses. Error 131047 is the 24-hour window."""
    found: List[Tuple[str, str]] = []
    for entry in as_list(body.get("entry")):
        for change in as_list(as_dict(entry).get("changes")):
            value = as_dict(as_dict(change).get("value"))
            if str(as_dict(value.get("metadata")).get("phone_number_id") or "") != phone_number_id:
                continue
            for status in map(as_dict, as_list(value.get("statuses"))):
                if status.get("status") != "failed" or not status.get("id"):
                    continue
                error = as_dict((as_list(status.get("errors")) or [{}])[0])
                code = error.get("code")
                words = str(error.get("title") or error.get("message") or "no reason given")[:200]
                why = f"WhatsApp could not deliver it: (#{code}) {words}"
                found.append((str(status["id"]), f"window_closed: {why}" if code == 131047 else why))
    return found


def messaging_events(body: Dict[str, Any]) -> List[Inbound]:
    """Every customer message of a Messenger ("page") or Instagram webhook: messages, quick replies and
    postbacks (taps on buttons); echoes of our own messages, reads, deliveries and reactions are not."""
    found: List[Inbound] = []
    for entry in as_list(body.get("entry")):
        for event in map(as_dict, as_list(as_dict(entry).get("messaging"))):
            parsed = _messaging_event(event)
            if parsed is not None:
                found.append(parsed)
    return found


def _messaging_event(event: Dict[str, Any]) -> Optional[Inbound]:
    sender = str(as_dict(event.get("sender")).get("id") or "")
    sent_at = moment(event.get("timestamp"), 1000.0)  # milliseconds
    if not sender:
        return None
    if "postback" in event:
        postback = as_dict(event.get("postback"))
        # Older postbacks carry no mid: the sender and the moment of the tap name it.
        message_id = str(postback.get("mid") or f"postback:{sender}:{event.get('timestamp')}")
        return Inbound(
            message_id,
            sender,
            tap=str(postback.get("payload") or ""),
            text=str(postback.get("title") or ""),
            ack=sender,
            sent_at=sent_at,
        )
    message = as_dict(event.get("message"))
    message_id = str(message.get("mid") or "")
    if not message or not message_id or message.get("is_echo") or message.get("is_deleted"):
        return None
    quick = as_dict(message.get("quick_reply"))
    if quick.get("payload"):
        return Inbound(
            message_id,
            sender,
            tap=str(quick["payload"]),
            text=str(message.get("text") or ""),
            ack=sender,
            sent_at=sent_at,
        )
    attachments = [as_dict(a) for a in as_list(message.get("attachments"))]
    image = next((a for a in attachments if a.get("type") == "image"), None)
    if image is not None:
        return Inbound(
            message_id,
            sender,
            photo=str(as_dict(image.get("payload")).get("url") or ""),
            text=str(message.get("text") or ""),
            ack=sender,
            sent_at=sent_at,
        )
    if message.get("text"):
        return Inbound(message_id, sender, text=str(message["text"]), ack=sender, sent_at=sent_at)
    kind = str(attachments[0].get("type")) if attachments else "unsupported"
    return Inbound(
        message_id,
        sender,
        other=_OTHER_KINDS.get(kind, "a message") or "a message",
        ack=sender,
        sent_at=sent_at,
    )
