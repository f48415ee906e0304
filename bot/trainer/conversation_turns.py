"""One conversation turn by turn, as the trainer reads it: each customer message with what the model made of
it (intent, confidence, the runner-up, entities), the actions the bot took and which policy chose them,
what it said, the slots that changed, and the model that answered.

Read from Rasa's tracker store (the ``events`` table), in the order Rasa stored the events. What happened
before the first customer message (the session's start, the welcome) is a turn without a message.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine

from actions.services.figures import events
from actions.services.wording import payload_words
from bot.trainer.conversation_log import stored_at

QUIET_ACTIONS = ("action_listen", "action_session_start")  # every turn has them: nothing to read


@dataclass(frozen=True)
class Step:
    event_id: int
    action: str
    policy: str
    confidence: float


@dataclass
class Turn:
    event_id: Optional[int]              # the customer message's row; None: before the first message
    at: dt.datetime                      # UTC, naive
    text: str = ""                       # typed, or a tapped button in words
    tapped: bool = False
    channel: str = ""
    intent: str = ""
    confidence: float = 0.0
    runner_up: Optional[Tuple[str, float]] = None
    entities: List[Tuple[str, str]] = field(default_factory=list)
    model_id: str = ""
    steps: List[Step] = field(default_factory=list)
    replies: List[str] = field(default_factory=list)
    slots: List[Tuple[str, Any]] = field(default_factory=list)


def _model_id(event: Dict[str, Any]) -> str:
    return str((event.get("metadata") or {}).get("model_id") or "")


def _message(event_id: int, event: Dict[str, Any], offered: List[Dict[str, Any]]) -> Turn:
    text = str(event.get("text") or "")
    parse = event.get("parse_data") or {}
    intent = parse.get("intent") or {}
    name = str(intent.get("name") or "")
    ranking = [(str(r.get("name")), float(r.get("confidence") or 0.0))
               for r in parse.get("intent_ranking") or [] if isinstance(r, dict)]
    runner_up = next((r for r in ranking if r[0] != name), None)
    entities = [(str(e.get("entity")), str(e.get("value"))) for e in parse.get("entities") or []
                if isinstance(e, dict)]
    tapped = text.startswith("/")
    return Turn(event_id, stored_at(float(event.get("timestamp") or 0)),
                payload_words(text, offered) if tapped else text, tapped,
                str(event.get("input_channel") or ""), name, float(intent.get("confidence") or 0.0),
                runner_up, entities, _model_id(event))


def conversation_turns(engine: Engine, conversation_id: str) -> List[Turn]:
    """The conversation's turns, oldest first; [] when the tracker store has no such conversation."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("events"):  # no conversation stored yet (or another store)
            return []
        rows = connection.execute(select(events.c.id, events.c.data)
                                  .where(events.c.sender_id == conversation_id)
                                  .order_by(events.c.id)).all()
    turns: List[Turn] = []
    offered: List[Dict[str, Any]] = []  # the buttons of the bot's last message: what a tap chose from
    for row in rows:
        try:
            event = json.loads(row.data or "{}")
        except ValueError:
            continue
        kind = event.get("event")
        if kind == "user":
            turns.append(_message(int(row.id), event, offered))
            continue
        if not turns:
            turns.append(Turn(None, stored_at(float(event.get("timestamp") or 0))))
        turn = turns[-1]
        turn.model_id = turn.model_id or _model_id(event)
        if kind == "action" and event.get("name") not in QUIET_ACTIONS:
            turn.steps.append(Step(int(row.id), str(event.get("name")), str(event.get("policy") or ""),
                                   float(event.get("confidence") or 0.0)))
        elif kind == "bot":
            buttons = list((event.get("data") or {}).get("buttons") or [])
            offered = buttons or offered
            text = str(event.get("text") or "")
            titles = [str(b.get("title")) for b in buttons if isinstance(b, dict)]
            if text or titles:
                turn.replies.append(text + (f"  [{' | '.join(titles)}]" if titles else ""))
        elif kind == "slot":
            turn.slots.append((str(event.get("name")), event.get("value")))
    return [turn for turn in turns if turn.event_id is not None or turn.replies or turn.steps]
