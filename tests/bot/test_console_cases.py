"""The console's Cases area: who may see it, the list and one case, photos only for signed-in owners,
status changes (CSRF, bad input, audit), a reply stored in the customer's conversation and emailed, the
links between a case and its conversation, and the console's wording (no payloads, right plurals)."""

from __future__ import annotations

import asyncio
import json

import pytest
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select

from actions.services import order_tables as t
from actions.services.cases import CaseBook
from actions.services.database import create_database_engine
from actions.services.demo_orders import seed_demo_orders
from actions.services.handoffs import HandoffQueue
from actions.services.orders import OrderService
from actions.services.owners import OwnerAccounts
from tests.bot.fakes import RecordingAgent
from tests.bot.test_console import PASSWORD, csrf_of, session_of
from tests.smtp_inbox import settings_for

CONVERSATION = "0123456789abcdef0123456789abcdef"
PHOTO = f"{CONVERSATION}/{'a' * 32}.jpg"
JPEG = b"\xff\xd8\xff\xe0 a mug with a broken handle"
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def desk(make_app, tmp_path, shop):
    """A console with one damaged-item case (photo, order KC-10004) and its conversation."""
    def make(**settings):
        agent = RecordingAgent(memory=True)
        url = settings.setdefault("database_url", f"sqlite:///{tmp_path}/app.db")
        app = make_app(agent, upload_dir=tmp_path / "uploads", **settings)
        app.test_client.get("/health")  # starts the app once: migrations
        engine = create_database_engine(url)
        OwnerAccounts(engine).add("mara@example.com", "Mara", PASSWORD)
        orders = OrderService(engine, shop)
        seed_demo_orders(orders)
        (tmp_path / "uploads" / CONVERSATION).mkdir(parents=True)
        (tmp_path / "uploads" / PHOTO).write_bytes(JPEG)
        number = orders.open_case("damaged", "KC-10004", "Ceramic Mug", f"handle snapped {SCRIPT}",
                                  CONVERSATION, remedy="replacement", photo_path=PHOTO,
                                  contact="chris.evans@example.com")
        tracker = DialogueStateTracker(CONVERSATION, [])
        tracker.update(BotUttered("Is your complaint about an order?", data={"buttons": [
            {"title": "Not about an order", "payload": '/inform{"choice": "none"}'}]}))
        tracker.update(UserUttered('/inform{"choice": "none"}'))
        tracker.update(UserUttered("/human_handoff"))
        tracker.update(UserUttered(f"the mug broke {SCRIPT}"))
        asyncio.run(agent.tracker_store.save(tracker))
        book = CaseBook(engine)
        return app, agent, engine, book, book.by_number(number), session_of(app)
    return make


def post(app, path, cookies, **data):
    return app.test_client.post(path, cookies=cookies, data=data, allow_redirects=False)[1]


def csrf(app, cookies):
    return csrf_of(app.test_client.get("/console/cases", cookies=cookies)[1].text)


@pytest.mark.parametrize("method,path", [
    ("get", "/console/cases"), ("get", "/console/cases/1"), ("get", "/console/cases/1/photo"),
    ("post", "/console/cases/1/status"), ("post", "/console/cases/1/reply")])
def test_the_cases_area_refuses_anonymous_access(desk, method, path):
    app, *_ = desk()
    _, reply = getattr(app.test_client, method)(path, allow_redirects=False)
    assert (reply.status, reply.headers.get("location")) == (303, "/console/login")


def test_the_list_shows_open_cases_with_thumbnail_order_and_customer_escaped(desk):
    app, _, _, book, case, cookies = desk()
    _, page = app.test_client.get("/console/cases", cookies=cookies)
    assert page.status == 200 and "Open (1)" in page.text and "1 open case." in page.text
    assert f'href="/console/cases/{case.id}">{case.number}</a><br>Damaged item' in page.text
    assert f'<img class="thumb" src="/console/cases/{case.id}/photo"' in page.text
    assert "KC-10004" in page.text and "Chris Evans" in page.text and "chris.evans@example.com" in page.text
    assert "&lt;script&gt;" in page.text and SCRIPT not in page.text
    assert '<a href="/console/cases">Cases</a>' in page.text  # in the header of every console page
    assert app.test_client.get("/console/cases?view=everything", cookies=cookies)[1].status == 400


def test_the_photo_is_served_to_a_signed_in_owner_only_and_never_outside_the_uploads(desk, shop, tmp_path):
    app, _, engine, book, case, cookies = desk()
    _, photo = app.test_client.get(f"/console/cases/{case.id}/photo", cookies=cookies)
    assert (photo.status, photo.body, photo.headers["content-type"]) == (200, JPEG, "image/jpeg")
    assert app.test_client.get(f"/console/cases/{case.id}/photo", allow_redirects=False)[1].status == 303
    (tmp_path / "secret.jpg").write_bytes(b"the shop's secret")
    sneaky = OrderService(engine, shop).open_case("damaged", "KC-10004", "x", "", "c",
                                                  photo_path="../secret.jpg")
    sneaky_id = book.by_number(sneaky).id
    assert app.test_client.get(f"/console/cases/{sneaky_id}/photo", cookies=cookies)[1].status == 404
    assert app.test_client.get("/console/cases/999/photo", cookies=cookies)[1].status == 404


