"""How long a model took to train: ``python -m bot.turn_bench.training_time RECORD.json -- rasa train ...``.

Runs the command and, when it succeeds, writes {"seconds": ..., "finished": ...} to RECORD.json; the
benchmark reads it beside the model (models/shop.train.json, build/bench/stock.train.json). A failed
training removes the old record, so a stale figure is never reported for a new model.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional, Sequence


def training_record(model: Path) -> Path:
    """Where the training time of ``model`` is kept: models/shop.tar.gz -> models/shop.train.json."""
    return model.with_name(model.name.removesuffix(".tar.gz") + ".train.json")


def read_training_seconds(record: Path) -> Optional[float]:
    """The recorded seconds, or None when there is no (readable) record."""
    try:
        seconds = json.loads(record.read_text())["seconds"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return float(seconds) if isinstance(seconds, (int, float)) else None


def timed_run(record: Path, command: Sequence[str]) -> int:
    record.unlink(missing_ok=True)
    began = time.monotonic()
    returncode = subprocess.call(list(command))
    if returncode == 0:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({
            "seconds": round(time.monotonic() - began, 1),
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(command)}, indent=2) + "\n")
    return returncode


def main(argv: List[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m bot.turn_bench.training_time RECORD.json -- COMMAND...", file=sys.stderr)
        return 2
    return timed_run(Path(argv[0]), argv[2:])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
