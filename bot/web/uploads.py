"""Photos customers attach in the widget (a damaged mug, the wrong bag of beans), stored under var/.

``POST /uploads?session_id=<the widget's session id>`` with the image as the body and its type as
Content-Type. Only JPEG, PNG, WebP and GIF, checked by their first bytes as well as the header, at most
5 MB; anything else is refused with a 4xx and nothing is written. The answer names the stored file,
which the widget then sends in its message so the case can point to it.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.messages import is_session_id

MAX_PHOTO_BYTES = 5 * 1024 * 1024
# content type -> (file suffix, how the file starts)
PHOTO_TYPES = {
    "image/jpeg": (".jpg", (b"\xff\xd8\xff",)),
    "image/png": (".png", (b"\x89PNG\r\n\x1a\n",)),
    "image/gif": (".gif", (b"GIF87a", b"GIF89a")),
    "image/webp": (".webp", (b"RIFF",)),
}


def _refuse(status: int, error: str, detail: str) -> HTTPResponse:
    return response.json({"error": error, "detail": detail}, status=status)


def looks_like(body: bytes, content_type: str) -> bool:
    _, starts = PHOTO_TYPES[content_type]
    if content_type == "image/webp":
        return body.startswith(b"RIFF") and body[8:12] == b"WEBP"
    return body.startswith(starts)


def uploads_blueprint(upload_dir: Path) -> Blueprint:
    uploads = Blueprint("uploads")

    @uploads.post("/uploads")
    async def upload_photo(request: Request) -> HTTPResponse:
        session_id = request.args.get("session_id", "")
        if not is_session_id(session_id):
            return _refuse(400, "invalid_session", "session_id must be the chat's session id.")
        content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if content_type not in PHOTO_TYPES:
            return _refuse(415, "unsupported_type", "Please attach a photo: JPEG, PNG, WebP or GIF.")
        body = request.body or b""
        if len(body) > MAX_PHOTO_BYTES:
            return _refuse(413, "photo_too_large", "The photo is larger than 5 MB.")
        if not body or not looks_like(body, content_type):
            return _refuse(400, "not_an_image", "That file is not the kind of image it says it is.")
        folder = upload_dir / session_id
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{uuid.uuid4().hex}{PHOTO_TYPES[content_type][0]}"
        (folder / name).write_bytes(body)
        return response.json({"photo": f"{session_id}/{name}"}, status=201)

    return uploads
