"""The owner console: sign-in, CSRF on every form, the inbox, a conversation, claim / reply / hand back."""

from __future__ import annotations

import asyncio
import re

import pytest
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from actions.services.database import create_database_engine
from actions.services.handoffs import HandoffQueue
from actions.services.owners import OwnerAccounts
from tests.bot.fakes import RecordingAgent

PASSWORD = "correct horse battery"


@pytest.fixture
def console(make_app, tmp_path):
    agent = RecordingAgent(memory=True)
    app = make_app(agent)
    app.test_client.get("/health")  # starts the app once: migrations, console state
    engine = create_database_engine(f"sqlite:///{tmp_path}/app.db")
    OwnerAccounts(engine).add("mara@example.com", "Mara", PASSWORD)
    tracker = DialogueStateTracker("cust-7", [])
    tracker.update(UserUttered("my parcel is soaked <script>alert(1)</script>"))
    tracker.update(BotUttered("I'm sorry to hear that."))
    asyncio.run(agent.tracker_store.save(tracker))
    handoff = HandoffQueue(engine).request(
        "cust-7", "complaint", {"intent": "complaint", "order": "KC-10004"}
    )
    return app, agent, HandoffQueue(engine), handoff


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def sign_in(app, password: str = PASSWORD, email: str = "mara@example.com"):
    _, form = app.test_client.get("/console/login")
    token = form.cookies["shopbot_login"]
    _, reply = app.test_client.post(
        "/console/login",
        data={"csrf": csrf_of(form.text), "email": email, "password": password},
        cookies={"shopbot_login": token},
        allow_redirects=False,
    )
    return reply


def session_of(app) -> dict:
    reply = sign_in(app)
    assert reply.status == 303 and reply.headers["location"] == "/console"
    return {"shopbot_console": reply.cookies["shopbot_console"]}


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/console"),
        ("get", "/console/handoffs/1"),
        ("post", "/console/handoffs/1/claim"),
        ("post", "/console/handoffs/1/note"),
        ("post", "/console/handoffs/1/email"),
        ("get", "/console/replies"),
        ("get", "/console/figures"),
        ("get", "/console/figures/feedback.csv"),
        ("post", "/console/replies"),
        ("post", "/console/replies/1/delete"),
        ("post", "/console/logout"),
    ],
)
def test_every_console_route_refuses_anonymous_access(console, method, path):
    app, *_ = console
    _, reply = getattr(app.test_client, method)(path, allow_redirects=False)
    assert (reply.status, reply.headers.get("location")) in ((303, "/console/login"), (403, None))


def test_session_cookie_is_httponly_and_samesite(console):
    app, *_ = console
    reply = sign_in(app)
    header = [v for k, v in reply.headers.items() if k.lower() == "set-cookie" and "shopbot_console" in v][0]
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Path=/console" in header


def test_wrong_password_and_unknown_email_get_the_same_answer_then_a_wait(console):
    app, *_ = console
    wrong = sign_in(app, password="not the password")
    unknown = sign_in(app, email="nobody@example.com")
    assert wrong.status == unknown.status == 401
    assert "Wrong email or password." in wrong.text and "Wrong email or password." in unknown.text
    for _ in range(4):
        sign_in(app, password="still wrong here")
    assert sign_in(app).status == 429  # even the right password waits now


def test_sign_in_form_without_its_token_is_refused(console):
    app, *_ = console
    _, reply = app.test_client.post(
        "/console/login", data={"email": "mara@example.com", "password": PASSWORD}, allow_redirects=False
    )
    assert reply.status == 403


def test_forged_session_cookie_is_not_a_session(console):
    app, *_ = console
    cookies = session_of(app)
    owner, issued, signature = cookies["shopbot_console"].split(".")
    forged = {"shopbot_console": f"{int(owner) + 1}.{issued}.{signature}"}
    _, reply = app.test_client.get("/console", cookies=forged, allow_redirects=False)
    assert reply.status == 303


def test_claim_reply_and_hand_back_with_csrf_and_text_escaped(console):
    app, agent, queue, handoff = console
    cookies = session_of(app)
    _, inbox = app.test_client.get("/console", cookies=cookies)
    assert "Waiting (1)" in inbox.text and f"/console/handoffs/{handoff.id}" in inbox.text
    _, page = app.test_client.get(f"/console/handoffs/{handoff.id}", cookies=cookies)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert" not in page.text
    assert "KC-10004" in page.text  # the summary

    _, refused = app.test_client.post(
        f"/console/handoffs/{handoff.id}/claim", cookies=cookies, data={}, allow_redirects=False
    )
    assert refused.status == 403 and not queue.is_owned_by_person("cust-7")
    csrf = csrf_of(page.text)
    _, claimed = app.test_client.post(
        f"/console/handoffs/{handoff.id}/claim", cookies=cookies, data={"csrf": csrf}, allow_redirects=False
    )
    assert claimed.status == 303 and queue.is_owned_by_person("cust-7")

    _, replied = app.test_client.post(
        f"/console/handoffs/{handoff.id}/reply",
        cookies=cookies,
        data={"csrf": csrf, "text": "Hi, Mara here: a new one is on its way."},
        allow_redirects=False,
    )
    assert replied.status == 303
    tracker = asyncio.run(agent.tracker_store.retrieve("cust-7"))
    last = [e for e in tracker.events if isinstance(e, BotUttered)][-1]
    assert last.text == "Hi, Mara here: a new one is on its way."
    assert last.metadata == {"sender": {"type": "person", "name": "Mara"}, "delivery_id": 2}  # 1: joined
    _, page = app.test_client.get(f"/console/handoffs/{handoff.id}", cookies=cookies)
    assert "Mara</span>" in page.text

    _, back = app.test_client.post(
        f"/console/handoffs/{handoff.id}/hand-back",
        cookies=cookies,
        data={"csrf": csrf},
        allow_redirects=False,
    )
    assert back.status == 303 and not queue.is_owned_by_person("cust-7")
    _, again = app.test_client.post(
        f"/console/handoffs/{handoff.id}/reply",
        cookies=cookies,
        data={"csrf": csrf, "text": "late"},
        allow_redirects=False,
    )
    assert again.status == 409


def test_unknown_view_and_unknown_conversation(console):
    app, *_ = console
    cookies = session_of(app)
    assert app.test_client.get("/console?view=everything", cookies=cookies)[1].status == 400
    assert app.test_client.get("/console/handoffs/999", cookies=cookies)[1].status == 404
