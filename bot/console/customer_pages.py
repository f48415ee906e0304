"""The console's Customers pages: the list and search, one customer, the panel beside a live conversation,
and one of their conversations. Every value from outside goes through ``esc``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from actions.services.cases import CATEGORY_WORDS
from actions.services.channels.conversations import WEBSITE
from actions.services.customers.profile_records import (
    ConversationRecord,
    CustomerProfile,
    FeedbackRecord,
    OrderRecord,
)
from actions.services.customers.search import CustomerSummary
from actions.services.wording import plural
from bot.console.conversations import Line
from bot.console.pages import REASONS, _local, channel_badge, esc, page, stored_local

# What Rasa's events name the channel of a website conversation (the messaging channels are named from
# channel_conversations: their LABELS).
CHANNELS = {"rest": "REST API", "console": "console"}
FEEDBACK_WORDS = {"csat": "Rating", "nps": "NPS", "feedback": "Comment", "thumb": "Thumb"}
HOW_WORDS = {"order": "verified an order", "ticket": "gave an email for a ticket",
             "complaint": "gave an email for a complaint", "email": "left their email (not linked)"}
HANDOFF_WORDS = {"waiting": "waiting", "active": "with a person", "ticket": "ticket, not answered yet",
                 "resolved": "resolved", "returned": "handed back to the bot"}


@dataclass(frozen=True)
class CustomerForms:
    """What the page says after an action, and what the owner typed when it could not be done."""
    problem: str = ""
    notice: str = ""
    drafts: Dict[str, str] = field(default_factory=dict)   # feedback, to, subject, body, notes, tags, confirm


def display_name(customer: CustomerProfile | CustomerSummary) -> str:
    return customer.name or next(iter(customer.emails), "") or "Customer without a name"


def phone_text(digits: str) -> str:
    return f"+{digits}"  # stored as digits with the country code


def customer_url(customer_id: int, rest: str = "") -> str:
    return f"/console/customers/{customer_id}{rest}"


def transcript_url(customer_id: int, conversation_id: str) -> str:
    return customer_url(customer_id, "/conversations/" + quote(conversation_id, safe=""))


def _hidden(csrf: str) -> str:
    return f'<input type="hidden" name="csrf" value="{esc(csrf)}">'


def _tags(tags: Sequence[str]) -> str:
    return " ".join(f'<span class="tag">{esc(tag)}</span>' for tag in tags)


def customers_page(query: str, found: Sequence[CustomerSummary], zone: ZoneInfo, owner_name: str, csrf: str,
                   notice: str = "") -> str:
    rows = "".join(
        f'<tr><td><a href="{customer_url(c.id)}">{esc(display_name(c))}</a> {_tags(c.tags)}</td>'
        f"<td>{'<br>'.join(esc(e) for e in c.emails)}</td>"
        f"<td>{'<br>'.join(esc(phone_text(p)) for p in c.phones)}</td>"
        f"<td>{c.conversations}</td><td>{esc(stored_local(c.last_contact, zone))}</td></tr>" for c in found)
    what = f"matching “{esc(query)}”" if query else "most recently in touch first"
    table = (f"<table><thead><tr><th>Name</th><th>Email</th><th>Phone</th><th>Chats</th><th>Last contact</th>"
             f"</tr></thead><tbody>{rows}</tbody></table>" if rows
             else f"<p>{'No customer matches that.' if query else 'No customers yet.'}</p>")
    done = f'<p class="note" role="status">{esc(notice)}</p>' if notice else ""
    return page("Customers", f"""<h1>Customers</h1>{done}
