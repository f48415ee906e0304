"""Thumbs up or down on one of the bot's answers, from the widget.

``POST /feedback/thumbs`` with JSON ``{"session_id", "text", "value": "up" | "down"}``: the answer is
found in that conversation's tracker (so a thumb cannot be made up for an answer the bot never gave),
stored with the intent it answered and whether a person took part; a second thumb on the same answer
replaces the first. Bad input is a 4xx and stores nothing.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.services.feedback import Context, FeedbackStore
from actions.services.handoffs import HandoffQueue
from bot.channels.messages import is_session_id, refuse

MAX_ANSWER_CHARS = 4000


def answered_intent(tracker: DialogueStateTracker, text: str) -> Optional[Tuple[str, bool]]:
    """(the intent the answer served, whether it came from a person) for the bot's latest answer with
    this text; None if the bot never said it in this conversation."""
    events = list(tracker.events)
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if isinstance(event, BotUttered) and event.text == text:
            sender = (event.metadata or {}).get("sender") or {}
            asked = next((e for e in reversed(events[:index]) if isinstance(e, UserUttered)), None)
            intent = (asked.intent or {}).get("name", "") if asked else ""
            return intent or "", sender.get("type") == "person"
    return None


def thumbs_blueprint() -> Blueprint:
    thumbs = Blueprint("thumbs")

    @thumbs.post("/feedback/thumbs")
    async def thumb(request: Request) -> HTTPResponse:
        try:
            body: Any = request.json
        except Exception:  # noqa: BLE001 - Sanic raises its own error type for broken JSON
            body = None
        if not isinstance(body, dict):
            return refuse(400, "invalid_json", 'Send a JSON object: {"session_id", "text", "value"}.')
        session_id, text, value = body.get("session_id"), body.get("text"), body.get("value")
        if not is_session_id(session_id):
            return refuse(400, "invalid_session", "session_id must be the chat's session id.")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_ANSWER_CHARS:
            return refuse(400, "invalid_text", "text must be the answer being rated.")
        if value not in ("up", "down"):
            return refuse(400, "invalid_value", 'value must be "up" or "down".')
        tracker = await request.app.ctx.agent.tracker_store.retrieve(session_id)
        found = answered_intent(tracker, text) if tracker else None
        if found is None:
            return refuse(404, "no_such_answer", "This conversation has no such answer from the bot.")
        intent, from_person = found
        engine = request.app.ctx.engine
        with_person = from_person or HandoffQueue(engine).person_took_part(session_id)
        FeedbackStore(engine).thumb(Context(session_id, intent, with_person), text, value == "up")
        return response.json({"stored": value}, status=201)

    return thumbs
