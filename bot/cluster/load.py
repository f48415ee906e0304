"""`make load-cluster`: many customers on the cluster for minutes, then one fault at a time under that load.

Customers replay the conversations of our conversation tests (tests/stories, bot/turn_bench/story_mixes.py),
half over REST and half over socket.io through nginx's one port (a quarter of those by long-polling, the
rest by websocket), each pausing THINK seconds between messages as a person would, and starting a new
conversation when a story ends. A customer behaves as our widget does: a message whose answer did not come
(503 with Retry-After, a dropped connection, a process gone) is sent again with the same message_id,
marked resent, until it is answered or GIVE_UP_SECONDS pass. So the figures say what a customer met: turns
answered, turns never answered (errors), and the refusals and drops that were retried on the way.

Phases: a steady run (``--seconds``), then, with ``--faults``, one minute each of: a web process SIGKILLed,
an action server SIGKILLed, Redis stopped for 15 s, PostgreSQL stopped for 15 s. Redis and PostgreSQL are
the run's own (bot/cluster/services.py), on free ports. A supervisor starts dead processes again, as
`make run-cluster` does. Afterwards the database is checked: every answered message is stored once, and
every stored turn is whole (the customer's message, the bot's actions, listening again).

Writes reports/cluster_load.json and prints a summary. Not part of `make test`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import random
import resource
import secrets
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence

import aiohttp
import psycopg2
import socketio

from bot.cluster.processes import ROOT, Cluster, cpu_seconds, free_port
from bot.cluster.services import PrivatePostgres, PrivateRedis, prepare_shop_database
from bot.turn_bench.story_mixes import Story, read_stories
from bot.turn_bench.turn_figures import percentile

WEBHOOK = "/webhooks/rest/webhook"
THINK = (1.0, 3.0)  # seconds a customer takes to read and type, uniformly
GIVE_UP_SECONDS = 90.0
TURN_TIMEOUT = 60.0  # REST: how long a request may take
ACK_SECONDS = 30.0  # socket.io: no acknowledgement by then, send again (the widget's ACK_MS)
RETRYABLE = {"busy", "database_busy", "lock_store_unavailable", "action_server_unavailable"}
MODEL = ROOT / "models" / "shop.tar.gz"


@dataclass
class Sent:
    """One customer message and what became of it."""

    phase: str
    channel: str      # rest, websocket, polling
    sender: str
    message_id: str
    mix: str
    began: float      # loop time
    seconds: float = 0.0
    answered: bool = False
    outcome: str = ""  # "answered", or why not
    retried: List[str] = field(default_factory=list)  # what was met on the way, each a retry


class Customers:
    def __init__(self, url: str, stories: Sequence[Story], seed: int) -> None:
        self.url = url
        self.stories = stories
        self.rng = random.Random(seed)
        self.sent: List[Sent] = []
        self.phase = ""

    def _new(self, channel: str, sender: str, story: Story) -> Sent:
        sent = Sent(self.phase, channel, sender, f"m-{uuid.uuid4().hex[:16]}", story.mix, time.monotonic())
        self.sent.append(sent)
        return sent

    async def _think(self) -> None:
        await asyncio.sleep(self.rng.uniform(*THINK))

    async def rest(self, http: aiohttp.ClientSession, deadline: float) -> None:
        while time.monotonic() < deadline:
            story = self.rng.choice(self.stories)
            sender = f"rest-{uuid.uuid4().hex[:12]}"
            for text in story.messages:
                if time.monotonic() >= deadline:
                    return
                await self._rest_turn(http, self._new("rest", sender, story), text)
                await self._think()

    async def _rest_turn(self, http: aiohttp.ClientSession, sent: Sent, text: str) -> None:
        while time.monotonic() - sent.began < GIVE_UP_SECONDS:
            body = {"sender": sent.sender, "message": text, "message_id": sent.message_id,
                    **({"resent": True} if sent.retried else {})}
            wait = 1.0
            try:
                async with http.post(self.url + WEBHOOK, json=body,
                                     timeout=aiohttp.ClientTimeout(total=TURN_TIMEOUT)) as reply:
                    raw = await reply.read()
                    try:
                        data = json.loads(raw)
                    except ValueError:  # nginx's own error pages are HTML
                        data = None
                    if reply.status == 200 and data:
                        return self._done(sent, "answered")
                    if reply.status == 503 and isinstance(data, dict):
                        sent.retried.append(f"503 {data.get('error')}")
                        wait = float(reply.headers.get("Retry-After") or 2)
                    elif reply.status in (502, 504):
                        sent.retried.append(f"HTTP {reply.status} from nginx")
                    else:
                        return self._done(sent, f"HTTP {reply.status}: {str(data)[:80]}")
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                sent.retried.append(type(error).__name__)
            await asyncio.sleep(wait)
        self._done(sent, "gave up")

    def socket(self, deadline: float, polling: bool) -> None:
        """A widget, in a thread of its own: python-engineio's asyncio websocket needs a newer aiohttp than
        Rasa's, so the socket.io customers use the threaded client (as the tests do)."""
        client = socketio.Client(reconnection=True, reconnection_delay=0.5, reconnection_delay_max=2,
                                 request_timeout=30)
        confirmed = threading.Event()
        inbox: "queue.Queue[Dict[str, Any]]" = queue.Queue()
        state: Dict[str, Optional[str]] = {"session": None}

        @client.on("connect")
        def on_connect() -> None:
            if state["session"] is not None:  # back after a drop: the same conversation, as the widget does
                client.emit("session_request", {"session_id": state["session"]})

        @client.on("disconnect")
        def on_disconnect(*_: Any) -> None:
            confirmed.clear()

        @client.on("session_confirm")
        def on_confirm(session_id: str) -> None:
            state["session"] = session_id
            confirmed.set()

        @client.on("bot_uttered")
        def on_reply(message: Dict[str, Any]) -> None:
            inbox.put(message)

        channel = "polling" if polling else "websocket"
        try:
            client.connect(self.url, socketio_path="/socket.io", transports=[channel], wait_timeout=30)
            while time.monotonic() < deadline:
                story = self.rng.choice(self.stories)
                self._new_conversation(client, confirmed, state)
                for text in story.messages:
                    if time.monotonic() >= deadline:
                        return
                    sent = self._new(channel, str(state["session"]), story)
                    self._socket_turn(client, confirmed, inbox, sent, text)
                    time.sleep(self.rng.uniform(*THINK))
        except (socketio.exceptions.SocketIOError, TimeoutError, OSError) as error:
            sent = Sent(self.phase, channel, str(state["session"]), "-", "-", time.monotonic())
            self.sent.append(sent)
            self._done(sent, f"could not (re)connect: {type(error).__name__}")
        finally:
            client.disconnect()

    @staticmethod
    def _new_conversation(client: socketio.Client, confirmed: threading.Event,
                          state: Dict[str, Optional[str]]) -> None:
        """Ask for a new session (the server mints its id), waiting out a reconnection if one is under way."""
        give_up = time.monotonic() + 60
        while time.monotonic() < give_up:
            state["session"] = None
            confirmed.clear()
            try:
                client.emit("session_request", {"session_id": None})
            except socketio.exceptions.SocketIOError:  # not connected at this moment
                time.sleep(0.5)
                continue
            if confirmed.wait(10):
                return
        raise TimeoutError("no session_confirm in 60 s")

    def _socket_turn(self, client: socketio.Client, confirmed: threading.Event,
                     inbox: "queue.Queue[Dict[str, Any]]", sent: Sent, text: str) -> None:
        while (left := GIVE_UP_SECONDS - (time.monotonic() - sent.began)) > 0:
            wait = 0.5
            try:
                if not confirmed.wait(left):
                    break
                while not inbox.empty():
                    inbox.get_nowait()
                acked = threading.Event()
                answer: List[Any] = []

                def on_ack(*data: Any, into: List[Any] = answer, done: threading.Event = acked) -> None:
                    into.extend(data)  # bound now: a late answer to an earlier try lands in that try's
                    done.set()

                client.emit("user_uttered", {
                    "message": text, "session_id": sent.sender, "message_id": sent.message_id,
                    **({"resent": True} if sent.retried else {})}, callback=on_ack)
                waited = time.monotonic()
                while not acked.wait(0.2):
                    if not confirmed.is_set() or time.monotonic() - waited > ACK_SECONDS:
                        break  # the connection dropped (or nothing came): send it again once back
                if not acked.is_set():
                    sent.retried.append("dropped" if not confirmed.is_set() else "no acknowledgement")
                    continue
                ack = answer[0] if answer else None
                status = ack.get("status") if isinstance(ack, dict) else None
                if status in ("delivered", "duplicate"):
                    try:  # the answers are emitted before the acknowledgement; a moment for the last
                        inbox.get(timeout=5)
                        return self._done(sent, "answered")
                    except queue.Empty:
                        return self._done(sent, f"{status} but no answer")
                error = ack.get("error") if isinstance(ack, dict) else None
                if error not in RETRYABLE:
                    return self._done(sent, f"{status}: {error}")
                sent.retried.append(f"refused: {error}")
                wait = float((ack or {}).get("retry_after") or 2)
            except socketio.exceptions.SocketIOError as problem:
                sent.retried.append(type(problem).__name__)
            time.sleep(wait)
        self._done(sent, "gave up")

    def _done(self, sent: Sent, outcome: str) -> None:
        sent.outcome = outcome
        sent.answered = outcome == "answered"
        sent.seconds = time.monotonic() - sent.began

    async def run(self, phase: str, customers: int, seconds: float) -> None:
        """``customers`` at once for ``seconds``: half REST, half socket.io (a quarter of it long-polling)."""
        self.phase = phase
        deadline = time.monotonic() + seconds
        connector = aiohttp.TCPConnector(limit=customers)
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=customers) as widgets:
            async with aiohttp.ClientSession(connector=connector) as http:
                work: List[Awaitable[None]] = []
                for number in range(customers):
                    await asyncio.sleep(min(2.0 / customers, 0.05))  # arrive over two seconds, not at once
                    if number % 2 == 0:
                        work.append(self.rest(http, deadline))
                    else:
                        work.append(loop.run_in_executor(widgets, self.socket, deadline, number % 8 == 1))
                await asyncio.gather(*work)