<p class="note">A customer is somebody who proved an email or phone in a chat: a verified order, or the email
they gave for a ticket or a complaint. Before that a chat is an anonymous visitor's.</p>
<form class="search" method="get" action="/console/customers" role="search">
<label for="q">Name, email, phone or order number</label>
<div class="search-row"><input id="q" name="q" type="search" maxlength="200" value="{esc(query)}">
<button type="submit">Search</button></div></form>
<h2>Customers {what}</h2>{table}""", owner_name, csrf)


def _orders(orders: Sequence[OrderRecord], zone: ZoneInfo) -> str:
    rows = "".join(f"<tr><td>{esc(o.number)}</td><td>{esc(stored_local(o.placed_at, zone))}</td>"
                   f"<td>{esc(o.status)}</td><td class=num>{esc(f'{o.total:.2f} {o.currency}')}</td></tr>"
                   for o in orders)
    return (f"<table><thead><tr><th>Order</th><th>Placed</th><th>Status</th><th class=num>Total</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>"
            if rows else "<p>No orders with their email or phone.</p>")


def _conversation_links(customer_id: int, c: ConversationRecord) -> str:
    links = [f'<a href="{esc(transcript_url(customer_id, c.conversation_id))}">transcript</a>']
    if c.handoff_id:
        links.append(f'<a href="/console/handoffs/{c.handoff_id}">in the inbox, #{c.handoff_id}</a>')
    return " · ".join(links)


def _channel(c: ConversationRecord, channels: Dict[str, str]) -> str:
    channel = channels.get(c.conversation_id, WEBSITE)
    if channel != WEBSITE or c.channel in ("", "socketio"):
        return channel_badge(channel)
    return esc(CHANNELS.get(c.channel, c.channel))  # the REST API, a test from the console


def _conversations(profile: CustomerProfile, zone: ZoneInfo, channels: Dict[str, str]) -> str:
    rows = "".join(
        f"<tr><td>{esc(stored_local(c.first_at or c.linked_at, zone))}</td>"
        f"<td>{esc(stored_local(c.last_at or c.linked_at, zone))}</td>"
        f"<td class=num>{c.messages if c.first_at else '—'}</td>"  # — : not in the tracker store's events
        f"<td>{_channel(c, channels)}</td>"
        f"<td>{esc(HOW_WORDS.get(c.how, c.how))}</td>"
        f"<td>{_conversation_links(profile.id, c)}</td></tr>" for c in profile.conversations)
    return (f"<table><thead><tr><th>Started</th><th>Last message</th><th class=num>Messages</th>"
            f"<th>Channel</th><th>Linked when they</th><th>Open</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def _cases(profile: CustomerProfile, zone: ZoneInfo) -> str:
    rows = "".join(
        f'<tr><td><a href="/console/cases/{c.id}">{esc(c.number)}</a></td>'
        f"<td>{esc(CATEGORY_WORDS.get(c.category, c.category))}</td><td>{esc(c.order_number or '—')}</td>"
        f"<td>{esc(c.description[:120])}</td><td>{esc(stored_local(c.created_at, zone))}</td>"
        f'<td><span class="badge {esc(c.status)}">{esc(c.status)}</span></td></tr>' for c in profile.cases)
    return (f"<table><thead><tr><th>Case</th><th>What</th><th>Order</th><th>They said</th><th>Opened</th>"
            f"<th>Status</th></tr></thead><tbody>{rows}</tbody></table>"
            if rows else "<p>No cases or complaints.</p>")


def _handoffs(profile: CustomerProfile, zone: ZoneInfo) -> str:
    items = "".join(
        f'<li><a href="/console/handoffs/{h.id}">#{h.id}</a> {esc(REASONS.get(h.reason, h.reason))}'
        f"{' (ticket)' if h.was_ticket else ''}, {esc(HANDOFF_WORDS.get(h.status, h.status))} "
        f'<span class="time">{esc(stored_local(h.created_at, zone))}</span></li>' for h in profile.handoffs)
    return f'<ul class="plain">{items}</ul>' if items else "<p>Never asked for a person.</p>"


def score_words(f: FeedbackRecord) -> str:
    if f.declined or f.score is None:
        return "declined to answer" if f.declined else "no score"
    if f.kind == "nps":
        group = "detractor" if f.score <= 6 else "passive" if f.score <= 8 else "promoter"
        return f"{f.score}/10, {group}"
    if f.kind == "thumb":
        return "thumbs up" if f.score > 0 else "thumbs down"
    return f"{f.score}/5"


def followup_draft(profile: CustomerProfile, f: Optional[FeedbackRecord], owner_name: str,
                   shop_name: str) -> Dict[str, str]:
    """What the owner starts from: they edit it before it goes."""
    hello = f"Hello {profile.name.split()[0]}," if profile.name.strip() else "Hello,"
    said = f' You wrote: "{f.comment}"' if f and f.comment else ""
    what = (f"Thank you for telling us how we did ({score_words(f)}).{said}\n\nI'm sorry we fell short. "
            if f else "")
    return {"to": next(iter(profile.emails), ""), "subject": f"Your recent chat with {shop_name}",
            "body": f"{hello}\n\n{what}I'd like to put it right: could you tell me a little more, or simply "
                    f"reply to this email?\n\n{owner_name}, {shop_name}"}


def _followup_form(profile: CustomerProfile, f: Optional[FeedbackRecord], draft: Dict[str, str], csrf: str,
                   opened: bool) -> str:
    key = f"fb{f.id}" if f else "new"
    options = "".join(f'<option{" selected" if e == draft.get("to") else ""}>{esc(e)}</option>'
                      for e in profile.emails)
    label = "Follow up by email" if f else "Write to this customer"
    return (f'<details class="followup"{" open" if opened else ""}><summary>{label}</summary>'
            f'<form method="post" action="{customer_url(profile.id, "/follow-up")}">{_hidden(csrf)}'
            f'<input type="hidden" name="feedback" value="{f.id if f else ""}">'
            f'<label for="{key}-to">To</label><select id="{key}-to" name="to">{options}</select>'
            f'<label for="{key}-subject">Subject</label><input id="{key}-subject" name="subject" '
            f'maxlength="200" required value="{esc(draft.get("subject", ""))}">'
            f'<label for="{key}-body">Message</label>'
            f'<textarea id="{key}-body" name="body" rows="7" maxlength="5000" required>'
            f'{esc(draft.get("body", ""))}</textarea><p><button type="submit">Send email</button></p></form>'
            f"</details>")


def _feedback(profile: CustomerProfile, rows: Sequence[FeedbackRecord], zone: ZoneInfo, owner_name: str,
              shop_name: str, csrf: str, mail_enabled: bool, forms: CustomerForms, empty: str) -> str:
    items = []
    for f in rows:
        sent = "".join(f'<br><span class="note">Followed up {esc(stored_local(s.mailed_at, zone))} by '
                       f'{esc(s.sent_by or "a former account")}: “{esc(s.subject)}”</span>'
                       for s in profile.follow_ups_of(f.id) if s.mailed_at)
        offer = ""
        if f.unhappy and profile.emails and mail_enabled:
            typed = forms.drafts.get("feedback") == str(f.id)
            draft = forms.drafts if typed else followup_draft(profile, f, owner_name, shop_name)
            offer = _followup_form(profile, f, draft, csrf, opened=typed)
        elif f.unhappy and profile.emails:
            offer = ('<br><span class="note">Email is not set up on this server (SMTP_HOST), so no '
                     "follow-up from here.</span>")
        items.append(f'<li class="{"unhappy" if f.unhappy else ""}"><strong>'
                     f"{esc(FEEDBACK_WORDS.get(f.kind, f.kind))}</strong> {esc(score_words(f))} "
                     f"<span class=time>{esc(stored_local(f.created_at, zone))}</span>"
                     f"{'<br>' + esc(f.comment) if f.comment else ''}{sent}{offer}</li>")
    return f'<ul class="notes">{"".join(items)}</ul>' if items else f"<p>{empty}</p>"


def _history(profile: CustomerProfile, zone: ZoneInfo) -> str:
    items = "".join(
        f'<li><span class="who">{esc(s.subject)}</span> to {esc(s.to_email)} <span class="time">'
        f'{esc(stored_local(s.created_at, zone))}</span> by {esc(s.sent_by or "a former account")}'
        f'{"" if s.mailed_at else " <strong class=error>not sent</strong>"}'
        f'<div class="sent-body">{esc(s.body)}</div></li>'
        for s in profile.follow_ups)
    return f'<ul class="notes">{items}</ul>' if items else "<p>No emails sent from here yet.</p>"


def _erase(profile: CustomerProfile, csrf: str, forms: CustomerForms) -> str:
    word = next(iter(profile.emails), "DELETE")
    return (f'<p><a class="button secondary" href="{customer_url(profile.id, "/export.zip")}" download>'
            f"Export everything about them (ZIP)</a></p>"
            f'<form class="danger" method="post" action="{customer_url(profile.id, "/delete")}">'
            f"{_hidden(csrf)}<p>Deleting removes their conversations, cases, ratings, follow-ups, notes "
            f"and photos, and takes their name, email and phone off their orders (the orders stay for your "
            f"books). It cannot be undone; an audit row records who did it.</p>"
            f'<label for="confirm">Type {esc(word)} to confirm</label><input id="confirm" name="confirm" '
            f'autocomplete="off" required value="{esc(forms.drafts.get("confirm", ""))}">'
            f'<p><button class="danger" type="submit">Delete this customer</button></p></form>')


def customer_page(profile: CustomerProfile, zone: ZoneInfo, owner_name: str, shop_name: str, csrf: str,
                  mail_enabled: bool, forms: CustomerForms = CustomerForms(),
                  channels: Optional[Dict[str, str]] = None) -> str:
    """``channels``: their conversations' messaging channels (ChannelConversations.channels_of)."""
    p, drafts = profile, forms.drafts
    error = f'<p class="error" role="alert">{esc(forms.problem)}</p>' if forms.problem else ""
    done = f'<p class="note" role="status">{esc(forms.notice)}</p>' if forms.notice else ""
    contacts = "".join([*(f'<li><a href="mailto:{esc(e)}">{esc(e)}</a></li>' for e in p.emails),
                        *(f"<li>{esc(phone_text(n))}</li>" for n in p.phones)])

    def rated(rows: Sequence[FeedbackRecord], empty: str) -> str:
        return _feedback(p, rows, zone, owner_name, shop_name, csrf, mail_enabled, forms, empty)

    general = drafts.get("feedback") == "" and "body" in drafts  # the general form came back
    draft = drafts if general else followup_draft(p, None, owner_name, shop_name)
    write = _followup_form(p, None, draft, csrf, opened=general) if p.emails and mail_enabled else ""
    return page(display_name(p), f"""<p><a href="/console/customers">← Customers</a></p>
<h1>{esc(display_name(p))} {_tags(p.tags)}</h1>{error}{done}
<section class="summary" aria-label="Who they are"><dl class="facts">
<dt>Contacts</dt><dd><ul class="plain">{contacts}</ul></dd>
<dt>First contact</dt><dd>{esc(stored_local(p.first_contact, zone))}</dd>
<dt>Last contact</dt><dd>{esc(stored_local(p.last_contact, zone))}</dd>
<dt>In numbers</dt><dd>{esc(plural(len(p.conversations), 'conversation'))},
{esc(plural(len(p.orders), 'order'))}, {esc(plural(len(p.open_cases), 'open case'))}</dd></dl></section>
<h2>Notes and tags</h2><p class="note">Only your team sees these.</p>
<form method="post" action="{customer_url(p.id, '/notes')}">{_hidden(csrf)}<label for="notes">Notes</label>
<textarea id="notes" name="notes" rows="3" maxlength="5000">{esc(drafts.get("notes", p.notes))}</textarea>
<p><button class="secondary" type="submit">Save notes</button></p></form>
<form method="post" action="{customer_url(p.id, '/tags')}">{_hidden(csrf)}
<label for="tags">Tags, separated by commas</label><input id="tags" name="tags" maxlength="500"
 value="{esc(drafts.get("tags", ", ".join(p.tags)))}">
<p><button class="secondary" type="submit">Save tags</button></p></form>
<h2>Orders</h2>{_orders(p.orders, zone)}
<h2>Conversations</h2>{_conversations(p, zone, channels or {})}
<h2>Cases and complaints</h2>{_cases(p, zone)}
<h2>Chats with a person and tickets</h2>{_handoffs(p, zone)}
<h2>Ratings and comments</h2>{rated(p.ratings, "No ratings or comments.")}
<h2>NPS</h2>{rated(p.nps, "Never answered the NPS question.")}
<h2>Emails from you</h2>{_history(p, zone)}{write}
<h2>Their data</h2>{_erase(p, csrf, forms)}""", owner_name, csrf)


