"""Admission control (issue 13): beyond MAX_TURNS_IN_FLIGHT a customer's message waits its turn for up to
TURN_QUEUE_SECONDS, then (or when the queue is full) is refused with 503 busy and Retry-After, before the
agent sees it; the turns in progress are answered as usual."""
from __future__ import annotations

import asyncio
import json
from typing import Any, Tuple

from rasa.core.channels.channel import UserMessage

from tests.bot.fakes import RecordingAgent

URL = "/webhooks/rest/webhook"


class HeldAgent(RecordingAgent):
    """Holds every message until ``release`` is set, like a turn still thinking."""

    def __init__(self) -> None:
        super().__init__(memory=True)
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def handle_message(self, message: UserMessage) -> Any:
        self.received.append(message)
        self.entered.set()
        await self.release.wait()
        await message.output_channel.send_response(message.sender_id, {"text": f"echo: {message.text}"})


def body(sender: str, text: str) -> str:
    return json.dumps({"sender": sender, "message": text})


async def one_turn_in_progress(make_app: Any,
                               queue_seconds: int) -> Tuple[HeldAgent, Any, "asyncio.Task[Any]"]:
    """An app that runs one turn at a time, with c1's turn started and held."""
    agent = HeldAgent()
    app = make_app(agent, max_turns_in_flight=1, turn_queue_seconds=queue_seconds)
    first = asyncio.create_task(app.asgi_client.post(URL, content=body("c1", "hi")))
    await asyncio.wait_for(agent.entered.wait(), 30)
    return agent, app, first


async def test_a_message_beyond_the_limit_gets_503_busy_with_retry_after_and_changes_nothing(make_app):
    agent, app, first = await one_turn_in_progress(make_app, queue_seconds=0)

    _, refused = await asyncio.wait_for(app.asgi_client.post(URL, content=body("c2", "hello")), 30)
    assert refused.status == 503
    assert refused.json["error"] == "busy" and "try again in a moment" in refused.json["detail"]
    assert refused.headers["retry-after"] == "2"
    assert [m.sender_id for m in agent.received] == ["c1"]  # the refused message never reached the agent
    assert await agent.tracker_store.retrieve("c2") is None

    agent.release.set()
    _, answered = await asyncio.wait_for(first, 30)
    assert answered.status == 200 and answered.json == [{"recipient_id": "c1", "text": "echo: hi"}]
    _, again = await asyncio.wait_for(app.asgi_client.post(URL, content=body("c2", "hello")), 30)
    assert again.status == 200 and again.json[0]["text"] == "echo: hello"  # the turn ended: room again


async def test_a_message_beyond_the_limit_waits_its_turn_and_is_answered(make_app):
    agent, app, first = await one_turn_in_progress(make_app, queue_seconds=60)
    second = asyncio.create_task(app.asgi_client.post(URL, content=body("c2", "hello")))
    await asyncio.sleep(0.2)
    assert [m.sender_id for m in agent.received] == ["c1"] and not second.done()  # waiting, not refused
    agent.release.set()
    answers = await asyncio.wait_for(asyncio.gather(first, second), 30)
    assert [(r.status, r.json[0]["text"]) for _, r in answers] == [(200, "echo: hi"), (200, "echo: hello")]
    assert app.ctx.turns.in_flight == 0


async def test_a_turn_that_waited_too_long_is_refused_and_its_place_is_not_kept(make_app):
    agent, app, first = await one_turn_in_progress(make_app, queue_seconds=1)
    _, refused = await asyncio.wait_for(app.asgi_client.post(URL, content=body("c2", "hello")), 30)
    assert refused.status == 503 and refused.headers["retry-after"] == "2"
    agent.release.set()
    await asyncio.wait_for(first, 30)
    assert (app.ctx.turns.in_flight, len(app.ctx.turns._waiting)) == (0, 0)
    assert [m.sender_id for m in agent.received] == ["c1"]
