"""The owner's daily digest email: new complaints and cases, open tickets, chats nobody resolved, with links.

Several web processes may run the schedule; the ``digests_sent`` row for the shop's local day is
inserted before the email goes out, so exactly one of them sends it (an IntegrityError means another
process has it). When the mail fails the row is deleted again, so a later try can send the digest.
Nothing to report means no email: an owner should not learn to ignore the digest.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, List, Optional, Tuple
from zoneinfo import ZoneInfo

from sqlalchemy import case as sql_case
from sqlalchemy import delete, or_, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from actions.services import order_tables as t
from actions.services.cases import Case, CaseBook
from actions.services.clock import Clock, naive_utc, utc_now
from actions.services.handoffs import Handoff
from actions.services.mail import Mailer, MailError
from actions.services.shop_profile import ShopProfile
from actions.services.wording import plural, text_words

logger = logging.getLogger(__name__)

WINDOW = dt.timedelta(hours=24)  # new complaints: since the previous digest, at least this far back ...
LONGEST_WINDOW = dt.timedelta(days=7)  # ... and at most this far
RETRY_AFTER = dt.timedelta(minutes=15)  # a failed send is tried again this much later, RETRIES times
RETRIES = 3
Sleep = Callable[[float], Awaitable[Any]]
REASONS = {"human_handoff": "asked for a person", "complaint": "complaint",
           "fallback": "the bot could not help", "order_case": "order problem"}



def _aware(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.timezone.utc)


ORDER_CASES = ("damaged", "wrong", "missing", "late", "cancellation")  # complaints have their own section
REMEDIES = {"replacement": "asked for a replacement", "refund": "asked for a refund",
            "person": "asked for a person"}


def _quote(text: str, limit: int = 160) -> str:
    """Customer text on one line, shortened: the console has the whole of it."""
    line = " ".join(str(text).split())
    return f'"{line[: limit - 1]}…"' if len(line) > limit else f'"{line}"'


@dataclass(frozen=True)
class NewComplaint:
    number: str
    created_at: dt.datetime
    description: str
    contact: Optional[str]
    link: str  # the conversation in the console when it was handed to a person, else the case


@dataclass(frozen=True)
class OpenTicket:
    handoff: Handoff
    overdue: bool
    link: str


@dataclass(frozen=True)
class UnresolvedChat:
    handoff: Handoff
    person: Optional[str]  # who has claimed it (active), None while it waits
    link: str


@dataclass(frozen=True)
class Digest:
    shop: ShopProfile
    console_url: str
    now: dt.datetime
    since: dt.datetime  # new complaints are those created after this moment
    complaints: Tuple[NewComplaint, ...]
    tickets: Tuple[OpenTicket, ...]
    chats: Tuple[UnresolvedChat, ...]
    cases: Tuple[Case, ...] = ()  # new order cases (not complaints), oldest first

    @property
    def day(self) -> dt.date:
        """The shop's local day this digest is for (one digest per day)."""
        return self.now.astimezone(self.shop.timezone).date()

    @property
    def empty(self) -> bool:
        return not (self.complaints or self.cases or self.tickets or self.chats)

    def when(self, moment: dt.datetime) -> str:
        local = moment.astimezone(self.shop.timezone)
        return f"{local:%a} {local.day} {local:%b %H:%M}"

    @property
    def subject(self) -> str:
        overdue = sum(ticket.overdue for ticket in self.tickets)
        tickets = plural(len(self.tickets), "open ticket") + (f" ({overdue} overdue)" if overdue else "")
        return (f"{self.shop.name}: {plural(len(self.complaints), 'new complaint')}, "
                f"{plural(len(self.cases), 'new case')}, {tickets}, "
                f"{plural(len(self.chats), 'unresolved chat')} — {self.day.day} {self.day:%b}")

    @property
    def body(self) -> str:
        local = self.now.astimezone(self.shop.timezone)
        lines = [f"The {self.shop.name} assistant's digest for {local:%A} {local.day} {local:%B %Y}, "
                 f"{local:%H:%M} ({self.shop.timezone.key}).", ""]
        if self.empty:
            lines.append("Nothing needs you today: no new complaints or cases, no open tickets, no chats "
                         "waiting.")
        else:
            lines += (self._complaint_lines() + [""] + self._case_lines() + [""] + self._ticket_lines() + [""]
                      + self._chat_lines())
        lines += ["", f"Inbox: {self.console_url}  ·  tickets: {self.console_url}?view=tickets  ·  cases: "
                      f"{self.console_url}/cases", "",
                  "This email comes when there is something to report, at owner.digest_at in shop.yml "
                  '("off" stops it).']
        return "\n".join(lines) + "\n"

    def _complaint_lines(self) -> List[str]:
        lines = [f"NEW COMPLAINTS since {self.when(self.since)}: {len(self.complaints) or 'none'}"]
        for complaint in self.complaints:
            lines.append(f"- {complaint.number}, {self.when(complaint.created_at)}: "
                         f"{_quote(complaint.description or '(no description)')}")
            if complaint.contact:
                lines.append(f"  Contact: {complaint.contact}")
            lines.append(f"  {complaint.link}")
        return lines

    def _case_lines(self) -> List[str]:
        lines = [f"NEW CASES (damaged, wrong or missing items, late orders, cancellations) since "
                 f"{self.when(self.since)}: {len(self.cases) or 'none'}"]
        for case in self.cases:
            order = f", order {case.order_number}" if case.order_number else ""
            lines.append(f"- {case.number} {case.kind.lower()}{order}, {self.when(case.created_at)}, "
                         f"{case.status_words}: {_quote(case.items or case.description or '(no details)')}")
            facts = [case.customer_name, case.email, REMEDIES.get(case.remedy or "", "") if case.category !=
                     "cancellation" else "refund due", "photo attached" if case.photo_path else ""]
            lines += [f"  {' · '.join(f for f in facts if f) or 'no contact given'}",
                      f"  {self.console_url}/cases/{case.id}"]
        return lines

    def _ticket_lines(self) -> List[str]:
        overdue = sum(ticket.overdue for ticket in self.tickets)
        lines = [f"OPEN TICKETS (answer by email): {len(self.tickets) or 'none'}"
                 + (f", {overdue} overdue" if overdue else "")]
        for ticket in self.tickets:
            handoff = ticket.handoff
            due = f"reply by {self.when(handoff.reply_due_at)}" if handoff.reply_due_at else "no reply time"
            lines.append(f"- #{handoff.id} {handoff.contact_email or '(no email)'}, {due}"
                         + (" — OVERDUE" if ticket.overdue else ""))
            lines += [f"  {_about(handoff)}", f"  {ticket.link}"]
        return lines

    def _chat_lines(self) -> List[str]:
        lines = [f"UNRESOLVED CHATS (waiting, or with a person): {len(self.chats) or 'none'}"]
        for chat in self.chats:
            handoff = chat.handoff
            if handoff.status == "active":
                claimed = self.when(handoff.claimed_at or handoff.created_at)
                state = f"with {chat.person or 'a person'} since {claimed}"
            else:
                state = f"waiting since {self.when(handoff.created_at)}"
            lines.append(f"- #{handoff.id} {state} ({REASONS.get(handoff.reason, handoff.reason)})")
            lines += [f"  {_about(handoff)}", f"  {chat.link}"]
        return lines


