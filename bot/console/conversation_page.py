"""The page of one handed-off conversation: summary, transcript, what a person can do, notes and tags.

Every value from outside goes through ``esc``. What it says about reaching the customer (is the chat
open, did each message arrive, no email set up, the last action's problem and typed text) comes from a
DeliveryView (delivery_view.py).
"""

from __future__ import annotations

import datetime as dt
from typing import List, Optional, Sequence
from zoneinfo import ZoneInfo

from actions.services.canned_replies import CannedReply
from actions.services.cases import Case
from actions.services.channels.conversations import WEBSITE, ChannelConversation
from actions.services.handoffs import Handoff, Note
from actions.services.owners import Owner
from actions.services.wording import summary_rows
from bot.console.conversations import Line
from bot.console.delivery_view import DeliveryView, presence_html, problem_html
from bot.console.pages import REASONS, _local, _status, channel_badge, esc, page


def _button(handoff_id: int, action: str, label: str, csrf: str, secondary: bool = False) -> str:
    return (
        f'<form class="inline" method="post" action="/console/handoffs/{handoff_id}/{action}">'
        f'<input type="hidden" name="csrf" value="{esc(csrf)}"><button type="submit"'
        f"{' class=secondary' if secondary else ''}>{esc(label)}</button></form>"
    )


def _reply_form(
    handoff_id: int,
    action: str,
    label: str,
    canned: Sequence[CannedReply],
    owner_name: str,
    csrf: str,
    button: str,
    typed: str = "",
) -> str:
    options = "".join(
        f'<option value="{esc(r.for_person(owner_name))}">{esc(r.title)}</option>' for r in canned
    )
    picker = (
        (
            f'<label for="canned">Canned reply</label><select id="canned" data-canned="reply">'
            f'<option value="">Insert a canned reply…</option>{options}</select>'
        )
        if canned
        else ""
    )
    return (
        f'<form method="post" action="/console/handoffs/{handoff_id}/{action}">'
        f'<input type="hidden" name="csrf" value="{esc(csrf)}">{picker}'
        f'<label for="reply">{esc(label)}</label>'
        f'<textarea id="reply" name="text" rows="3" required maxlength="2000">{esc(typed)}</textarea>'
        f'<p><button type="submit">{esc(button)}</button></p></form>'
    )


