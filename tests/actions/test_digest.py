"""The owner's daily digest: what it lists, in the shop's time zone; one per day between several senders;
a failed mail frees the day again; real delivery over SMTP on loopback; the schedule; the command line."""
from __future__ import annotations

import asyncio
import copy
import datetime as dt
import os
import subprocess
import sys
import threading
from dataclasses import replace
from email.header import decode_header, make_header
from typing import List, Optional
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import select

from actions.services import order_tables as t
from actions.services.cases import CaseBook
from actions.services.database import create_database_engine
from actions.services.demo_orders import seed_demo_orders
from actions.services.digest import (
    RETRIES,
    Digest,
    DigestRun,
    collect_digest,
    next_digest_at,
    run_digest_schedule,
    send_daily_digest,
)
from actions.services.handoffs import Handoff, HandoffQueue
from actions.services.mail import MailError
from actions.services.orders import OrderService
from actions.services.owners import OwnerAccounts
from actions.services.shop_profile import ShopProfileError, parse_shop_profile, shop_profile_dict
from tests.conftest import ROOT, fixed_clock, migrated_engine, prove

CONSOLE = "http://127.0.0.1:5005/console"
NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.timezone.utc)  # Monday, 08:00 in London (GMT)
HOUR = dt.timedelta(hours=1)
LONDON = ZoneInfo("Europe/London")


