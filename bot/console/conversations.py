"""A conversation as the console shows it, and what a person says into it.

The transcript comes from Rasa's tracker store: customer and bot messages, and the replies of a
person, which are stored as bot messages whose metadata names the person. What a person says (a reply,
"Mara joined the chat", a closing notice) and what the bot says when a person hands the chat back are
stored twice before they are sent: in the delivery queue (OutboundMessages, which keeps them until the
customer's widget acknowledges them, also after a closed tab or a restart) and in the tracker (the
transcript, with the queue's ``delivery_id``). Then the ChatCourier sends them to the widget.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.events import ActiveLoop, BotUttered, SessionStarted, SlotSet, UserUttered
from sanic import Sanic

from actions.services.chat_delivery import OutboundMessage
from actions.services.handback import pending_question
from actions.services.wording import payload_words

logger = logging.getLogger(__name__)
NOTICES = {  # what the customer's widget shows as a line of its own, with the person's name
    "joined": "{name} joined the chat",
    "left": "{name} left the chat",
    "closed": "{name} has closed this conversation. If you need anything else, just write here.",
}


@dataclass(frozen=True)
class Line:
    who: str            # customer, bot, person, notice
    name: str           # what the console shows as the speaker
    text: str
    at: dt.datetime     # aware, UTC
    delivery_id: Optional[int] = None  # a person's message: its row in the delivery queue


def _at(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)


def person_of(event: BotUttered) -> Optional[str]:
    sender = (event.metadata or {}).get("sender") or {}
    if sender.get("type") != "person":
        return None
    return f"{sender.get('name')} (by email)" if sender.get("via") == "email" else sender.get("name")


def button_words(payload: str, buttons: Sequence[Dict[str, Any]] = ()) -> str:
    """A button payload in words: "/greet" -> "opened the chat", "/human_handoff" -> "chose: Talk to a
    person", '/inform{"choice": "none"}' -> the title of the button the bot offered ("chose: Not about an
    order"). The owner never reads a payload or an internal value."""
    return payload_words(payload, buttons)


def said_to_customer(events: Iterable[Any]) -> List[Tuple[str, str]]:
    """Messages as ("user" | "bot", text), without notices ("Mara left the chat" answers nothing)."""
    return [("user", e.text or "") if isinstance(e, UserUttered) else ("bot", e.text or "") for e in events
            if isinstance(e, UserUttered)
            or (isinstance(e, BotUttered) and not (e.metadata or {}).get("notice"))]


async def transcript(agent: Agent, conversation_id: str, shop_name: str) -> List[Line]:
    """Every chat of the conversation (a browser's later visits are new chats in it), each after the first
    marked where it began."""
    store = agent.tracker_store
    full = getattr(store, "retrieve_full_tracker", None)
    tracker = await (full(conversation_id) if full is not None else store.retrieve(conversation_id))
    lines: List[Line] = []
    offered: List[Dict[str, Any]] = []  # the buttons of the bot's last message: what a tap chose from
    last_message_id: Optional[str] = None
    for event in tracker.events if tracker else []:
        if isinstance(event, SessionStarted) and lines:
            lines.append(Line("notice", "", "The customer came back: a new chat", _at(event.timestamp)))
        if isinstance(event, UserUttered) and (event.metadata or {}).get("replayed"):
            continue  # a question passed to the bot again at hand-back: the customer typed it once
        if isinstance(event, UserUttered):
            again = event.message_id is not None and event.message_id == last_message_id
            last_message_id = event.message_id
            if again:
                continue  # a typed "yes" read again as the button it answered: the customer said it once
        if isinstance(event, UserUttered) and event.text and not event.text.startswith("/"):
            lines.append(Line("customer", "Customer", event.text, _at(event.timestamp)))
        elif isinstance(event, UserUttered) and event.text:  # a button or the widget opening
            words = button_words(event.text, offered)
            lines.append(Line("customer", "Customer", words, _at(event.timestamp)))
        if isinstance(event, BotUttered):
            offered = list((event.data or {}).get("buttons") or []) or offered
        if isinstance(event, BotUttered) and event.text and (event.metadata or {}).get("notice"):
            lines.append(Line("notice", "", event.text, _at(event.timestamp),
                              event.metadata.get("delivery_id")))
        elif isinstance(event, BotUttered) and event.text:
            person = person_of(event)
            lines.append(Line("person" if person else "bot", person or f"{shop_name} assistant", event.text,
                              _at(event.timestamp), (event.metadata or {}).get("delivery_id")))
    return lines


