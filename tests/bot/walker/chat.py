"""One customer talking to the real servers, over REST or socket.io, one turn at a time.

After each turn it knows what the bot said, which question the bot is now asking (from the tracker
store: the active form and its requested slot), and what either server logged that looks like an error.
"""
from __future__ import annotations

import datetime as dt
import json
import queue
import re
import sqlite3
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import requests
import socketio
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from actions.services.clock import naive_utc, utc_now
from tests.bot.servers import ROOT

SUSPICIOUS = re.compile(r"Traceback|\bERROR\b|Encountered an exception|\bCRITICAL\b")


def without_sanic_websocket_gc(lines: List[str]) -> List[str]:
    """The lines without asyncio's "Task was destroyed but it is pending!" about Sanic's own websocket
    tasks. Sanic 21.12 keeps no reference to the task it starts for a websocket's incoming data; when a
    client drops the connection while one is pending, garbage collection logs it at ERROR
    (sanic-org/sanic#3175, #2564; seen once in a clean-clone run on a slow machine). The walker's socket.io
    clients disconnect after every path: those two lines are Sanic's log noise, not a failure of ours.
    Any other "Task was destroyed" still counts."""
    kept: List[str] = []
    skip = False
    for index, line in enumerate(lines):
        if skip:
            skip = False
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if "Task was destroyed but it is pending!" in line and "sanic/server/websockets/" in following:
            skip = True
            continue
        kept.append(line)
    return kept


class LogWatch:
    """What the servers logged since the previous look (the walk is sequential, so it is this turn's)."""

    def __init__(self, logs: Dict[str, Path]) -> None:
        self.logs = logs
        self.offsets = {name: path.stat().st_size for name, path in logs.items()}

    def new_problems(self) -> List[str]:
        problems: List[str] = []
        for name, path in self.logs.items():
            with open(path, "rb") as log:
                log.seek(self.offsets[name])
                chunk = log.read().decode(errors="replace")
                self.offsets[name] += len(chunk.encode(errors="replace"))
            lines = without_sanic_websocket_gc(chunk.splitlines())
            first = next((i for i, line in enumerate(lines) if SUSPICIOUS.search(line)), None)
            if first is not None:  # the error and what follows it (a traceback), shortened
                problems += [f"[{name}.log] {line}" for line in lines[first:first + 30]]
        return problems


def _button(button: Dict[str, Any]) -> Tuple[str, str]:
    return button.get("title", ""), button.get("payload", "")


@dataclass
class Turn:
    sent: str
    status: int  # HTTP status; socket.io: 200 delivered, 202 with a person, 500 failed, 400 refused
    messages: List[Dict[str, Any]]
    form: Optional[str]  # the question the bot is asking now, if any
    slot: Optional[str]
    log: List[str]
    started: dt.datetime  # naive UTC, as the tables store it
    seconds: float  # how long the answer took
    detail: str = ""  # a refusal's body

    @property
    def text(self) -> str:
        return "\n".join(m.get("text") or "" for m in self.messages)

    @property
    def buttons(self) -> List[Tuple[str, str]]:
        return [_button(b) for m in self.messages for b in m.get("buttons") or []]

    def last_buttons(self) -> Tuple[Tuple[str, str], ...]:
        """The buttons of the last message: the question's, when the bot asks one."""
        if not self.messages:
            return ()
        return tuple(_button(b) for b in self.messages[-1].get("buttons") or [])

    def report(self) -> List[str]:
        shown = self.sent if len(self.sent) <= 80 else f"{self.sent[:60]}… ({len(self.sent)} chars)"
        lines = [f"  customer: {shown}"]
        if self.status not in (200,):
            lines.append(f"  status {self.status} {self.detail}")
        for message in self.messages:
            buttons = " ".join(f"[{b.get('title')}→{b.get('payload')}]" for b in message.get("buttons") or [])
            lines.append(f"  bot: {message.get('text') or ''} {buttons}".rstrip())
        if not self.messages:
            lines.append("  bot: (nothing)")
        lines += [f"  {line}" for line in self.log]
        return lines


@lru_cache(maxsize=1)
def _domain_slots() -> List[Any]:
    return list(Domain.load(str(ROOT / "domain.yml")).slots)


