"""The trainer's Missed messages page: what the bot did not handle well, grouped, biggest group first, with
one decision per group (bot/trainer/inbox.py).

    GET  /console/missed?days=30
    POST /console/missed/<id>/label    intent=…   the group of message <id> as examples of the intent
    POST /console/missed/<id>/dismiss  as=noise|out_of_scope

Label writes into the training data folder (TRAINING_DATA_DIR, default data/nlu) and answers 303 back to
the page with what was written; a refused decision (an example of another intent, an unknown intent)
answers 409 / 400 with the page and the reason, and writes nothing.
"""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import List, Optional, Sequence, Tuple
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.console.access import (
    csrf_token,
    form_text,
    not_a_trainer,
    signed_in_trainer,
    trainer_posting,
)
from bot.console.pages import esc, page
from bot.trainer.inbox import OUT_OF_SCOPE, Group, Inbox, InboxError, training_example
from bot.trainer.nlu_files import ExampleRefused, NluFiles

DEFAULT_DAYS = 30
MAX_DAYS = 366
SHOWN_GROUPS = 50
SHOWN_EXAMPLES = 6


def _days(request: Request) -> Optional[int]:
    text = request.args.get("days") or str(DEFAULT_DAYS)
    return int(text) if text.isdigit() and 1 <= int(text) <= MAX_DAYS else None


def _since(days: int) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(days=days)


def _inbox(request: Request) -> Inbox:
    from bot.nlp.sentence_classifier import embed

    return Inbox(request.app.ctx.engine, embed)


def _training_data(request: Request) -> NluFiles:
    domain = request.app.ctx.agent.domain
    return NluFiles(request.app.ctx.settings.training_data_dir, domain.intents, domain.entities)


def _local(moment: dt.datetime, zone: ZoneInfo) -> str:
    return moment.replace(tzinfo=dt.timezone.utc).astimezone(zone).strftime("%d %b %H:%M")


def _group_html(group: Group, intents: Sequence[str], zone: ZoneInfo, csrf: str) -> str:
    suggestions = group.suggestions()
    chosen = suggestions[0][0] if suggestions else ""
    examples = "".join(
        f'<li>{esc(m.text)} <span class="time">{esc(_local(m.at, zone))} · {esc(m.intent)} '
        f"{m.confidence:.2f} · {esc(', '.join(m.reasons))}</span></li>"
        for m in group.messages[:SHOWN_EXAMPLES])
    more = len(group.messages) - SHOWN_EXAMPLES
    options = "".join(f'<option value="{esc(intent)}">' for intent in intents)
    hint = ", ".join(f"{esc(intent)} {confidence:.2f}" for intent, confidence in suggestions) or "none"
    return (
        f'<section class="missed-group" aria-label="Group {group.id}"><h2>{len(group.messages)} '
        f"message{'s' if len(group.messages) != 1 else ''}</h2><ul>{examples}</ul>"
        + (f"<p>… and {more} more like these.</p>" if more > 0 else "")
        + f"<p>The model suggests: {hint}</p>"
        f'<form method="post" action="/console/missed/{group.id}/label">'
        f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
        f'<label for="intent-{group.id}">Intent</label>'
        f'<input id="intent-{group.id}" name="intent" list="intents" value="{esc(chosen)}" required>'
        + _marks_html(group) +
        f'<button type="submit">Add as examples</button></form>'
        f'<form class="inline" method="post" action="/console/missed/{group.id}/dismiss">'
        f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
        f'<button class="secondary" name="as" value="{OUT_OF_SCOPE}" type="submit">Out of scope</button> '
        f'<button class="secondary" name="as" value="noise" type="submit">Noise</button></form>'
        f"<datalist id=\"intents\">{options}</datalist></section>")


def _marks_html(group: Group) -> str:
    """Each shown message as it will be written, for the trainer to mark entities in: [words](entity)."""
    fields = "".join(
        f'<label for="example-{m.event_id}">{esc(m.text)}</label><input id="example-{m.event_id}" '
        f'name="example-{m.event_id}" maxlength="500" value="{esc(training_example(m))}">'
        for m in group.messages[:SHOWN_EXAMPLES])
    return (f"<details><summary>Mark entities</summary><p class=note>Write an entity as [words](entity), "
            f"for example [the V60](product); the words themselves stay as the customer typed them.</p>"
            f"{fields}</details>")