def test_a_status_change_needs_the_csrf_token_a_known_status_and_a_known_case(desk):
    app, _, engine, book, case, cookies = desk()
    path = f"/console/cases/{case.id}/status"
    token = csrf(app, cookies)
    assert post(app, path, cookies, status="replaced").status == 403
    assert post(app, path, cookies, csrf="forged", status="replaced").status == 403
    assert post(app, path, cookies, csrf=token, status="lost").status == 400
    assert post(app, path, cookies, csrf=token).status == 400
    assert post(app, "/console/cases/999/status", cookies, csrf=token, status="closed").status == 404
    assert app.test_client.get("/console/cases/999", cookies=cookies)[1].status == 404
    assert book.get(case.id).status == "open"
    with engine.connect() as connection:
        audited = connection.execute(select(t.audit_log).where(t.audit_log.c.action == "case_status")).all()
    assert audited == []


def test_a_status_change_is_stored_audited_and_shown_and_a_closed_case_stays_closed(desk):
    app, _, engine, book, case, cookies = desk()
    token = csrf(app, cookies)
    done = post(app, f"/console/cases/{case.id}/status", cookies, csrf=token, status="replaced")
    assert (done.status, done.headers["location"]) == (303, f"/console/cases/{case.id}?done=status")
    assert book.get(case.id).status == "replaced"
    with engine.connect() as connection:
        details = connection.execute(select(t.audit_log.c.details)
                                     .where(t.audit_log.c.action == "case_status")).scalar_one()
    assert json.loads(details) == {"case": case.number, "from": "open", "to": "replaced",
                                   "by": "Mara", "owner_id": 1}
    _, page = app.test_client.get(f"/console/cases/{case.id}?done=status", cookies=cookies)
    assert "The case is now replaced." in page.text and "Marked replaced</span>" not in page.text
    assert "Marked replaced by Mara" in page.text and "Close the case" in page.text
    assert "Mark refunded" not in page.text  # settled: only closing is left
    assert post(app, f"/console/cases/{case.id}/status", cookies, csrf=token, status="closed").status == 303
    again = post(app, f"/console/cases/{case.id}/status", cookies, csrf=token, status="refunded")
    assert again.status == 409 and "already closed" in again.text and book.get(case.id).status == "closed"
    _, listing = app.test_client.get("/console/cases", cookies=cookies)
    assert "No open cases." in listing.text and "Open (0)" in listing.text
    _, everything = app.test_client.get("/console/cases?view=all", cookies=cookies)
    assert case.number in everything.text and "All (1)" in everything.text


def test_a_reply_is_stored_in_the_conversation_and_the_page_said_there_is_no_email(desk):
    app, agent, _, book, case, cookies = desk()
    _, page = app.test_client.get(f"/console/cases/{case.id}", cookies=cookies)
    assert "Email is not set up on this server (SMTP_HOST is empty), so your reply goes only to the " \
           "customer&#x27;s chat" in page.text
    sent = post(app, f"/console/cases/{case.id}/reply", cookies, csrf=csrf_of(page.text),
                text="So sorry, Chris: a new mug <b>is</b> on its way.")
    assert (sent.status, sent.headers["location"]) == (303, f"/console/cases/{case.id}?done=reply")
    tracker = asyncio.run(agent.tracker_store.retrieve(CONVERSATION))
    last = [e for e in tracker.events if isinstance(e, BotUttered)][-1]
    assert last.text == "So sorry, Chris: a new mug <b>is</b> on its way."
    assert last.metadata["sender"] == {"type": "person", "name": "Mara"}
    [entry] = [h for h in book.get(case.id).history if h.text]
    assert (entry.what, entry.by) == ("Replied to the customer", "Mara")
    _, page = app.test_client.get(f"/console/cases/{case.id}?done=reply", cookies=cookies)
    assert "a new mug &lt;b&gt;is&lt;/b&gt; on its way." in page.text and "<b>is</b>" not in page.text