def _about(handoff: Handoff) -> str:
    """What the customer wanted, from the bot's summary of the handoff."""
    summary = handoff.summary
    text = text_words(summary.get("complaint") or summary.get("asked") or summary.get("intent") or "")
    text = text or "(no summary)"
    order = summary.get("order")
    verified = "verified" if summary.get("verified") else "not verified"
    return _quote(text) + (f" (order {order}, {verified})" if order else "")


def _previous_digest(connection: Connection, day: dt.date) -> Optional[dt.datetime]:
    sent = connection.execute(select(t.digests_sent.c.sent_at).where(t.digests_sent.c.day < day)
                              .order_by(t.digests_sent.c.day.desc()).limit(1)).scalar()
    return _aware(sent) if sent else None


def _complaint_link(connection: Connection, case_id: int, conversation_id: Optional[str],
                    console_url: str) -> Optional[str]:
    """The handoff made for the case, else the latest one of its conversation."""
    h = t.handoffs.c
    match = [h.case_id == case_id] + ([h.conversation_id == conversation_id] if conversation_id else [])
    made_for_it_first = sql_case((h.case_id == case_id, 0), else_=1)
    handoff_id = connection.execute(select(h.id).where(or_(*match))
                                    .order_by(made_for_it_first, h.id.desc()).limit(1)).scalar()
    return f"{console_url}/handoffs/{handoff_id}" if handoff_id else None


