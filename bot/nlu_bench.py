"""What understanding one message costs with the trained model: ``python -m bot.nlu_bench``.

Loads the model (timed: the figure a restart waits for) and parses customer messages one at a time with
the whole NLU pipeline (spaCy, MiniLM, sparse features, DIET, the sentence classifier, the fallback),
cache off, on one thread: run it under ``taskset -c 0`` with the thread variables that `make bench` sets.
The messages are our own test sets' and, when present, ../shared/nlu-dev's (text by other people,
longer and messier). Prints and writes (reports/nlu_bench.json) the load time and the median, p90, p99
and max per message. A benchmark, not a test: nothing is asserted; issue 14's targets (median ≤ 15 ms,
load ≤ 20 s) are printed beside the figures.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

TARGET_MEDIAN_MS = 15.0
TARGET_LOAD_S = 20.0


def messages(own: Sequence[Path], external: Sequence[Path], limit: int) -> List[str]:
    from bot.evaluation import load_examples
    from bot.external_sets import load_external

    texts = [text for path in own for text, _ in load_examples(path)]
    texts += [text for path in external if path.exists() for text, _ in load_external(path).examples]
    step = max(1, len(texts) // limit)  # spread over every set instead of taking the first ones
    return texts[::step][:limit]


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


async def measure(model: Path, texts: Sequence[str]) -> Dict[str, Any]:
    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    from bot.nlp import minilm

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    started = time.perf_counter()
    agent = Agent.load(str(model))
    await agent.parse_message("hello")  # the first parse builds the graphs: part of being ready
    load_seconds = time.perf_counter() - started
    encoder = minilm.shared_encoder(None)
    timings: List[float] = []
    for text in texts:
        encoder.clear_cache()  # a new customer's words, not a repeat
        begun = time.perf_counter()
        await agent.parse_message(text)
        timings.append((time.perf_counter() - begun) * 1000)
    return {
        "model": str(model), "messages": len(timings), "load_seconds": round(load_seconds, 2),
        "median_ms": round(statistics.median(timings), 2), "p90_ms": round(percentile(timings, 0.90), 2),
        "p99_ms": round(percentile(timings, 0.99), 2), "max_ms": round(max(timings), 2),
        "targets": {"median_ms": TARGET_MEDIAN_MS, "load_seconds": TARGET_LOAD_S},
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/shop.tar.gz"))
    parser.add_argument("--set", action="append", type=Path,
                        default=[Path("tests/nlu/heldout.yml"), Path("tests/nlu/second_voice.yml")])
    parser.add_argument("--external", action="append", type=Path,
                        default=[Path("../shared/nlu-dev/bitext_dev.csv"),
                                 Path("../shared/nlu-dev/out_of_scope_dev.csv")])
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--out", type=Path, default=Path("reports/nlu_bench.json"))
    args = parser.parse_args(argv)
    report = asyncio.run(measure(args.model, messages(args.set, args.external, args.messages)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"NLU per message over {report['messages']} messages, one at a time: "
          f"median {report['median_ms']} ms "
          f"(target ≤ {TARGET_MEDIAN_MS:g}), p90 {report['p90_ms']} ms, p99 {report['p99_ms']} ms, "
          f"max {report['max_ms']} ms; model load and first parse {report['load_seconds']} s "
          f"(target ≤ {TARGET_LOAD_S:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
