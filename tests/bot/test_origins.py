"""Only the server's own pages and the shop's sites in CORS_ORIGINS may call it from a browser."""
from __future__ import annotations

import json
import logging

from bot.channels.socketio import origin_policy
from bot.web.cors import AllowedOrigins
from tests.bot.fakes import RecordingAgent
from tests.bot.test_rest_channel import URL

SHOP_SITE = "https://kettleandcrumb.example"
MESSAGE = json.dumps({"sender": "customer-1", "message": "hello"})


def test_allowed_origin_gets_cors_headers_and_an_answer(make_app):
    agent = RecordingAgent()
    app = make_app(agent, cors_origins=(SHOP_SITE,))
    _, reply = app.test_client.post(URL, content=MESSAGE, headers={"Origin": SHOP_SITE})
    assert reply.status == 200
    assert reply.headers["access-control-allow-origin"] == SHOP_SITE
    assert reply.headers["vary"] == "Origin"
    assert [m.text for m in agent.received] == ["hello"]


def test_preflight_from_allowed_origin(make_app):
    app = make_app(RecordingAgent(), cors_origins=(SHOP_SITE,))
    _, reply = app.test_client.options(URL, headers={
        "Origin": SHOP_SITE, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert reply.status == 204
    assert reply.headers["access-control-allow-origin"] == SHOP_SITE
    assert "POST" in reply.headers["access-control-allow-methods"]
    assert "Content-Type" in reply.headers["access-control-allow-headers"]


def test_other_origin_is_refused_before_the_bot_sees_the_message(make_app, caplog):
    agent = RecordingAgent()
    app = make_app(agent, cors_origins=(SHOP_SITE,))
    with caplog.at_level(logging.WARNING, logger="bot.web.cors"):
        _, reply = app.test_client.post(URL, content=MESSAGE, headers={"Origin": "https://evil.example"})
    assert reply.status == 403
    assert reply.json["error"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in reply.headers
    assert agent.received == []  # a text/plain POST needs no preflight: it must not be processed
    assert "Refused a request from origin https://evil.example" in caplog.text


def test_refused_preflight(make_app):
    app = make_app(RecordingAgent(), cors_origins=(SHOP_SITE,))
    _, reply = app.test_client.options(URL, headers={
        "Origin": "http://localhost:9999", "Access-Control-Request-Method": "POST"})
    assert reply.status == 403


def test_requests_without_origin_and_from_the_own_origin_pass(make_app):
    agent = RecordingAgent()
    app = make_app(agent)
    _, plain = app.test_client.post(URL, content=MESSAGE)
    request, _ = app.test_client.get("/health")
    own = f"http://{request.host}"
    _, same = app.test_client.post(URL, content=MESSAGE, headers={"Origin": own})
    assert plain.status == 200 and same.status == 200
    assert same.headers.get("access-control-allow-origin", own) == own
    assert len(agent.received) == 2


def test_widget_config_comes_from_shop_yml(make_app, shop):
    app = make_app(RecordingAgent(), cors_origins=(SHOP_SITE,))
    _, reply = app.test_client.get("/widget/config", headers={"Origin": SHOP_SITE})
    assert reply.status == 200
    assert reply.headers["access-control-allow-origin"] == SHOP_SITE
    assert reply.headers["cache-control"] == "no-store"
    config = reply.json
    assert config["shop_name"] == "Kettle & Crumb"
    assert config["accent_colour"] == shop.widget.accent_colour
    assert config["privacy_url"] == "https://kettleandcrumb.example/privacy"
    assert config["avatar"] is True
    assert config["status"].startswith("Open now until" if config["open_now"] else "Closed")
    expected = shop.widget.live_reply_time if config["open_now"] else shop.reply_time
    assert config["reply_time"] == f"A person replies {expected}"
    assert config["max_message_chars"] == 2000


def test_avatar_is_served_as_an_inert_image(make_app):
    app = make_app(RecordingAgent())
    _, reply = app.test_client.get("/widget/avatar")
    assert reply.status == 200
    assert reply.headers["content-type"] == "image/svg+xml"
    assert "sandbox" in reply.headers["content-security-policy"]
    assert reply.body.startswith(b"<svg")


def test_one_rule_for_every_route_and_for_socket_io():
    origins = AllowedOrigins([SHOP_SITE + "/"])
    assert origins.allows(SHOP_SITE, "http", "bot.example:5005")
    assert origins.allows("http://bot.example:5005", "ws", "bot.example:5005")  # websocket from our page
    assert origins.allows("https://bot.example", "wss", "bot.example")
    assert not origins.allows("https://evil.example", "https", "bot.example")
    policy = origin_policy([SHOP_SITE])  # Engine.IO's check uses the same rule
    assert policy("http://bot.example:5005", {"wsgi.url_scheme": "ws", "HTTP_HOST": "bot.example:5005"})
    assert not policy("https://evil.example", {"wsgi.url_scheme": "http", "HTTP_HOST": "bot.example:5005"})
    assert policy(None, {})  # not a browser