def phase_figures(sent: Sequence[Sent], phase: str, seconds: float,
                  back_at: Optional[float] = None) -> Dict[str, Any]:
    """``back_at``: when the fault ended (the service started again, the process killed): how long after it
    the last message that met the fault was answered."""
    mine = [s for s in sent if s.phase == phase]
    answered = [s for s in mine if s.answered]
    latencies = [s.seconds * 1000 for s in answered]
    return {
        "messages": len(mine), "answered": len(answered),
        "not_answered": dict(Counter(s.outcome for s in mine if not s.answered)),
        "answered_after_retries": sum(1 for s in answered if s.retried),
        "retries_by_kind": dict(Counter(kind for s in mine for kind in s.retried).most_common()),
        "messages_per_second": round(len(answered) / seconds, 1),
        "p50_ms": percentile(latencies, 0.5), "p90_ms": percentile(latencies, 0.9),
        "p99_ms": percentile(latencies, 0.99), "max_ms": max(latencies) if latencies else None,
        "by_channel": dict(Counter(s.channel for s in answered)),
        "slowest": [{"channel": s.channel, "seconds": round(s.seconds, 1), "outcome": s.outcome,
                     "began_s_after_phase_start": round(s.began - min(m.began for m in mine), 1),
                     "met": dict(Counter(s.retried))} for s in sorted(mine, key=lambda s: -s.seconds)[:5]],
        **({"last_retried_message_answered_s_after_the_fault_ended": round(max(
            (s.began + s.seconds - back_at for s in answered if s.retried), default=0.0), 1)}
           if back_at is not None else {}),
    }


