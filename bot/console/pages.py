"""The console's HTML, rendered on the server. Every value from outside goes through ``esc``."""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Dict, Iterable, List, Optional
from zoneinfo import ZoneInfo

from actions.services.handoffs import Handoff
from bot.console.conversations import Line

CSS = Path(__file__).with_name("console.css")


@lru_cache(maxsize=1)
def _style() -> str:
    return CSS.read_text(encoding="utf-8")


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def page(title: str, body: str, owner_name: Optional[str] = None, csrf: str = "") -> str:
    signed_in = (
        (
            f'<span>{esc(owner_name)}</span><form class="inline" method="post" action="/console/logout">'
            f'<input type="hidden" name="csrf" value="{esc(csrf)}"><button class="secondary" '
            f'type="submit">Sign out</button></form>'
        )
        if owner_name
        else ""
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width, initial-scale=1"><title>{esc(title)} · Console</title>'
        f'<link rel="icon" href="data:,"><style>{_style()}</style></head><body><header>'
        f'<a href="/console"><strong>Console</strong></a><div>{signed_in}</div></header>'
        f"<main>{body}</main></body></html>"
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


def inbox_page(
    view: str, handoffs: Iterable[Handoff], counts: Dict[str, int], zone: ZoneInfo, owner_name: str, csrf: str
) -> str:
    names = {"waiting": "Waiting", "mine": "Mine", "tickets": "Tickets", "resolved": "Resolved"}
    tabs = " ".join(
        f'<a href="/console?view={v}"{" aria-current=page" if v == view else ""}>{n} ({counts.get(v, 0)})</a>'
        for v, n in names.items()
    )
    rows = "".join(
        f'<tr><td><a href="/console/handoffs/{h.id}">{esc(h.conversation_id[:12])}…</a></td>'
        f"<td>{esc(h.reason)}</td>"
        f"<td>{esc(h.summary.get('intent', ''))} {esc(h.summary.get('order', ''))}</td>"
        f"<td>{esc(_local(h.created_at, zone))}</td><td>{esc(h.status)}</td></tr>"
        for h in handoffs
    )
    table = (
        f"<table><thead><tr><th>Conversation</th><th>Why</th><th>About</th><th>Since</th><th>Status</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else "<p>Nothing here.</p>"
    )
    return page(
        "Inbox",
        f'<h1>Inbox</h1><nav class="views" aria-label="Inbox views">{tabs}</nav>{table}',
        owner_name,
        csrf,
    )


def _button(handoff_id: int, action: str, label: str, csrf: str, secondary: bool = False) -> str:
    return (
        f'<form class="inline" method="post" action="/console/handoffs/{handoff_id}/{action}">'
        f'<input type="hidden" name="csrf" value="{esc(csrf)}"><button type="submit"'
        f"{' class=secondary' if secondary else ''}>{esc(label)}</button></form>"
    )


def conversation_page(
    handoff: Handoff, lines: List[Line], zone: ZoneInfo, owner_id: int, owner_name: str, csrf: str
) -> str:
    summary = "".join(
        f"<dt>{esc(k)}</dt><dd>{esc(v if isinstance(v, str) else json.dumps(v))}</dd>"
        for k, v in handoff.summary.items()
    )
    transcript = "".join(
        f'<div class="line {esc(line.who)}"><span class="who">{esc(line.name)}</span> '
        f'<span class="time">{esc(_local(line.at, zone))}</span>\n{esc(line.text)}</div>'
        for line in lines
    )
    actions = ""
    if handoff.status in ("waiting", "ticket"):
        actions = _button(handoff.id, "claim", "Claim", csrf)
    elif handoff.status == "active" and handoff.owner_id == owner_id:
        actions = (
            f'<form method="post" action="/console/handoffs/{handoff.id}/reply">'
            f'<input type="hidden" name="csrf" value="{esc(csrf)}"><label for="reply">Reply</label>'
            f'<textarea id="reply" name="text" rows="3" required maxlength="2000"></textarea>'
            f'<p><button type="submit">Send</button></p></form>'
            + _button(handoff.id, "hand-back", "Hand back to the bot", csrf, secondary=True)
            + " "
            + _button(handoff.id, "resolve", "Resolve", csrf, secondary=True)
        )
    return page(
        "Conversation",
        f"""<h1>Conversation {esc(handoff.conversation_id[:12])}…</h1>
<section class="summary" aria-label="Summary"><p><strong>{esc(handoff.status)}</strong>
 · {esc(handoff.reason)} · since {esc(_local(handoff.created_at, zone))}</p><dl>{summary}</dl></section>
<section aria-label="Transcript">{transcript or "<p>No messages yet.</p>"}</section>
<section aria-label="Actions">{actions}</section>""",
        owner_name,
        csrf,
    )
