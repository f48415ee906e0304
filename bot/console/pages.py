"""The console's HTML, rendered on the server. Every value from outside goes through ``esc``."""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Dict, Iterable, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

from actions.services.canned_replies import CannedReply
from actions.services.channels.conversations import LABELS, WEBSITE
from actions.services.handoffs import Handoff
from actions.services.wording import plural, text_words

CSS = Path(__file__).with_name("console.css")


@lru_cache(maxsize=1)
def _style() -> str:
    return CSS.read_text(encoding="utf-8")


def esc(value: object) -> str:
    return escape(str(value), quote=True)


# The signed-in account's roles, set by the console's session middleware for the request being answered:
# every page's menu depends on them, and passing them through each page's renderer would only add noise.
nav_roles: ContextVar[Tuple[str, ...]] = ContextVar("nav_roles", default=("owner",))


def _menu() -> str:
    roles = nav_roles.get()
    owner = ('<a href="/console/cases">Cases</a><a href="/console/customers">Customers</a>'
             '<a href="/console/figures">Figures</a>'
             '<a href="/console/replies">Canned replies</a><a href="/console/problems">Problems</a>'
             if "owner" in roles else "")
    trainer = ('<a href="/console/conversations">Conversations</a>'
               '<a href="/console/missed">Missed messages</a><a href="/console/models">Models</a>'
               if "trainer" in roles else "")
    return owner + trainer


def page(title: str, body: str, owner_name: Optional[str] = None, csrf: str = "", live: str = "",
         refresh: int = 0) -> str:
    """A console page; with ``live`` (an event stream URL) it updates itself when the server says so; with
    ``refresh`` it reloads itself every so many seconds (a training job's progress)."""
    signed_in = (
        (
            f'{_menu()}'
            f'<a href="/console/password" title="Your password">{esc(owner_name)}</a>'
            f'<form class="inline" method="post" action="/console/logout">'
            f'<input type="hidden" name="csrf" value="{esc(csrf)}"><button class="secondary" '
            f'type="submit">Sign out</button></form>'
        )
        if owner_name
        else ""
    )
    script = '<script src="/console/console.js" defer></script>' if live else ""
    if refresh:
        script += f'<meta http-equiv="refresh" content="{int(refresh)}">'
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width, initial-scale=1"><title>{esc(title)} · Console</title>'
        f'<link rel="icon" href="data:,"><style>{_style()}</style>{script}</head><body><header>'
        f'<a href="/console"><strong>Console</strong></a><div class="who-am-i">{signed_in}</div></header>'
        f"<main{f' data-live={chr(34)}{esc(live)}{chr(34)}' if live else ''}>{body}</main></body></html>"
    )


def login_page(token: str, problem: str = "", email: str = "") -> str:
    error = f'<p class="error" role="alert">{esc(problem)}</p>' if problem else ""
    return page(
        "Sign in",
        f"""<h1>Sign in</h1>{error}
<form method="post" action="/console/login">
<input type="hidden" name="csrf" value="{esc(token)}">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username"
 value="{esc(email)}" required>
<label for="password">Password</label><input id="password" name="password" type="password"
 autocomplete="current-password" required>
<p><button type="submit">Sign in</button></p></form>""",
    )