def customer_panel(profile: Optional[CustomerProfile], conversation_id: str, zone: ZoneInfo) -> str:
    """The compact customer beside a live conversation; an anonymous visitor until the chat proves who."""
    if profile is None:
        return ('<h2>Customer</h2><p><strong>Anonymous visitor</strong></p><p class="note">Not linked to a '
                "customer yet: a verified order, or an email given for a ticket or a complaint, links a "
                "chat.</p>")
    p = profile
    contacts = "".join([*(f"<li>{esc(e)}</li>" for e in p.emails),
                        *(f"<li>{esc(phone_text(n))}</li>" for n in p.phones)])
    orders = "".join(f"<li>{esc(o.number)} · {esc(o.status)} · {esc(f'{o.total:.2f} {o.currency}')}</li>"
                     for o in p.orders[:3])
    more = f"<li>and {len(p.orders) - 3} more</li>" if len(p.orders) > 3 else ""
    past = [c for c in p.conversations if c.conversation_id != conversation_id]
    earlier = sum(c.chats for c in p.conversations) - (1 if len(past) < len(p.conversations) else 0)
    chats = "".join(f'<li><a href="{esc(transcript_url(p.id, c.conversation_id))}">'
                    f"{esc(stored_local(c.last_at or c.linked_at, zone))}</a></li>" for c in past[:3])
    cases = ", ".join(f'<a href="/console/cases/{c.id}">{esc(c.number)}</a>' for c in p.open_cases) or "none"
    rating = p.last_rating
    last = (f"{esc(FEEDBACK_WORDS.get(rating.kind, rating.kind))} {esc(score_words(rating))}"
            f"{' · ' + esc(rating.comment[:80]) if rating.comment else ''}" if rating else "none yet")
    return (f'<h2>Customer</h2><p><a href="{customer_url(p.id)}"><strong>{esc(display_name(p))}</strong></a> '
            f"{_tags(p.tags)}</p><ul class=\"plain\">{contacts}</ul>"
            f"<h3>Orders</h3>{f'<ul class=plain>{orders}{more}</ul>' if orders else '<p>None</p>'}"
            f"<h3>Earlier chats: {earlier}</h3>{f'<ul class=plain>{chats}</ul>' if chats else ''}"
            f"<p><strong>Open cases:</strong> {cases}</p><p><strong>Last rating:</strong> {last}</p>"
            f'<p><a href="{customer_url(p.id)}">The whole customer →</a></p>')


