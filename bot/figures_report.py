"""The owner's figures in words and numbers a person reads: shared by the console page and
``python -m bot report`` (plain text)."""
from __future__ import annotations

import datetime as dt
import textwrap
from decimal import ROUND_HALF_UP, Decimal
from typing import List, Optional, Sequence, Tuple

from actions.services.channel_figures import ChannelFigures, ChannelLine
from actions.services.channels.conversations import LABELS
from actions.services.customers.retention import CustomerFigures, RetentionStep, Share
from actions.services.figures import FALLBACK_INTENT, Comment, Csat, Figures, Nps, Period

NOTHING = "–"  # a rate or an average of nothing
INTENT_NAMES = {FALLBACK_INTENT: "not understood (nlu_fallback)", "": "(unknown)"}


def rounded(value: float, places: int = 0) -> Decimal:
    """Half up, as people round (12.5% is 13%), not Python's half to even."""
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def percent(rate: Optional[float]) -> str:
    return NOTHING if rate is None else f"{rounded(rate * 100)}%"


def duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return NOTHING
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    hours = round(seconds / 3600)
    return f"{hours // 24} d {hours % 24:02d} h"


def average(csat: Csat) -> str:
    return NOTHING if csat.average is None else str(rounded(csat.average, 1))


def nps_score(nps: Nps) -> str:
    if nps.score is None:
        return NOTHING
    whole = int(rounded(nps.score))
    return f"{whole:+d}" if whole else "0"