def _local(moment: Optional[dt.datetime], zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %d %b %H:%M") if moment else ""


def stored_local(moment: Optional[dt.datetime], zone: ZoneInfo) -> str:
    """A moment as our tables keep it (UTC, without a zone) on the shop's clock."""
    return _local(moment.replace(tzinfo=dt.timezone.utc), zone) if moment else ""


def channel_badge(channel: str) -> str:
    """Where the customer writes from: "WhatsApp", "Telegram", ... or "Website"."""
    label = LABELS.get(channel, channel)
    return f'<span class="badge channel" data-channel="{esc(channel)}">{esc(label)}</span>'


VIEW_NAMES = {"waiting": "Waiting", "mine": "Mine", "tickets": "Tickets", "resolved": "Resolved"}


def inbox_page(
    view: str,
    handoffs: Iterable[Handoff],
    counts: Dict[str, int],
    zone: ZoneInfo,
    owner_name: str,
    csrf: str,
    version: str = "",
    now: Optional[dt.datetime] = None,
    channels: Optional[Dict[str, str]] = None,
) -> str:
    """``channels``: each conversation's channel (ChannelConversations.channels_of); absent: the website."""
    now = now or dt.datetime.now(dt.timezone.utc)
    channels = channels or {}
    tabs = " ".join(
        f'<a href="/console?view={v}"{" aria-current=page" if v == view else ""}>{n} ({counts.get(v, 0)})</a>'
        for v, n in VIEW_NAMES.items()
    )
    rows = "".join(
        f'<tr><td><a href="/console/handoffs/{h.id}">#{h.id}</a></td>'
        f"<td>{channel_badge(channels.get(h.conversation_id, WEBSITE))}</td>"
        f"<td>{esc(REASONS.get(h.reason, h.reason))}</td>"
        f"<td>{esc(_about(h))}</td>"
        f"<td>{esc(_local(h.created_at, zone))}</td><td>{esc(_status(h, zone, now))}</td></tr>"
        for h in handoffs
    )
    table = (
        f"<table><thead><tr><th>Chat</th><th>Channel</th><th>Why</th><th>About</th><th>Since</th><th>Status</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else "<p>Nothing here.</p>"
    )
    waiting = counts.get("waiting", 0)
    tickets = plural(counts.get("tickets", 0), "ticket")
    note = f"{waiting} waiting, {tickets}, {counts.get('mine', 0)} with you"
    title = f"({waiting} waiting) Inbox" if waiting else "Inbox"
    return page(
        title,
        f'<h1>Inbox</h1><p id="live-note" class="note" role="status" aria-live="polite">{esc(note)}</p>'
        f'<nav class="views" aria-label="Inbox views" data-region="tabs">{tabs}</nav>'
        f'<div data-region="list">{table}</div>',
        owner_name,
        csrf,
        live=f"/console/events?since={version}",
    )


REASONS = {
    "human_handoff": "Asked for a person",
    "complaint": "Complaint",
    "fallback": "Bot could not help",
    "order_case": "Order problem",
}


def _about(handoff: Handoff) -> str:
    s = handoff.summary
    words = [
        s.get("case", ""),
        s.get("order", ""),
        text_words(s.get("complaint") or s.get("problem") or s.get("asked", "")),
    ]
    text = " · ".join(w for w in words if w)
    return text if len(text) <= 90 else text[:89] + "…"


def _status(handoff: Handoff, zone: ZoneInfo, now: dt.datetime) -> str:
    if handoff.status == "ticket" and handoff.reply_due_at:
        overdue = " (overdue)" if handoff.reply_due_at < now else ""
        return f"ticket, reply by {_local(handoff.reply_due_at, zone)}{overdue}"
    return handoff.status


def canned_replies_page(replies: Sequence[CannedReply], owner_name: str, csrf: str, problem: str = "") -> str:
    error = f'<p class="error" role="alert">{esc(problem)}</p>' if problem else ""
    hidden = f'<input type="hidden" name="csrf" value="{esc(csrf)}">'

    def fields(prefix: str, title: str = "", text: str = "") -> str:
        return (f'<label for="{prefix}-title">Title</label><input id="{prefix}-title" name="title" '
                f'maxlength="100" required value="{esc(title)}"><label for="{prefix}-text">Text</label>'
                f'<textarea id="{prefix}-text" name="text" rows="3" maxlength="2000" required>'
                f"{esc(text)}</textarea>")

    items = "".join(
        f'<li class="canned"><form method="post" action="/console/replies/{r.id}/save">{hidden}'
        f'{fields(f"r{r.id}", r.title, r.text)}<p><button type="submit">Save</button></p></form>'
        f'<form method="post" action="/console/replies/{r.id}/delete">{hidden}'
        f'<button class="secondary" type="submit">Delete “{esc(r.title)}”</button></form></li>'
        for r in replies
    )
    return page(
        "Canned replies",
        f"<h1>Canned replies</h1>{error}<p class=note>{{name}} in a text becomes the name of the person "
        f"sending it.</p><ul class=plain>{items}</ul><h2>Add a canned reply</h2>"
        f'<form method="post" action="/console/replies">{hidden}{fields("new")}'
        f'<p><button type="submit">Add</button></p></form>',
        owner_name,
        csrf,
    )
