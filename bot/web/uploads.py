"""Photos customers attach in the widget (a damaged mug, the wrong bag of beans), stored under var/.

``POST /uploads?session_id=<the widget's session id>`` with the image as the body and its type as
Content-Type. Only JPEG, PNG, WebP and GIF, checked by their first bytes as well as the header, at most
5 MB; anything else is refused with a 4xx and nothing is written. The answer names the stored file,
which the widget then sends in its message so the case can point to it.

Only a live conversation may upload (one whose customer wrote within the last day: 40 × 5 MB to made-up
session ids were accepted before), at most MAX_PHOTOS_PER_CONVERSATION photos each, and the whole shop
takes at most MAX_PHOTO_BYTES_PER_DAY a day, so nobody can fill the disk; past a quota the answer is 429
with what to do instead.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

from rasa.shared.core.events import UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.messages import is_session_id, refuse

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS_PER_CONVERSATION = 10  # a damaged parcel needs a few photos, not dozens
MAX_PHOTO_BYTES_PER_DAY = 250 * 1024 * 1024  # 50 full-size photos a day, for the whole shop
LIVE_FOR_SECONDS = 24 * 3600  # a conversation whose customer wrote within this may upload
# content type -> (file suffix, how the file starts)
PHOTO_TYPES = {
    "image/jpeg": (".jpg", (b"\xff\xd8\xff",)),
    "image/png": (".png", (b"\x89PNG\r\n\x1a\n",)),
    "image/gif": (".gif", (b"GIF87a", b"GIF89a")),
    "image/webp": (".webp", (b"RIFF",)),
}


def looks_like(body: bytes, content_type: str) -> bool:
    _, starts = PHOTO_TYPES[content_type]
    if content_type == "image/webp":
        return body.startswith(b"RIFF") and body[8:12] == b"WEBP"
    return body.startswith(starts)


async def is_live(agent: Any, session_id: str) -> bool:
    """The customer of this session wrote within the last day (the tracker store knows)."""
    store = getattr(agent, "tracker_store", None)
    tracker = await store.retrieve(session_id) if store is not None else None
    since = time.time() - LIVE_FOR_SECONDS
    return tracker is not None and any(isinstance(e, UserUttered) and e.timestamp >= since
                                       for e in reversed(tracker.events))


def _photo_count(folder: Path) -> int:
    return sum(1 for _ in folder.iterdir()) if folder.is_dir() else 0


def _bytes_today(upload_dir: Path) -> int:
    since = time.time() - 24 * 3600
    total = 0
    for path in upload_dir.glob("*/*") if upload_dir.is_dir() else ():
        stat = path.stat()
        if stat.st_mtime >= since:
            total += stat.st_size
    return total


class PhotoRefused(Exception):
    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


def photo_type(body: bytes) -> str | None:
    """The photo type the bytes are, by how they start; None for anything else."""
    return next((kind for kind in PHOTO_TYPES if looks_like(body, kind)), None)


def save_photo(upload_dir: Path, conversation_id: str, body: bytes, content_type: str) -> str:
    """Store a conversation's photo under the quotas (blocking: run it in a thread); returns its name as
    cases keep it ("<conversation>/<random>.jpg"). Raises PhotoRefused."""
    if len(body) > MAX_PHOTO_BYTES:
        raise PhotoRefused(413, "photo_too_large", "The photo is larger than 5 MB.")
    if not body or content_type not in PHOTO_TYPES or not looks_like(body, content_type):
        raise PhotoRefused(400, "not_an_image", "That file is not the kind of image it says it is.")
    folder = upload_dir / conversation_id
    if _photo_count(folder) >= MAX_PHOTOS_PER_CONVERSATION:
        raise PhotoRefused(429, "too_many_photos", f"A conversation can have {MAX_PHOTOS_PER_CONVERSATION} "
                                                   "photos; please describe the rest in words.")
    if _bytes_today(upload_dir) + len(body) > MAX_PHOTO_BYTES_PER_DAY:
        raise PhotoRefused(429, "photo_quota_reached", "We can't take more photos today. Please describe "
                                                       "it in words, or email the photo to the shop.")
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}{PHOTO_TYPES[content_type][0]}"
    (folder / name).write_bytes(body)
    return f"{conversation_id}/{name}"


def uploads_blueprint(upload_dir: Path) -> Blueprint:
    uploads = Blueprint("uploads")

    @uploads.post("/uploads")
    async def upload_photo(request: Request) -> HTTPResponse:
        session_id = request.args.get("session_id", "")
        if not is_session_id(session_id):
            return refuse(400, "invalid_session", "session_id must be the chat's session id.")
        content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if content_type not in PHOTO_TYPES:
            return refuse(415, "unsupported_type", "Please attach a photo: JPEG, PNG, WebP or GIF.")
        body = request.body or b""
        if len(body) > MAX_PHOTO_BYTES:
            return refuse(413, "photo_too_large", "The photo is larger than 5 MB.")
        if not body or not looks_like(body, content_type):
            return refuse(400, "not_an_image", "That file is not the kind of image it says it is.")
        if not await is_live(getattr(request.app.ctx, "agent", None), session_id):
            return refuse(404, "no_conversation", "Photos can be attached to a conversation in progress: "
                                                   "write your message first.")
        try:
            photo = await asyncio.to_thread(save_photo, upload_dir, session_id, body, content_type)
        except PhotoRefused as refused:
            return refuse(refused.status, refused.error, refused.detail)
        return response.json({"photo": photo}, status=201)

    return uploads
