"""Photos attached in the widget: images only, at most 5 MB, stored under the upload folder."""

from __future__ import annotations

import pytest

from tests.bot.fakes import RecordingAgent

SESSION = "0123456789abcdef0123456789abcdef"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)
JPEG = b"\xff\xd8\xff\xe0" + bytes(200)
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(100)


@pytest.fixture
def app(make_app, tmp_path):
    return make_app(RecordingAgent(), upload_dir=tmp_path / "uploads")


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
