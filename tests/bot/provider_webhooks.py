"""The webhooks the platforms send, as the tests play them: WhatsApp's, Messenger's and Instagram's bodies
(signed with the app secret as Meta signs them) and Telegram's updates."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any, Dict, Sequence, Tuple

PHONE_NUMBER_ID = "106540352242922"  # FakeGraphApi's


def meta_signed(body: Dict[str, Any], secret: str) -> Tuple[bytes, Dict[str, str]]:
    """The raw body and the headers of a webhook Meta signed with ``secret``."""
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"Content-Type": "application/json", "X-Hub-Signature-256": signature}


def whatsapp_webhook(
    messages: Sequence[Dict[str, Any]],
    wa_id: str = "447700900555",
    name: str = "Jo Baker",
    phone_number_id: str = PHONE_NUMBER_ID,
    statuses: Sequence[Dict[str, Any]] = (),
) -> Dict:
    """One change with these messages from ``wa_id`` (``from`` and ``timestamp`` added unless given)."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "447700900123", "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "timestamp": str(int(time.time())), **m} for m in messages],
        "statuses": list(statuses),
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}],
    }


def wa_text(text: str) -> Dict[str, Any]:
    return {"id": f"wamid.{uuid.uuid4().hex}", "type": "text", "text": {"body": text}}


def page_webhook(kind: str, sender: str, *events: Dict[str, Any]) -> Dict:
    """A Messenger ("page") or Instagram ("instagram") webhook with these messaging events from ``sender``."""
    now = int(time.time() * 1000)
    return {
        "object": kind,
        "entry": [
            {
                "id": "PAGE",
                "time": now,
                "messaging": [
                    {"sender": {"id": sender}, "recipient": {"id": "PAGE"}, "timestamp": now, **event}
                    for event in events
                ],
            }
        ],
    }


def page_text(text: str) -> Dict[str, Any]:
    return {"message": {"mid": f"m_{uuid.uuid4().hex}", "text": text}}


def telegram_update(chat_id: int, text: str = "", callback: str = "") -> Dict[str, Any]:
    update_id = uuid.uuid4().int % 2**31
    person = {"id": chat_id, "first_name": "Sam"}
    chat = {"id": chat_id, "type": "private", "first_name": "Sam"}
    if callback:
        return {
            "update_id": update_id,
            "callback_query": {
                "id": str(update_id),
                "from": person,
                "data": callback,
                "message": {"message_id": 1, "chat": chat, "date": int(time.time())},
            },
        }
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": person,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        },
    }
