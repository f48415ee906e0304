"""The figures page by channel (issue 19): the table of the channels with conversations in the range (the
website always), each a link to that channel's figures; ?channel= filters the whole page and the CSV, and an
unknown channel is a 400 with the reason. Numbers worked out in tests/actions/test_channel_figures.py."""

from __future__ import annotations

import re

import pytest

from actions.services.database import create_database_engine
from actions.services.owners import OwnerAccounts
from tests.actions.test_channel_figures import add_channels
from tests.actions.test_figures import build_shop_data
from tests.bot.fakes import RecordingAgent
from tests.bot.test_console import PASSWORD, session_of

RANGE = "from=2026-06-05&to=2026-06-09"


@pytest.fixture
def console(make_app, tmp_path):
    app = make_app(RecordingAgent(memory=True))
    app.test_client.get("/health")  # starts the app once: migrations
    engine = create_database_engine(f"sqlite:///{tmp_path}/app.db")
    OwnerAccounts(engine).add("mara@example.com", "Mara", PASSWORD)
    build_shop_data(engine)
    add_channels(engine)
    yield app, session_of(app)
    engine.dispose()


def get(app, path, cookies=None):
    return app.test_client.get(path, cookies=cookies, allow_redirects=False)[1]


def channel_rows(html: str) -> dict:
    table = re.search(r'<h2>By channel</h2><table class="channels">(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r'<tr[^>]*><th scope="row"><a href="([^"]+)">(\w+)</a></th>(.*?)</tr>', table)
    return {label: (link, re.findall(r"<td>(.*?)</td>", cells)) for link, label, cells in rows}


def key_figure(html: str, label: str) -> str:
    return re.search(rf'<th scope="row"[^>]*>{re.escape(label)}</th><td>(.*?)</td>', html).group(1)


def test_the_page_has_the_table_by_channel_with_its_definition(console):
    app, cookies = console
    html = get(app, f"/console/figures?{RANGE}", cookies).text
    rows = channel_rows(html)
    assert list(rows) == ["Website", "WhatsApp", "Telegram"]  # Instagram's only chat is before the range
    assert rows["Website"][1] == ["3", "0% (0)", "100% (3)", "3.5", "2", "+50", "2"]
    assert rows["WhatsApp"][1] == ["1", "100% (1)", "0% (0)", "4.0", "1", "-100", "1"]
    assert rows["Telegram"][1] == ["1", "100% (1)", "0% (0)", "4.0", "1", "+100", "1"]
    assert (
        rows["WhatsApp"][0]
        == "/console/figures?from=2026-06-05&amp;to=2026-06-09&amp;by=day&amp;channel=whatsapp"
    )
    assert "Each conversation counted under the channel the customer wrote on" in html
    assert key_figure(html, "Conversations") == "5"


def test_one_channel_filters_the_page_and_the_csv(console):
    app, cookies = console
    html = get(app, f"/console/figures?{RANGE}&channel=whatsapp", cookies).text
    assert "<strong>WhatsApp conversations only.</strong>" in html
    assert key_figure(html, "Conversations") == "1"
    assert key_figure(html, "Handed to a person") == "100% (1)"
    assert "slow to pick up" in html and "Lovely coffee" not in html  # the comments of WhatsApp's chats only
    assert '<option value="whatsapp" selected>WhatsApp</option>' in html
    assert (
        'href="/console/figures/feedback.csv?from=2026-06-05&amp;to=2026-06-09&amp;by=day&amp;channel=whatsapp"'
        in html
    )
    assert list(channel_rows(html)) == ["Website", "WhatsApp", "Telegram"]

    csv = get(app, f"/console/figures/feedback.csv?{RANGE}&channel=whatsapp", cookies)
    assert (
        csv.status == 200
        and "feedback-2026-06-05-to-2026-06-09-whatsapp.csv" in csv.headers["content-disposition"]
    )
    conversations = {line.split(",")[2] for line in csv.text.lstrip("\ufeff").splitlines()[1:]}
    assert conversations == {"c-handoff"}


@pytest.mark.parametrize("path", ["/console/figures", "/console/figures/feedback.csv"])
def test_an_unknown_channel_is_a_400_with_the_reason(console, path):
    app, cookies = console
    reply = get(app, f"{path}?{RANGE}&channel=sms", cookies)
    assert reply.status == 400
    assert reply.text == (
        "Cannot show these figures: channel: 'sms' must be one of website, whatsapp, messenger, "
        "instagram, telegram."
    )