def collect_digest(engine: Engine, shop: ShopProfile, console_url: str, now: dt.datetime) -> Digest:
    """What the owner should see at ``now`` (an aware moment)."""
    console_url = console_url.rstrip("/")
    day = now.astimezone(shop.timezone).date()
    h, c = t.handoffs.c, t.cases.c
    with engine.connect() as connection:
        since = now - WINDOW
        previous = _previous_digest(connection, day)
        if previous is not None and now - LONGEST_WINDOW <= previous < since:
            since = previous  # a longer gap (a day without digest, a DST change): nothing falls through
        cases = connection.execute(
            select(t.cases).where(c.category == "complaint", c.created_at > naive_utc(since),
                                  c.created_at <= naive_utc(now))
            .order_by(c.created_at, c.id)).mappings().all()
        complaints = tuple(
            NewComplaint(row["number"] or f"case {row['id']}", _aware(row["created_at"]), row["description"],
                         row["contact"], _complaint_link(connection, row["id"], row["conversation_id"],
                                                         console_url) or f"{console_url}/cases/{row['id']}")
            for row in cases)
        ticket_rows = connection.execute(
            select(t.handoffs).where(h.status == "ticket")
            .order_by(h.reply_due_at.is_(None), h.reply_due_at, h.created_at, h.id)).mappings().all()
        chat_rows = connection.execute(
            select(t.handoffs, t.owners.c.name.label("person"))
            .select_from(t.handoffs.outerjoin(t.owners, t.owners.c.id == h.owner_id))
            .where(h.status.in_(("waiting", "active")))  # the waiting ones first, longest waiting first
            .order_by(sql_case((h.status == "waiting", 0), else_=1), h.created_at, h.id)).mappings().all()
    tickets = []
    for row in ticket_rows:
        ticket = Handoff.from_row(row)
        overdue = ticket.reply_due_at is not None and ticket.reply_due_at < now
        tickets.append(OpenTicket(ticket, overdue, f"{console_url}/handoffs/{ticket.id}"))
    chats = tuple(UnresolvedChat(Handoff.from_row(row), row["person"], f"{console_url}/handoffs/{row['id']}")
                  for row in chat_rows)
    cases_ = tuple(CaseBook(engine).new_since(since, now, ORDER_CASES))
    return Digest(shop, console_url, now, since, complaints, tuple(tickets), chats, cases_)


@dataclass(frozen=True)
class DigestRun:
    outcome: str  # sent, already_sent (another process or an earlier run today), nothing_to_report
    digest: Digest
    message_id: Optional[str] = None


def _claim(engine: Engine, day: dt.date, now: dt.datetime) -> bool:
    try:
        with engine.begin() as connection:
            connection.execute(t.digests_sent.insert().values(day=day, sent_at=naive_utc(now)))
    except IntegrityError:
        return False
    return True


def send_daily_digest(engine: Engine, mailer: Mailer, shop: ShopProfile, console_url: str,
                      now: dt.datetime, force: bool = False) -> DigestRun:
    """Send the digest for the shop's day of ``now`` to the owner, unless it went out already today.

    ``force`` sends even when it did, or when there is nothing to report (an owner trying it out).
    Raises MailError when the email was not accepted; the day is free again then.
    """
    digest = collect_digest(engine, shop, console_url, now)
    if digest.empty and not force:
        logger.info("Daily digest for %s: nothing to report, no email sent", digest.day)
        return DigestRun("nothing_to_report", digest)
    claimed = _claim(engine, digest.day, now)
    if not claimed and not force:
        logger.info("Daily digest for %s: already sent", digest.day)
        return DigestRun("already_sent", digest)
    try:
        message_id = mailer.send(shop.owner_email, digest.subject, digest.body)
    except MailError:
        if claimed:
            with engine.begin() as connection:
                connection.execute(delete(t.digests_sent).where(t.digests_sent.c.day == digest.day))
        raise
    logger.info("Daily digest for %s sent to %s: %s", digest.day, shop.owner_email, digest.subject)
    return DigestRun("sent", digest, message_id)


def next_digest_at(at: dt.time, zone: ZoneInfo, now: dt.datetime) -> dt.datetime:
    """The first moment after ``now`` when the shop's clock shows ``at`` (UTC).

    A time the clocks skip on a DST change day (01:30 when they jump from 01:00 to 02:00) comes an
    hour late, 02:30; a time that happens twice when they go back is the first of the two.
    """
    day = now.astimezone(zone).date()
    for offset in range(3):
        local = dt.datetime.combine(day + dt.timedelta(days=offset), at, tzinfo=zone)
        moment = local.astimezone(dt.timezone.utc)
        if moment > now:
            return moment
    raise AssertionError("a local time recurs within three days")  # pragma: no cover


async def run_digest_schedule(send: Callable[[dt.datetime], DigestRun], at: dt.time, zone: ZoneInfo,
                              clock: Clock = utc_now, sleep: Sleep = asyncio.sleep) -> None:
    """Forever: wait until ``at`` in the shop's zone, then ``send`` (in a thread: it blocks on SMTP)."""
    while True:
        due = next_digest_at(at, zone, clock())
        # Short naps, so a suspended machine or a changed clock still wakes close to the time.
        while (left := (due - clock()).total_seconds()) > 0:
            await sleep(min(left, 3600))
        await _send_with_retries(send, clock, sleep)


async def _send_with_retries(send: Callable[[dt.datetime], DigestRun], clock: Clock,
                             sleep: Sleep) -> None:
    for attempt in range(RETRIES + 1):
        try:
            run = await asyncio.to_thread(send, clock())
        except MailError as error:
            logger.warning("Daily digest not sent (try %d of %d): %s", attempt + 1, RETRIES + 1, error)
            if attempt < RETRIES:
                await sleep(RETRY_AFTER.total_seconds())
            continue
        except Exception:
            logger.exception("Daily digest failed; the next one is due tomorrow")
            return
        logger.info("Daily digest for %s: %s", run.digest.day, run.outcome.replace("_", " "))
        return