def check_database(database: str, sent: Sequence[Sent]) -> Dict[str, Any]:
    """Every answered message stored exactly once; every stored turn whole."""
    with psycopg2.connect(database) as db, db.cursor() as cursor:
        cursor.execute("SELECT sender_id, type_name, action_name, data::json->>'message_id' FROM events "
                       "ORDER BY sender_id, id")
        rows = cursor.fetchall()
    stored: Counter = Counter()
    broken_turns, conversations = [], set()
    last: Dict[str, str] = {}
    for sender, kind, action, message_id in rows:
        conversations.add(sender)
        if kind == "user":
            stored[(sender, message_id)] += 1
            if sender in last and last[sender] != "action_listen":
                broken_turns.append(sender)
            last[sender] = "user"
        elif kind == "action":
            last[sender] = action
    broken_turns += [s for s, what in last.items() if what not in ("action_listen",)]
    answered = [(s.sender, s.message_id) for s in sent if s.answered]
    lost = [key for key in answered if stored[key] == 0]
    twice = [key for key, count in stored.items() if count > 1 and key[1] is not None]
    return {"conversations": len(conversations), "answered_messages": len(answered),
            "answered_but_not_stored": len(lost), "stored_twice": len(twice),
            "turns_not_whole": len(set(broken_turns)),
            "examples": {"lost": lost[:3], "twice": twice[:3], "not_whole": sorted(set(broken_turns))[:3]}}


