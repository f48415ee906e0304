"""The widget for every customer: keyboard only, screen readers, contrast, phones, hostile text."""
from __future__ import annotations

import gzip
import json
import re

import pytest
import requests
from playwright.sync_api import expect

from tests.bot.conftest import SHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
WIDGET_BUDGET_GZIP = 60 * 1024

# Every visible text in the widget against the background it is drawn on (WCAG 2 contrast).
CONTRAST_JS = """
(root) => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el.getClientRects().length) continue;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden' || s.clip === 'rect(0px, 0px, 0px, 0px)') continue;
    const fg = rgb(s.color), bg = background(el);
    const [a, b] = [lum(fg.slice(0, 3)), lum(bg)].sort((x, y) => y - x);
    const size = parseFloat(s.fontSize), bold = Number(s.fontWeight) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    const ratio = (a + 0.05) / (b + 0.05);
    out.push({ text: n.textContent.trim().slice(0, 40), ratio, need: large ? 3 : 4.5 });
  }
  return out;
}
"""


def open_chat(page, url: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="Open chat").click()
    expect(page.get_by_role("log")).to_contain_text("welcome to Kettle & Crumb")


def focused(page) -> str:
    return page.evaluate("document.activeElement.getAttribute('aria-label') || document.activeElement.id || "
                         "document.activeElement.textContent.trim()")


def test_keyboard_only_conversation(shop_site, browser):
    page = browser.new_page()
    page.goto(shop_site.url + "/")
    for _ in range(15):  # Tab through the host page until the launcher has focus
        page.keyboard.press("Tab")
        if focused(page) == "Open chat":
            break
    assert focused(page) == "Open chat"
    page.keyboard.press("Enter")
    assert focused(page) == "shopbot-input"
    log = page.get_by_role("log")
    expect(log).to_contain_text("welcome to Kettle & Crumb")

    for _ in range(6):  # back from the message box to the last quick reply, then to "Opening hours"
        page.keyboard.press("Shift+Tab")
        if focused(page) == "Opening hours":
            break
    assert focused(page) == "Opening hours"
    page.keyboard.press("Enter")
    expect(log).to_contain_text("Our hours: Mon–Thu 08:00–18:00")
    assert focused(page) == "shopbot-input"  # back in the box, ready to type

    page.keyboard.type("can I pay with paypal?")
    page.keyboard.press("Enter")
    expect(log).to_contain_text("PayPal")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert focused(page) == "Open chat"


def test_screen_readers_get_a_live_log_and_labelled_controls(shop_site, browser):
    page = browser.new_page()
    open_chat(page, shop_site.url + "/")
    tree = page.locator(".shopbot-root").aria_snapshot()
    for line in ('- dialog "Chat with Kettle & Crumb"', '- log "Messages"', '- textbox "Type your message"',
                 '- button "Send"', '- button "Close chat"', '- button "Chat options"',
                 '- group "Suggested replies"', '- button "Opening hours"', '- link "Privacy notice"'):
        assert line in tree, f"{line} missing from\n{tree}"
    unnamed = [line for line in tree.splitlines()
               if re.match(r"\s*- (button|textbox|link|menuitem|dialog|log)\s*(:|$)", line)]
    assert unnamed == []
    log = page.get_by_role("log")
    assert log.get_attribute("aria-live") == "polite"
    expect(log.locator(".shopbot-msg--bot .shopbot-sr").first).to_have_text("Kettle & Crumb: ")

    page.get_by_label("Type your message").fill("do you take apple pay?")
    page.get_by_label("Type your message").press("Enter")
    expect(log).to_contain_text("Apple Pay")
    page.get_by_role("button", name="Chat options").click()  # the open menu is part of the check
    results = page.evaluate(CONTRAST_JS, page.locator(".shopbot-root").element_handle())
    assert len(results) >= 15  # header, messages, chips, menu, composer, footer
    low = [r for r in results if r["ratio"] < r["need"]]
    assert low == [], f"below WCAG AA: {low}"