def transcript_page(profile: CustomerProfile, conversation: ConversationRecord, lines: Sequence[Line],
                    zone: ZoneInfo, owner_name: str, csrf: str) -> str:
    talk = "".join(f'<div class="line {esc(line.who)}"><span class="who">{esc(line.name)}</span> '
                   f'<span class="time">{esc(_local(line.at, zone))}</span>\n'
                   f"{esc(line.text)}</div>" for line in lines)
    handoff = conversation.handoff_id
    inbox = f' · <a href="/console/handoffs/{handoff}">in the inbox, #{handoff}</a>' if handoff else ""
    return page(f"Conversation with {display_name(profile)}", f"""<p><a href="{customer_url(profile.id)}">←
{esc(display_name(profile))}</a>{inbox}</p><h1>Conversation with {esc(display_name(profile))}</h1>
<p class="note">Started {esc(stored_local(conversation.first_at or conversation.linked_at, zone))};
{esc(plural(len(lines), 'message'))}.</p>
<section aria-label="Transcript" class="transcript">{talk or "<p>No messages kept.</p>"}</section>""",
                owner_name, csrf)


def deleted_notice(args: Dict[str, str]) -> str:
    """The list's notice after a deletion, from the redirect's query (numbers only)."""
    def count(name: str) -> int:
        value = args.get(name, "")
        return int(value) if value.isdigit() and len(value) < 9 else 0
    return (f"The customer was deleted: {plural(count('conversations'), 'conversation')}, "
            f"{plural(count('cases'), 'case')}, {plural(count('files'), 'file')}; "
            f"{plural(count('orders'), 'order')} kept without their details.")


def deleted_query(conversations: int, cases: int, orders: int, files: int) -> str:
    return urlencode({"deleted": 1, "conversations": conversations, "cases": cases, "orders": orders,
                      "files": files})
