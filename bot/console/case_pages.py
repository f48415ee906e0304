"""The console's Cases pages: the list (open first) and one case. Every outside value goes through ``esc``."""

from __future__ import annotations

from typing import Dict, Sequence
from zoneinfo import ZoneInfo

from actions.services.cases import Case
from actions.services.wording import plural
from bot.console.conversations import Line
from bot.console.pages import _local, esc, page

VIEW_NAMES = {"open": "Open", "all": "All"}
STATUS_BUTTONS = {"replaced": "Mark replaced", "refunded": "Mark refunded", "closed": "Close the case"}
REMEDY_WORDS = {"replacement": "a replacement", "refund": "a refund", "person": "a person to contact them"}
# Inline, so the Cases area needs nothing from the shared stylesheet.
STYLE = ("<style>.thumb{width:72px;height:72px;object-fit:cover;border-radius:8px;border:1px solid #dde3df}"
         ".photo{max-width:100%;max-height:420px;border-radius:10px;border:1px solid #dde3df}"
         ".badge{display:inline-block;padding:1px 10px;border-radius:12px;background:#e4efe8;font-size:13px}"
         ".badge.open{background:#fbe9c6}.done{color:#1f5a3d}</style>")


def _thumb(case: Case, css: str = "thumb") -> str:
    if not case.photo_path:
        return ""
    url = f"/console/cases/{case.id}/photo"
    return (f'<a href="{url}"><img class="{css}" src="{url}" '
            f'alt="Photo the customer attached to {esc(case.number)}"></a>')


def _customer(case: Case) -> str:
    phone = f"+{case.order_phone}" if case.order_phone else ""  # stored as digits with the country code
    return " · ".join(esc(x) for x in (case.customer_name, case.email, phone) if x) or "—"


def _what(case: Case) -> str:
    text = " — ".join(x for x in (case.items, case.description) if x)
    return text if len(text) <= 120 else text[:119] + "…"


def cases_page(view: str, cases: Sequence[Case], counts: Dict[str, int], zone: ZoneInfo, owner_name: str,
               csrf: str) -> str:
    tabs = " ".join(
        f'<a href="/console/cases?view={v}"{" aria-current=page" if v == view else ""}>'
        f"{n} ({counts.get(v, 0)})</a>"
        for v, n in VIEW_NAMES.items())
    rows = "".join(
        f"<tr><td>{_thumb(c)}</td>"
        f'<td><a href="/console/cases/{c.id}">{esc(c.number)}</a><br>{esc(c.kind)}</td>'
        f"<td>{esc(c.order_number or '—')}<br>{_customer(c)}</td>"
        f"<td>{esc(_what(c))}</td>"
        f"<td>{esc(_local(c.created_at, zone))}</td>"
        f'<td><span class="badge {esc(c.status)}">{esc(c.status_words)}</span>'
        f"{'<br>in the inbox' if c.handoff_id else ''}</td></tr>"
        for c in cases)
    table = (f"<table><thead><tr><th>Photo</th><th>Case</th><th>Order and customer</th><th>What</th>"
             f"<th>Opened</th><th>Status</th></tr></thead><tbody>{rows}</tbody></table>"
             if rows else f"<p>{'No open cases.' if view == 'open' else 'No cases yet.'}</p>")
    open_count = counts.get("open", 0)
    return page(
        f"({open_count} open) Cases" if open_count else "Cases",
        f"{STYLE}<h1>Cases</h1><p class=note>Damaged, wrong or missing items, late orders, cancellations the "
        f"assistant did, and complaints. {esc(plural(open_count, 'open case'))}.</p>"
        f'<nav class="views" aria-label="Case views">{tabs}</nav>{table}',
        owner_name, csrf)


def _facts(case: Case, zone: ZoneInfo) -> str:
    order = f"{case.order_number} ({case.order_status})" if case.order_number else "not about an order"
    facts = [("Order", esc(order)), ("Customer", _customer(case))]
    if case.lines:
        facts.append(("On the order", esc(", ".join(case.lines))))
    if case.items:
        facts.append(("Items", esc(case.items)))
    if case.description:
        facts.append(("What they said" if case.category != "cancellation" else "What happened",
                      esc(case.description)))
    if case.remedy in REMEDY_WORDS and case.category != "cancellation":  # its refund is in the description
        facts.append(("They asked for", esc(REMEDY_WORDS[case.remedy or ""])))
    facts.append(("Opened", esc(_local(case.created_at, zone))))
    if case.handoff_id:
        facts.append(("Conversation", f'<a href="/console/handoffs/{case.handoff_id}">in the inbox, '
                                      f"#{case.handoff_id}</a>"))
    return "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in facts)


