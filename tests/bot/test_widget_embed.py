"""The widget embedded on the shop's own site (a second origin), as customers use it.

Chromium (Debian's, headless) loads pages from a local "shop site" whose only link to the bot is
``<script src="BOT/widget.js" data-position="left" defer>``.
"""
from __future__ import annotations

import json
import re
import sqlite3
from typing import List

import pytest
from playwright.sync_api import expect

from tests.bot.conftest import SHOTS
from tests.bot.servers import free_port, start_servers
from tests.bot.shop_site import start_shop_site

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def user_texts(database, session_id: str) -> List[str]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id",
                          (session_id,))
        return [json.loads(row[0])["text"] for row in rows]


def loaded(page, part: str) -> bool:
    return page.evaluate(
        "(part) => performance.getEntriesByType('resource').some(e => e.name.includes(part))", part)


def test_conversation_on_the_shops_site_survives_reload_and_moving_between_pages(
        servers, shop_site, browser):
    page = browser.new_page()
    page.goto(shop_site.url + "/")
    launcher = page.get_by_role("button", name="Open chat")
    expect(launcher).to_be_visible()
    assert launcher.bounding_box()["x"] < 100  # data-position="left"
    assert not loaded(page, "socket.io.min.js")  # nothing heavy before the customer starts a chat
    assert page.evaluate("document.title") == "Home · a shop's own site"

    launcher.click()
    dialog = page.get_by_role("dialog", name="Chat with Kettle & Crumb")
    log = page.get_by_role("log", name="Messages")
    expect(log).to_contain_text("welcome to Kettle & Crumb")
    # Header from shop.yml via /widget/config: open-now status, reply time, avatar, privacy link.
    open_or_closed = re.compile(r"^(Open now until \d\d:\d\d|Closed\b.*)$")
    expect(dialog.locator(".shopbot-hours")).to_have_text(open_or_closed)
    hours = dialog.locator(".shopbot-hours").inner_text()
    expect(dialog.locator(".shopbot-replytime")).to_have_text(
        "A person replies in about 10 minutes" if hours.startswith("Open") else
        "A person replies within one working day")
    avatar = dialog.locator(".shopbot-avatar img")
    expect(avatar).to_have_attribute("src", servers.base_url + "/widget/avatar")
    assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", avatar.element_handle())
    expect(dialog.get_by_role("link", name="Privacy notice")).to_have_attribute(
        "href", "https://kettleandcrumb.example/privacy")
    accent = page.evaluate("getComputedStyle(document.querySelector('.shopbot-header')).backgroundColor")
    assert accent == "rgb(47, 111, 78)"  # #2f6f4e from shop.yml

    page.get_by_role("button", name="Opening hours").click()
    expect(log).to_contain_text("Our hours: Mon–Thu 08:00–18:00")
    expect(page.get_by_role("button", name="Opening hours")).to_have_count(0)  # the chosen chip is gone
    expect(log.locator(".shopbot-msg--user .shopbot-bubble")).to_have_text(["You: Opening hours"])
    page.get_by_label("Type your message").fill("how much is delivery?")
    page.keyboard.press("Enter")
    expect(log).to_contain_text("We deliver to United Kingdom")
    assert all(re.fullmatch(r"\d\d:\d\d", t) for t in log.locator("time").all_inner_texts())
    page.screenshot(path=str(SHOTS / "embed-desktop.png"))
    session = page.evaluate("localStorage.getItem('shopbot.session')")

    page.reload()
    expect(page.get_by_role("log")).to_contain_text("We deliver to United Kingdom")  # history shown again
    page.get_by_role("link", name="Beans").click()
    expect(page).to_have_title("Beans · a shop's own site")
    expect(page.get_by_role("log")).to_contain_text("Our hours: Mon–Thu")  # still open, same history
    page.get_by_label("Type your message").fill("where is your shop?")
    page.get_by_label("Type your message").press("Enter")
    expect(page.get_by_role("log")).to_contain_text("14 Quay Street")
    assert page.evaluate("localStorage.getItem('shopbot.session')") == session
    assert user_texts(servers.database, session) == [
        "/greet", "/opening_hours", "how much is delivery?", "where is your shop?"]

    page.get_by_role("button", name="Chat options").click()
    page.get_by_role("menuitem", name="New conversation").click()
    expect(page.get_by_role("log")).not_to_contain_text("14 Quay Street")
    expect(page.get_by_role("log")).to_contain_text("welcome to Kettle & Crumb")
    assert page.evaluate("localStorage.getItem('shopbot.session')") not in (None, session)


def test_a_site_not_in_cors_origins_is_refused(servers, browser):
    stranger = start_shop_site(free_port(), servers.base_url)
    try:
        page = browser.new_page()
        page.goto(stranger.url + "/")
        page.get_by_role("button", name="Open chat").click()
        expect(page.get_by_role("dialog").locator(".shopbot-offline")).to_contain_text("Can't reach")
        page.get_by_label("Type your message").fill("hello?")
        page.get_by_label("Type your message").press("Enter")
        expect(page.locator(".shopbot-msg--user.shopbot-pending")).to_have_count(1)  # kept, not sent
        page.wait_for_timeout(1500)
        expect(page.get_by_role("log")).not_to_contain_text("welcome")
    finally:
        stranger.stop()
    log = servers.log("web")
    assert f"Refused a request from origin {stranger.url} to GET /widget/config" in log
    assert [line for line in log.splitlines()  # by our middleware or, on a websocket upgrade, Engine.IO
            if "Refused a" in line and stranger.url in line and "socket.io" in line]


def test_message_typed_while_the_server_is_down_arrives_once(tmp_path, browser):
    site_port = free_port()
    own = start_servers(tmp_path, {"CORS_ORIGINS": f"http://127.0.0.1:{site_port}"})
    site = start_shop_site(site_port, own.base_url)
    try:
        page = browser.new_page()
        page.goto(site.url + "/")
        page.get_by_role("button", name="Open chat").click()
        log = page.get_by_role("log")
        expect(log).to_contain_text("welcome to Kettle & Crumb")
        session = page.evaluate("localStorage.getItem('shopbot.session')")

        own.stop_web()
        offline = page.get_by_role("dialog").locator(".shopbot-offline")
        expect(offline).to_contain_text("Can't reach Kettle & Crumb right now")
        box = page.get_by_label("Type your message")
        box.fill("when are you open on saturday?")
        box.press("Enter")
        pending = log.locator(".shopbot-msg--user.shopbot-pending")
        expect(pending).to_have_count(1)
        expect(pending).to_contain_text("when are you open on saturday?")
        expect(box).to_have_value("")
        page.screenshot(path=str(SHOTS / "embed-offline.png"))
        page.wait_for_timeout(3000)  # a few retries against the closed port

        own.start_web()
        expect(log).to_contain_text("09:00–17:00", timeout=60_000)  # Saturday's hours, whatever today is
        expect(offline).to_be_hidden()
        expect(pending).to_have_count(0)
        page.wait_for_timeout(2000)  # anything sent twice would show by now
        assert log.get_by_text("when are you open on saturday?").count() == 1
        assert user_texts(own.database, session).count("when are you open on saturday?") == 1
    finally:
        site.stop()
        own.stop()
