"""The owner's figures in the console: only for the signed-in owner, bad ranges refused, customer text
escaped, charts a screen reader can name, and the numbers of the hand-made conversations of
tests/actions/test_figures.py on the page and in the CSV."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import replace

import pytest

from actions.services.database import create_database_engine
from actions.services.figures import Comment, FigureRange, collect_figures
from actions.services.migrations import migrate
from actions.services.owners import OwnerAccounts
from bot.figures_report import text_report
from tests.actions.test_figures import LONDON, build_shop_data
from tests.actions.test_retention import RETURNING, build_customer_data
from tests.bot.fakes import RecordingAgent
from tests.bot.test_console import PASSWORD, session_of

RANGE = "from=2026-06-05&to=2026-06-09"


@pytest.fixture
def console(make_app, tmp_path):
    """A console on a database holding the hand-made conversations, handoffs and answers."""
    agent = RecordingAgent(memory=True)
    app = make_app(agent)
    app.test_client.get("/health")  # starts the app once: migrations
    engine = create_database_engine(f"sqlite:///{tmp_path}/app.db")
    OwnerAccounts(engine).add("mara@example.com", "Mara", PASSWORD)
    build_shop_data(engine)
    yield app, session_of(app)
    engine.dispose()


def get(app, path, cookies=None):
    return app.test_client.get(path, cookies=cookies, allow_redirects=False)[1]


@pytest.mark.parametrize("path", ["/console/figures", f"/console/figures?{RANGE}",
                                  f"/console/figures/feedback.csv?{RANGE}"])
def test_the_figures_need_a_signed_in_owner(console, path):
    app, _ = console
    reply = get(app, path)
    assert (reply.status, reply.headers.get("location")) == (303, "/console/login")
    assert "Lovely coffee" not in reply.text


@pytest.mark.parametrize("query, problem", [
    ("from=2026-13-01&to=2026-06-09", "from: '2026-13-01' is not a date like 2026-06-05"),
    ("from=2026-06-09&to=2026-06-05", "from (2026-06-09) is after to (2026-06-05)"),
    ("from=2025-01-01&to=2026-06-09", "the range has 525 days; at most 366 at a time"),
    (f"{RANGE}&by=year", "by: 'year' must be day, week or month"),
    ("to=June", "to: 'June' is not a date"),
    ("to=0001-01-01", "to: 0001-01-01 is not between 1970-01-01 and 9998-12-31"),  # 28 days before: overflow
    ("from=9999-12-31&to=9999-12-31", "to: 9999-12-31 is not between"),  # the midnight after: overflow
])
@pytest.mark.parametrize("path", ["/console/figures", "/console/figures/feedback.csv"])
def test_bad_ranges_get_400_with_the_reason(console, path, query, problem):
    app, cookies = console
    reply = get(app, f"{path}?{query}", cookies)
    assert reply.status == 400 and problem in reply.text
    assert reply.text.startswith("Cannot show these figures")


def cells(html: str, label: str) -> list:
    """The cells of the table row headed ``label`` (the first such row)."""
    row = re.search(rf'<th scope="row"[^>]*>{re.escape(label)}</th>(.*?)</tr>', html).group(1)
    return re.findall(r"<td>(?:<strong>)?(.*?)(?:</strong>)?</td>", row)


def test_the_page_shows_the_figures_worked_out_by_hand(console):
    app, cookies = console
    reply = get(app, f"/console/figures?{RANGE}", cookies)
    assert reply.status == 200
    html = reply.text
    assert cells(html, "Conversations") == ["5"]
    assert cells(html, "Solved by the bot alone") == ["60% (3)"]
    assert cells(html, "Handed to a person") == ["40% (2)"]
    assert cells(html, "Messages not understood") == ["17% (2 of 12)"]
    assert cells(html, "CSAT") == ["3.8 of 5 from 4 ratings (1 declined)"]
    assert cells(html, "NPS") == ["+25 from 4 answers: 2 promoters, 1 passive, 1 detractor (1 declined)"]
    assert cells(html, "Thumbs") == ["1 up, 4 down"]
    assert "first response median 4 min" in html and "resolution median 30 min" in html
    # the table by day, Monday: c-ticket began at 00:30 shop time (Sunday in UTC)
    assert cells(html, "Mon 8 Jun")[:4] == ["1", "0", "1", "0%"]  # the conversations chart's numbers
    assert cells(html, "All") == ["5", "3", "2", "60%", "12", "2", "17%", "4", "4 min", "30 min", "3.8",
                                  "+25"]
    assert cells(html, "human_handoff") == ["3", "25%"]
    assert cells(html, "not understood (nlu_fallback)") == ["2", "17%"]
    # the range form keeps the choice; the CSV link has the same range
    assert 'name="from" type="date" required value="2026-06-05"' in html
    assert '<option value="day" selected>' in html
    assert 'href="/console/figures/feedback.csv?from=2026-06-05&amp;to=2026-06-09&amp;by=day"' in html


def test_customer_text_is_escaped_and_detractors_are_marked(console):
    app, cookies = console
    html = get(app, f"/console/figures?{RANGE}", cookies).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Sam sorted it" in html and "<script>alert" not in html
    assert "<script" not in html  # no JavaScript on this page at all
    detractor = re.search(r"<li[^>]*>(?:(?!</li>).)*-slow to pick up", html, re.S).group(0)
    assert "Detractor" in detractor and "#a3260f" in detractor
    unhappy = re.search(r"<li[^>]*>(?:(?!</li>).)*HYPERLINK", html, re.S).group(0)
    assert "Unhappy" in unhappy
    assert html.index("oat milk") < html.index("slow to pick up") < html.index("Lovely coffee")  # newest 1st
    assert "<br>2 × <q>We ship with Royal Mail (2-3 days).</q>" in html


def test_every_chart_is_an_image_with_a_name_a_title_and_its_numbers_after_it(console):
    app, cookies = console
    html = get(app, f"/console/figures?{RANGE}", cookies).text
    charts = re.findall(r"<svg[^>]*>", html)
    assert len(charts) == 5 and all('role="img"' in svg and "aria-label=" in svg for svg in charts)
    assert ('aria-label="Conversations per day: 5 conversations in all, 3 solved by the bot alone (60%), '
            '2 handed to a person"' in html)
    for title in ("Conversations per day", "Average CSAT per day (1 to 5)", "CSAT ratings, 1 to 5",
                  "NPS answers, 0 to 10", "Customer retention, week to week"):
        assert f"<title>{title}</title>" in html
        after = html[html.index(f"<title>{title}</title>"):]
        assert after.index("</svg>") < after.index("<details><summary>The numbers</summary><table>")
    # values on the bars: conversations Fri to Tue, the CSAT distribution 0 1 0 2 1
    conversations = html[html.index('aria-label="Conversations per day'):html.index("</svg>")]
    assert re.findall(r'font-weight="600">([^<]*)</text>', conversations) == ["2", "1", "1", "1", "0"]
    distribution = html[html.index('aria-label="CSAT ratings, 1 to 5'):]
    distribution = distribution[:distribution.index("</svg>")]
    assert re.findall(r'font-weight="600">([^<]*)</text>', distribution) == ["0", "1", "0", "2", "1"]
    assert "Detractors (0–6)" in html and "Promoters (9–10)" in html


def test_by_week_and_the_default_range(console):
    app, cookies = console
    html = get(app, f"/console/figures?{RANGE}&by=week", cookies).text
    assert cells(html, "Fri 5 Jun – Sun 7 Jun")[:4] == ["4", "3", "1", "75%"]
    assert cells(html, "Mon 8 Jun – Tue 9 Jun")[:4] == ["1", "0", "1", "0%"]
    assert "<title>Conversations per week</title>" in html
    today = dt.datetime.now(LONDON).date()
    default = get(app, "/console/figures", cookies)
    assert default.status == 200
    assert f'value="{(today - dt.timedelta(days=27)).isoformat()}"' in default.text
    assert f'value="{today.isoformat()}"' in default.text


def test_the_csv_is_an_attachment_of_the_ranges_answers(console):
    app, cookies = console
    reply = get(app, f"/console/figures/feedback.csv?{RANGE}", cookies)
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = 'attachment; filename="feedback-2026-06-05-to-2026-06-09.csv"'
    assert reply.headers["content-disposition"] == disposition
    rows = list(csv.reader(io.StringIO(reply.body.decode("utf-8-sig"))))
    assert rows[0][:6] == ["date", "time", "conversation", "kind", "score", "comment"]
    assert len(rows) == 17
    assert ["2026-06-06", "11:53", "c-handoff", "nps", "6", "'-slow to pick up"] in [r[:6] for r in rows]


def test_the_plain_text_report_keeps_control_characters_off_the_terminal(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path}/empty.db")
    migrate(engine)
    figures = collect_figures(engine, LONDON, FigureRange(dt.date(2026, 6, 5), dt.date(2026, 6, 5)))
    engine.dispose()
    sneaky = Comment(dt.datetime(2026, 6, 5, 10, tzinfo=LONDON), "c\x1b]0;x\x07", "feedback", None,
                     "nice\x1b[2J\nreally", "", False)
    report = text_report(replace(figures, comments=(sneaky,)), "Shop")
    assert "\x1b" not in report and "\x07" not in report
    assert "(c ]0;x): nice [2J really" in report


@pytest.fixture
def customer_console(make_app, tmp_path):
    """A console on a database holding the customers of tests/actions/test_retention.py."""
    app = make_app(RecordingAgent(memory=True))
    app.test_client.get("/health")
    engine = create_database_engine(f"sqlite:///{tmp_path}/app.db")
    OwnerAccounts(engine).add("mara@example.com", "Mara", PASSWORD)
    build_customer_data(engine)
    yield app, session_of(app)
    engine.dispose()


def definition(html: str, label: str) -> str:
    row = re.search(rf'<th scope="row"[^>]*>{re.escape(label)}</th>(.*?)</tr>', html).group(1)
    return re.search(r'<td class="note">(.*?)</td>', row).group(1)


def test_the_customers_section_has_each_figure_with_its_definition_beside_it(customer_console):
    app, cookies = customer_console
    html = get(app, "/console/figures?from=2026-06-08&to=2026-06-14", cookies).text
    section = html[html.index("<h2>Customers</h2>"):]
    assert cells(section, "Returning customers") == [
        "71% (5 of 7 chats of known customers); 2 anonymous chats apart"]
    assert definition(section, "Returning customers") == RETURNING.replace("'", "&#x27;")
    assert cells(section, "Repeat contacts within 7 days") == ["43% (3 of 7 chats)"]
    assert "the same customer had already asked about in the 7 days" in definition(
        section, "Repeat contacts within 7 days")
    assert cells(section, "CSAT new / returning / anonymous") == ["4.0 / 3.5 / 1.0 (from 1 / 2 / 1 ratings)"]
    assert "anonymous, a group of their own" in definition(section, "CSAT new / returning / anonymous")
    assert cells(section, "NPS new / returning / anonymous") == ["+100 / +33 / 0 (from 1 / 3 / 1 answers)"]
    assert "The range has no next week to come back in." in section


def test_the_retention_trend_by_month_is_a_chart_and_its_numbers(customer_console):
    app, cookies = customer_console
    html = get(app, "/console/figures?from=2026-03-01&to=2026-05-31&by=month", cookies).text
    assert cells(html, "Customer retention, month to month") == [
        "57% (4 of 7 customers ordered again the next month)"]
    meaning = definition(html, "Customer retention, month to month")
    assert "ordered again in the next; orders whose email was erased are left out" in meaning
    chart = html[html.index('aria-label="Customer retention, month to month'):]
    chart = chart[:chart.index("</svg>")]
    assert "57% of 7 customers ordered again the next month" in chart
    assert re.findall(r'font-weight="600">([^<]*)</text>', chart) == ["50%", "67%"]
    trend = html[html.index("<h3>Customer retention"):]
    assert cells(trend, "Mar 2026") == ["Apr 2026", "4", "2", "50%"]
    assert cells(trend, "Apr 2026") == ["May 2026", "3", "2", "67%"]
    assert "<h2>All figures by month</h2>" in html