def test_phone_sized_screen_is_full_screen_and_usable(shop_site, chromium):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    open_chat(page, shop_site.url + "/")
    dialog = page.get_by_role("dialog")
    # The panel slides in (0.18 s): measure where it comes to rest, not a frame of the way there.
    dialog.evaluate("panel => Promise.all(panel.getAnimations({subtree: true}).map(a => a.finished))")
    box = dialog.bounding_box()
    assert box == {"x": 0, "y": 0, "width": 390, "height": 844}
    page.get_by_role("button", name="Shipping options").tap()
    expect(page.get_by_role("log")).to_contain_text("We deliver to United Kingdom")
    send = page.get_by_role("button", name="Send").bounding_box()
    assert send["y"] + send["height"] <= 844 and send["height"] >= 44  # reachable, big enough to tap
    page.screenshot(path=str(SHOTS / "embed-phone.png"))
    context.close()


def test_html_from_either_side_shows_as_text(servers, shop_site, browser):
    page = browser.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sockets = []

    def relay(ws):  # pass everything through, and keep a handle to speak as the server
        ws.connect_to_server()
        sockets.append(ws)

    page.route_web_socket(re.compile(r"/socket\.io/"), relay)
    open_chat(page, shop_site.url + "/")
    attack = "<img src=x onerror=alert(1)>"
    page.get_by_label("Type your message").fill(attack)
    page.get_by_label("Type your message").press("Enter")
    log = page.get_by_role("log")
    expect(log.locator(".shopbot-msg--user .shopbot-bubble")).to_have_text([f"You: {attack}"])
    expect(log).to_contain_text("not something I can help with")

    # The server side: a person's message (the handoff issue sends these) and a bot message with markup.
    def server_says(payload) -> None:
        sockets[-1].send("42" + json.dumps(["bot_uttered", payload]))

    server_says({"text": f"Hello {attack} <b>bold</b> https://kettleandcrumb.example/faq",
                 "sender": {"type": "person", "name": "Sam <script>alert(2)</script>"}})
    server_says({"text": "Here is the shop front:",
                 "attachment": {"type": "image", "payload": {"src": servers.base_url + "/widget/avatar"}}})
    server_says({"attachment": {"type": "image", "payload": {"src": "javascript:alert(3)"}}})
    person = log.locator(".shopbot-msg--person")
    expect(person).to_have_count(1)
    expect(person.locator(".shopbot-name")).to_have_text("Sam <script>alert(2)</script>")
    expect(person.locator(".shopbot-bubble")).to_contain_text(f"Hello {attack} <b>bold</b>")
    expect(person.get_by_role("link")).to_have_attribute("href", "https://kettleandcrumb.example/faq")
    images = log.locator("img")
    expect(images).to_have_count(1)  # the real image; no element from markup, no javascript: URL
    expect(images).to_have_attribute("src", servers.base_url + "/widget/avatar")
    assert log.locator("b, script").count() == 0
    page.screenshot(path=str(SHOTS / "embed-person-and-image.png"))
    page.get_by_role("button", name="Close chat").click()
    server_says({"text": "Sam here again: your parcel left today.",
                 "sender": {"type": "person", "name": "Sam"}})
    expect(page.get_by_role("button", name="Open chat (new message)")).to_be_visible()  # badge, and said
    page.reload()  # the history renders the same text again, still as text
    page.get_by_role("button", name="Open chat").click()
    names = page.get_by_role("log").locator(".shopbot-name")
    expect(names).to_have_text(["Sam <script>alert(2)</script>", "Sam"])
    assert page.get_by_role("log").locator("b, script").count() == 0
    assert dialogs == []


def test_widget_and_what_it_loads_stay_under_60_kb_gzipped(servers):
    paths = ["/widget.js", "/static/widget.css", "/vendor/socket.io.min.js", "/widget/avatar"]
    sizes = {p: len(gzip.compress(requests.get(servers.base_url + p, timeout=5).content, 9)) for p in paths}
    assert sum(sizes.values()) < WIDGET_BUDGET_GZIP, sizes
