"""Brings what a person says to the customer's widget: live when it is open, on its return when it is not.

Every message goes into ``OutboundMessages`` first (actions/services/chat_delivery.py), then to the
conversation's socket.io room with its ``delivery_id``. The widget acknowledges it (``received``) and
drops an id it already has, so a message is shown exactly once however often it is sent. What is not
acknowledged is sent again: at once when a widget of that conversation connects (in order, oldest first),
and otherwise every few seconds while one is connected to this process. Because the database holds the
state, a message written in one web process reaches a widget connected to another, and a restart loses
nothing. This process also refreshes the presence of the widgets connected to it.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Callable, Dict, Optional, Sequence

from actions.services.chat_delivery import ChatPresence, OutboundMessage, OutboundMessages
from actions.services.database import DATABASE_UNAVAILABLE

logger = logging.getLogger(__name__)
PUMP_SECONDS = 1.0  # how often undelivered messages of this process's widgets are looked for
RESEND_SECONDS = 10.0  # not acknowledged this long after sending: send again
PRESENCE_SECONDS = 30.0  # refresh the presence of the widgets connected here


class ChatCourier:
    def __init__(self, outbound: OutboundMessages, presence: ChatPresence, sio: Any = None,
                 event: str = "bot_uttered") -> None:
        self.outbound = outbound
        self.presence = presence
        self.sio = sio
        self.event = event
        self.sockets: Dict[str, str] = {}  # socket id -> conversation, for the sockets of this process
        self._sent: Dict[int, float] = {}  # delivery id -> when this process last sent it (loop time)
        self._lock = asyncio.Lock()  # one sender at a time, so a conversation's messages leave in order
        # Opening and closing one at a time: a socket that closes while it is being opened (socket.io runs
        # the two handlers concurrently) must not stay counted as open.
        self._presence_lock = asyncio.Lock()
        self._task: Optional[asyncio.Task] = None
        # Set when messaging channels are on: a stored message may be for a WhatsApp (…) conversation,
        # which the channel worker sends.
        self.on_queued: Optional[Callable[[], None]] = None

    async def send(self, message: OutboundMessage) -> None:
        """Send a stored message (and anything older still missing in that conversation) to its room."""
        if self.on_queued is not None:
            self.on_queued()
        await self.flush([message.conversation_id])

    async def flush(self, conversation_ids: Sequence[str], again: bool = False) -> None:
        """Send what these conversations' widgets have not acknowledged; ``again``: also what was sent
        moments ago (a widget just connected and cannot have it)."""
        if self.sio is None or not conversation_ids:
            return
        pending = await asyncio.to_thread(self.outbound.undelivered, conversation_ids)
        async with self._lock:
            now = asyncio.get_running_loop().time()
            for message in pending:
                sent = self._sent.get(message.id)
                if sent is not None and not again and now - sent < RESEND_SECONDS:
                    continue
                self._sent[message.id] = now
                await self.sio.emit(self.event, message.for_widget(), room=message.conversation_id)

    async def opened(self, socket_id: str, conversation_id: str) -> None:
        """A widget confirmed its session on this process: it is present, and gets what it missed. With the
        database down, the widget still chats when it comes back; the pump sends what it missed then, and
        the console sees its presence from the next refresh."""
        try:
            await self._opened(socket_id, conversation_id)
        except DATABASE_UNAVAILABLE as error:
            logger.warning("Presence and missed messages of conversation %s not handled now (the database "
                           "is unavailable: %s); the pump tries again", conversation_id, error)

    async def _opened(self, socket_id: str, conversation_id: str) -> None:
        if self.sockets.get(socket_id) != conversation_id:
            await self.closed(socket_id)  # this socket was in another conversation ("New conversation")
            async with self._presence_lock:
                if self.sio is not None and not self.sio.manager.is_connected(socket_id, "/"):
                    return  # gone already
                self.sockets[socket_id] = conversation_id
                await asyncio.to_thread(self.presence.opened, conversation_id)
        await self.flush([conversation_id], again=True)

    async def closed(self, socket_id: str) -> None:
        async with self._presence_lock:
            conversation_id = self.sockets.pop(socket_id, None)
            if conversation_id is not None:
                try:
                    await asyncio.to_thread(self.presence.closed, conversation_id)
                except DATABASE_UNAVAILABLE as error:  # the count fades by itself (PRESENCE_FADES)
                    logger.warning("A closed widget of conversation %s not counted (the database is "
                                   "unavailable: %s)", conversation_id, error)

    async def received(self, conversation_id: str, delivery_ids: Sequence[int]) -> int:
        """The widget has these messages; returns how many were newly marked delivered."""
        for delivery_id in delivery_ids:
            self._sent.pop(delivery_id, None)
        return await asyncio.to_thread(self.outbound.mark_delivered, conversation_id, delivery_ids)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        refreshed = loop.time()
        while True:
            await asyncio.sleep(PUMP_SECONDS)
            try:
                here = sorted(set(self.sockets.values()))
                await self.flush(here)
                if loop.time() - refreshed >= PRESENCE_SECONDS:
                    refreshed = loop.time()
                    await asyncio.to_thread(self.presence.still_open, here)
                    old = loop.time() - 10 * RESEND_SECONDS  # forget sends long ago: acknowledged elsewhere
                    self._sent = {k: v for k, v in self._sent.items() if v > old}
            except Exception:  # noqa: BLE001 - a database hiccup must not end delivery for good
                logger.exception("Sending a person's messages to the widgets failed; trying again")

    def start(self) -> None:
        if self.sio is not None and self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
