"""The socket.io channel with a stand-in agent, over a real connection on a loopback port: every event,
with data or without, gets its answer (tests/bot/test_e2e.py covers conversations with the real model)."""
from __future__ import annotations

import asyncio
import queue
import sqlite3
from typing import Any, AsyncIterator, Callable, List, Tuple, TypeVar

import pytest
import socketio
from sanic import Sanic
from sqlalchemy.exc import OperationalError

from bot.app import create_app
from bot.channels.rest import ValidatingRestInput
from bot.channels.socketio import ValidatingSocketIOInput
from bot.settings import Settings
from tests.bot.fakes import RecordingAgent
from tests.smtp_inbox import free_port

T = TypeVar("T")
Widget = Tuple[socketio.Client, "queue.Queue[Any]"]
SESSION = "0123456789abcdef0123456789abcdef"


@pytest.fixture
async def server(shop, tmp_path) -> AsyncIterator[Tuple[str, RecordingAgent]]:
    """The app serving on a loopback port in this event loop: (its url, the stand-in agent)."""
    Sanic.test_mode = True
    agent = RecordingAgent(memory=True)
    settings = Settings(database_url=f"sqlite:///{tmp_path}/app.db", console_secret="a test secret",
                        trusted_proxies=("127.0.0.1/32",))  # a widget may say X-Forwarded-For
    app = create_app(settings, shop, agent=agent, channels=[ValidatingRestInput(), ValidatingSocketIOInput()])
    port = free_port()
    running = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    assert running is not None
    await running.startup()
    await running.before_start()
    await running.after_start()
    yield f"http://127.0.0.1:{port}", agent
    await running.before_stop()
    running.close()
    await running.wait_closed()
    await running.after_stop()


async def as_widget(url: str, script: Callable[[Widget], T], forwarded_for: str = "") -> T:
    """Run ``script`` with a connected socket.io client (the blocking client, so in a thread while the
    server goes on in this loop); the queue holds what session_confirm said."""
    def run() -> T:
        client = socketio.Client(reconnection=False)
        confirmed: "queue.Queue[Any]" = queue.Queue()
        client.on("session_confirm", confirmed.put)
        client.connect(url, socketio_path="/socket.io", transports=["websocket"],
                       headers={"X-Forwarded-For": forwarded_for} if forwarded_for else {})
        try:
            return script((client, confirmed))
        finally:
            client.disconnect()

    return await asyncio.to_thread(run)


@pytest.mark.parametrize("data", [(), ("not a dict",), ({"session_id": SESSION + "\n"},)])
async def test_a_session_request_without_usable_data_gets_a_fresh_session(server, data):
    def ask(widget: Widget) -> Any:
        client, confirmed = widget
        client.emit("session_request", *data)
        return confirmed.get(timeout=10)

    session_id = await as_widget(server[0], ask)
    assert isinstance(session_id, str) and len(session_id) == 32 and session_id.isalnum()
    assert session_id != SESSION  # not the one with a newline after it either


async def test_a_message_without_data_is_acknowledged_as_refused(server):
    url, agent = server

    def send(widget: Widget) -> list:
        client, confirmed = widget
        client.emit("session_request", {})
        confirmed.get(timeout=10)
        return [client.call("user_uttered", *data, timeout=10) for data in ((), (None,), ("hello",))]

    for answer in await as_widget(url, send):
        assert answer["status"] == "refused" and answer["error"] == "invalid_message", answer
    assert agent.received == []


async def test_the_server_sets_the_client_key_over_the_clients_own(server):
    """Issue 13: failed order checks are limited per client by this key, so the client cannot choose it."""
    url, agent = server

    def send(widget: Widget) -> Any:
        client, confirmed = widget
        client.emit("session_request", {})
        session_id = confirmed.get(timeout=10)
        return [client.call("user_uttered", {"session_id": session_id, "message": "hi",
                                             "metadata": {"page": "/", "client_key": key}}, timeout=10)
                for key in ("0123456789abcdef", "fedcba9876543210")]

    answers = await as_widget(url, send, forwarded_for="203.0.113.9")
    assert all(a["status"] == "delivered" for a in answers), answers
    keys = {m.metadata["client_key"] for m in agent.received}
    assert len(keys) == 1 and keys.pop() not in ("0123456789abcdef", "fedcba9876543210")
    assert agent.received[0].metadata["page"] == "/"
    answers = await as_widget(url, send, forwarded_for="203.0.113.10")
    assert len({m.metadata["client_key"] for m in agent.received}) == 2  # another client, another key
    agent.received.clear()
    await as_widget(url, send)  # loopback itself: no key at all, and never the client's
    assert [m.metadata for m in agent.received] == [{"page": "/"}, {"page": "/"}]


async def test_a_busy_database_is_a_failed_acknowledgement_that_says_try_again(server):
    """Issue 13: the turn was not stored, so the widget is told (and marks the message failed), not left
    waiting for an answer that will never come."""
    url, agent = server

    async def locked(message: Any) -> None:
        await message.output_channel.send_response(message.sender_id, {"text": "14 Quay Street"})
        raise OperationalError("INSERT INTO events ...", {}, sqlite3.OperationalError("database is locked"))

    agent.handle_message = locked  # type: ignore[method-assign]

    def send(widget: Widget) -> Tuple[Any, Any, List[Any]]:
        client, confirmed = widget
        errors: "queue.Queue[Any]" = queue.Queue()
        answers: List[Any] = []
        client.on("error_message", errors.put)
        client.on("bot_uttered", answers.append)
        client.emit("session_request", {})
        session_id = confirmed.get(timeout=10)
        ack = client.call("user_uttered", {"session_id": session_id, "message": "where is the shop?"},
                          timeout=10)
        return ack, errors.get(timeout=10), answers

    ack, shown, answers = await as_widget(url, send)
    assert ack["status"] == "failed" and ack["error"] == "database_busy", ack
    assert "try again" in ack["detail"] and shown["error"] == "database_busy"
    assert answers == []  # the answer of a turn that was not stored is not shown
