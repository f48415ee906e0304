"""The loads, driven from the bench process over loopback REST (POST /webhooks/rest/webhook).

Every load is the same for both bots. A turn is not retried: a 503 (busy), another status, an empty reply,
a timeout or a refused connection is recorded as that kind of error, so the figures show what a customer
would have met. Each conversation has a sender id of its own, unique within the run.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import List, Sequence, Tuple

import aiohttp

from bot.turn_bench.story_mixes import Story
from bot.turn_bench.turn_figures import ANSWERED, LoadRun, Turn

WEBHOOK = "/webhooks/rest/webhook"
TURN_TIMEOUT_SECONDS = 60.0
# Plain shop questions, each answered in one turn with nothing asked back, so a long conversation stays a
# run of answered questions: no goodbye (it asks for a rating), and nothing that opens an order flow ("can I
# return an item?" is return_item: the order form would ask for the number on every later turn).
FAQ_QUESTIONS: Tuple[str, ...] = (
    "what are your opening hours?", "where is the shop?", "do you ship abroad?", "how much is shipping?",
    "I need a VAT invoice for my company", "how long does delivery take?", "can I pay with paypal",
    "are you open on sunday?", "what's your phone number", "what's your returns policy",
    "do you charge anything if I cancel", "how do I place an order on the website",
)


async def say(session: aiohttp.ClientSession, base_url: str, sender: str, text: str,
              timeout: float = TURN_TIMEOUT_SECONDS) -> Tuple[float, str]:
    """Send one message; (seconds until the whole reply was read, outcome)."""
    began = time.perf_counter()
    try:
        async with session.post(base_url + WEBHOOK, json={"sender": sender, "message": text},
                                timeout=aiohttp.ClientTimeout(total=timeout)) as reply:
            body = await reply.read()
            seconds = time.perf_counter() - began
            if reply.status == 503:
                return seconds, "busy (503)"
            if reply.status != 200:
                return seconds, f"HTTP {reply.status}"
            return seconds, ANSWERED if json.loads(body or b"[]") else "empty reply"
    except asyncio.TimeoutError:
        return time.perf_counter() - began, "timeout"
    except (aiohttp.ClientError, ValueError) as error:  # refused, reset, or a reply that is no JSON
        return time.perf_counter() - began, type(error).__name__


def _session(customers: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=max(customers, 1)))


async def _conversation(session: aiohttp.ClientSession, base_url: str, sender: str,
                        messages: Sequence[str], mix: str = "") -> List[Turn]:
    turns = []
    for index, text in enumerate(messages, start=1):
        seconds, outcome = await say(session, base_url, sender, text)
        turns.append(Turn(seconds, outcome, index, mix))
    return turns


async def one_customer(base_url: str, run_id: str, turns: int, warm_up: int) -> LoadRun:
    """One customer at a time, each turn a new conversation (its first message); the first ``warm_up``
    turns are not counted."""
    questions = itertools.cycle(FAQ_QUESTIONS)
    async with _session(1) as session:
        for number in range(warm_up):
            await say(session, base_url, f"{run_id}-warm-{number}", next(questions))
        began = time.perf_counter()
        recorded = []
        for number in range(turns):
            recorded += await _conversation(session, base_url, f"{run_id}-one-{number}", [next(questions)])
        return LoadRun("one customer", recorded, time.perf_counter() - began)


async def concurrent_customers(base_url: str, run_id: str, customers: int, turns: int) -> LoadRun:
    """``customers`` conversations at once, each ``turns`` FAQ questions one after the other."""
    async def customer(number: int) -> List[Turn]:
        messages = [FAQ_QUESTIONS[(number + turn) % len(FAQ_QUESTIONS)] for turn in range(turns)]
        return await _conversation(session, base_url, f"{run_id}-c{customers}-{number}", messages)

    async with _session(customers) as session:
        began = time.perf_counter()
        results = await asyncio.gather(*(customer(n) for n in range(customers)))
        return LoadRun(f"{customers} customers", [t for turns_ in results for t in turns_],
                       time.perf_counter() - began)


async def long_conversation(base_url: str, run_id: str, turns: int) -> LoadRun:
    """One conversation of ``turns`` FAQ questions, to see whether a turn costs more as it grows."""
    messages = [FAQ_QUESTIONS[n % len(FAQ_QUESTIONS)] for n in range(turns)]
    async with _session(1) as session:
        began = time.perf_counter()
        recorded = await _conversation(session, base_url, f"{run_id}-long", messages)
        return LoadRun("long conversation", recorded, time.perf_counter() - began)


async def story_mixes(base_url: str, run_id: str, stories: Sequence[Story], customers: int,
                      rounds: int) -> LoadRun:
    """``customers`` at once replaying the stories: customer n plays stories n, n + customers, ... until
    every story has been played ``rounds`` times, each as a new conversation."""
    plays = [story for _ in range(rounds) for story in stories]

    async def customer(number: int) -> List[Turn]:
        turns: List[Turn] = []
        for play, story in enumerate(plays[number::customers]):
            sender = f"{run_id}-mix-{number}-{play}"
            turns += await _conversation(session, base_url, sender, story.messages, story.mix)
        return turns

    async with _session(customers) as session:
        began = time.perf_counter()
        results = await asyncio.gather(*(customer(n) for n in range(customers)))
        return LoadRun("story mixes", [t for turns_ in results for t in turns_], time.perf_counter() - began)