def _status_forms(case: Case, csrf: str) -> str:
    if not case.next_statuses:
        return f'<p class="done">This case is {esc(case.status_words)}.</p>'
    return " ".join(
        f'<form class="inline" method="post" action="/console/cases/{case.id}/status">'
        f'<input type="hidden" name="csrf" value="{esc(csrf)}"><input type="hidden" name="status" '
        f'value="{s}"><button type="submit"{"" if s != "closed" else " class=secondary"}>'
        f"{STATUS_BUTTONS[s]}</button></form>"
        for s in case.next_statuses)


def reply_note(case: Case, mail_enabled: bool) -> str:
    """Where the reply goes, said before the owner types."""
    chat = "the customer's chat (they see it when they come back)" if case.conversation_id else ""
    if not mail_enabled:
        where = chat or "nowhere: this case has no conversation"
        return (f"Email is not set up on this server (SMTP_HOST is empty), so your reply goes only to "
                f"{where}.")
    if not case.email:
        return f"No email address is known for this customer, so your reply goes only to {chat or 'nowhere'}."
    return f"Your reply goes to {chat + ' and ' if chat else ''}by email to {case.email}."


def case_page(case: Case, lines: Sequence[Line], zone: ZoneInfo, owner_name: str, csrf: str,
              mail_enabled: bool, reply_text: str = "", problem: str = "", notice: str = "") -> str:
    error = f'<p class="error" role="alert">{esc(problem)}</p>' if problem else ""
    done = f'<p class="note" role="status">{esc(notice)}</p>' if notice else ""
    photo = f"<h2>Photo</h2>{_thumb(case, 'photo')}" if case.photo_path else ""
    can_reply = bool(case.conversation_id or (mail_enabled and case.email))
    reply = (f'<form method="post" action="/console/cases/{case.id}/reply">'
             f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
             f'<label for="reply">Reply to the customer</label>'
             f'<p class="note" id="reply-note">{esc(reply_note(case, mail_enabled))}</p>'
             f'<textarea id="reply" name="text" rows="4" maxlength="2000" required '
             f'aria-describedby="reply-note">{esc(reply_text)}</textarea>'
             f'<p><button type="submit">Send reply</button></p></form>'
             if can_reply else f"<p class=note>{esc(reply_note(case, mail_enabled))}</p>")
    history = "".join(
        f'<li><span class="time">{esc(_local(h.at, zone))}</span> {esc(h.what)}'
        f"{' by ' + esc(h.by) if h.by else ''}{' (' + esc(h.detail) + ')' if h.detail else ''}"
        f"{'<br>' + esc(h.text) if h.text else ''}</li>"
        for h in case.history)
    talk = "".join(
        f'<div class="line {esc(line.who)}"><span class="who">{esc(line.name)}</span> '
        f'<span class="time">{esc(_local(line.at, zone))}</span>\n{esc(line.text)}</div>'
        for line in lines)
    transcript = (f"<details><summary>The conversation ({esc(plural(len(lines), 'message'))})</summary>"
                  f"{talk}</details>" if talk else "")
    return page(
        f"{case.number} {case.kind}",
        f"""{STYLE}<p><a href="/console/cases">← Cases</a></p>
<h1>{esc(case.number)} · {esc(case.kind)}
<span class="badge {esc(case.status)}">{esc(case.status_words)}</span></h1>
{error}{done}<section class="summary" aria-label="The case"><dl>{_facts(case, zone)}</dl></section>{photo}
<h2>Status</h2><section aria-label="Status">{_status_forms(case, csrf)}</section>
<h2>Reply</h2><section aria-label="Reply">{reply}</section>
<h2>History</h2><ul class="notes">{history or "<li>Nothing yet.</li>"}</ul>{transcript}""",
        owner_name, csrf)