def test_a_bad_reply_comes_back_with_its_text_and_changes_nothing(desk):
    app, agent, _, book, case, cookies = desk()
    token = csrf(app, cookies)
    long_text = f"{SCRIPT} " + "x" * 2100
    refused = post(app, f"/console/cases/{case.id}/reply", cookies, csrf=token, text=long_text)
    assert refused.status == 400 and "A reply needs 1–2000 characters." in refused.text
    assert f"&lt;script&gt;alert(1)&lt;/script&gt; {'x' * 2100}</textarea>" in refused.text  # nothing lost
    assert post(app, f"/console/cases/{case.id}/reply", cookies, csrf=token, text="  ").status == 400
    stale = post(app, f"/console/cases/{case.id}/reply", cookies, csrf="stale", text="typed <i>before</i>")
    assert stale.status == 403 and "typed &lt;i&gt;before&lt;/i&gt;</textarea>" in stale.text
    assert post(app, "/console/cases/999/reply", cookies, csrf=token, text="hello").status == 404
    tracker = asyncio.run(agent.tracker_store.retrieve(CONVERSATION))
    assert not [e for e in tracker.events if isinstance(e, BotUttered) and (e.metadata or {}).get("sender")]
    assert [h.what for h in book.get(case.id).history] == ["Opened by the assistant"]


def test_with_smtp_a_reply_is_also_emailed_to_the_customer(desk, smtp_server):
    controller, inbox = smtp_server
    app, agent, _, book, case, cookies = desk(smtp=settings_for(controller))
    _, page = app.test_client.get(f"/console/cases/{case.id}", cookies=cookies)
    assert "Your reply goes to the customer&#x27;s chat (they see it when they come back) and by email to " \
           "chris.evans@example.com." in page.text
    sent = post(app, f"/console/cases/{case.id}/reply", cookies, csrf=csrf_of(page.text),
                text="A new mug is on its way.")
    assert sent.headers["location"].endswith("?done=emailed")
    [(recipients, message)] = inbox.envelopes
    assert recipients == ["chris.evans@example.com"]
    assert message["Subject"] == f"About your case {case.number} with Kettle & Crumb"
    body = message.get_payload(decode=True).decode()
    assert body.split() == "A new mug is on its way. Mara, Kettle & Crumb".split()
    assert book.get(case.id).history[-1].detail == "also emailed to chris.evans@example.com"
    _, page = app.test_client.get(f"/console/cases/{case.id}", cookies=cookies)
    assert "Replied to the customer by Mara (also emailed to chris.evans@example.com)" in page.text


def test_a_case_and_its_conversation_link_to_each_other(desk):
    app, _, engine, book, case, cookies = desk()
    summary = {"case": case.number, "order": "KC-10004", "intent": "damaged_item"}
    handoff = HandoffQueue(engine).request(CONVERSATION, "order_case", summary, case_id=case.id)
    _, case_page = app.test_client.get(f"/console/cases/{case.id}", cookies=cookies)
    assert f'href="/console/handoffs/{handoff.id}">in the inbox, #{handoff.id}</a>' in case_page.text
    _, conversation = app.test_client.get(f"/console/handoffs/{handoff.id}", cookies=cookies)
    assert f'<a href="/console/cases/{case.id}">{case.number}</a> (damaged item, open)' in conversation.text
    assert "<dt>Wanted</dt><dd>Item arrived damaged</dd>" in conversation.text  # not "damaged_item"
    _, inbox = app.test_client.get("/console", cookies=cookies)
    assert "Waiting (1)" in inbox.text and "Order problem" in inbox.text


def test_transcripts_show_buttons_in_words_and_counts_in_the_right_plural(desk):
    app, _, engine, book, case, cookies = desk()
    HandoffQueue(engine).request("night", "human_handoff", {"asked": "/human_handoff"},
                                 contact_email="sam@example.com", ticket_due=case.created_at)
    _, inbox = app.test_client.get("/console?view=tickets", cookies=cookies)
    assert "1 ticket," in inbox.text and "1 tickets" not in inbox.text
    assert "chose: Talk to a person" in inbox.text and "/human_handoff" not in inbox.text
    _, page = app.test_client.get(f"/console/cases/{case.id}", cookies=cookies)
    assert "The conversation (4 messages)" in page.text
    assert "chose: Not about an order" in page.text and "chose: Talk to a person" in page.text
    assert "[none]" not in page.text and "/human_handoff" not in page.text and '"choice"' not in page.text


def test_on_postgresql_a_status_change_and_a_reply_are_stored_too(desk, postgres_url):
    app, agent, _, book, case, cookies = desk(database_url=postgres_url)
    token = csrf(app, cookies)
    assert post(app, f"/console/cases/{case.id}/status", cookies, csrf=token, status="refunded").status == 303
    assert post(app, f"/console/cases/{case.id}/status", cookies, csrf=token, status="lost").status == 400
    replied = post(app, f"/console/cases/{case.id}/reply", cookies, csrf=token, text="Refunded today.")
    assert replied.status == 303
    stored = book.get(case.id)
    assert stored.status == "refunded"
    assert [(h.what, h.by) for h in stored.history][-2:] == [("Marked refunded", "Mara"),
                                                             ("Replied to the customer", "Mara")]
    tracker = asyncio.run(agent.tracker_store.retrieve(CONVERSATION))
    assert [e.text for e in tracker.events if isinstance(e, BotUttered)][-1] == "Refunded today."
