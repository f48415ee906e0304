"""The customer's view on the bot's own demo page at /, in Debian's Chromium (headless)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.bot.conftest import SHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_customer_chats_on_the_demo_page(servers, browser):
    page = browser.new_page()
    page.goto(servers.base_url + "/")
    expect(page.locator("#visit")).to_contain_text("Mon–Thu 08:00–18:00")  # hours from shop.yml
    page.get_by_label("Open chat").click()
    log = page.get_by_role("log")
    expect(log).to_contain_text("welcome to Kettle & Crumb")

    page.get_by_role("button", name="Opening hours").click()
    expect(log).to_contain_text("Our hours: Mon–Thu 08:00–18:00")
    expect(page.get_by_role("button", name="Opening hours")).to_have_count(0)  # chosen chip is gone
    expect(log.locator(".shopbot-msg--user .shopbot-bubble")).to_have_text(["You: Opening hours"])

    box = page.get_by_label("Type your message")
    box.fill("what delivery options do you have?")
    box.press("Enter")
    expect(log).to_contain_text("We deliver to United Kingdom")
    expect(page.locator(".shopbot-typing")).to_be_hidden()  # shown while the answer was coming
    page.screenshot(path=str(SHOTS / "demo-desktop.png"))

    session = page.evaluate("localStorage.getItem('shopbot.session')")
    page.reload()
    expect(page.get_by_role("log")).to_contain_text("We deliver to United Kingdom")  # panel stays open
    assert page.evaluate("localStorage.getItem('shopbot.session')") == session
    page.get_by_label("Type your message").fill("where are you?")
    page.get_by_label("Type your message").press("Enter")
    expect(page.get_by_role("log")).to_contain_text("14 Quay Street")
