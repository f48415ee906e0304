"""Summarise a `rasa test nlu` intent report and gate on macro-F1 (used by `make eval`).

    python -m bot.evaluation reports/nlu/intent_report.json --min-macro-f1 0.90
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

_SUMMARY_KEYS = {"accuracy", "macro avg", "weighted avg", "micro avg"}


def per_intent(report: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {name: row for name, row in report.items() if name not in _SUMMARY_KEYS}


def confusions(report: Dict[str, Any]) -> List[Tuple[int, str, str]]:
    """(count, true intent, predicted intent), most frequent first."""
    pairs = [(count, name, other) for name, row in per_intent(report).items()
             for other, count in (row.get("confused_with") or {}).items()]
    return sorted(pairs, key=lambda p: (-p[0], p[1], p[2]))


def summary(report: Dict[str, Any], worst: int = 8) -> str:
    macro = report["macro avg"]
    lines = [f"intents: {len(per_intent(report))}, examples: {macro['support']}, "
             f"accuracy: {report['accuracy']:.3f}, macro-F1: {macro['f1-score']:.3f}",
             "lowest F1:"]
    rows = sorted(per_intent(report).items(), key=lambda kv: kv[1]["f1-score"])[:worst]
    lines += [f"  {name:26} P {row['precision']:.2f}  R {row['recall']:.2f}  F1 {row['f1-score']:.2f}"
              for name, row in rows]
    lines.append("most frequent confusions (true -> predicted):")
    lines += [f"  {count} x {true} -> {predicted}" for count, true, predicted in confusions(report)[:worst]]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--min-macro-f1", type=float, default=0.0)
    args = parser.parse_args(argv)
    report = json.loads(args.report.read_text())
    print(summary(report))
    macro_f1 = report["macro avg"]["f1-score"]
    if macro_f1 < args.min_macro_f1:
        print(f"FAIL: macro-F1 {macro_f1:.3f} is below {args.min_macro_f1:.2f}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