def day_label(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def span_label(first: dt.date, last: dt.date, by: str) -> str:
    """'Fri 5 Jun' for a day; 'Mon 8 Jun – Sun 14 Jun' for a week (or the part of it in the range); 'Jun 2026'
    for a whole month, like a week for the part of one."""
    if by == "day" or first == last:
        return f"{first:%a} {first.day} {first:%b}"
    if by == "month" and first.day == 1 and (last + dt.timedelta(days=1)).day == 1:
        return f"{first:%b %Y}"
    return f"{first:%a} {first.day} {first:%b} – {last:%a} {last.day} {last:%b}"


def period_label(period: Period, by: str) -> str:
    return span_label(period.start, period.end, by)


def intent_name(intent: str) -> str:
    return INTENT_NAMES.get(intent, intent)


def plural(count: int, noun: str, nouns: str = "") -> str:
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def csat_words(csat: Csat) -> str:
    if not csat.count:
        return f"no ratings ({csat.declined} declined)" if csat.declined else "no ratings"
    return f"{average(csat)} of 5 from {plural(csat.count, 'rating')} ({csat.declined} declined)"


def nps_words(nps: Nps) -> str:
    if not nps.count:
        return f"no answers ({nps.declined} declined)" if nps.declined else "no answers"
    return (f"{nps_score(nps)} from {plural(nps.count, 'answer')}: {plural(nps.promoters, 'promoter')}, "
            f"{plural(nps.passives, 'passive')}, {plural(nps.detractors, 'detractor')} "
            f"({nps.declined} declined)")


def handoff_words(period: Period) -> str:
    first, done = period.first_response, period.resolution
    return (f"{period.handoffs} started; first response median {duration(first.median)}, "
            f"mean {duration(first.mean)} ({first.count} taken); resolution median {duration(done.median)}, "
            f"mean {duration(done.mean)} ({done.count} closed)")


def summary_lines(figures: Figures) -> List[Tuple[str, str]]:
    """(what, figure) pairs of the range's totals."""
    total = figures.total
    return [
        ("Conversations", str(total.conversations)),
        ("Solved by the bot alone", f"{percent(total.containment_rate)} ({total.contained})"),
        ("Handed to a person", f"{percent(total.handoff_rate)} ({total.handed_off})"),
        ("Messages not understood",
         f"{percent(total.fallback_rate)} ({total.fallbacks} of {total.messages})"),
        ("Handoffs", handoff_words(total)),
        ("CSAT", csat_words(total.csat)),
        ("CSAT, bot alone / with a person", f"{average(figures.csat_bot_alone)} / "
                                             f"{average(figures.csat_with_person)}"),
        ("NPS", nps_words(total.nps)),
        ("Thumbs", f"{total.thumbs_up} up, {total.thumbs_down} down"),
    ]


def share_words(share: Share, of: str) -> str:
    return f"{percent(share.rate)} ({share.part} of {share.whole} {of})"


def customer_lines(customers: CustomerFigures) -> List[Tuple[str, str, str]]:
    """(what, figure, definition) of the customer figures."""
    groups = (customers.new, customers.returning_ratings, customers.anonymous)
    retention = customers.retention
    return [
        ("Returning customers",
         share_words(customers.returning, "chats of known customers")
         + f"; {plural(customers.anonymous_conversations, 'anonymous chat')} apart",
         customers.returning.definition),
        ("Repeat contacts within 7 days", share_words(customers.repeat_contacts, "chats"),
         customers.repeat_contacts.definition),
        ("CSAT new / returning / anonymous",
         " / ".join(average(g.csat) for g in groups)
         + f" (from {' / '.join(str(g.csat.count) for g in groups)} ratings)", customers.ratings_definition),
        ("NPS new / returning / anonymous",
         " / ".join(nps_score(g.nps) for g in groups)
         + f" (from {' / '.join(str(g.nps.count) for g in groups)} answers)", customers.nps_definition),
        (f"Customer retention, {retention.by} to {retention.by}",
         share_words(retention.overall, "customers ordered again the next " + retention.by),
         retention.definition),
    ]


RETENTION_COLUMNS = ("next", "customers", "again", "retention")


def retention_row(step: RetentionStep, by: str) -> List[str]:
    """The period, the next one, its customers, how many of them ordered again then, and the rate."""
    return [span_label(step.start, step.end, by), span_label(step.next_start, step.next_end, by),
            str(step.customers), str(step.retained), percent(step.rate)]


CHANNEL_COLUMNS = ("channel", "conversations", "handed to a person", "solved by the bot", "CSAT", "ratings",
                   "NPS", "answers")


def channel_label(channel: str) -> str:
    return LABELS.get(channel, channel)


def channel_row(line: ChannelLine) -> List[str]:
    """A channel's conversations, the shares handed to a person and solved by the bot, CSAT and NPS."""
    p = line.total
    return [line.label, str(p.conversations), f"{percent(p.handoff_rate)} ({p.handed_off})",
            f"{percent(p.containment_rate)} ({p.contained})", average(p.csat), str(p.csat.count),
            nps_score(p.nps), str(p.nps.count)]


def channel_report(channels: ChannelFigures) -> List[str]:
    lines = ["BY CHANNEL" + (" (every channel: the figures above are of one)" if channels.channel else "")]
    lines += _table(CHANNEL_COLUMNS, [channel_row(line) for line in channels.lines])
    lines += textwrap.wrap(channels.definition, 100, initial_indent="    ", subsequent_indent="    ")
    return lines


SERIES_COLUMNS = ("conv", "by bot", "person", "contain", "msgs", "not und", "fallback", "handoffs",
                  "1st resp", "resolved", "CSAT", "NPS")

KEY = ("(conv: conversations; by bot: solved by the bot alone; person: handed to a person; contain: "
       "containment; msgs: customer messages; not und: of those, not understood; 1st resp, resolved: "
       "medians of the handoffs started then)")


def series_row(period: Period) -> List[str]:
    return [str(period.conversations), str(period.contained), str(period.handed_off),
            percent(period.containment_rate), str(period.messages), str(period.fallbacks),
            percent(period.fallback_rate), str(period.handoffs), duration(period.first_response.median),
            duration(period.resolution.median), average(period.csat), nps_score(period.nps)]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return ["  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                      for i, cell in enumerate(row)).rstrip()
            for row in [header, *rows]]


def _one_line(text: str) -> str:
    """Customer text on one line, without control characters (an escape sequence must not reach the
    owner's terminal)."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def comment_line(comment: Comment) -> str:
    mark = " DETRACTOR" if comment.detractor else " UNHAPPY" if comment.unhappy else ""
    score = "" if comment.score is None else f" {comment.score}"
    who, text = _one_line(comment.conversation_id), _one_line(comment.text)
    return f"- {comment.at:%Y-%m-%d %H:%M} {comment.kind}{score}{mark} ({who}): {text}"


def customer_report(customers: CustomerFigures) -> List[str]:
    """The customer figures, each with its definition under it, and the retention trend."""
    lines = ["CUSTOMERS"]
    pairs = customer_lines(customers)
    width = max(len(what) for what, _, _ in pairs)
    for what, figure, definition in pairs:
        lines.append(f"{what.ljust(width)}  {figure}")
        lines += textwrap.wrap(definition, 100, initial_indent="    ", subsequent_indent="    ")
    by = customers.retention.by
    if customers.retention.steps:
        lines += _table((by, *RETENTION_COLUMNS), [retention_row(s, by) for s in customers.retention.steps])
    else:
        lines.append(f"(the range has no next {by} to come back in)")
    return lines


def text_report(figures: Figures, shop_name: str, customers: Optional[CustomerFigures] = None,
                channels: Optional[ChannelFigures] = None) -> str:
    """The figures as plain text: the totals, the table by channel, then one line per day, week or month, the
    customer figures, then what customers said."""
    r = figures.range
    only = f", {channel_label(channels.channel)} conversations only" if channels and channels.channel else ""
    lines = [f"{shop_name}: figures from {day_label(r.start)} to {day_label(r.end)} "
             f"({figures.zone.key}), by {r.by}{only}", ""]
    pairs = summary_lines(figures)
    width = max(len(what) for what, _ in pairs)
    lines += [f"{what.ljust(width)}  {figure}" for what, figure in pairs]
    top = ", ".join(f"{_one_line(intent_name(i))} {n}" for i, n in figures.top_intents[:10]) or "none"
    lines += [f"{'Top intents'.ljust(width)}  {top}", ""]
    if channels is not None:
        lines += [*channel_report(channels), ""]
    lines += _table((r.by, *SERIES_COLUMNS),
                    [(period_label(p, r.by), *series_row(p)) for p in figures.series])
    lines += [KEY, ""]
    if customers is not None:
        lines += [*customer_report(customers), ""]
    lines += ["THUMBS DOWN by intent:" + ("" if figures.thumbs_down else " none")]
    for group in figures.thumbs_down:
        lines.append(f"- {_one_line(intent_name(group.intent))}: {group.count}")
        lines += [f"    {n} × {_one_line(text) or '(no text)'}" for text, n in group.answers]
    lines += ["", "COMMENTS, newest first:" + ("" if figures.comments else " none")]
    lines += [comment_line(c) for c in figures.comments]
    return "\n".join(lines) + "\n"
