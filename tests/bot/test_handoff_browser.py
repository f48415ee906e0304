"""A person takes over, seen from both sides: the customer in the widget and the owner in the console,
two browser contexts in Debian's Chromium against real servers.

These servers run a copy of shop.yml that is open around the clock, so the live path does not depend on
when the tests run; the ticket path is forced by nobody being at the console.
"""
from __future__ import annotations

import re
import shutil
import time

import pytest
import yaml
from playwright.sync_api import expect
from sqlalchemy import select, update

from actions.services import order_tables as t
from actions.services.database import create_database_engine
from actions.services.owners import OwnerAccounts
from tests.bot.conftest import SHOTS
from tests.bot.servers import ROOT, start_servers
from tests.smtp_inbox import start_smtp

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
PASSWORD = "correct horse battery"
OWNER = "mara.browser@example.com"


@pytest.fixture(scope="module")
def open_servers(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("open-shop")
    profile = yaml.safe_load((ROOT / "shop.yml").read_text())
    profile["opening_hours"] = {day: ["00:00-24:00"] for day in profile["opening_hours"]}
    profile["holidays"] = []
    (workdir / "shop.yml").write_text(yaml.safe_dump(profile, allow_unicode=True))
    shutil.copytree(ROOT / "branding", workdir / "branding")
    smtp, mail = start_smtp()
    running = start_servers(workdir, {"SHOP_FILE": str(workdir / "shop.yml"), "SMTP_HOST": "127.0.0.1",
                                      "SMTP_PORT": str(smtp.port), "SMTP_STARTTLS": "0",
                                      "SMTP_FROM": "assistant@kettleandcrumb.example"})
    running.engine = create_database_engine(f"sqlite:///{running.database}")
    running.mail = mail
    OwnerAccounts(running.engine).add(OWNER, "Mara", PASSWORD)
    yield running
    running.stop()
    smtp.stop()
    running.engine.dispose()


def nobody_at_the_console(servers) -> None:
    with servers.engine.begin() as connection:
        connection.execute(update(t.owners).values(last_seen_at=None))


def sign_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/console/login")
    page.get_by_label("Email").fill(OWNER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()


def open_chat(page, base_url: str):
    page.goto(base_url + "/")
    page.get_by_label("Open chat").click()
    log = page.get_by_role("log")
    expect(log).to_contain_text("welcome to Kettle & Crumb")
    return log


def say(page, text: str) -> None:
    box = page.get_by_label("Type your message")
    box.fill(text)
    box.press("Enter")


def test_owner_takes_over_a_live_chat_and_hands_it_back(open_servers, chromium):
    base = open_servers.base_url
    owner_context = chromium.new_context(viewport={"width": 1280, "height": 900})
    customer_context = chromium.new_context(viewport={"width": 1280, "height": 800})
    try:
        owner = owner_context.new_page()
        sign_in(owner, base)  # signed in: the bot now queues customers for a person
        expect(owner.get_by_role("status")).to_contain_text("0 waiting")

        customer = customer_context.new_page()
        log = open_chat(customer, base)
        say(customer, "can I talk to a real person please")
        expect(log).to_contain_text("You're number 1 in the queue")

        # The owner's inbox shows the customer without a reload.
        row = owner.get_by_role("link", name=re.compile(r"^#\d+$"))
        expect(row).to_have_count(1, timeout=15_000)
        expect(owner).to_have_title(re.compile(r"^\(1 waiting\) Inbox"))
        expect(owner.get_by_role("table")).to_contain_text("can I talk to a real person please")
        owner.screenshot(path=str(SHOTS / "console-inbox-live.png"))
        row.click()
        owner.get_by_role("button", name="Claim").click()
        reply_box = owner.get_by_label("Reply", exact=True)
        reply_box.fill("Hello, Mara from the shop here <b>now</b>. How can I help?")
        owner.get_by_role("button", name="Send", exact=True).click()

        # The customer sees the reply as coming from Mara, with the HTML as text.
        person = log.locator(".shopbot-msg--person")
        expect(person).to_contain_text("Hello, Mara from the shop here <b>now</b>. How can I help?")
        expect(person.locator(".shopbot-name")).to_have_text("Mara")

        # While Mara has the chat the bot is silent; Mara sees the message arrive without reloading.
        answers_before = log.locator(".shopbot-msg--bot").count()
        say(customer, "what time do you close on saturday?")
        transcript = owner.get_by_role("region", name="Transcript")
        expect(transcript).to_contain_text("what time do you close on saturday?", timeout=15_000)
        time.sleep(2)  # the bot would have answered by now
        expect(log.locator(".shopbot-msg--bot")).to_have_count(answers_before)
        owner.screenshot(path=str(SHOTS / "console-conversation-live.png"))
        customer.screenshot(path=str(SHOTS / "widget-with-person.png"))

        owner.get_by_role("button", name="Hand back to the bot").click()
        # Handed back: the bot first answers what the customer asked while Mara had the chat ...
        expect(log).to_contain_text("Let me answer what you asked while you were waiting.")
        expect(log.locator(".shopbot-msg--bot").last).to_contain_text("Sat")
        expect(log).not_to_contain_text("How did I do today?")
        # ... and asks for a rating only when the customer is done.
        say(customer, "great, thanks!")
        expect(log).to_contain_text("How did I do today?")
        customer.get_by_role("button", name="5", exact=True).click()
        expect(log).to_contain_text("Is there anything you'd like to add?")
        say(customer, "Mara sorted it in two minutes <i>thanks</i>")
        expect(log).to_contain_text("how likely are you to recommend Kettle & Crumb")
        customer.get_by_role("button", name="10", exact=True).click()
        expect(log).to_contain_text("a review helps a small shop like ours")
        customer.screenshot(path=str(SHOTS / "widget-rated-after-handback.png"))
        say(customer, "where is the shop?")
        expect(log).to_contain_text("14 Quay Street")

        # The owner sees the rating among the figures, with the comment escaped.
        owner.goto(f"{base}/console/figures")
        expect(owner.get_by_role("main")).to_contain_text("Mara sorted it in two minutes <i>thanks</i>")
        glance = owner.get_by_role("table").first  # "At a glance"
        expect(glance).to_contain_text("5.0 of 5 from 1 rating")
        expect(glance).to_contain_text("+100 from 1 answer: 1 promoter")
        owner.screenshot(path=str(SHOTS / "console-figures.png"), full_page=True)
    finally:
        owner_context.close()
        customer_context.close()


def test_an_offline_ticket_is_answered_by_email(open_servers, chromium):
    base = open_servers.base_url
    nobody_at_the_console(open_servers)
    customer_context = chromium.new_context(viewport={"width": 1280, "height": 800})
    owner_context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        customer = customer_context.new_page()
        log = open_chat(customer, base)
        say(customer, "I need to speak to a human")
        expect(log).to_contain_text("Leave your email address")
        say(customer, "ana.ticket@example.com")
        expect(log).to_contain_text("they'll reply within one working day at ana.ticket@example.com")
        say(customer, "where is the shop?")  # the bot keeps answering meanwhile
        expect(log).to_contain_text("14 Quay Street")
        # A thumbs-down on that answer is stored with it and the intent it answered.
        answer = log.locator(".shopbot-msg--bot").filter(has_text="14 Quay Street").last
        answer.get_by_role("button", name="Not helpful").click()
        expect(answer.get_by_role("button", name="Not helpful")).to_have_attribute("aria-pressed", "true")
        with open_servers.engine.connect() as connection:
            query = select(t.feedback).where(t.feedback.c.kind == "thumb")
            thumb = connection.execute(query).mappings().one()
        assert (thumb["score"], thumb["intent"]) == (-1, "store_location")
        assert "14 Quay Street" in thumb["message_text"]
        told = next(m for m in open_servers.mail.messages if m["Reply-To"] == "ana.ticket@example.com")
        assert told["To"] == "owner@kettleandcrumb.example"

        owner = owner_context.new_page()
        sign_in(owner, base)
        owner.get_by_role("link", name=re.compile(r"^Tickets")).click()
        expect(owner.get_by_role("table")).to_contain_text("I need to speak to a human")
        owner.get_by_role("link", name=re.compile(r"^#\d+$")).first.click()
        owner.get_by_label("Canned reply").select_option(label="Checking")
        expect(owner.get_by_label("Reply by email to ana.ticket@example.com")).to_have_value(
            re.compile("I'm checking this now"))
        owner.get_by_label("Reply by email to ana.ticket@example.com").fill(
            "Hello Ana, we are open until 18:00 today and happy to help in person.")
        owner.get_by_role("button", name="Send email and close the ticket").click()
        expect(owner.get_by_role("region", name="Summary")).to_contain_text("resolved")
        expect(owner.get_by_role("region", name="Transcript")).to_contain_text("Mara (by email)")
        owner.screenshot(path=str(SHOTS / "console-ticket-answered.png"))
        reply = next(m for m in open_servers.mail.messages if m["To"] == "ana.ticket@example.com")
        assert "we are open until 18:00 today" in reply.get_payload()
    finally:
        owner_context.close()
        customer_context.close()


def undelivered(servers, conversation_id: str) -> int:
    """How many of a person's messages in the conversation the widget has not acknowledged."""
    c = t.outbound_messages.c
    with servers.engine.connect() as connection:
        return len(connection.execute(select(c.id).where(
            c.conversation_id == conversation_id, c.delivered_at.is_(None))).all())


def test_a_reply_written_while_the_tab_is_closed_shows_once_when_the_customer_returns(open_servers, chromium):
    base = open_servers.base_url
    owner_context = chromium.new_context(viewport={"width": 1280, "height": 900})
    customer_context = chromium.new_context(viewport={"width": 1280, "height": 800})
    try:
        owner = owner_context.new_page()
        sign_in(owner, base)
        customer = customer_context.new_page()
        log = open_chat(customer, base)
        header = customer.locator(".shopbot-replytime")
        expect(header).to_contain_text("A person replies")
        say(customer, "can I talk to a real person please")
        expect(log).to_contain_text("You're number 1 in the queue")

        owner.get_by_role("link", name=re.compile(r"^#\d+$")).first.click()
        owner.get_by_role("button", name="Claim").click()
        presence = owner.locator("[data-presence]")
        expect(presence).to_have_attribute("data-presence", "open")
        # The customer sees who joined, and the header says a person is there instead of the reply time.
        expect(log.locator(".shopbot-system")).to_have_text(re.compile(r"^Mara joined the chat"))
        expect(header).to_have_text("Mara is in the chat")
        customer.screenshot(path=str(SHOTS / "widget-person-joined.png"))

        customer.close()  # the customer closes the tab; the console sees it without a reload
        expect(presence).to_have_attribute("data-presence", "closed", timeout=15_000)
        owner.get_by_label("Reply", exact=True).fill("Your beans are on their way <b>today</b>.")
        owner.get_by_role("button", name="Send", exact=True).click()
        transcript = owner.get_by_role("region", name="Transcript")
        expect(transcript.locator(".line.person").last).to_contain_text(
            "waiting: shown when the customer opens the chat again")
        owner.screenshot(path=str(SHOTS / "console-reply-waiting.png"), full_page=True)

        customer = customer_context.new_page()  # back the next day, say: same browser, a new tab
        customer.goto(base + "/")
        customer.get_by_role("button", name="Open chat (new message)").click()
        log, header = customer.get_by_role("log"), customer.locator(".shopbot-replytime")
        mine = log.locator(".shopbot-msg--person").filter(has_text="Your beans are on their way <b>today</b>")
        expect(mine).to_have_count(1)
        expect(transcript.locator(".line.person").last).to_contain_text("delivered", timeout=15_000)
        owner.screenshot(path=str(SHOTS / "console-reply-delivered.png"), full_page=True)
        # Say the acknowledgement never reached the server: it sends the reply again when the widget
        # reconnects, and the widget, which has it already, shows it once and acknowledges it again.
        chat = customer.evaluate("localStorage.getItem('shopbot.session')")
        sent = t.outbound_messages
        with open_servers.engine.begin() as connection:
            connection.execute(update(sent).where(sent.c.conversation_id == chat).values(delivered_at=None))
        customer.reload()
        expect(customer.get_by_role("log")).to_contain_text("Your beans are on their way")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and undelivered(open_servers, chat):
            time.sleep(0.2)
        assert undelivered(open_servers, chat) == 0  # sent again and acknowledged again ...
        expect(mine).to_have_count(1)  # ... but shown once
        expect(log.locator(".shopbot-system").filter(has_text="Mara joined the chat")).to_have_count(1)
        expect(header).to_have_text("Mara is in the chat")
        customer.screenshot(path=str(SHOTS / "widget-reply-after-return.png"))

        owner.get_by_role("button", name="Resolve").click()
        expect(log.locator(".shopbot-system").last).to_contain_text("Mara has closed this conversation.")
        expect(header).to_contain_text("A person replies")
        customer.screenshot(path=str(SHOTS / "widget-resolved.png"))
    finally:
        owner_context.close()
        customer_context.close()
