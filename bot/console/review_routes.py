"""The trainer's Conversations: every conversation on every channel, filtered and searched, and each one
turn by turn, with marks the trainer keeps (reviewed, tags, flagged turns).

    GET  /console/conversations?from=&to=&q=&intent=&channel=&rating=&reviewed=&tag=&fallback=1&low=1
                                &thumbs=1&handoff=1&page=
    GET  /console/conversations/<id>
    POST /console/conversations/<id>/reviewed   reviewed=yes|no
    POST /console/conversations/<id>/tags       tags=a, b
    POST /console/conversations/<id>/flag       event=<message id> note=…
    POST /console/conversations/<id>/unflag     event=<message id>
    POST /console/conversations/<id>/test       intent-<message id>=…, action-<action id>=… (corrections)

Bad input (a date that is not one, an unknown choice, a message of another conversation) is a 400 that
says what to change and changes nothing; an unknown conversation is a 404.
"""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import Dict, List, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.services.figures import FigureRange, FigureRangeError
from bot.console.access import (
    csrf_token,
    form_text,
    not_a_trainer,
    signed_in_trainer,
    trainer_posting,
)
from bot.console.review_pages import conversation_url, list_page
from bot.console.row_ids import parse_row_id
from bot.console.turns_page import conversation_page
from bot.trained_models.registry import answering_model
from bot.trainer.conversation_log import ConversationFilter, ConversationLog
from bot.trainer.conversation_reviews import ConversationReviews, ReviewError
from bot.trainer.conversation_turns import Turn, conversation_turns
from bot.trainer.story_checks import StoryChecks
from bot.trainer.story_export import StoryExportError, keep_story, prepare_story, story_file

MAX_DAYS = 366
FIELDS = ("from", "to", "q", "intent", "channel", "rating", "reviewed", "tag", "fallback", "low", "thumbs",
          "handoff", "page")
RATINGS = {"": None, "rated": 0, **{str(n): n for n in range(1, 6)}}
REVIEWED = {"": None, "yes": True, "no": False}


class FilterError(ValueError):
    """A filter that cannot be applied; the message says what to change."""


def _args(request: Request) -> Dict[str, str]:
    return {name: (request.args.get(name) or "").strip() for name in FIELDS}


def _filter(args: Dict[str, str], today: dt.date, zone: ZoneInfo,
            intents: Sequence[str]) -> Tuple[ConversationFilter, FigureRange, int]:
    span = FigureRange.parse(args["from"] or None, args["to"] or None, None, today, MAX_DAYS)
    if args["rating"] not in RATINGS:
        raise FilterError("rating must be rated or a score from 1 to 5")
    if args["reviewed"] not in REVIEWED:
        raise FilterError("reviewed must be yes or no")
    if args["intent"] and args["intent"] not in intents:
        raise FilterError(f"{args['intent']!r} is not an intent of the bot")
    if len(args["q"]) > 200 or len(args["tag"]) > 40 or len(args["channel"]) > 40:
        raise FilterError("words are at most 200 characters, a tag or a channel at most 40")
    number = args["page"] or "1"
    if not (number.isdigit() and 1 <= int(number) <= 10_000):
        raise FilterError("page must be a whole number from 1")
    since, until = span.utc_bounds(zone)
    wanted = ConversationFilter(
        since.replace(tzinfo=None), until.replace(tzinfo=None), intent=args["intent"],
        fallback=bool(args["fallback"]), low_confidence=bool(args["low"]), thumbs_down=bool(args["thumbs"]),
        handoff=bool(args["handoff"]), rating=RATINGS[args["rating"]], channel=args["channel"],
        reviewed=REVIEWED[args["reviewed"]], tag=args["tag"], text=args["q"])
    return wanted, span, int(number)


