"""Two web processes and two action servers behind nginx, on the real PostgreSQL and Redis (issue 17).

One cluster for the module, started the way `make run-cluster` starts it (bot/cluster/), on a new, empty
database: its four processes migrate it at once as they start.
"""
from __future__ import annotations

import gzip
import queue
import secrets
import threading
import time
import uuid
from typing import Any, Dict, Iterator, List, Tuple

import psycopg2
import pytest
import requests
import socketio

from actions.services.database import create_database_engine
from actions.services.handoffs import HandoffQueue
from actions.services.owners import OwnerAccounts
from bot.cluster.nginx import NODE_COOKIE
from bot.cluster.processes import Cluster, free_port
from bot.trained_models.registry import ModelRegistry
from tests.bot.servers import MODEL, ROOT, bot_env, socket_customer
from tests.bot.test_person_delivery_e2e import PASSWORD, Console, csrf_of
from tests.conftest import POSTGRES_ADMIN_URL, REDIS_URL

pytestmark = pytest.mark.e2e
OWNER = "owner-cluster@example.com"
QUESTIONS = ["what are your opening hours?", "how much is shipping?", "where is the shop?",
             "which payment methods do you take?", "can I return an item?", "how long does delivery take?"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Tuple[Cluster, str]]:
    if not MODEL.is_file():
        pytest.fail(f"{MODEL} is missing: `make test` trains it first")
    name = f"shopbot_cluster_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(POSTGRES_ADMIN_URL)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    database = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    work = tmp_path_factory.mktemp("cluster")
    env = bot_env({"DATABASE_URL": database, "REDIS_URL": REDIS_URL, "MODEL_PATH": str(MODEL),
                   "ACTION_SERVER_SECRET": secrets.token_hex(16), "SHOP_FILE": str(ROOT / "shop.yml"),
                   "VENDOR_DIR": str(ROOT / "node_modules"), "UPLOAD_DIR": str(work / "uploads"),
                   "MODEL_CHECK_SECONDS": "1"})
    running = Cluster(free_port(), 2, 2, env, work / "state")
    try:
        running.start()
        yield running, database
    finally:
        running.stop()
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def direct(cluster: Cluster, number: int) -> str:
    """One web process by its own port, past nginx."""
    return f"http://{cluster.webs[number].backend.address}"


def say(base_url: str, sender: str, text: str, message_id: str | None = None,
        session: requests.Session | None = None) -> requests.Response:
    body: Dict[str, Any] = {"sender": sender, "message": text}
    if message_id:
        body["message_id"] = message_id
    return (session or requests).post(f"{base_url}/webhooks/rest/webhook", json=body, timeout=60)


def stored_events(database: str, sender: str) -> List[Tuple[str, str, str]]:
    """(type, action or text, message id) of the conversation's events, in the order they were stored."""
    with psycopg2.connect(database) as db, db.cursor() as cursor:
        cursor.execute("SELECT type_name, action_name, data::json->>'text', data::json->>'message_id' "
                       "FROM events WHERE sender_id = %s ORDER BY id", (sender,))
        return [(kind, action or text or "", message_id or "") for kind, action, text, message_id in cursor]


def test_the_one_port_spreads_customers_and_keeps_each_with_its_process(cluster):
    running, _ = cluster
    first, second = requests.Session(), requests.Session()
    assert say(running.url, "sticky-1", "hello", session=first).status_code == 200
    assert say(running.url, "sticky-2", "hello", session=second).status_code == 200
    nodes = {first.cookies[NODE_COOKIE], second.cookies[NODE_COOKIE]}
    assert nodes == {"web1", "web2"}  # a customer without the cookie goes to the next process
    for session in (first, second):
        node = session.cookies[NODE_COOKIE]
        for text in QUESTIONS[:3]:
            reply = say(running.url, f"sticky-{node}", text, session=session)
            assert reply.status_code == 200 and reply.json()[0]["text"]
            assert session.cookies[NODE_COOKIE] == node
    health = requests.get(f"{running.url}/health", timeout=10).json()
    assert (health["status"], health["database"], health["lock_store"]) == ("ok", "ok", "ok")


def test_one_conversations_messages_sent_alternately_to_two_processes_stay_in_order(cluster):
    """RasaHQ/rasa#9213: 12 messages of one customer, each sent 40 ms after the last, alternately to the
    two processes, most while the one before is still being answered. Every one is answered, the
    conversation holds them in the order they were sent, and each turn's events stay together."""
    running, database = cluster
    sender = f"order-{uuid.uuid4().hex[:8]}"
    replies: Dict[int, requests.Response] = {}

    def send(number: int) -> None:
        replies[number] = say(direct(running, number % 2), sender, QUESTIONS[number % len(QUESTIONS)],
                              message_id=f"message-{number:02d}")

    threads = []
    for number in range(12):
        threads.append(threading.Thread(target=send, args=(number,)))
        threads[-1].start()
        time.sleep(0.04)
    for thread in threads:
        thread.join()
    assert {n: r.status_code for n, r in replies.items()} == {n: 200 for n in range(12)}
    assert all(r.json() and r.json()[0]["text"] for r in replies.values())
    events = stored_events(database, sender)
    users = [message_id for kind, _, message_id in events if kind == "user"]
    assert users == [f"message-{n:02d}" for n in range(12)]
    # Each turn: the customer's message, the bot's actions and words, and listening again, before the next.
    turn: List[str] = []
    for kind, name, _ in events:
        if kind == "user":
            assert not turn or turn[-1] == "action_listen", f"a turn began inside another: {turn}"
            turn = []
        turn.append(name if kind == "action" else kind)
    assert turn[-1] == "action_listen"
    assert sum(1 for kind, _, _ in events if kind == "bot") >= 12


