"""The trainer's Conversations pages: the filtered list, and one conversation turn by turn.

Every value from outside goes through ``esc``; addresses carry conversation ids URL-quoted.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional, Sequence
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from actions.services.figures import FigureRange
from bot.console.pages import esc, page
from bot.trainer.conversation_log import Summary
from bot.trainer.conversation_reviews import Flag, Review
from bot.trainer.conversation_turns import Turn

PAGE_SIZE = 50
CHECKBOXES = (("fallback", "Fallback"), ("low", "Low confidence"), ("thumbs", "Thumbs down"),
              ("handoff", "Handed to a person"))


def conversation_url(conversation_id: str) -> str:
    return "/console/conversations/" + quote(conversation_id, safe="")


def _local(moment: Optional[dt.datetime], zone: ZoneInfo) -> str:
    if moment is None:
        return ""
    return moment.replace(tzinfo=dt.timezone.utc).astimezone(zone).strftime("%a %d %b %H:%M")


def _select(name: str, label: str, choices: Sequence[tuple], chosen: str) -> str:
    options = "".join(f'<option value="{esc(value)}"{" selected" if value == chosen else ""}>{esc(words)}'
                      f"</option>" for value, words in choices)
    return (f'<div><label for="f-{name}">{esc(label)}</label><select id="f-{name}" name="{name}">{options}'
            "</select></div>")


def _filters(args: Dict[str, str], span: FigureRange, intents: Sequence[str], channels: Sequence[str]) -> str:
    boxes = "".join(f'<label class="check"><input type="checkbox" name="{name}" value="1"'
                    f'{" checked" if args.get(name) else ""}> {esc(words)}</label>'
                    for name, words in CHECKBOXES)
    return (
        '<form class="filters" method="get" action="/console/conversations" role="search">'
        f'<div><label for="f-from">From</label><input id="f-from" type="date" name="from" '
        f'value="{span.start}"></div><div><label for="f-to">To</label><input id="f-to" type="date" '
        f'name="to" value="{span.end}"></div>'
        f'<div class="wide"><label for="f-q">Words</label><input id="f-q" name="q" '
        f'value="{esc(args.get("q", ""))}" maxlength="200" placeholder="what the customer or the bot said">'
        "</div>"
        + _select("intent", "Intent", [("", "any")] + [(i, i) for i in intents], args.get("intent", ""))
        + _select("channel", "Channel", [("", "any")] + [(c, c) for c in channels], args.get("channel", ""))
        + _select("rating", "Rating", [("", "any or none"), ("rated", "rated")]
                  + [(str(n), f"{n} of 5") for n in range(1, 6)], args.get("rating", ""))
        + _select("reviewed", "Reviewed", [("", "either"), ("no", "not yet"), ("yes", "reviewed")],
                  args.get("reviewed", ""))
        + f'<div><label for="f-tag">Tag</label><input id="f-tag" name="tag" maxlength="40" '
        f'value="{esc(args.get("tag", ""))}"></div>{boxes}'
        '<p class="actions"><button type="submit">Show</button> '
        '<a href="/console/conversations">Clear</a></p></form>')


def _marks(summary: Summary) -> str:
    marks = []
    if summary.fallbacks:
        marks.append(f"{summary.fallbacks} fallback")
    if summary.low_confidence:
        marks.append(f"{summary.low_confidence} low confidence")
    if summary.thumbs_down:
        marks.append(f"{summary.thumbs_down} thumbs down")
    if summary.handoff:
        marks.append("person")
    if summary.ratings:
        marks.append("rated " + ", ".join(str(r) for r in summary.ratings))
    return " · ".join(marks)


def _row(summary: Summary, zone: ZoneInfo) -> str:
    intents = ", ".join(name for name, _ in summary.intents.most_common(3))
    first = summary.first_words if len(summary.first_words) <= 80 else summary.first_words[:79] + "…"
    review = summary.review
    reviewed = f"✓ {esc(review.reviewed_by)}" if review.reviewed else ""
    link = esc(conversation_url(summary.conversation_id))
    return (f'<tr><td><a href="{link}">{esc(first or "(buttons only)")}</a></td>'
            f'<td>{esc(_local(summary.last, zone))}</td><td>{esc(", ".join(sorted(summary.channels)))}</td>'
            f"<td>{summary.messages}</td><td>{esc(intents)}</td><td>{esc(_marks(summary))}</td>"
            f"<td>{reviewed}</td><td>{esc(', '.join(review.tags))}</td></tr>")


def list_page(found: List[Summary], args: Dict[str, str], span: FigureRange, number: int, zone: ZoneInfo,
              intents: Sequence[str], channels: Sequence[str], name: str, csrf: str) -> str:
    shown = found[(number - 1) * PAGE_SIZE:number * PAGE_SIZE]
    rows = "".join(_row(s, zone) for s in shown)
    table = ("<table><thead><tr><th>First message</th><th>Last</th><th>Channel</th><th>Messages</th>"
             "<th>Intents</th><th>Marks</th><th>Reviewed</th><th>Tags</th></tr></thead>"
             f"<tbody>{rows}</tbody></table>" if rows else "<p>No conversation matches.</p>")
    pages = []
    keep = {k: v for k, v in args.items() if k != "page" and v}
    if number > 1:
        pages.append(f'<a href="/console/conversations?{esc(urlencode({**keep, "page": number - 1}))}">'
                     "Newer</a>")
    if number * PAGE_SIZE < len(found):
        pages.append(f'<a href="/console/conversations?{esc(urlencode({**keep, "page": number + 1}))}">'
                     "Older</a>")
    count = f"{len(found)} conversation{'s' if len(found) != 1 else ''}"
    return page("Conversations", f"<h1>Conversations</h1>{_filters(args, span, intents, channels)}"
                f'<p class="note" role="status">{count} from {span.start} to {span.end}, the most recent '
                f"first.</p>{table}<p>{' '.join(pages)}</p>", name, csrf)


def _value(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _turn(turn: Turn, flag: Optional[Flag], url: str, zone: ZoneInfo, csrf: str) -> str:
    hidden = f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
    if turn.event_id is None:
        said = '<p class="note">Before the first message</p>'
    else:
        runner = (f" · runner-up {esc(turn.runner_up[0])} {turn.runner_up[1]:.2f}" if turn.runner_up else "")
        entities = ", ".join(f"{esc(e)}={esc(v)}" for e, v in turn.entities)
        said = (f'<p class="customer">{"Tapped: " if turn.tapped else ""}{esc(turn.text)}</p>'
                f'<p class="understood">{esc(turn.intent)} {turn.confidence:.2f}{runner}'
                + (f" · entities {entities}" if entities else "") + "</p>")
    steps = ", ".join(f"{esc(s.action)} ({esc(s.policy.replace('policy_', '').split('_')[-1])} "
                      f"{s.confidence:.2f})" for s in turn.steps)
    replies = "".join(f'<li>{esc(reply)}</li>' for reply in turn.replies)
    slots = ", ".join(f"{esc(name)}={esc(_value(value))}" for name, value in turn.slots)
    details = ((f'<p class="steps">Actions: {steps}</p>' if steps else "")
               + (f'<ul class="bot-said">{replies}</ul>' if replies else "")
               + (f'<p class="slots">Slots: {slots}</p>' if slots else "")
               + (f'<p class="note">Model {esc(turn.model_id[:12])}</p>' if turn.model_id else ""))
    flagged = ""
    if turn.event_id is not None and flag is not None:
        flagged = (f'<p class="flag" role="note">Flagged by {esc(flag.flagged_by)}: '
                   f'{esc(flag.note or "(no note)")}</p>'
                   f'<form class="inline" method="post" action="{esc(url)}/unflag">{hidden}'
                   f'<input type="hidden" name="event" value="{turn.event_id}">'
                   '<button class="secondary" type="submit">Remove the flag</button></form>')
    elif turn.event_id is not None:
        flagged = (f'<details><summary>Flag this turn</summary><form method="post" action="{esc(url)}/flag">'
                   f'{hidden}<input type="hidden" name="event" value="{turn.event_id}">'
                   f'<label for="note-{turn.event_id}">Note</label>'
                   f'<input id="note-{turn.event_id}" name="note" maxlength="500">'
                   '<button type="submit">Flag</button></form></details>')
    anchor = f' id="turn-{turn.event_id}"' if turn.event_id is not None else ""
    css = "turn flagged" if flag is not None else "turn"
    return (f'<li class="{css}"{anchor}><p class="time">{esc(_local(turn.at, zone))}</p>{said}{details}'
            f"{flagged}</li>")


def conversation_page(conversation_id: str, turns: List[Turn], review: Review, flags: Dict[int, Flag],
                      zone: ZoneInfo, name: str, csrf: str, problem: str = "") -> str:
    url = conversation_url(conversation_id)
    hidden = f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
    state = (f"Reviewed by {esc(review.reviewed_by)} on {esc(_local(review.reviewed_at, zone))}."
             if review.reviewed else "Not reviewed yet.")
    toggle = ("no", "Mark as not reviewed") if review.reviewed else ("yes", "Mark as reviewed")
    error = f'<p class="error" role="alert">{esc(problem)}</p>' if problem else ""
    channels = sorted({t.channel for t in turns if t.channel})
    flagged = f"{len(flags)} flagged turn{'s' if len(flags) != 1 else ''}"
    body = (
        f"<h1>Conversation</h1>{error}<p class=note>{esc(conversation_id)} · "
        f"{esc(', '.join(channels) or 'no channel')} · {flagged}</p>"
        f'<p role="status">{state}</p>'
        f'<form class="inline" method="post" action="{esc(url)}/reviewed">{hidden}'
        f'<button type="submit" name="reviewed" value="{toggle[0]}">{toggle[1]}</button></form>'
        f'<form method="post" action="{esc(url)}/tags">{hidden}<label for="tags">Tags (comma-separated)'
        f'</label><input id="tags" name="tags" maxlength="500" value="{esc(", ".join(review.tags))}">'
        '<button class="secondary" type="submit">Save tags</button></form>'
        f'<ol class="turns">{"".join(_turn(t, flags.get(t.event_id or -1), url, zone, csrf) for t in turns)}'
        '</ol><p><a href="/console/conversations">All conversations</a></p>')
    return page("Conversation", body, name, csrf)
