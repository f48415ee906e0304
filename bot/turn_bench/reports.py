"""The benchmark's reports: reports/bench.json (everything), bench.md (the side-by-side table) and
bench-latency.svg (latency against conversation length, both bots on one chart)."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from bot.turn_bench.comparison import Row

RATIO_HEADER = "ours ÷ stock"
CLUSTER_HEADER = "ours, 2 web + 2 action processes behind nginx"
CLUSTER_NOTE = (" The last column is ours again as a cluster: two web processes and two action servers "
                "behind nginx, on a PostgreSQL and a Redis of the run's own, the loads sent to nginx's port; "
                "its memory is the largest web process's and action server's.")


UNIT_FORMATS = {"ms": "{:.1f} ms", "s": "{:.1f} s", "MB": "{:.0f} MB", "msg/s": "{:.1f} msg/s",
                "count": "{:.0f}", "share": "{:.3f}"}


def format_value(value: Optional[float], unit: str, missing: str = "–") -> str:
    if value is None:
        return missing
    return UNIT_FORMATS.get(unit, "{:.2f}").format(value)


def met_mark(met: Optional[bool]) -> str:
    return {True: "yes", False: "**no**", None: "–"}[met]


def markdown_table(rows: Sequence[Row]) -> str:
    """The comparison; a last column for the cluster when it ran (its figures, no target of its own)."""
    cluster = any(row.cluster is not None for row in rows)
    extra_head, extra_rule = (f" {CLUSTER_HEADER} |", "---|") if cluster else ("", "")
    lines = [f"| measure | target | ours | stock | {RATIO_HEADER} | met? |{extra_head}",
             f"|---|---|---|---|---|---|{extra_rule}"]
    for row in rows:
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else "–"
        cells = [row.measure, row.target.text if row.target else "",
                 format_value(row.ours, row.unit, row.missing_ours),
                 format_value(row.stock, row.unit, row.missing_stock), ratio, met_mark(row.met)]
        if cluster:
            cells.append(format_value(row.cluster, row.unit))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets_line(rows: Sequence[Row]) -> str:
    decided = [row.met for row in rows if row.target is not None]
    met = sum(m is True for m in decided)
    undecided = sum(m is None for m in decided)
    return f"Targets met: {met} of {len(decided)}" + (f" ({undecided} undecided)" if undecided else "") + "."


def _errors_section(bots: Mapping[str, Mapping[str, Any]]) -> List[str]:
    lines = ["## Errors by kind (no turn is retried)", ""]
    for bot, figures in bots.items():
        for load, result in (figures.get("loads") or {}).items():
            if result.get("errors_by_kind"):
                kinds = ", ".join(f"{n}× {kind}" for kind, n in result["errors_by_kind"].items())
                lines.append(f"- {bot}, {load}: {kinds}")
    return lines + (["- none"] if len(lines) == 2 else []) + [""]


def left_out_summary(left_out: Sequence[Mapping[str, str]]) -> str:
    """"<reason>: <file> (<n>), ..." per reason, in the order met; "none" if nothing was left out."""
    by_reason: Dict[str, Counter] = {}
    for story in left_out:
        by_reason.setdefault(story["reason"], Counter())[story["source"]] += 1
    return "; ".join(f"{reason}: " + ", ".join(f"{source} ({n})" for source, n in sources.items())
                     for reason, sources in by_reason.items()) or "none"


def markdown_report(bench: Mapping[str, Any], rows: Sequence[Row], chart: str) -> str:
    run = bench["run"]
    stories = bench["stories"]
    lines = [
        "# Turn speed: ours against stock Rasa",
        "",
        f"{run['date']}, commit {run['commit']}, {run['cores']} cores, {run['machine']}. "
        f"Each bot served alone on 127.0.0.1 with its own action server and SQLite stores; the loads ran "
        f"from the bench process. Load average before {run['load_average_before'][0]:.1f}, after "
        f"{run['load_average_after'][0]:.1f} (other work on the machine slows both bots)."
        f"{' Quick run: tiny loads.' if run['quick'] else ''}"
        f"{CLUSTER_NOTE if 'cluster' in bench['bots'] else ''}",
        "",
        markdown_table(rows),
        "",
        targets_line(rows),
        "",
        *_errors_section(bench["bots"]),
        "## Story mixes",
        "",
        f"{len(stories['used'])} stories of tests/stories replayed as conversations "
        f"({', '.join(f'{mix} {n}' for mix, n in Counter(s['mix'] for s in stories['used']).items())}). "
        f"Left out: {left_out_summary(stories['left_out'])}.",
        "",
        "## Phases",
        "",
        *[f"- {phase['bot']}: {phase['phase']}: {phase['seconds']:.0f} s" for phase in run["phases"]],
        "",
        f"![Latency against conversation length]({chart})",
        "",
    ]
    return "\n".join(lines)


def latency_chart(per_turn: Mapping[str, Sequence[Optional[float]]], target: Path, window: int = 20) -> None:
    """Latency of every turn of the long conversation against its index, a line per bot with its rolling
    median; the format follows the file's suffix (.svg, .png)."""
    import matplotlib

    matplotlib.use("Agg")  # no display; only files
    from matplotlib import pyplot, ticker

    figure, axes = pyplot.subplots(figsize=(9, 4.5))
    turns_in_all = max((len(latencies) for latencies in per_turn.values()), default=0)
    if turns_in_all > 2 * window:  # the turns the early and late medians (turn 10, turn 300) are taken of
        axes.axvspan(1, window, color="grey", alpha=0.12, label=f"first and last {window} turns")
        axes.axvspan(turns_in_all - window + 1, turns_in_all, color="grey", alpha=0.12)
    for bot, latencies in per_turn.items():
        points = [(index, ms) for index, ms in enumerate(latencies, start=1) if ms is not None]
        if not points:
            continue
        turns, values = [i for i, _ in points], [ms for _, ms in points]
        (each_turn,) = axes.plot(turns, values, alpha=0.35, linewidth=0.8)
        axes.plot(turns, rolling_median(values, window), color=each_turn.get_color(), linewidth=2,
                  label=f"{bot} (rolling median of {window})")
    axes.set_yscale("log")  # stock and ours differ several-fold: both stay readable
    axes.yaxis.set_major_locator(ticker.LogLocator(subs=(1, 2, 5)))
    axes.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    axes.yaxis.set_minor_formatter(ticker.NullFormatter())
    axes.set_xlabel("turn of the conversation")
    axes.set_ylabel("turn latency (ms, log scale)")
    axes.set_title("Latency against conversation length: one conversation of FAQ questions")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target)
    pyplot.close(figure)


def rolling_median(values: Sequence[float], window: int) -> List[float]:
    """The median of each value with up to ``window - 1`` values before it."""
    medians = []
    for end in range(1, len(values) + 1):
        recent = sorted(values[max(0, end - window):end])
        middle = len(recent) // 2
        medians.append(recent[middle] if len(recent) % 2 else (recent[middle - 1] + recent[middle]) / 2)
    return medians


def write_reports(bench: Dict[str, Any], rows: Sequence[Row], out: Path) -> Dict[str, Path]:
    """bench.json, bench.md and bench-latency.svg in ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "bench.json", "markdown": out / "bench.md", "chart": out / "bench-latency.svg"}
    bench = {**bench, "table": [row.as_json() for row in rows]}
    paths["json"].write_text(json.dumps(bench, indent=2, ensure_ascii=False) + "\n")
    paths["markdown"].write_text(markdown_report(bench, rows, paths["chart"].name))
    latency_chart({bot: figures["loads"]["long_conversation"]["per_turn_ms"]
                   for bot, figures in bench["bots"].items()
                   if "long_conversation" in figures.get("loads", {})}, paths["chart"])
    return paths