def conversation_page(
    handoff: Handoff,
    lines: List[Line],
    notes: Sequence[Note],
    canned: Sequence[CannedReply],
    zone: ZoneInfo,
    owner: Owner,
    csrf: str,
    version: str = "",
    now: Optional[dt.datetime] = None,
    cases: Sequence[Case] = (),
    delivery: Optional[DeliveryView] = None,
    side_panel: str = "",
    channel: Optional[ChannelConversation] = None,
    notice: str = "",
) -> str:
    """``side_panel``: HTML shown beside the conversation (the customer, bot/console/customer_pages.py);
    ``channel``: the messaging channel the customer writes on (None: the website); ``notice``: what the
    page says after the last action (the reply went by email)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    drafts = delivery.drafts if delivery else {}
    facts = {**handoff.summary}
    if handoff.contact_email:
        facts["contact"] = handoff.contact_email
    listed = {k: v for k, v in facts.items() if not (k == "case" and cases)}  # the case is linked below
    summary = "".join(f"<dt>{esc(label)}</dt><dd>{esc(words)}</dd>" for label, words in summary_rows(listed))
    if cases:  # the cases opened in this conversation, each a link to the Cases area
        summary += "<dt>Cases</dt><dd>" + ", ".join(
            f'<a href="/console/cases/{case.id}">{esc(case.number)}</a> ({esc(case.kind.lower())}, '
            f"{esc(case.status_words)})" for case in cases) + "</dd>"
    def sent(line: Line) -> str:
        status = delivery.status(line.delivery_id, lambda m: _local(m, zone)) if delivery else ""
        return f' <span class="delivery">{esc(status)}</span>' if status else ""

    transcript = "".join(
        f'<div class="line notice">{esc(line.text)} <span class="time">{esc(_local(line.at, zone))}</span>'
        f"{sent(line)}</div>" if line.who == "notice" else
        f'<div class="line {esc(line.who)}"><span class="who">{esc(line.name)}</span> '
        f'<span class="time">{esc(_local(line.at, zone))}</span>'
        + f"{sent(line)}\n{esc(line.text)}</div>"
        for line in lines
    )
    actions, shown = "", ""
    on_channel = delivery.channel if delivery is not None and delivery.reachable() else None
    if handoff.status == "ticket" and on_channel is not None:  # the customer reads it where they wrote
        shown = "chat-reply"
        actions = (
            _reply_form(handoff.id, "chat-reply", f"Reply on {on_channel.label}", canned, owner.name, csrf,
                        f"Send on {on_channel.label} and close the ticket", drafts.get("chat-reply", ""))
            + "<p>Or, to chat with them now: "
            + _button(handoff.id, "claim", "Claim the chat", csrf, secondary=True)
            + "</p>"
        )
    elif handoff.status == "ticket" and handoff.contact_email and delivery and not delivery.mail_enabled:
        shown = "chat-reply"
        actions = (
            f'<p class="warning" role="note">{esc(delivery.no_mail(handoff.contact_email))} '
            f'<a href="mailto:{esc(handoff.contact_email)}">Write to {esc(handoff.contact_email)}</a></p>'
            + _reply_form(handoff.id, "chat-reply", "Reply in the chat", canned, owner.name, csrf,
                          "Send in the chat and close the ticket", drafts.get("chat-reply", ""))
            + "<p>Or, if the customer is still in the chat: "
            + _button(handoff.id, "claim", "Claim the chat", csrf, secondary=True)
            + "</p>"
        )
    elif handoff.status == "ticket" and handoff.contact_email:
        shown = "email"
        actions = (
            _reply_form(
                handoff.id,
                "email",
                f"Reply by email to {handoff.contact_email}",
                canned,
                owner.name,
                csrf,
                "Send email and close the ticket",
                drafts.get("email", ""),
            )
            + "<p>Or, if the customer is still in the chat: "
            + _button(handoff.id, "claim", "Claim the chat", csrf, secondary=True)
            + "</p>"
        )
    elif handoff.status in ("waiting", "ticket"):
        actions = _button(handoff.id, "claim", "Claim", csrf)
    elif handoff.status == "active" and handoff.owner_id == owner.id:
        shown = "reply"
        actions = (
            _reply_form(handoff.id, "reply", "Reply", canned, owner.name, csrf, "Send",
                        drafts.get("reply", ""))
            + _button(handoff.id, "hand-back", "Hand back to the bot", csrf, secondary=True)
            + " "
            + _button(handoff.id, "resolve", "Resolve", csrf, secondary=True)
        )
    elif handoff.status == "active":
        actions = "<p>Another person has this conversation.</p>"
    note_items = "".join(
        f'<li><span class="who">{esc(n.author)}</span> <span class="time">'
        f"{esc(_local(n.created_at, zone))}</span><br>{esc(n.text)}</li>"
        for n in notes
    )
    team = (
        f'<h2>Notes and tags</h2><p class="note">Only the team sees these.</p>'
        f'<ul class="notes">{note_items or "<li>No notes yet.</li>"}</ul>'
        f'<form method="post" action="/console/handoffs/{handoff.id}/note">'
        f'<input type="hidden" name="csrf" value="{esc(csrf)}"><label for="note">Add a note</label>'
        f'<textarea id="note" name="text" rows="2" required maxlength="2000">'
        f'{esc(drafts.get("note", ""))}</textarea>'
        f'<p><button class="secondary" type="submit">Add note</button></p></form>'
        f'<form method="post" action="/console/handoffs/{handoff.id}/tags">'
        f'<input type="hidden" name="csrf" value="{esc(csrf)}"><label for="tags">Tags, separated by commas'
        f'</label><input id="tags" name="tags" value="{esc(", ".join(handoff.tags))}">'
        f'<p><button class="secondary" type="submit">Save tags</button></p></form>'
    )
    status = _status(handoff, zone, now)
    where = channel_badge(channel.channel if channel else WEBSITE)
    if channel is not None and channel.name.strip():
        where += f' <span class="channel-name">{esc(channel.name)} on {esc(channel.label)}</span>'
    done = f'<p class="note" role="status">{esc(notice)}</p>' if notice else ""
    # The customer beside the conversation: a region of its own, so it follows the chat (linked mid-chat).
    beside = (f'<aside class="customer-panel" aria-label="Customer" data-region="customer">{side_panel}'
              f"</aside>" if side_panel else "")
    return page(
        f"#{handoff.id} {REASONS.get(handoff.reason, handoff.reason)}",
        f"""<div class="{'with-side' if beside else 'alone'}"><div class="conversation">
<h1>#{handoff.id} · {esc(REASONS.get(handoff.reason, handoff.reason))}</h1>
<p class="channel-line" data-region="channel">{where}</p>
<p id="live-note" class="sr-only" role="status" aria-live="polite">{esc(status)}</p>
<section class="summary" aria-label="Summary" data-region="summary">
<p><strong>{esc(status)}</strong> · since {esc(_local(handoff.created_at, zone))}</p>
{presence_html(delivery, lambda m: _local(m, zone))}
<dl>{summary}</dl></section>
<section aria-label="Transcript" class="transcript" data-region="transcript">
{transcript or "<p>No messages yet.</p>"}</section>
<section aria-label="Actions" data-region="actions">
{done}{problem_html(delivery, shown + " note")}{actions}</section>
<section aria-label="Notes and tags" data-region="team">{team}</section></div>{beside}</div>""",
        owner.name,
        csrf,
        # A page showing an error does not update itself: a swap would take away the kept text.
        live="" if delivery and delivery.problem else f"/console/events?handoff={handoff.id}&since={version}",
    )
