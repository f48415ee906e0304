"""`make load`: 100 customers x 10 turns at once against a fresh local web and action server (issue 13).

Prints turns answered, 503s (busy, with Retry-After: the customer waits and sends the turn again, up to
RETRIES times), empty replies (must be 0) and other failures, and the latency of the answers and of whole
turns (retries included). Exits 1 on an empty reply or any failure but a customer giving up.
Not part of `make test`.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Tuple

import requests

from tests.bot.servers import MODEL, start_servers

CUSTOMERS, TURNS, RETRIES = 100, 10, 5
SAYINGS = ["hello", "what are your opening hours?", "where is the shop?", "do you ship abroad?",
           "how much is shipping?", "can I return an item?", "what can you do?", "are you open on sunday?",
           "how long does delivery take?", "thanks, bye"]


def customer(base_url: str, number: int) -> Tuple[Counter, List[float], List[float]]:
    counts: Counter = Counter()
    answers, turns = [], []
    session = requests.Session()
    for text in SAYINGS[:TURNS]:
        began = time.monotonic()
        for _ in range(RETRIES + 1):
            sent = time.monotonic()
            reply = session.post(f"{base_url}/webhooks/rest/webhook", timeout=300,
                                 json={"sender": f"load-{number}", "message": text})
            if reply.status_code == 503 and reply.headers.get("Retry-After"):
                counts[f"503 {reply.json().get('error')}"] += 1
                time.sleep(float(reply.headers["Retry-After"]))
                continue
            if reply.status_code == 200 and reply.json():
                counts["answered"] += 1
                answers.append(time.monotonic() - sent)
                turns.append(time.monotonic() - began)
            elif reply.status_code == 200:
                counts["empty reply"] += 1
            else:
                counts[f"{reply.status_code} {reply.text[:80]}"] += 1
            break
        else:
            counts["gave up after retries"] += 1
    return counts, answers, turns


def percentiles(values: List[float]) -> str:
    if len(values) < 2:
        return "n/a"
    cuts = statistics.quantiles(values, n=100)
    return f"p50 {cuts[49]:.2f} s, p95 {cuts[94]:.2f} s, p99 {cuts[98]:.2f} s"


def main() -> int:
    if not MODEL.is_file():
        print(f"{MODEL} is missing: run `make train`", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as workdir:
        servers = start_servers(Path(workdir))
        try:
            began = time.monotonic()
            with ThreadPoolExecutor(CUSTOMERS) as pool:
                results = list(pool.map(lambda n: customer(servers.base_url, n), range(CUSTOMERS)))
            took = time.monotonic() - began
            log = servers.log("web")
        finally:
            servers.stop()
    counts: Counter = sum((c for c, _, _ in results), Counter())
    answers = [a for _, found, _ in results for a in found]
    turns = [t for _, _, found in results for t in found]
    summary: Dict[str, int] = {"answered": counts.pop("answered", 0), "empty": counts.pop("empty reply", 0)}
    busy = sum(v for k, v in counts.items() if k.startswith("503"))
    print(f"{CUSTOMERS} customers x {TURNS} turns in {took:.0f} s")
    print(f"turns answered: {summary['answered']} of {CUSTOMERS * TURNS}")
    kinds = ", ".join(f"{k}: {v}" for k, v in counts.items() if k.startswith("503"))
    print(f"503 responses: {busy} ({kinds})")
    print(f"empty replies: {summary['empty']}")
    other = {k: v for k, v in counts.items() if not k.startswith("503")}
    print(f"other failures: {other or 0}")
    print(f"answer latency: {percentiles(answers)}")
    print(f"turn latency, retries included: {percentiles(turns)}")
    print(f"failed actions in the web log: {log.count('failed in conversation')}; "
          f"'Cannot write to closing transport': {log.count('Cannot write to closing transport')}")
    return 1 if summary["empty"] or set(other) - {"gave up after retries"} else 0


if __name__ == "__main__":
    sys.exit(main())