def add_review_routes(console: Blueprint) -> None:
    @console.get("/conversations")
    async def conversations(request: Request) -> HTTPResponse:
        trainer = signed_in_trainer(request)
        if trainer is None:
            return not_a_trainer(request)
        zone, args = request.app.ctx.shop.timezone, _args(request)
        intents = sorted(request.app.ctx.agent.domain.intents)
        try:
            wanted, span, number = _filter(args, dt.datetime.now(zone).date(), zone, intents)
        except (FigureRangeError, FilterError) as error:
            return response.text(f"{error}.", status=400)
        log = ConversationLog(request.app.ctx.engine)
        found, channels = await asyncio.to_thread(log.search_with_channels, wanted)
        return response.html(list_page(found, args, span, number, zone, intents, channels, trainer.name,
                                       csrf_token(request)))

    @console.get("/conversations/<conversation_id:str>", unquote=True)
    async def conversation(request: Request, conversation_id: str) -> HTTPResponse:
        trainer = signed_in_trainer(request)
        if trainer is None:
            return not_a_trainer(request)
        return await _page(request, conversation_id, trainer.name)

    @console.post("/conversations/<conversation_id:str>/<action:str>", unquote=True)
    async def mark(request: Request, conversation_id: str, action: str) -> HTTPResponse:
        trainer = trainer_posting(request)
        if isinstance(trainer, HTTPResponse):
            return trainer
        if action not in ("reviewed", "tags", "flag", "unflag", "test"):
            return response.text("No such action.", status=404)
        turns = await asyncio.to_thread(conversation_turns, request.app.ctx.engine, conversation_id)
        if not turns:
            return response.text("No such conversation.", status=404)
        if action == "test":
            return await _save_test(request, conversation_id, turns, trainer.email, trainer.name)
        reviews = ConversationReviews(request.app.ctx.engine)
        messages = {turn.event_id for turn in turns if turn.event_id is not None}
        try:
            done = await asyncio.to_thread(_mark, reviews, request, conversation_id, action, messages,
                                           trainer.email)
        except ReviewError as error:
            return await _page(request, conversation_id, trainer.name, f"{error}. Nothing was changed.", 400)
        return response.redirect(conversation_url(conversation_id) + done, status=303)


def _mark(reviews: ConversationReviews, request: Request, conversation_id: str, action: str,
          messages: set, by: str) -> str:
    """Keeps the mark; returns the fragment of the page to come back to."""
    if action == "reviewed":
        choice = form_text(request, "reviewed")
        if choice not in ("yes", "no"):
            raise ReviewError("reviewed must be yes or no")
        reviews.mark_reviewed(conversation_id, by, choice == "yes")
        return ""
    if action == "tags":
        reviews.set_tags(conversation_id, form_text(request, "tags"))
        return ""
    event_id: Optional[int] = parse_row_id(form_text(request, "event"))
    if event_id is None or event_id not in messages:
        raise ReviewError("event must name a customer message of this conversation")
    if action == "flag":
        reviews.flag(conversation_id, event_id, form_text(request, "note"), by)
    elif not reviews.unflag(event_id):
        raise ReviewError("that message is not flagged")
    return f"#turn-{event_id}"


async def _page(request: Request, conversation_id: str, name: str, problem: str = "",
                status: int = 200) -> HTTPResponse:
    engine = request.app.ctx.engine
    turns = await asyncio.to_thread(conversation_turns, engine, conversation_id)
    if not turns:
        return response.text("No such conversation.", status=404)
    reviews = ConversationReviews(engine)
    review, flags = await asyncio.gather(asyncio.to_thread(reviews.get, conversation_id),
                                         asyncio.to_thread(reviews.flags, conversation_id))
    domain = request.app.ctx.agent.domain
    check = await asyncio.to_thread(_checks(request).get, conversation_id)
    body = conversation_page(conversation_id, turns, review, flags, request.app.ctx.shop.timezone, name,
                             csrf_token(request), problem, sorted(domain.intents),
                             sorted(domain.action_names_or_texts), check)
    return response.html(body, status=status)


def _checks(request: Request) -> StoryChecks:
    return StoryChecks(request.app.ctx.settings.training_log_dir)


def _corrections(request: Request, turns: List[Turn]) -> Tuple[Dict[int, str], Dict[int, str]]:
    """The intents and actions the trainer changed on the form (the others stay as the bot had them)."""
    intents: Dict[int, str] = {}
    actions: Dict[int, str] = {}
    for turn in turns:
        if turn.event_id is None:
            continue
        chosen = form_text(request, f"intent-{turn.event_id}")
        if chosen and chosen != turn.intent:
            intents[turn.event_id] = chosen
        for step in turn.steps:
            picked = form_text(request, f"action-{step.event_id}")
            if picked and picked != step.action:
                actions[step.event_id] = picked
    return intents, actions


async def _save_test(request: Request, conversation_id: str, turns: List[Turn], by: str,
                     name: str) -> HTTPResponse:
    """Prepare the corrected story now (a mistake is a 400 at once), check and keep it in the background."""
    settings, engine = request.app.ctx.settings, request.app.ctx.engine
    intents, actions = _corrections(request, turns)
    out = story_file(settings.test_stories_dir, conversation_id)
    try:
        text = await asyncio.to_thread(prepare_story, engine, conversation_id, request.app.ctx.agent.domain,
                                       out, intents, actions)
        model = await asyncio.to_thread(answering_model, engine, settings.model_path)
        await asyncio.to_thread(_checks(request).start, conversation_id, by, out,
                                lambda: keep_story(text, out, model))
    except StoryExportError as error:
        status = 409 if "exists already" in str(error) or "running already" in str(error) else 400
        return await _page(request, conversation_id, name, f"{error}. Nothing was saved.", status)
    return response.redirect(conversation_url(conversation_id) + "#test-status", status=303)