def missed_page(groups: List[Group], intents: Sequence[str], days: int, zone: ZoneInfo, name: str,
                csrf: str, notice: str = "", problem: str = "") -> str:
    total = sum(len(g.messages) for g in groups)
    parts = [f"<h1>Missed messages</h1><p>{total} message{'s' if total != 1 else ''} in the last {days} "
             f"days the bot did not handle well (fallback, low confidence, refused as out of scope, the "
             f"customer rephrased or asked for a person right after, a thumbs down), grouped with similar "
             f"ones. Add a group as examples of the right intent, then train.</p>"]
    if notice:
        parts.append(f'<p class="notice" role="status">{esc(notice)}</p>')
    if problem:
        parts.append(f'<p class="error" role="alert">{esc(problem)}</p>')
    parts += [_group_html(group, intents, zone, csrf) for group in groups[:SHOWN_GROUPS]]
    if not groups:
        parts.append("<p>Nothing left to decide: no missed message is waiting.</p>")
    return page("Missed messages", "".join(parts), name, csrf)


def add_missed_routes(console: Blueprint) -> None:
    @console.get("/missed")
    async def missed(request: Request) -> HTTPResponse:
        trainer = signed_in_trainer(request)
        if trainer is None:
            return not_a_trainer(request)
        days = _days(request)
        if days is None:
            return response.text(f"days must be a whole number from 1 to {MAX_DAYS}.", status=400)
        return response.html(await _page(request, trainer.name, days, request.args.get("done", "")))

    @console.post("/missed/<event_id:row_id>/<action:str>")
    async def decide(request: Request, event_id: int, action: str) -> HTTPResponse:
        trainer = trainer_posting(request)
        if isinstance(trainer, HTTPResponse):
            return trainer
        if action not in ("label", "dismiss"):
            return response.text("No such action.", status=404)
        inbox, kind = _inbox(request), form_text(request, "as")
        intent = form_text(request, "intent") if action == "label" else kind
        if action == "dismiss" and kind not in ("noise", OUT_OF_SCOPE):
            return response.text("as must be noise or out_of_scope.", status=400)
        try:
            done = await asyncio.to_thread(_decide, inbox, request, event_id, intent, trainer.email)
        except InboxError as error:
            return response.html(await _page(request, trainer.name, DEFAULT_DAYS, problem=str(error)),
                                 status=404)
        except ExampleRefused as error:
            status = 409 if "already an example" in str(error) else 400
            return response.html(await _page(request, trainer.name, DEFAULT_DAYS,
                                             problem=f"{error}. Nothing was written."), status=status)
        return response.redirect("/console/missed?" + urlencode({"done": done}), status=303)


def _decide(inbox: Inbox, request: Request, event_id: int, intent: str, by: str) -> str:
    group = inbox.group_of(event_id, _since(MAX_DAYS))
    if intent == "noise":
        count = inbox.dismiss(group, by)
        return f"Dismissed {count} message{'s' if count != 1 else ''} as noise."
    marked = {m.event_id: text for m in group.messages
              if (text := form_text(request, f"example-{m.event_id}")) and text != training_example(m)}
    written, already = inbox.label(group, intent, _training_data(request), by, marked=marked)
    plural = "s" if len(written) != 1 else ""
    words: Tuple[str, ...] = (f"Added {len(written)} example{plural} of {intent}",)
    if already:
        words += (f"{len(already)} already were",)
    return "; ".join(words) + ". Train to use them."


async def _page(request: Request, name: str, days: int, notice: str = "", problem: str = "") -> str:
    groups = await asyncio.to_thread(_inbox(request).groups, _since(days))
    intents = sorted(request.app.ctx.agent.domain.intents)
    return missed_page(groups, intents, days, request.app.ctx.shop.timezone, name, csrf_token(request),
                       notice, problem)
