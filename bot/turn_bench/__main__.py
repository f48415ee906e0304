"""``python -m bot.turn_bench`` (``make bench``): our bot against stock Rasa, turn by turn, and ours as a
cluster beside them (two web processes behind nginx on PostgreSQL and Redis; ``--no-cluster`` leaves it out).

Serves each bot in turn on this machine (ours, then stock), runs the same loads against each from this
process, measures start and memory, evaluates both models' NLU, and writes reports/bench.json, bench.md and
bench-latency.svg. ``--quick`` is a tiny run of ours alone (the end-to-end test); ``--only`` one bot.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Awaitable, Dict, List, Optional, Sequence, Tuple

from bot.turn_bench import loads
from bot.turn_bench.bots_under_test import OURS, ROOT, STOCK, start_bot
from bot.turn_bench.cluster_under_test import CLUSTER, start_cluster
from bot.turn_bench.comparison import comparison_rows
from bot.turn_bench.nlu_quality import evaluate
from bot.turn_bench.reports import targets_line, write_reports
from bot.turn_bench.story_mixes import MIXES, LeftOut, Story, read_stories
from bot.turn_bench.training_time import read_training_seconds, training_record
from bot.turn_bench.turn_figures import (
    LoadRun,
    figures_by_mix,
    load_figures,
    per_turn_ms,
    window_medians,
)


@dataclass(frozen=True)
class LoadPlan:
    """How big each load is; the issue's sizes by default."""

    one_customer: int = 100   # turns, each a new conversation, after the warm-up turns
    warm_up: int = 5
    concurrent: int = 20      # customers at once ...
    crowd: int = 100
    turns_each: int = 10      # ... each this many turns
    long_turns: int = 300     # one conversation
    window: int = 20          # its early and late turns compared: medians of the first and last 20
    mix_customers: int = 20
    mix_rounds: int = 2       # each story replayed this many times
    stories_per_mix: int = 0  # 0: all of them


QUICK = LoadPlan(one_customer=6, warm_up=1, concurrent=3, crowd=5, turns_each=2, long_turns=12, window=3,
                 mix_customers=2, mix_rounds=1, stories_per_mix=1)


class Phases:
    """Prints a progress line per phase (flushed: `make bench` shows it as it runs) and keeps the timings."""

    def __init__(self) -> None:
        self.timings: List[Dict[str, Any]] = []

    def done(self, bot: str, phase: str, began: float, outcome: str) -> None:
        seconds = time.monotonic() - began
        self.timings.append({"bot": bot, "phase": phase, "seconds": round(seconds, 1)})
        print(f"[{bot}] {phase}: {outcome} ({seconds:.0f} s)", flush=True)


def _outcome(figures: Dict[str, Any]) -> str:
    def ms(value: Optional[float]) -> str:
        return f"{value:.0f} ms" if value is not None else "–"
    return (f"{figures['messages_per_second']:.1f} msg/s, median {ms(figures['median_ms'])}, "
            f"p99 {ms(figures['p99_ms'])}, {figures['errors']} errors")


async def run_loads(base_url: str, run_id: str, plan: LoadPlan, stories: Sequence[Story], bot: str,
                    phases: Phases) -> Dict[str, Any]:
    """The five loads in order; their figures under the keys the comparison reads."""
    results: Dict[str, Any] = {}

    async def timed(key: str, phase: str, load: Awaitable[LoadRun]) -> LoadRun:
        began = time.monotonic()
        run = await load
        results[key] = load_figures(run)
        phases.done(bot, phase, began, _outcome(results[key]))
        return run

    await timed("one_customer", f"one customer x {plan.one_customer} turns",
                loads.one_customer(base_url, run_id, plan.one_customer, plan.warm_up))
    for key, customers in (("concurrent", plan.concurrent), ("crowd", plan.crowd)):
        await timed(key, f"{customers} customers x {plan.turns_each} turns",
                    loads.concurrent_customers(base_url, run_id, customers, plan.turns_each))
    long_run = await timed("long_conversation", f"one conversation of {plan.long_turns} turns",
                           loads.long_conversation(base_url, run_id, plan.long_turns))
    growth = window_medians(long_run.turns, plan.window)
    results["long_conversation"].update(growth, window=plan.window, per_turn_ms=per_turn_ms(long_run.turns))
    print(f"[{bot}]   turn 10 {growth['early_ms'] or 0:.1f} ms, turn {plan.long_turns} "
          f"{growth['late_ms'] or 0:.1f} ms: x{growth['growth'] or 0:.2f}", flush=True)
    mix_run = await timed("story_mixes", f"story mixes, {plan.mix_customers} customers",
                          loads.story_mixes(base_url, run_id, stories, plan.mix_customers, plan.mix_rounds))
    results["story_mixes"]["by_mix"] = figures_by_mix(mix_run.turns)
    return results


