"""A conversation as the console shows it, and a person's reply into it.

The transcript comes from Rasa's tracker store: customer and bot messages, and the replies of a
person, which are stored as bot messages whose metadata names the person. A person's reply is saved
in the tracker first, then sent to the customer's widget over socket.io (the conversation's room).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.channels.socketio import SocketIOOutput
from rasa.shared.core.events import BotUttered, UserUttered

from actions.services.wording import payload_words


@dataclass(frozen=True)
class Line:
    who: str            # customer, bot, person
    name: str           # what the console shows as the speaker
    text: str
    at: dt.datetime     # aware, UTC


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


async def transcript(agent: Agent, conversation_id: str, shop_name: str) -> List[Line]:
    tracker = await agent.tracker_store.retrieve(conversation_id)
    lines: List[Line] = []
    offered: List[Dict[str, Any]] = []  # the buttons of the bot's last message: what a tap chose from
    for event in tracker.events if tracker else []:
        if isinstance(event, UserUttered) and event.text and not event.text.startswith("/"):
            lines.append(Line("customer", "Customer", event.text, _at(event.timestamp)))
        elif isinstance(event, UserUttered) and event.text:  # a button or the widget opening
            words = button_words(event.text, offered)
            lines.append(Line("customer", "Customer", words, _at(event.timestamp)))
        if isinstance(event, BotUttered):
            offered = list((event.data or {}).get("buttons") or []) or offered
        if isinstance(event, BotUttered) and event.text:
            person = person_of(event)
            lines.append(Line("person" if person else "bot", person or f"{shop_name} assistant", event.text,
                              _at(event.timestamp)))
    return lines


async def person_says(agent: Agent, sio: Any, conversation_id: str, name: str, text: str,
                      by_email: bool = False) -> None:
    """Store the reply in the conversation, then show it in the customer's widget if it is open."""
    metadata = {"sender": {"type": "person", "name": name, **({"via": "email"} if by_email else {})}}
    async with agent.lock_store.lock(conversation_id):
        tracker = await agent.tracker_store.get_or_create_tracker(conversation_id)
        tracker.update(BotUttered(text, metadata=metadata))
        await agent.tracker_store.save(tracker)
    if sio is not None:
        await sio.emit("bot_uttered", {"text": text, **metadata}, room=conversation_id)


async def hand_back_to_bot(agent: Agent, sio: Any, conversation_id: str) -> None:
    """The bot takes the conversation again: action_handed_back says so and, when the conversation was
    not rated yet, the feedback form asks for a rating, live in the customer's widget."""
    output = SocketIOOutput(sio, "bot_uttered") if sio is not None else CollectingOutputChannel()
    async with agent.lock_store.lock(conversation_id):
        tracker = await agent.execute_action(conversation_id, "action_handed_back", output, None, None)
        if tracker is not None and tracker.get_slot("feedback_mode") == "csat":
            await agent.execute_action(conversation_id, "feedback_form", output, None, None)
        # As after any turn of the bot: it now waits for the customer (the form expects this to see
        # the next message as the answer to its question).
        await agent.execute_action(conversation_id, "action_listen", output, None, None)

