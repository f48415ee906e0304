"""The figures by channel (issue 19) on the hand-made conversations of test_figures.py, with some of them on
a messaging channel. By hand, Fri 5 – Tue 9 June 2026:

- Website (no channel_conversations row): c-contained, c-fallback, c-late: 3 conversations, none handed to a
  person (containment 100%); CSAT 5 and 2: 3.5 from 2; NPS 10 and 8 (and a declined one): +50 from 2.
- WhatsApp: c-handoff: 1 conversation, handed to a person (100%); CSAT 4 (and a declined one): 4.0 from 1;
  NPS 6: -100 from 1. Its two handoffs, 2 of its customer messages read by the bot (one to the person).
- Telegram: c-ticket: 1 conversation, handed (a ticket); CSAT 4 from 1; NPS 9: +100 from 1.
- Instagram: c-before only, outside the range: not listed. Messenger: none, not listed.
Together 5 conversations, as the whole range counts them.
"""

from __future__ import annotations

import datetime as dt

import pytest

from actions.services import order_tables as t
from actions.services.channel_figures import ChannelError, collect_channel_figures, parse_channel
from actions.services.customers.retention import collect_customer_figures
from tests.actions.test_figures import LONDON, RANGE, build_shop_data, cli
from tests.conftest import migrated_engine

CHANNELS = {"c-handoff": "whatsapp", "c-ticket": "telegram", "c-before": "instagram"}


def add_channels(engine) -> None:
    with engine.begin() as connection:
        for conversation, channel in CHANNELS.items():
            connection.execute(
                t.channel_conversations.insert().values(
                    conversation_id=conversation,
                    channel=channel,
                    address=f"addr-{conversation}",
                    name="",
                    created_at=dt.datetime(2026, 6, 1),
                    last_inbound_at=dt.datetime(2026, 6, 1),
                )
            )


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    yield from migrated_engine(request, tmp_path)


@pytest.fixture
def shop_data(engine):
    build_shop_data(engine)
    add_channels(engine)
    return engine


def line(period):
    return (
        period.conversations,
        period.handed_off,
        period.handoff_rate,
        period.contained,
        period.containment_rate,
        period.csat.count,
        period.csat.average,
        period.nps.count,
        period.nps.score,
    )


def test_the_table_by_channel_worked_out_by_hand(shop_data):
    found = collect_channel_figures(shop_data, LONDON, RANGE)
    assert [(c.channel, c.label, line(c.total)) for c in found.lines] == [
        ("website", "Website", (3, 0, 0.0, 3, 1.0, 2, 3.5, 2, 50.0)),
        ("whatsapp", "WhatsApp", (1, 1, 1.0, 0, 0.0, 1, 4.0, 1, -100.0)),
        ("telegram", "Telegram", (1, 1, 1.0, 0, 0.0, 1, 4.0, 1, 100.0)),
    ]
    assert found.channel is None and found.figures.total.conversations == 5  # all channels: the whole range
    assert sum(c.total.conversations for c in found.lines) == 5


def test_one_channel_filters_every_figure(shop_data):
    found = collect_channel_figures(shop_data, LONDON, RANGE, "whatsapp")
    total = found.figures.total
    assert (total.conversations, total.handed_off, total.messages, total.fallbacks, total.handoffs) == (
        1,
        1,
        2,
        0,
        2,
    )
    assert (total.csat.count, total.csat.declined, total.nps.score) == (1, 1, -100.0)
    assert [c.conversation_id for c in found.figures.comments] == ["c-handoff", "c-handoff"]
    assert len(found.lines) == 3  # the table by channel still lists every channel
    customers = collect_customer_figures(shop_data, LONDON, RANGE, found.keep)
    assert customers.anonymous_conversations == 1  # no customers proved themselves: every chat is anonymous
    assert collect_customer_figures(shop_data, LONDON, RANGE).anonymous_conversations == 5

    website = collect_channel_figures(shop_data, LONDON, RANGE, "website").figures.total
    assert (website.conversations, website.contained, website.handoffs, website.csat.average) == (
        3,
        3,
        0,
        3.5,
    )


def test_without_messaging_channels_only_the_website_is_listed(engine):
    build_shop_data(engine)
    [website] = collect_channel_figures(engine, LONDON, RANGE).lines
    assert (website.channel, website.total.conversations) == ("website", 5)


@pytest.mark.parametrize(
    "text, chosen",
    [(None, None), ("", None), ("WhatsApp", "whatsapp"), (" telegram ", "telegram"), ("website", "website")],
)
def test_channel_names(text, chosen):
    assert parse_channel(text) == chosen


def test_an_unknown_channel_is_refused():
    with pytest.raises(
        ChannelError, match="channel: 'sms' must be one of website, whatsapp, messenger, instagram, telegram"
    ):
        parse_channel("sms")


def test_the_command_line_prints_the_table_by_channel_and_filters(tmp_path, sqlite_engine):
    build_shop_data(sqlite_engine)
    add_channels(sqlite_engine)
    run = cli(tmp_path, "--since", "2026-06-05", "--until", "2026-06-09")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    start = lines.index("BY CHANNEL")
    assert lines[start + 1].split()[:2] == ["channel", "conversations"]
    assert [row.split() for row in lines[start + 2 : start + 5]] == [
        ["Website", "3", "0%", "(0)", "100%", "(3)", "3.5", "2", "+50", "2"],
        ["WhatsApp", "1", "100%", "(1)", "0%", "(0)", "4.0", "1", "-100", "1"],
        ["Telegram", "1", "100%", "(1)", "0%", "(0)", "4.0", "1", "+100", "1"],
    ]
    assert lines[start + 5].startswith("    Each conversation counted under the channel")

    only = cli(tmp_path, "--since", "2026-06-05", "--until", "2026-06-09", "--channel", "telegram")
    assert only.returncode == 0, only.stderr
    assert only.stdout.splitlines()[0].endswith("by day, Telegram conversations only")
    assert "Conversations                    1" in only.stdout
    assert "c-handoff" not in only.stdout and "(c-ticket): + please add oat milk" in only.stdout

    bad = cli(tmp_path, "--since", "2026-06-05", "--channel", "sms")
    assert bad.returncode == 2 and "channel: 'sms' must be one of" in bad.stderr and bad.stdout == ""
