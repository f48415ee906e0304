"""The trainer's Conversations pages: the filtered list, and one conversation turn by turn.

Every value from outside goes through ``esc``; addresses carry conversation ids URL-quoted.
"""
from __future__ import annotations

from typing import Dict, List, Sequence
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from actions.services.channels.conversations import LABELS
from actions.services.figures import FigureRange
from bot.console.pages import esc, page, stored_local
from bot.trainer.conversation_log import Summary

PAGE_SIZE = 50
CHECKBOXES = (("fallback", "Fallback"), ("low", "Low confidence"), ("thumbs", "Thumbs down"),
              ("handoff", "Handed to a person"))


def conversation_url(conversation_id: str) -> str:
    return "/console/conversations/" + quote(conversation_id, safe="")



def _select(name: str, label: str, choices: Sequence[tuple], chosen: str) -> str:
    options = "".join(f'<option value="{esc(value)}"{" selected" if value == chosen else ""}>{esc(words)}'
                      f"</option>" for value, words in choices)
    return (f'<div><label for="f-{name}">{esc(label)}</label><select id="f-{name}" name="{name}">{options}'
            "</select></div>")


# Rasa's name of the channel a message came in on, as the trainer reads it.
_CHANNEL_WORDS = {**LABELS, "socketio": "Website", "rest": "REST API", "console": "Console (hand-back)"}


def channel_words(name: str) -> str:
    return _CHANNEL_WORDS.get(name, name)


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
        + _select("channel", "Channel", [("", "any")] + [(c, channel_words(c)) for c in channels],
                  args.get("channel", ""))
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
            f"<td>{esc(stored_local(summary.last, zone))}</td>"
            f'<td>{esc(", ".join(sorted(channel_words(c) for c in summary.channels)))}</td>'
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