def tracker_state(database: Path, sender: str) -> Tuple[Optional[str], Optional[str], int]:
    """(active loop, requested slot, number of bot messages since the last user message) from Rasa's
    tracker store, replayed by Rasa itself: a finished two-stage fallback rewinds events, and the form
    it interrupted is active again."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT type_name, data FROM events WHERE sender_id = ? ORDER BY id", (sender,))
        events = [json.loads(data) for _, data in rows]
    bots = 0
    for event in events:
        bots = 0 if event.get("event") == "user" else bots + (event.get("event") == "bot")
    tracker = DialogueStateTracker.from_dict(sender, events, _domain_slots())
    loop = tracker.active_loop_name
    return loop, (tracker.get_slot("requested_slot") if loop else None), bots


class Chat:
    """A customer; subclasses send over a channel. ``say`` returns the turn, fully answered."""

    channel = ""

    def __init__(self, base_url: str, database: Path, logs: LogWatch) -> None:
        self.base_url, self.database, self.logs = base_url, database, logs
        self.sender = ""

    def say(self, text: str) -> Turn:
        started = naive_utc(utc_now()) - dt.timedelta(seconds=1)
        clock = time.perf_counter()
        status, messages, detail = self.send(text)
        seconds = time.perf_counter() - clock
        form, slot, _ = tracker_state(self.database, self.sender)
        return Turn(text, status, messages, form, slot, self.logs.new_problems(), started, seconds, detail)

    def send(self, text: str) -> Tuple[int, List[Dict[str, Any]], str]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class RestChat(Chat):
    channel = "rest"

    def __init__(self, base_url: str, database: Path, logs: LogWatch, sender: str) -> None:
        super().__init__(base_url, database, logs)
        self.sender = sender

    def send(self, text: str) -> Tuple[int, List[Dict[str, Any]], str]:
        reply = requests.post(f"{self.base_url}/webhooks/rest/webhook", json={"sender": self.sender,
                                                                              "message": text}, timeout=90)
        body = reply.json() if reply.headers.get("content-type", "").startswith("application/json") else None
        if reply.status_code == 200 and isinstance(body, list):
            return 200, body, ""
        return reply.status_code, [], reply.text[:300]


class SocketChat(Chat):
    """The widget's way: session_request, then user_uttered with a message id, acknowledged after the
    bot has answered; the answers arrive as bot_uttered (counted against the tracker, not waited for)."""

    channel = "socketio"

    def __init__(self, base_url: str, database: Path, logs: LogWatch) -> None:
        super().__init__(base_url, database, logs)
        self.inbox: "queue.Queue[Any]" = queue.Queue()
        confirmed: "queue.Queue[str]" = queue.Queue()
        self.client = socketio.Client(reconnection=False)
        self.client.on("session_confirm", confirmed.put)
        self.client.on("bot_uttered", self.inbox.put)
        self.client.connect(base_url, socketio_path="/socket.io", transports=["websocket"])
        self.client.emit("session_request", {"session_id": None})
        self.sender = confirmed.get(timeout=20)

    def send(self, text: str) -> Tuple[int, List[Dict[str, Any]], str]:
        ack = self.client.call("user_uttered", {"message": text, "session_id": self.sender,
                                                "message_id": f"walk-{uuid.uuid4().hex[:16]}"}, timeout=90)
        status = {"delivered": 200, "failed": 500}.get(ack.get("status"), 400)
        if status == 200 and ack.get("with_person"):
            status = 202
        _, _, expected = tracker_state(self.database, self.sender)
        messages = []
        try:
            for _ in range(expected if status == 200 else 0):  # every answer the tracker holds arrives
                messages.append(self.inbox.get(timeout=20))
        except queue.Empty:
            pass  # fewer arrived than were recorded: the turn's report shows what did
        while not self.inbox.empty():
            messages.append(self.inbox.get_nowait())
        return status, [self._as_rest(m) for m in messages], json.dumps(ack) if status != 200 else ""

    @staticmethod
    def _as_rest(message: Dict[str, Any]) -> Dict[str, Any]:
        """socket.io sends buttons as quick_replies; REST as buttons."""
        out = dict(message)
        if "quick_replies" in out:
            out["buttons"] = out.pop("quick_replies")
        return out

    def close(self) -> None:
        self.client.disconnect()
