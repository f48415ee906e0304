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


def sign_in(app, password: str = PASSWORD, email: str = "mara@example.com", headers=None):
    _, form = app.test_client.get("/console/login")
    token = form.cookies["shopbot_login"]
    _, reply = app.test_client.post(
        "/console/login",
        data={"csrf": csrf_of(form.text), "email": email, "password": password},
        cookies={"shopbot_login": token},
        headers=headers or {},
        allow_redirects=False,
    )
    return reply


def session_cookie_header(reply) -> str:
    return [v for k, v in reply.headers.items() if k.lower() == "set-cookie" and "shopbot_console" in v][0]


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
    header = session_cookie_header(reply)
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Path=/console" in header
    assert "Secure" not in header  # plain http straight to the server: a Secure cookie would never come back


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
    token, signature = cookies["shopbot_console"].split(".")
    other_token = f"{token[:-1]}{'A' if token[-1] != 'A' else 'B'}"
    other_signature = f"{signature[:-1]}{'0' if signature[-1] != '0' else '1'}"
    for forged in (f"{other_token}.{signature}", f"{token}.{other_signature}", token, "1.2.3"):
        _, reply = app.test_client.get("/console", cookies={"shopbot_console": forged}, allow_redirects=False)
        assert reply.status == 303, forged


def sign_out(app, cookies) -> None:
    _, inbox = app.test_client.get("/console", cookies=cookies)
    _, reply = app.test_client.post("/console/logout", data={"csrf": csrf_of(inbox.text)}, cookies=cookies,
                                    allow_redirects=False)
    assert reply.status == 303 and reply.headers["location"] == "/console/login"


def test_after_sign_out_the_old_cookie_opens_nothing(console):
    app, _, _, handoff = console
    cookies = session_of(app)
    _, inbox = app.test_client.get("/console", cookies=cookies)
    token = csrf_of(inbox.text)
    sign_out(app, cookies)
    # Someone who kept a copy of the cookie (a shared computer, a stolen laptop) is not signed in.
    for path in ("/console", f"/console/handoffs/{handoff.id}", "/console/replies", "/console/password"):
        _, reply = app.test_client.get(path, cookies=cookies, allow_redirects=False)
        assert (reply.status, reply.headers.get("location")) == (303, "/console/login"), path
    _, reply = app.test_client.post(f"/console/handoffs/{handoff.id}/claim", data={"csrf": token},
                                    cookies=cookies, allow_redirects=False)
    assert reply.status == 303 and reply.headers["location"] == "/console/login"
    _, reply = app.test_client.get("/console/events", cookies=cookies, allow_redirects=False)
    assert reply.status == 401
    assert console[2].get(handoff.id).status == "waiting"  # the claim did nothing
    _, again = app.test_client.get("/console", cookies=session_of(app))  # signing in again works
    assert again.status == 200


def change_password(app, cookies, current, new, again=None):
    _, form = app.test_client.get("/console/password", cookies=cookies)
    assert form.status == 200 and "Change your password" in form.text
    _, reply = app.test_client.post(
        "/console/password", cookies=cookies, allow_redirects=False,
        data={"csrf": csrf_of(form.text), "current": current, "new": new,
              "again": new if again is None else again})
    return reply


def test_a_password_change_signs_out_every_other_session(console):
    app, *_ = console
    laptop, phone = session_of(app), session_of(app)
    new = "a much longer new passphrase"
    assert change_password(app, laptop, "not the password", new).status == 400
    assert change_password(app, laptop, PASSWORD, new, again="a different passphrase").status == 400
    assert change_password(app, laptop, PASSWORD, "short").status == 400
    _, still = app.test_client.get("/console", cookies=phone, allow_redirects=False)
    assert still.status == 200  # refused changes end nothing
    reply = change_password(app, laptop, PASSWORD, new)
    assert reply.status == 200 and "Signed out elsewhere: 1 session." in reply.text
    _, gone = app.test_client.get("/console", cookies=phone, allow_redirects=False)
    assert (gone.status, gone.headers.get("location")) == (303, "/console/login")
    _, kept = app.test_client.get("/console", cookies=laptop, allow_redirects=False)
    assert kept.status == 200  # the session that changed it stays
    assert sign_in(app).status == 401
    assert sign_in(app, password=new).status == 303


def test_the_password_form_needs_its_csrf_token(console):
    app, *_ = console
    cookies = session_of(app)
    _, reply = app.test_client.post("/console/password", cookies=cookies, allow_redirects=False,
                                    data={"current": PASSWORD, "new": "x" * 20, "again": "x" * 20})
    assert reply.status == 403
    assert sign_in(app).status == 303  # unchanged


def app_behind(make_app, tmp_path, proxy: str):
    """An app trusting the proxy at ``proxy`` (the test client is 127.0.0.1), with Mara's account."""
    app = make_app(RecordingAgent(memory=True), trusted_proxies=(proxy,))
    app.test_client.get("/health")
    engine = create_database_engine(f"sqlite:///{tmp_path}/app.db")
    OwnerAccounts(engine).add("mara@example.com", "Mara", PASSWORD)
    engine.dispose()
    return app