async def person_says(app: Sanic, conversation_id: str, name: str, text: str,
                      mail: Optional[Callable[[], object]] = None) -> OutboundMessage:
    """A person's reply: stored, then sent to the customer's widget now or when it comes back.

    ``mail`` (sends the email; run in a thread): the reply goes by email too and counts as mailed; if it
    raises, the reply is withdrawn (not stored, not sent) and the error raised for the caller to show.
    """
    sender = {"type": "person", "name": name, **({"via": "email"} if mail else {})}
    return await _store_and_send(app, conversation_id, "reply", name, {"text": text, "sender": sender}, mail)


async def person_notice(app: Sanic, conversation_id: str, name: str, kind: str) -> OutboundMessage:
    """Tell the customer that a person joined (claimed), left (handed back) or closed (resolved) the chat."""
    payload = {"text": NOTICES[kind].format(name=name), "sender": {"type": "person", "name": name},
               "notice": kind}
    return await _store_and_send(app, conversation_id, kind, name, payload)


async def _store_and_send(app: Sanic, conversation_id: str, kind: str, name: str, payload: Dict[str, Any],
                          mail: Optional[Callable[[], object]] = None) -> OutboundMessage:
    outbound = app.ctx.courier.outbound
    message = await asyncio.to_thread(outbound.add, conversation_id, kind, payload, name,
                                      "email" if mail else "chat")
    if mail is not None:
        try:
            await asyncio.to_thread(mail)
        except Exception:
            await asyncio.to_thread(outbound.withdraw, message.id)
            raise
        await asyncio.to_thread(outbound.mark_mailed, message.id)
    try:
        metadata = {k: v for k, v in payload.items() if k in ("sender", "notice")}
        metadata["delivery_id"] = message.id
        await _record(app.ctx.agent, conversation_id, payload["text"], metadata)
    except Exception:
        if mail is None:  # nothing went out yet: withdraw it, so that the person's retry is the only copy
            await asyncio.to_thread(outbound.withdraw, message.id)
            raise
        logger.exception("Reply %s was emailed but could not be added to the transcript", message.id)
    await app.ctx.courier.send(message)
    return message


async def _record(agent: Agent, conversation_id: str, text: str, metadata: Dict[str, Any]) -> None:
    async with agent.lock_store.lock(conversation_id):
        tracker = await agent.tracker_store.get_or_create_tracker(conversation_id)
        if metadata.get("notice") in ("joined", "closed") and tracker.active_loop_name:
            # A person took the chat, or closed it: the question the bot was asking (an email for an order
            # check) is not asked again afterwards, out of the blue.
            tracker.update(ActiveLoop(None))
            tracker.update(SlotSet("requested_slot", None))
        tracker.update(BotUttered(text, metadata=metadata))
        await agent.tracker_store.save(tracker)


def _for_widget(message: Dict[str, Any]) -> Dict[str, Any]:
    """A collected bot message in the shape the socket.io channel sends (quick_replies for buttons)."""
    shaped = {k: v for k, v in message.items() if k not in ("recipient_id", "buttons") and v is not None}
    if message.get("buttons"):
        shaped["quick_replies"] = [
            {"content_type": "text", "title": b.get("title"), "payload": b.get("payload")}
            for b in message["buttons"]]
    return shaped


async def hand_back_to_bot(app: Sanic, conversation_id: str, name: str) -> None:
    """The person leaves and the bot takes the conversation again: action_handed_back says so and, when
    the customer asked something the person left unanswered, the bot answers it (the rating comes at the
    end of the chat, not now). The customer's widget gets all of it now, or when it comes back (the bot's
    words are queued like the person's)."""
    await person_notice(app, conversation_id, name, "left")
    agent, output = app.ctx.agent, CollectingOutputChannel()
    before = await agent.tracker_store.retrieve(conversation_id)
    pending = pending_question(said_to_customer(before.events)) if before is not None else None
    async with agent.lock_store.lock(conversation_id):
        await agent.execute_action(conversation_id, "action_handed_back", output, None, None)
        # As after any turn of the bot: it now waits for the customer.
        await agent.execute_action(conversation_id, "action_listen", output, None, None)
    if pending:  # typed while the person had the chat and left unanswered: the bot answers it now
        replay = UserMessage(pending, output, conversation_id, input_channel="console",
                             metadata={"replayed": True})
        await app.ctx.silence.answer_or_apologise(app.ctx.gate.handle, agent, replay)
    outbound = app.ctx.courier.outbound
    for said in output.messages:
        message = await asyncio.to_thread(outbound.add, conversation_id, "bot", _for_widget(said))
        await app.ctx.courier.send(message)
