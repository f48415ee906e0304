"""Conversation tests made from the console: the check against the model (``rasa test core``, about a minute)
runs in the background, and any web process can tell how it went.

The state of each conversation's latest check is a small JSON file under TRAINING_LOG_DIR: running, saved
(with the file written) or failed (with why: Rasa's account of the turns the model got wrong, or the
reason it could not be written). A check still "running" after STALE_SECONDS died with its process.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

from bot.trainer.story_export import StoryExportError, StoryFailed

logger = logging.getLogger(__name__)
STALE_SECONDS = 1800


@dataclass(frozen=True)
class StoryCheck:
    state: str          # running, saved, failed
    detail: str         # the file written, or why nothing was
    started_at: float   # seconds since the epoch
    by: str


class StoryChecks:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _file(self, conversation_id: str) -> Path:
        return self.folder / f"story-{hashlib.sha256(conversation_id.encode()).hexdigest()[:20]}.json"

    def get(self, conversation_id: str) -> Optional[StoryCheck]:
        try:
            check = StoryCheck(**json.loads(self._file(conversation_id).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None
        if check.state == "running" and time.time() - check.started_at > STALE_SECONDS:
            return StoryCheck("failed", "the check ended without finishing (the server stopped?)",
                              check.started_at, check.by)
        return check

    def _save(self, conversation_id: str, check: StoryCheck) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self._file(conversation_id)
        part = target.with_suffix(".part")
        part.write_text(json.dumps(asdict(check)), encoding="utf-8")
        part.replace(target)

    def start(self, conversation_id: str, by: str, out: Path, keep: Callable[[], int]) -> StoryCheck:
        """Run ``keep`` (the check, then the write of ``out``) in a thread; one check per conversation."""
        current = self.get(conversation_id)
        if current is not None and current.state == "running":
            raise StoryExportError("a check of this conversation is running already")
        check = StoryCheck("running", str(out), time.time(), by)
        self._save(conversation_id, check)
        threading.Thread(target=self._run, args=(conversation_id, check, out, keep), daemon=True,
                         name=f"story-check-{conversation_id[:20]}").start()
        return check

    def _run(self, conversation_id: str, check: StoryCheck, out: Path, keep: Callable[[], int]) -> None:
        try:
            messages = keep()
            done = StoryCheck("saved", f"{out} ({messages} customer messages)", check.started_at, check.by)
        except StoryFailed as failed:
            done = StoryCheck("failed", failed.wrong, check.started_at, check.by)
        except StoryExportError as error:
            done = StoryCheck("failed", str(error), check.started_at, check.by)
        except Exception as error:  # noqa: BLE001 (the trainer reads why; the log keeps the traceback)
            logger.exception("The conversation test of %s could not be made", conversation_id)
            done = StoryCheck("failed", f"{type(error).__name__}: {error}", check.started_at, check.by)
        self._save(conversation_id, done)