def bench_bot(bot: str, model: Path, scratch: Path, plan: LoadPlan, stories: Sequence[Story], run_id: str,
              phases: Phases) -> Dict[str, Any]:
    """Serve ``bot`` alone, run the loads, note start and memory, stop it."""
    shutil.rmtree(scratch, ignore_errors=True)  # a fresh database and logs every run
    began = time.monotonic()
    running = start_cluster(model, scratch) if bot == CLUSTER else start_bot(bot, model, scratch)
    figures: Dict[str, Any] = {"model": str(model), "start_seconds": round(running.start_seconds, 2),
                               "training_seconds": read_training_seconds(training_record(model)),
                               "memory_after_start": running.memory(), "logs": str(running.logs)}
    web = figures["memory_after_start"]["web"]["resident_mb"]
    phases.done(bot, "start", began, f"first answer after {running.start_seconds:.1f} s, web {web:.0f} MB")
    try:
        figures["loads"] = asyncio.run(run_loads(running.base_url, f"{run_id}-{bot}", plan, stories, bot,
                                                 phases))
        figures["memory_after_loads"] = running.memory()
    finally:
        running.stop()
    return figures


def chosen_stories(plan: LoadPlan) -> Tuple[List[Story], List[LeftOut]]:
    stories, left_out = read_stories(ROOT / "tests" / "stories")
    if plan.stories_per_mix:
        stories = [s for mix in MIXES for s in [s for s in stories if s.mix == mix][:plan.stories_per_mix]]
    return stories, left_out


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return ""
    return done.stdout.strip()


def machine_and_run(quick: bool, phases: Phases, load_before: Sequence[float]) -> Dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "commit": commit + (" (with uncommitted changes)" if _git("status", "--porcelain") else ""),
            "cores": os.cpu_count(), "machine": cpu, "python": platform.python_version(),
            "rasa": metadata.version("rasa"), "quick": quick, "phases": phases.timings,
            # Other work on the machine slows both bots: the load average before and after says how much.
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()]}


def evaluate_nlu(models: Dict[str, Path], results: Dict[str, Dict[str, Any]], args: argparse.Namespace,
                 phases: Phases) -> bool:
    """Both models through bot.evaluation; their figures go into ``results``. False if it failed."""
    began = time.monotonic()
    log = args.scratch / "nlu-evaluation.log"
    try:
        scores = evaluate(models, args.out / "bench-nlu", log)
    except subprocess.CalledProcessError:
        print(f"NLU evaluation FAILED; see {log}", file=sys.stderr, flush=True)
        return False
    for bot, figures in scores.items():
        results[bot]["nlu"] = figures
    phases.done(" and ".join(models), "NLU evaluation", began,
                f"{len(next(iter(scores.values())))} sets, reports in {args.out / 'bench-nlu'}")
    return True


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.turn_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny loads, ours only, no NLU (for the test)")
    parser.add_argument("--only", choices=(OURS, STOCK, CLUSTER), help="bench one bot only")
    parser.add_argument("--no-cluster", action="store_true", help="leave out the cluster column")
    parser.add_argument("--no-stock", action="store_true",
                        help="leave out stock Rasa (its model takes an hour or more to train here)")
    parser.add_argument("--skip-nlu", action="store_true", help="leave out the NLU evaluation")
    parser.add_argument("--ours-model", type=Path, default=ROOT / "models" / "shop.tar.gz")
    parser.add_argument("--stock-model", type=Path, default=ROOT / "build" / "bench" / "stock.tar.gz")
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    parser.add_argument("--scratch", type=Path, default=ROOT / "build" / "bench" / "runs",
                        help="databases and server logs of the run")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else LoadPlan()
    bots = [OURS] if args.quick else [args.only] if args.only else \
        [OURS] + ([] if args.no_stock else [STOCK]) + ([] if args.no_cluster else [CLUSTER])
    models = {OURS: args.ours_model, STOCK: args.stock_model, CLUSTER: args.ours_model}
    missing = [f"{models[b]} ({'make build/bench/stock.tar.gz' if b == STOCK else 'make train'})"
               for b in bots if not models[b].is_file()]
    if missing:
        print("missing model: " + ", ".join(missing), file=sys.stderr)
        return 2
    stories, left_out = chosen_stories(plan)
    phases = Phases()
    run_id = "bench-" + datetime.now().strftime("%Y%m%d%H%M%S")
    args.scratch.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    if load_before[0] > 1:
        print(f"note: the machine is busy (load average {load_before[0]:.1f} over the last minute); "
              "the figures will be slower than on a quiet machine", flush=True)
    results: Dict[str, Dict[str, Any]] = {}
    failed = False
    for bot in bots:
        try:
            results[bot] = bench_bot(bot, models[bot], args.scratch / bot, plan, stories, run_id, phases)
        except Exception as error:  # noqa: BLE001 - the other bot's figures are still worth a report
            print(f"[{bot}] FAILED: {error}", file=sys.stderr, flush=True)
            results[bot] = {"model": str(models[bot]), "error": str(error)[-3000:]}
            failed = True
    if not (args.quick or args.skip_nlu):
        # The cluster answers with ours' model: one evaluation of it is enough.
        evaluated = {bot: models[bot] for bot in bots if bot != CLUSTER}
        failed |= not evaluate_nlu(evaluated, results, args, phases)
    bench = {"run": machine_and_run(args.quick, phases, load_before), "plan": asdict(plan),
             "stories": {"used": [{"name": s.name, "source": s.source, "mix": s.mix, "turns": len(s.messages)}
                                  for s in stories],
                         "left_out": [asdict(s) for s in left_out]},
             "bots": results}
    rows = comparison_rows(results.get(OURS, {}), results.get(STOCK), asdict(plan), results.get(CLUSTER))
    paths = write_reports(bench, rows, args.out)
    print(f"{targets_line(rows)} Reports: {', '.join(str(p) for p in paths.values())}", flush=True)
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main())