def test_a_conversation_open_in_two_tabs_on_two_processes_sees_every_answer_and_the_persons_reply(cluster):
    """One customer, one tab on each process. The bot's answer to tab 1 reaches tab 2 through Redis; a
    person's reply, written in the console of process 1, reaches both tabs."""
    running, database = cluster
    engine = create_database_engine(database)
    try:
        OwnerAccounts(engine).add(OWNER, "Mara", PASSWORD)
        with socket_customer(direct(running, 0)) as (tab1, session_id, inbox1), \
                socket_customer(direct(running, 1), session_id) as (_, same, inbox2):
            assert same == session_id
            ack = tab1.call("user_uttered", {"message": "where is the shop?", "session_id": session_id,
                                             "message_id": "tabs-0001"}, timeout=30)
            assert ack["status"] == "delivered"
            assert "Quay Street" in inbox1.get(timeout=10)["text"]
            assert "Quay Street" in inbox2.get(timeout=10)["text"]  # the other process's tab too
            handoff = HandoffQueue(engine).request(session_id, "human_handoff", {"intent": "human_handoff"})
            owner = Console(direct(running, 0), OWNER)
            assert owner.act(handoff.id, "claim").status_code == 200
            assert owner.act(handoff.id, "reply", text="Hello from Mara").status_code == 200
            for inbox in (inbox1, inbox2):
                texts = [inbox.get(timeout=10)["text"] for _ in range(2)]
                assert texts == ["Mara joined the chat", "Hello from Mara"]
    finally:
        engine.dispose()


def test_failed_sign_ins_are_counted_across_processes(cluster):
    """Five wrong passwords, alternately on the two processes: the limit (5 for an email from one address)
    holds for both, even for the right password, as it would on one process."""
    running, database = cluster
    email = "limited-owner@example.com"
    engine = create_database_engine(database)
    try:
        OwnerAccounts(engine).add(email, "Lim", PASSWORD)
    finally:
        engine.dispose()

    def sign_in(number: int, password: str) -> str:
        http = requests.Session()
        form = http.get(f"{direct(running, number)}/console/login", timeout=10)
        return http.post(f"{direct(running, number)}/console/login", timeout=10, data={
            "csrf": csrf_of(form.text), "email": email, "password": password}).text

    for attempt in range(5):
        assert "Too many failed sign-ins" not in sign_in(attempt % 2, "wrong password")
    for number in range(2):
        assert "Too many failed sign-ins for this email from your address" in sign_in(number, PASSWORD)


def test_socketio_long_polling_through_the_load_balancer(cluster):
    """Long-polling is several requests that must meet one process: the cookie keeps them together."""
    running, _ = cluster
    for _ in range(3):  # customers land on both processes
        client = socketio.Client(reconnection=False)
        confirmed: "queue.Queue[Any]" = queue.Queue()
        inbox: "queue.Queue[Any]" = queue.Queue()
        client.on("session_confirm", confirmed.put)
        client.on("bot_uttered", inbox.put)
        client.connect(running.url, socketio_path="/socket.io", transports=["polling"])
        try:
            client.emit("session_request", {"session_id": None})
            session_id = confirmed.get(timeout=10)
            ack = client.call("user_uttered", {"message": "what are your opening hours?",
                                               "session_id": session_id}, timeout=30)
            assert ack["status"] == "delivered"
            assert "Our hours" in inbox.get(timeout=10)["text"]
        finally:
            client.disconnect()


def test_the_trainers_model_switch_reaches_every_process(cluster, tmp_path):
    running, database = cluster
    other = tmp_path / "repacked.tar.gz"  # the same model in other bytes: a new archive to switch to
    other.write_bytes(gzip.compress(gzip.decompress(MODEL.read_bytes()), compresslevel=1, mtime=1))
    engine = create_database_engine(database)
    try:
        registry = ModelRegistry(engine)
        model = registry.activate(registry.register(other, "trainer@example.com").id, "trainer@example.com")
    finally:
        engine.dispose()
    switched = f"Model {model.id} ({model.model_id}) answers now"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not all(switched in m.log.read_text() for m in running.webs):
        time.sleep(1)
    assert all(switched in m.log.read_text() for m in running.webs), "a web process did not switch"
    for number in range(2):
        reply = say(direct(running, number), f"after-switch-{number}", "what are your opening hours?")
        assert reply.status_code == 200 and "Our hours" in reply.json()[0]["text"]


def test_a_killed_web_process_hands_its_customers_to_the_other_and_comes_back(cluster):
    """SIGKILL, no goodbye: the customer's widget reconnects through the same port, to the other process,
    and the conversation goes on where it was. Last in this module: it kills a process."""
    running, database = cluster
    session = requests.Session()
    sender = f"survivor-{uuid.uuid4().hex[:8]}"
    assert say(running.url, sender, "where is the shop?", session=session).status_code == 200
    node = session.cookies[NODE_COOKIE]
    running.kill(node)
    reply = say(running.url, sender, "how much is shipping?", session=session)
    assert reply.status_code == 200 and reply.json()[0]["text"]
    assert session.cookies[NODE_COOKIE] != node  # moved, and stays moved
    users = [text for kind, text, _ in stored_events(database, sender) if kind == "user"]
    assert users == ["where is the shop?", "how much is shipping?"]
    assert running.restart_the_dead() == [node]
    running.wait_until_healthy()
    assert say(direct(running, int(node[-1]) - 1), sender, "thanks").status_code == 200