class RecordingMailer:
    """Stands in for Mailer: keeps what it was asked to send, or fails like an SMTP server that is down."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: List[tuple] = []
        self.fail = fail
        self.enabled = True

    def send(self, to: str, subject: str, body: str, reply_to: Optional[str] = None) -> str:
        if self.fail:
            raise MailError("could not send mail to owner: connection refused")
        self.sent.append((to, subject, body))
        return f"<digest-{len(self.sent)}@test>"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    yield from migrated_engine(request, tmp_path)


def complaint(engine, shop, at: dt.datetime, text: str, conversation: str, category: str = "complaint",
              contact: Optional[str] = "jo@example.com") -> str:
    return OrderService(engine, shop, fixed_clock(at)).open_case(category, None, "", text, conversation,
                                                                  contact=contact)


def handoff(engine, at: dt.datetime, conversation: str, reason: str = "human_handoff",
            email: Optional[str] = None, due: Optional[dt.datetime] = None,
            asked: str = "can I talk to someone") -> Handoff:
    return HandoffQueue(engine, fixed_clock(at)).request(conversation, reason, {"asked": asked}, email, due)


def sent_days(engine) -> List[dt.date]:
    with engine.connect() as connection:
        return list(connection.execute(select(t.digests_sent.c.day).order_by(t.digests_sent.c.day)).scalars())


def test_the_digest_lists_new_complaints_open_tickets_and_unresolved_chats_with_links(engine, shop):
    c1 = complaint(engine, shop, NOW - 2 * HOUR, "The barista was rude and my flat white\nwas cold.",
                   "conv-rude")
    complaint(engine, shop, NOW - 25 * HOUR, "Older than a day", "conv-old")  # in yesterday's digest
    complaint(engine, shop, NOW - HOUR, "Mug arrived broken", "conv-mug", category="damaged")  # another kind
    c2 = complaint(engine, shop, NOW - 3 * HOUR, "Nobody answers the phone", "conv-phone", contact=None)
    rude = handoff(engine, NOW - 2 * HOUR, "conv-rude", reason="complaint")
    late = handoff(engine, NOW - 30 * HOUR, "conv-late", email="sam@example.com", due=NOW - HOUR,
                   asked="where is my refund")
    soon = handoff(engine, NOW - 10 * HOUR, "conv-soon", email="ria@example.com", due=NOW + 24 * HOUR)
    waiting = handoff(engine, NOW - 16 * HOUR, "conv-wait")
    mara = OwnerAccounts(engine).add("mara@example.com", "Mara", "correct horse battery").id
    taken = handoff(engine, NOW - 5 * HOUR, "conv-taken")
    assert HandoffQueue(engine, fixed_clock(NOW - 4 * HOUR)).claim(taken.id, mara)
    done = handoff(engine, NOW - 6 * HOUR, "conv-done")
    assert HandoffQueue(engine).claim(done.id, mara) and HandoffQueue(engine).resolve(done.id, mara)

    digest = collect_digest(engine, shop, CONSOLE + "/", NOW)

    assert [c.number for c in digest.complaints] == [c2, c1]  # oldest first, only the last 24 hours
    assert [x.handoff.id for x in digest.tickets] == [late.id, soon.id]  # the most urgent first
    assert [x.overdue for x in digest.tickets] == [True, False]
    assert [x.handoff.id for x in digest.chats] == [waiting.id, rude.id, taken.id]  # waiting ones first
    assert digest.subject == ("Kettle & Crumb: 2 new complaints, 1 new case, 2 open tickets (1 overdue), "
                              "3 unresolved chats — 23 Nov")
    body = digest.body
    assert body.startswith("The Kettle & Crumb assistant's digest for Monday 23 November 2026, 08:00 "
                           "(Europe/London).\n")
    assert "NEW COMPLAINTS since Sun 22 Nov 08:00: 2\n" in body
    assert (f'- {c1}, Mon 23 Nov 06:00: "The barista was rude and my flat white was cold."\n'
            f"  Contact: jo@example.com\n  {CONSOLE}/handoffs/{rude.id}\n") in body
    c2_id = CaseBook(engine).by_number(c2).id  # not handed to a person: the link is the case page
    assert f'- {c2}, Mon 23 Nov 05:00: "Nobody answers the phone"\n  {CONSOLE}/cases/{c2_id}\n' in body
    assert "Older than a day" not in body
    # a damaged item is a case, listed under its own heading, not among the complaints
    [mug] = digest.cases
    assert ("NEW CASES (damaged, wrong or missing items, late orders, cancellations) since "
            "Sun 22 Nov 08:00: 1\n"
            f'- {mug.number} damaged item, Mon 23 Nov 07:00, open: "Mug arrived broken"\n'
            f"  jo@example.com\n  {CONSOLE}/cases/{mug.id}\n") in body
    assert body.index("NEW COMPLAINTS") < body.index("NEW CASES") < body.index("OPEN TICKETS")
    assert "OPEN TICKETS (answer by email): 2, 1 overdue\n" in body
    assert (f'- #{late.id} sam@example.com, reply by Mon 23 Nov 07:00 — OVERDUE\n'
            f'  "where is my refund"\n  {CONSOLE}/handoffs/{late.id}\n') in body
    assert f"- #{soon.id} ria@example.com, reply by Tue 24 Nov 08:00\n" in body
    assert f"- #{waiting.id} waiting since Sun 22 Nov 16:00 (asked for a person)\n" in body
    assert f"- #{rude.id} waiting since Mon 23 Nov 06:00 (complaint)\n" in body
    assert f"- #{taken.id} with Mara since Mon 23 Nov 04:00 (asked for a person)\n" in body
    assert f"/handoffs/{done.id}" not in body
    assert f"Inbox: {CONSOLE}  ·  tickets: {CONSOLE}?view=tickets  ·  cases: {CONSOLE}/cases\n" in body


def test_a_case_links_to_the_handoff_made_for_it_before_others_of_its_conversation(engine, shop):
    number = complaint(engine, shop, NOW - HOUR, "Cold coffee", "conv-1")
    handoff(engine, NOW - 2 * HOUR, "conv-1")  # an earlier request for a person in the same conversation
    with engine.begin() as connection:
        case_id = connection.execute(select(t.cases.c.id).where(t.cases.c.number == number)).scalar()
        made_for_it = connection.execute(t.handoffs.insert().values(
            conversation_id="conv-1", status="resolved", reason="complaint", summary="{}", tags="",
            case_id=case_id, created_at=(NOW - HOUR).replace(tzinfo=None))).inserted_primary_key[0]
    handoff(engine, NOW - HOUR // 2, "conv-1")  # and a later one
    [listed] = collect_digest(engine, shop, CONSOLE, NOW).complaints
    assert listed.link == f"{CONSOLE}/handoffs/{made_for_it}"


def test_times_and_the_day_are_the_shops_even_when_utc_is_still_on_the_day_before(engine, shop):
    auckland = replace(shop, timezone=ZoneInfo("Pacific/Auckland"))  # UTC+13 in November
    now = dt.datetime(2026, 11, 22, 19, 30, tzinfo=dt.timezone.utc)  # Mon 23 Nov 08:30 in Auckland
    handoff(engine, now - 20 * HOUR, "conv-nz", email="kiri@example.com",
            due=dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.timezone.utc))
    digest = collect_digest(engine, auckland, CONSOLE, now)
    assert digest.day == dt.date(2026, 11, 23) and digest.subject.endswith("— 23 Nov")
    assert "digest for Monday 23 November 2026, 08:30 (Pacific/Auckland)" in digest.body
    assert "kiri@example.com, reply by Mon 23 Nov 01:00 — OVERDUE" in digest.body
    assert send_daily_digest(engine, RecordingMailer(), auckland, CONSOLE, now).outcome == "sent"
    assert sent_days(engine) == [dt.date(2026, 11, 23)]  # the shop's day, not UTC's 22 November


def test_new_complaints_reach_back_to_the_previous_digest_when_it_is_longer_ago_than_a_day(engine, shop):
    complaint(engine, shop, NOW - 30 * HOUR, "Sent while the server was down", "conv-1")
    with engine.begin() as connection:  # the last digest went out three days ago
        connection.execute(t.digests_sent.insert().values(day=dt.date(2026, 11, 20),
                                                          sent_at=(NOW - 72 * HOUR).replace(tzinfo=None)))
    digest = collect_digest(engine, shop, CONSOLE, NOW)
    assert digest.since == NOW - 72 * HOUR and len(digest.complaints) == 1
    assert "NEW COMPLAINTS since Fri 20 Nov 08:00: 1" in digest.body
    with engine.begin() as connection:  # a digest ten days ago is too old to reach back to
        connection.execute(t.digests_sent.update().values(sent_at=(NOW - 240 * HOUR).replace(tzinfo=None)))
    assert collect_digest(engine, shop, CONSOLE, NOW).since == NOW - 24 * HOUR


def test_one_digest_per_shop_day_between_two_web_processes(engine, shop):
    handoff(engine, NOW - HOUR, "conv-1")
    other_engine = create_database_engine(engine.url.render_as_string(hide_password=False))
    try:
        first, second = RecordingMailer(), RecordingMailer()
        assert send_daily_digest(engine, first, shop, CONSOLE, NOW).outcome == "sent"
        later = send_daily_digest(other_engine, second, shop, CONSOLE, NOW + dt.timedelta(seconds=2))
        assert later.outcome == "already_sent" and second.sent == []
        [(to, subject, body)] = first.sent
        assert to == "owner@kettleandcrumb.example" and subject.startswith("Kettle & Crumb: 0 new complaints")
        assert send_daily_digest(other_engine, second, shop, CONSOLE, NOW + 24 * HOUR).outcome == "sent"
        assert send_daily_digest(engine, first, shop, CONSOLE, NOW + HOUR, force=True).outcome == "sent"
        assert len(first.sent) == 2 and sent_days(engine) == [dt.date(2026, 11, 23), dt.date(2026, 11, 24)]
    finally:
        other_engine.dispose()


def test_senders_racing_for_the_same_day_send_one_email(engine, shop):
    handoff(engine, NOW - HOUR, "conv-1")
    engines = [create_database_engine(engine.url.render_as_string(hide_password=False)) for _ in range(4)]
    mailer = RecordingMailer()
    start = threading.Barrier(len(engines))
    outcomes: List[str] = []

    def sender(own_engine) -> None:
        start.wait()
        outcomes.append(send_daily_digest(own_engine, mailer, shop, CONSOLE, NOW).outcome)

    threads = [threading.Thread(target=sender, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for own_engine in engines:
        own_engine.dispose()
    assert sorted(outcomes) == ["already_sent"] * 3 + ["sent"] and len(mailer.sent) == 1


def test_a_failed_email_frees_the_day_so_a_later_try_sends_it(engine, shop):
    handoff(engine, NOW - HOUR, "conv-1")
    with pytest.raises(MailError):
        send_daily_digest(engine, RecordingMailer(fail=True), shop, CONSOLE, NOW)
    assert sent_days(engine) == []
    mailer = RecordingMailer()
    assert send_daily_digest(engine, mailer, shop, CONSOLE, NOW + HOUR).outcome == "sent"
    with pytest.raises(MailError):  # a forced resend that fails leaves the digest that did go out recorded
        send_daily_digest(engine, RecordingMailer(fail=True), shop, CONSOLE, NOW + 2 * HOUR, force=True)
    assert sent_days(engine) == [dt.date(2026, 11, 23)]


def test_nothing_to_report_sends_nothing_unless_forced(engine, shop):
    complaint(engine, shop, NOW - 30 * HOUR, "Yesterday's news", "conv-1")
    done = handoff(engine, NOW - 2 * HOUR, "conv-2")
    with engine.begin() as connection:
        connection.execute(t.handoffs.update().values(status="returned"))
    mailer = RecordingMailer()
    run = send_daily_digest(engine, mailer, shop, CONSOLE, NOW)
    assert run.outcome == "nothing_to_report" and run.digest.empty
    assert mailer.sent == [] and sent_days(engine) == []
    assert send_daily_digest(engine, mailer, shop, CONSOLE, NOW, force=True).outcome == "sent"
    [(_, subject, body)] = mailer.sent
    assert subject == ("Kettle & Crumb: 0 new complaints, 0 new cases, 0 open tickets, 0 unresolved chats "
                       "— 23 Nov")
    assert "Nothing needs you today" in body and f"/handoffs/{done.id}" not in body



def test_new_order_cases_alone_are_worth_a_digest_with_links_to_the_cases(engine, shop):
    orders = OrderService(engine, shop, fixed_clock(NOW - 2 * HOUR))
    seed_demo_orders(orders)
    photo = f"{'a' * 32}/{'b' * 32}.jpg"
    damaged = orders.open_case("damaged", "KC-10004", "Ceramic Mug", "cracked", "conv-1",
                               remedy="replacement", photo_path=photo, contact="chris.evans@example.com")
    late = orders.open_case("late", "KC-10008", "", "", "conv-2", remedy="person",
                            contact="pat.green@example.com")
    prove(orders, "conv-3", "KC-10001")
    cancelled = orders.cancel("KC-10001", "conv-3").reference
    mailer = RecordingMailer()
    run = send_daily_digest(engine, mailer, shop, CONSOLE, NOW)
    assert run.outcome == "sent" and [c.number for c in run.digest.cases] == [damaged, late, cancelled]
    [(_, subject, body)] = mailer.sent
    assert subject.startswith("Kettle & Crumb: 0 new complaints, 3 new cases, 0 open tickets")
    ids = {c.number: c.id for c in run.digest.cases}
    assert (f'- {damaged} damaged item, order KC-10004, Mon 23 Nov 06:00, open: "Ceramic Mug"\n'
            f"  Chris Evans · chris.evans@example.com · asked for a replacement · photo attached\n"
            f"  {CONSOLE}/cases/{ids[damaged]}\n") in body
    assert f"- {late} late order, order KC-10008, Mon 23 Nov 06:00, open: \"(no details)\"" in body
    assert "Pat Green · pat.green@example.com · asked for a person" in body
    assert f"- {cancelled} cancelled by the assistant, order KC-10001" in body and "refund due" in body


def test_a_tapped_button_in_a_summary_reads_as_words(engine, shop):
    handoff(engine, NOW - HOUR, "conv-1", asked="/human_handoff")
    body = collect_digest(engine, shop, CONSOLE, NOW).body
    assert '"chose: Talk to a person"' in body and "/human_handoff" not in body

def test_the_digest_arrives_through_a_real_smtp_server(engine, shop, smtp):
    mailer, inbox = smtp
    number = complaint(engine, shop, NOW - HOUR, "Stale beans — twice now", "conv-1")
    ticket = handoff(engine, NOW - HOUR, "conv-2", email="sam@example.com", due=NOW + HOUR)
    run = send_daily_digest(engine, mailer, shop, CONSOLE, NOW)
    [(recipients, received)] = inbox.envelopes
    assert recipients == ["owner@kettleandcrumb.example"] and received["Message-ID"] == run.message_id
    assert str(make_header(decode_header(received["Subject"]))) == (
        "Kettle & Crumb: 1 new complaint, 0 new cases, 1 open ticket, 0 unresolved chats — 23 Nov")
    body = received.get_payload(decode=True).decode(received.get_content_charset())
    assert f'{number}, Mon 23 Nov 07:00: "Stale beans — twice now"' in body
    assert f"{CONSOLE}/handoffs/{ticket.id}" in body


# ---- when: the next digest moment, and the schedule that waits for it ----

def at(text: str, zone: ZoneInfo = LONDON) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(dt.timezone.utc)


@pytest.mark.parametrize("digest_at, now, expected", [
    ("08:00", at("2026-11-23 07:59"), at("2026-11-23 08:00")),
    ("08:00", at("2026-11-23 08:00"), at("2026-11-24 08:00")),  # just sent: the next is tomorrow
    ("08:00", at("2026-11-23 23:30"), at("2026-11-24 08:00")),
    # clocks go forward on 29 March: 08:00 BST is 07:00 UTC, 23 hours after Saturday's 08:00 GMT
    ("08:00", at("2026-03-28 09:00"), dt.datetime(2026, 3, 29, 7, 0, tzinfo=dt.timezone.utc)),
    # ... and back on 25 October: 08:00 GMT is 08:00 UTC, 25 hours after Saturday's
    ("08:00", at("2026-10-24 09:00"), dt.datetime(2026, 10, 25, 8, 0, tzinfo=dt.timezone.utc)),
    # 01:30 does not exist on 29 March (01:00 -> 02:00): an hour late, 02:30 BST
    ("01:30", at("2026-03-29 00:30"), dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.timezone.utc)),
    # 01:30 happens twice on 25 October: the first time, still BST
    ("01:30", at("2026-10-25 00:10"), dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.timezone.utc)),
])
def test_the_next_digest_moment_in_the_shops_zone(digest_at, now, expected):
    assert next_digest_at(dt.time.fromisoformat(digest_at), LONDON, now) == expected


def test_the_next_digest_moment_when_the_shops_day_is_ahead_of_utc():
    auckland = ZoneInfo("Pacific/Auckland")
    now = dt.datetime(2026, 11, 22, 19, 30, tzinfo=dt.timezone.utc)  # 08:30 on the 23rd there
    assert next_digest_at(dt.time(8, 0), auckland, now) == dt.datetime(2026, 11, 23, 19, 0,
                                                                        tzinfo=dt.timezone.utc)


class FakeTime:
    """A clock that only moves when the schedule sleeps; stops the schedule at ``until``."""

    def __init__(self, start: dt.datetime, until: dt.datetime) -> None:
        self.now, self.until = start, until
        self.naps: List[float] = []

    def clock(self) -> dt.datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.naps.append(seconds)
        self.now += dt.timedelta(seconds=seconds)
        if self.now > self.until:
            raise asyncio.CancelledError


async def test_the_schedule_sends_at_digest_at_every_day_and_retries_a_failed_email(shop):
    time = FakeTime(at("2026-11-22 20:00"), until=at("2026-11-25 12:00"))
    calls: List[dt.datetime] = []

    def send(now: dt.datetime) -> DigestRun:
        calls.append(now)
        if len(calls) == 2:  # the second day's first try fails, the retry works
            raise MailError("connection refused")
        if len(calls) == 4:
            raise RuntimeError("database is down")  # logged; the schedule lives on
        return DigestRun("sent", Digest(shop, CONSOLE, now, now, (), (), ()))

    with pytest.raises(asyncio.CancelledError):
        await run_digest_schedule(send, dt.time(8, 0), LONDON, time.clock, time.sleep)
    assert calls == [at("2026-11-23 08:00"), at("2026-11-24 08:00"), at("2026-11-24 08:15"),
                     at("2026-11-25 08:00")]
    assert max(time.naps) <= 3600  # short naps: a changed clock is noticed within the hour


async def test_the_schedule_gives_up_for_the_day_after_the_retries(shop):
    time = FakeTime(at("2026-11-23 07:00"), until=at("2026-11-23 12:00"))
    calls: List[dt.datetime] = []

    def send(now: dt.datetime) -> DigestRun:
        calls.append(now)
        raise MailError("connection refused")

    with pytest.raises(asyncio.CancelledError):
        await run_digest_schedule(send, dt.time(8, 0), LONDON, time.clock, time.sleep)
    assert calls == [at("2026-11-23 08:00") + dt.timedelta(minutes=15 * i) for i in range(RETRIES + 1)]


# ---- shop.yml: owner.digest_at ----

def with_digest_at(value: object, present: bool = True):
    raw = copy.deepcopy(shop_profile_dict(ROOT / "shop.yml"))
    raw["owner"].pop("digest_at", None)
    if present:
        raw["owner"]["digest_at"] = value
    return yaml.safe_dump(raw)


def test_digest_at_in_shop_yml(shop):
    assert shop.digest_at == dt.time(8, 0)
    assert parse_shop_profile(with_digest_at(None, present=False), ROOT).digest_at == dt.time(8, 0)
    assert parse_shop_profile(with_digest_at("7:05"), ROOT).digest_at == dt.time(7, 5)
    assert parse_shop_profile(with_digest_at("off"), ROOT).digest_at is None
    unquoted_off = with_digest_at(None).replace("digest_at: null", "digest_at: off")  # YAML reads: false
    assert parse_shop_profile(unquoted_off, ROOT).digest_at is None


@pytest.mark.parametrize("value, problem", [
    ("24:00", 'is not a time like "08:00"'),
    ("8am", 'is not a time like "08:00"'),
    ("", 'is not a time like "08:00"'),
    (570, "is a number; write the time in quotes"),  # what YAML makes of an unquoted 9:30
    (True, 'is not a time like "08:00"'),
])
def test_a_bad_digest_at_is_named_in_the_error(value, problem):
    with pytest.raises(ShopProfileError, match=problem) as error:
        parse_shop_profile(with_digest_at(value), ROOT)
    assert error.value.field == "owner.digest_at"


# ---- the command line ----

def cli(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("SMTP_", "DATABASE_URL", "PUBLIC_URL", "BOT_", "SHOP_FILE"))}
    clean.update(DATABASE_URL=f"sqlite:///{tmp_path}/actions.db", SHOP_FILE=str(ROOT / "shop.yml"), **env)
    return subprocess.run([sys.executable, "-m", "bot", "digest", *args], cwd=ROOT, env=clean,
                          capture_output=True, text=True, timeout=120)


def test_the_command_line_prints_the_digest_with_dry_run_and_sends_it_once(
    tmp_path, sqlite_engine, smtp_server
):
    now = dt.datetime.now(dt.timezone.utc)
    ticket = handoff(sqlite_engine, now - 3 * HOUR, "conv-1", email="sam@example.com", due=now - HOUR)
    dry = cli(tmp_path, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("To: owner@kettleandcrumb.example\n"
                                 "Subject: Kettle & Crumb: 0 new complaints, 0 new cases, 1 open ticket "
                                 "(1 overdue), 0 unresolved chats — ")
    assert f"http://127.0.0.1:5005/console/handoffs/{ticket.id}" in dry.stdout
    assert sent_days(sqlite_engine) == []  # a dry run claims nothing

    refused = cli(tmp_path)
    assert refused.returncode == 2 and "SMTP_HOST is not set" in refused.stderr

    controller, inbox = smtp_server
    smtp = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(controller.port), "SMTP_STARTTLS": "0",
            "PUBLIC_URL": "https://chat.kettleandcrumb.example"}
    sent = cli(tmp_path, **smtp)
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("Sent to owner@kettleandcrumb.example: Kettle & Crumb: 0 new complaints")
    again = cli(tmp_path, **smtp)
    assert again.returncode == 0 and "went out already; --force sends it again" in again.stdout
    forced = cli(tmp_path, "--force", **smtp)
    assert forced.returncode == 0 and forced.stdout.startswith("Sent to")
    assert len(inbox.messages) == 2
    assert (f"https://chat.kettleandcrumb.example/console/handoffs/{ticket.id}"
            in inbox.messages[0].get_payload(decode=True).decode())