def cpu_now(cluster: Cluster, redis_server: PrivateRedis, postgres: PrivatePostgres) -> Dict[str, float]:
    """CPU seconds used so far by each part: where the two cores went during a phase."""
    own = resource.getrusage(resource.RUSAGE_SELF)

    def of(members: Sequence[Any]) -> float:
        return sum(cpu_seconds(m.process.pid) for m in members if m.process is not None)

    postmaster = postgres.folder / "data" / "postmaster.pid"
    return {"load generator (these customers)": own.ru_utime + own.ru_stime,
            "web processes": of(cluster.webs), "action servers": of(cluster.actions),
            "nginx": cpu_seconds(cluster.nginx.pid) if cluster.nginx else 0.0,
            "PostgreSQL": cpu_seconds(int(postmaster.read_text().split()[0])) if postmaster.exists() else 0.0,
            "Redis": cpu_seconds(redis_server.process.pid) if redis_server.process else 0.0}


def cores_used(before: Dict[str, float], after: Dict[str, float], seconds: float) -> Dict[str, float]:
    return {part: round((after[part] - before[part]) / seconds, 2) for part in before}


async def supervise(cluster: Cluster, stop: asyncio.Event, log: List[str]) -> None:
    while not stop.is_set():
        for name in await asyncio.to_thread(cluster.restart_the_dead):
            log.append(f"{time.strftime('%H:%M:%S')} started {name} again")
        await asyncio.sleep(0.5)


async def with_fault(customers: Customers, phase: str, count: int, seconds: float,
                     fault: Callable[[], Awaitable[str]], events: List[str]) -> float:
    """Run the customers for ``seconds``, the fault 10 s in; returns when the fault ended (monotonic)."""
    ended: List[float] = []

    async def inject() -> None:
        await asyncio.sleep(10)
        events.append(f"{time.strftime('%H:%M:%S')} {phase}: {await fault()}")
        ended.append(time.monotonic())

    await asyncio.gather(customers.run(phase, count, seconds), inject())
    return ended[0]


