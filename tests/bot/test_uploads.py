"""Photos attached in the widget: images only, at most 5 MB, stored under the upload folder, only for a
conversation in progress, and within the quotas."""

from __future__ import annotations

import asyncio
import time

import pytest
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.web import uploads
from tests.bot.fakes import RecordingAgent

SESSION = "0123456789abcdef0123456789abcdef"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)
JPEG = b"\xff\xd8\xff\xe0" + bytes(200)
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(100)


def customer_wrote(agent: RecordingAgent, session: str, seconds_ago: float = 0) -> None:
    tracker = DialogueStateTracker(session, [])
    tracker.update(UserUttered("my mug arrived broken", timestamp=time.time() - seconds_ago))
    asyncio.run(agent.tracker_store.save(tracker))


@pytest.fixture
def agent():
    agent = RecordingAgent(memory=True)
    customer_wrote(agent, SESSION)
    return agent


@pytest.fixture
def app(make_app, tmp_path, agent):
    return make_app(agent, upload_dir=tmp_path / "uploads")


def upload(app, body: bytes, content_type: str = "image/png", session: str = SESSION):
    _, reply = app.test_client.post(
        f"/uploads?session_id={session}", content=body, headers={"Content-Type": content_type}
    )
    return reply


@pytest.mark.parametrize(
    "body,content_type,suffix",
    [(PNG, "image/png", ".png"), (JPEG, "image/jpeg", ".jpg"), (WEBP, "image/webp", ".webp")],
)
def test_a_photo_is_stored_in_the_sessions_folder(app, tmp_path, body, content_type, suffix):
    reply = upload(app, body, content_type)
    assert reply.status == 201
    stored = reply.json["photo"]
    assert stored.startswith(SESSION + "/") and stored.endswith(suffix)
    assert (tmp_path / "uploads" / stored).read_bytes() == body


@pytest.mark.parametrize(
    "body,content_type,session,status,error",
    [
        (b"%PDF-1.7 hello", "application/pdf", SESSION, 415, "unsupported_type"),
        (b"<svg onload=alert(1)>", "image/svg+xml", SESSION, 415, "unsupported_type"),
        (b"not really a png", "image/png", SESSION, 400, "not_an_image"),
        (b"", "image/png", SESSION, 400, "not_an_image"),
        (PNG, "image/png", "../../etc", 400, "invalid_session"),
        (PNG, "image/png", SESSION + "%0a", 400, "invalid_session"),  # was a folder name ending in a newline
        (PNG + bytes(5 * 1024 * 1024), "image/png", SESSION, 413, "photo_too_large"),
    ],
)
def test_anything_else_is_refused_and_nothing_is_written(
    app, tmp_path, body, content_type, session, status, error
):
    reply = upload(app, body, content_type, session)
    assert reply.status == status and reply.json["error"] == error
    assert not (tmp_path / "uploads").exists()


def test_other_routes_still_refuse_bodies_over_64_kb(app):
    _, reply = app.test_client.post(
        "/webhooks/rest/webhook", content=b'{"sender": "a", "message": "' + b"x" * 70_000 + b'"}'
    )
    assert reply.status == 413


@pytest.mark.parametrize("session, seconds_ago", [("f" * 32, None), ("e" * 32, 2 * 24 * 3600)])
def test_only_a_conversation_in_progress_may_upload(app, agent, tmp_path, session, seconds_ago):
    """Issue 13: 40 × 5 MB to session ids that did not exist were accepted in 0.8 s."""
    if seconds_ago is not None:
        customer_wrote(agent, session, seconds_ago)  # wrote two days ago: no longer in progress
    reply = upload(app, PNG, session=session)
    assert reply.status == 404 and reply.json["error"] == "no_conversation"
    assert not (tmp_path / "uploads").exists()


def test_a_conversation_has_a_photo_quota(app, tmp_path, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_PHOTOS_PER_CONVERSATION", 3)
    assert [upload(app, PNG).status for _ in range(4)] == [201, 201, 201, 429]
    assert len(list((tmp_path / "uploads" / SESSION).iterdir())) == 3
    assert "describe the rest in words" in upload(app, PNG).json["detail"]


def test_the_shop_has_a_daily_quota(app, agent, tmp_path, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_PHOTO_BYTES_PER_DAY", 2 * len(PNG))
    other = "a" * 32
    customer_wrote(agent, other)
    assert [upload(app, PNG).status, upload(app, PNG, session=other).status] == [201, 201]
    refused = upload(app, PNG, session=other)
    assert refused.status == 429 and refused.json["error"] == "photo_quota_reached"
    assert len(list((tmp_path / "uploads").glob("*/*"))) == 2