def test_https_through_a_trusted_proxy_makes_the_cookies_secure(make_app, tmp_path):
    app = app_behind(make_app, tmp_path, "127.0.0.1")
    reply = sign_in(app, headers={"X-Forwarded-Proto": "https"})
    assert reply.status == 303
    header = session_cookie_header(reply)
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Strict" in header
    assert "Secure" not in session_cookie_header(sign_in(app))  # the proxy said nothing: plain http


def test_a_forwarded_proto_from_an_untrusted_address_is_ignored(make_app, tmp_path):
    app = app_behind(make_app, tmp_path, "10.0.0.1")
    reply = sign_in(app, headers={"X-Forwarded-Proto": "https"})
    assert reply.status == 303 and "Secure" not in session_cookie_header(reply)


def test_five_wrong_passwords_from_one_address_do_not_lock_the_owner_out_from_another(make_app, tmp_path):
    app = app_behind(make_app, tmp_path, "127.0.0.1")
    stranger, owner = {"X-Forwarded-For": "203.0.113.5"}, {"X-Forwarded-For": "198.51.100.7"}
    for _ in range(5):
        assert sign_in(app, password="a guess at it", headers=stranger).status == 401
    refused = sign_in(app, headers=stranger)
    assert refused.status == 429 and int(refused.headers["retry-after"]) > 14 * 60
    assert "for this email from your address. Try again in 15 minutes." in refused.text
    assert sign_in(app, headers=owner).status == 303


def test_a_forwarded_for_from_an_untrusted_address_does_not_escape_the_limit(console):
    app, *_ = console
    for n in range(5):
        sign_in(app, password="a guess at it", headers={"X-Forwarded-For": f"203.0.113.{n}"})
    assert sign_in(app, headers={"X-Forwarded-For": "198.51.100.7"}).status == 429


def test_many_addresses_guessing_one_email_reach_the_ceiling_for_everyone(make_app, tmp_path):
    app = app_behind(make_app, tmp_path, "127.0.0.1")
    for n in range(50):
        guesser = {"X-Forwarded-For": f"203.0.113.{n}"}
        assert sign_in(app, password="a guess at it", headers=guesser).status == 401
    refused = sign_in(app, headers={"X-Forwarded-For": "198.51.100.7"})
    assert refused.status == 429
    assert "for this email from many addresses. Try again in 60 minutes." in refused.text


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


TOO_BIG = "9223372036854775808"  # 2**63: no row can have it; SQLite raised OverflowError on it


@pytest.mark.parametrize("method,path", [
    ("get", f"/console/handoffs/{TOO_BIG}"),
    ("post", f"/console/handoffs/{TOO_BIG}/claim"),
    ("get", "/console/events?handoff=99999999999999999999"),
    ("get", "/console/events?handoff=²"),  # a digit to str.isdigit, not to int()
    ("get", f"/console/cases/{TOO_BIG}"),
    ("get", f"/console/cases/{TOO_BIG}/photo"),
    ("post", f"/console/cases/{TOO_BIG}/status"),
    ("post", f"/console/cases/{TOO_BIG}/reply"),
    ("get", f"/console/problems/{TOO_BIG}"),
    ("post", f"/console/replies/{TOO_BIG}/delete"),
])
def test_an_id_no_row_can_have_is_a_404(console, method, path):
    app, _, queue, handoff = console
    cookies = session_of(app)
    _, inbox = app.test_client.get("/console", cookies=cookies)
    form = {"csrf": csrf_of(inbox.text), "status": "closed", "text": "hi"}
    extra = {"data": form} if method == "post" else {}
    _, reply = getattr(app.test_client, method)(path, cookies=cookies, allow_redirects=False, **extra)
    assert reply.status == 404
    assert queue.get(handoff.id).status == "waiting"


def test_a_token_or_cookie_outside_ascii_is_a_403_not_a_500(console):
    app, _, queue, handoff = console
    _, reply = app.test_client.post("/console/login", cookies={"shopbot_login": "x"}, allow_redirects=False,
                                    data={"csrf": "é", "email": "mara@example.com", "password": PASSWORD})
    assert reply.status == 403 and "shopbot_console" not in reply.cookies
    _, reply = app.test_client.post("/console/login", headers={"Cookie": "shopbot_login=é".encode()},
                                    allow_redirects=False,
                                    data={"csrf": "é", "email": "mara@example.com", "password": PASSWORD})
    assert reply.status == 403
    cookies = session_of(app)
    for path in (f"/console/handoffs/{handoff.id}/claim", "/console/logout", "/console/replies"):
        _, reply = app.test_client.post(path, cookies=cookies, data={"csrf": "é"}, allow_redirects=False)
        assert reply.status == 403, path
    assert queue.get(handoff.id).status == "waiting"
    _, still = app.test_client.get("/console", cookies=cookies, allow_redirects=False)
    assert still.status == 200  # the refused sign-out ended nothing