async def main_async(args: argparse.Namespace) -> Dict[str, Any]:
    stories, _ = read_stories(ROOT / "tests" / "stories")
    scratch = Path(tempfile.mkdtemp(prefix="cluster-load-"))
    scratch.chmod(0o755)  # PostgreSQL's own user must reach its folder inside
    redis_server, postgres = PrivateRedis(scratch / "redis"), PrivatePostgres(scratch / "postgres")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RASA_", "BOT_", "CORS_"))}
    env.update({"PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
                "DATABASE_URL": postgres.url, "REDIS_URL": redis_server.url, "MODEL_PATH": str(MODEL),
                "ACTION_SERVER_SECRET": secrets.token_hex(16), "SHOP_FILE": str(ROOT / "shop.yml"),
                "VENDOR_DIR": str(ROOT / "node_modules"), "UPLOAD_DIR": str(scratch / "uploads"),
                "CONSOLE_SECRET": secrets.token_hex(16), "MAX_TURNS_IN_FLIGHT": str(args.turns_in_flight)})
    cluster = Cluster(free_port(), args.web, args.actions, env, scratch / "cluster")
    events: List[str] = []
    report: Dict[str, Any] = {"web_processes": args.web, "action_servers": args.actions,
                              "customers": args.customers, "think_seconds": THINK, "phases": {}}
    stop = asyncio.Event()
    try:
        redis_server.start()
        postgres.start()
        prepare_shop_database(postgres.url)
        began = time.monotonic()
        await asyncio.to_thread(cluster.start)
        report["start_seconds"] = round(time.monotonic() - began, 1)
        supervisor = asyncio.create_task(supervise(cluster, stop, events))
        customers = Customers(cluster.url, stories, seed=17)
        before = cpu_now(cluster, redis_server, postgres)
        began = time.monotonic()
        await customers.run("steady", args.customers, args.seconds)
        report["phases"]["steady"] = phase_figures(customers.sent, "steady", args.seconds)
        report["phases"]["steady"]["cores_used"] = cores_used(
            before, cpu_now(cluster, redis_server, postgres), time.monotonic() - began)
        if args.faults:
            async def kill(name: str) -> str:
                await asyncio.to_thread(cluster.kill, name)
                return f"SIGKILL {name}"

            async def down_and_up(service: Any, name: str) -> str:
                await asyncio.to_thread(service.stop)
                stopped = time.strftime("%H:%M:%S")
                await asyncio.sleep(15)
                await asyncio.to_thread(service.start)
                return f"{name} stopped at {stopped}, started again at {time.strftime('%H:%M:%S')}"

            faults = [("web process killed", lambda: kill("web1")),
                      ("action server killed", lambda: kill("actions1")),
                      ("Redis restarted", lambda: down_and_up(redis_server, "Redis")),
                      ("PostgreSQL restarted", lambda: down_and_up(postgres, "PostgreSQL"))]
            for phase, fault in faults:
                back_at = await with_fault(customers, phase, args.customers, args.fault_seconds, fault,
                                           events)
                report["phases"][phase] = phase_figures(customers.sent, phase, args.fault_seconds, back_at)
        stop.set()
        await supervisor
        report["database_check"] = await asyncio.to_thread(check_database, postgres.url, customers.sent)
        report["events"] = events
        report["errors_in_logs"] = {member.backend.name: sum(
            1 for line in member.log.read_text(errors="replace").splitlines() if " ERROR " in line)
            for member in cluster.webs + cluster.actions}
        report["logs"] = str(scratch)
    finally:
        stop.set()
        cluster.stop()
        redis_server.stop()
        postgres.stop()
    return report


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.cluster.load", description=__doc__.split("\n")[0])
    parser.add_argument("--web", type=int, default=2)
    parser.add_argument("--actions", type=int, default=2)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--fault-seconds", type=float, default=60)
    parser.add_argument("--faults", action="store_true", help="after the steady run, one fault at a time")
    parser.add_argument("--turns-in-flight", type=int, default=6, help="MAX_TURNS_IN_FLIGHT per web process")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "cluster_load.json")
    args = parser.parse_args(argv)
    if not MODEL.is_file():
        raise SystemExit(f"{MODEL} is missing: `make train` first")
    report = asyncio.run(main_async(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps(report, indent=2, default=str))
    check = report["database_check"]
    failed = any(figures["not_answered"] for figures in report["phases"].values()) or \
        check["answered_but_not_stored"] or check["stored_twice"] or check["turns_not_whole"]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

