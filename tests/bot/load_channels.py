"""`make load-channels`: WhatsApp customers writing at once to fresh local servers, through a fake Graph API.

CUSTOMERS customers each send TURNS messages as signed webhooks (some in a batch of two), and Meta's retry is
played by sending one webhook in ten a second time. Prints how fast the webhook answered (what Meta waits
for), how long until the bot's first answer reached the fake provider, and checks that every message was
answered, none twice and none lost. Exits 1 if one was not. Not part of `make test`; bounded (a few minutes).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Tuple

import requests
from sqlalchemy import create_engine, func, select

from actions.services import order_tables as t
from tests.bot.fake_providers import FakeGraphApi
from tests.bot.provider_webhooks import meta_signed, wa_text, whatsapp_webhook
from tests.bot.servers import MODEL, start_servers

CUSTOMERS, TURNS, DEADLINE_SECONDS = 40, 4, 300
SECRET, VERIFY = "load-app-secret", "load-verify-token"
SAYINGS = [
    "hello",
    "what are your opening hours?",
    "how much is shipping?",
    "can I return an item?",
    "how long does delivery take?",
    "thanks, bye",
]


def webhook(wa_id: str, texts: List[str]) -> Tuple[bytes, Dict[str, str]]:
    return meta_signed(whatsapp_webhook([wa_text(text) for text in texts], wa_id, "Load"), SECRET)


def customer(base_url: str, number: int, started: Dict[str, float]) -> Tuple[List[float], int, str]:
    """Sends this customer's messages; returns the webhook's answer times, messages sent, the wa_id."""
    wa_id, session, took, sent = f"4477009{number:05d}", requests.Session(), [], 0
    started[wa_id] = time.monotonic()
    turn = 0
    while turn < TURNS:
        texts = SAYINGS[turn : turn + (2 if number % 3 == 0 else 1)][: TURNS - turn]
        raw, headers = webhook(wa_id, texts)
        for _ in range(2 if (number + turn) % 10 == 0 else 1):  # one in ten sent twice (Meta's retry)
            began = time.monotonic()
            answer = session.post(
                f"{base_url}/webhooks/whatsapp/webhook", data=raw, headers=headers, timeout=30
            )
            took.append(time.monotonic() - began)
            assert answer.status_code == 200, answer.text
        sent += len(texts)
        turn += len(texts)
        time.sleep(1.5)  # a person reading the answer
    return took, sent, wa_id


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    if not MODEL.is_file():
        print(f"{MODEL} is missing: run `make train` first", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder, FakeGraphApi() as graph:
        env = {**graph.env(), "META_APP_SECRET": SECRET, "META_VERIFY_TOKEN": VERIFY}
        servers = start_servers(Path(folder), env)
        try:
            began = time.monotonic()
            first_answer: Dict[str, float] = {}
            started: Dict[str, float] = {}
            with ThreadPoolExecutor(CUSTOMERS) as pool:
                futures = [pool.submit(customer, servers.base_url, n, started) for n in range(CUSTOMERS)]
                while not all(f.done() for f in futures):
                    for r in graph.requests:
                        to = (r.json or {}).get("to") if r.send else None
                        if to and to not in first_answer:
                            first_answer[to] = time.monotonic() - started[to]
                    time.sleep(0.02)
                results = [f.result() for f in futures]
            engine = create_engine(f"sqlite:///{folder}/tracker.db")
            deadline = time.monotonic() + DEADLINE_SECONDS
            sent = sum(n for _, n, _ in results)
            while time.monotonic() < deadline:
                with engine.connect() as connection:
                    handled = connection.execute(
                        select(func.count())
                        .select_from(t.channel_inbox)
                        .where(t.channel_inbox.c.handled_at.is_not(None))
                    ).scalar()
                    waiting = connection.execute(
                        select(func.count())
                        .select_from(t.outbound_messages)
                        .where(
                            t.outbound_messages.c.delivered_at.is_(None),
                            t.outbound_messages.c.failed_at.is_(None),
                        )
                    ).scalar()
                if handled >= sent and waiting == 0:
                    break
                time.sleep(0.5)
            elapsed = time.monotonic() - began
            with engine.connect() as connection:
                stored = connection.execute(select(func.count()).select_from(t.channel_inbox)).scalar()
                queued = connection.execute(select(func.count()).select_from(t.outbound_messages)).scalar()
            engine.dispose()
            took = [x for times, _, _ in results for x in times]
            deliveries = len([r for r in graph.requests if r.send and r.status == 200])
            print(
                f"{CUSTOMERS} WhatsApp customers, {sent} messages in {len(took)} webhooks (each answered "
                f"200; one in ten sent twice), all handled after {elapsed:.1f} s"
            )
            print(
                f"webhook answered: p50 {1000 * statistics.median(took):.0f} ms, "
                f"p99 {1000 * percentile(took, 0.99):.0f} ms, max {1000 * max(took):.0f} ms"
            )
            print(
                f"messages stored once: {stored} of {sent}; handled: {handled}; bot messages: {queued}, "
                f"sent to WhatsApp {deliveries} times, not sent {waiting}"
            )
            print(
                f"first answer reached WhatsApp after the customer's first message: p50 "
                f"{statistics.median(first_answer.values()):.2f} s over {len(first_answer)} customers"
            )
            ok = stored == sent and handled == sent and waiting == 0 and len(first_answer) == CUSTOMERS
            print("OK" if ok else "NOT OK: a message was lost, duplicated or not answered")
            return 0 if ok else 1
        finally:
            servers.stop()


if __name__ == "__main__":
    raise SystemExit(main())
