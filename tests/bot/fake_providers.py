"""Fake WhatsApp/Messenger/Instagram (Meta's Graph API) and Telegram Bot API servers for tests.

Each runs an aiohttp app in a thread of its own, with its own event loop, on 127.0.0.1 and a free port:
usable from async tests (whose loop it never blocks) and from tests that start our web server as a
process (give it ``fake.env()``). They answer with the providers' JSON shapes, refuse a wrong token the
way the provider does, check the limits our clients must keep (so a client that breaks one fails its
test the way it would fail in production), and record every request.

    with FakeGraphApi() as graph:
        client = WhatsAppClient(graph.settings())
        ...
        assert graph.sent("interactive")[0]["interactive"]["type"] == "button"
"""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from aiohttp import web

from bot.channels.channel_settings import ChannelSettings


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str  # without the Graph API's version prefix
    query: Dict[str, str]
    headers: Dict[str, str]
    json: Any  # the parsed body (JSON, or a form as a dict), None when there was none
    channel: str  # "whatsapp", "messenger", "instagram", "telegram", or "" when the token was wrong
    kind: str  # "text", "image", "interactive", "read", "mark_seen", "sendMessage", "getFile", ...
    status: int  # what the fake answered
    send: bool  # a message to a customer (what fail_next and window_closed act on)


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    data: bytes = b""
    content_type: str = "application/json"
    headers: Optional[Dict[str, str]] = None
    kind: str = ""
    channel: str = ""
    send: bool = False


class FakeProvider:
    """The thread, the recording and the scripted failures both fakes share."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: List[Recorded] = []
        self._media: Dict[str, Tuple[bytes, str]] = {}
        self._failures: List[Optional[Tuple[int, Any, Dict[str, str]]]] = []  # None: that send goes
        self._delays: List[float] = []
        self._ids = itertools.count(1)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self.port = 0

    # -- running ---------------------------------------------------------------------------------------
    def start(self) -> "FakeProvider":
        ready = threading.Event()
        failed: List[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            app = web.Application(client_max_size=20 * 2**20)
            app.router.add_route("*", "/{tail:.*}", self._handle)
            runner = web.AppRunner(app, access_log=None)
            try:
                loop.run_until_complete(runner.setup())
                loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
                self.port = runner.addresses[0][1]
                self._loop = loop
            except BaseException as error:  # noqa: BLE001 - handed to the starting thread
                failed.append(error)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            # A handler still sleeping in delay_next is cancelled, not left pending when the loop closes.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

        self._thread = threading.Thread(target=run, name=type(self).__name__, daemon=True)
        self._thread.start()
        ready.wait(10)
        if failed or not self.port:
            raise RuntimeError(f"{type(self).__name__} did not start: {failed}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- what tests script and read ----------------------------------------------------------------------
    @property
    def requests(self) -> List[Recorded]:
        with self._lock:
            return list(self._requests)

    def sent(self, kind: Optional[str] = None, channel: Optional[str] = None) -> List[Any]:
        """The bodies of the messages the fake accepted, oldest first."""
        return [
            r.json
            for r in self.requests
            if r.send and r.status == 200 and kind in (None, r.kind) and channel in (None, r.channel)
        ]

    def add_media(self, key: str, data: bytes, content_type: str = "image/jpeg") -> str:
        """A photo a customer sent, under a media id / file id / CDN path; returns ``key`` (what the
        webhook carries for WhatsApp and Telegram). ``media_url(key)`` is where it downloads."""
        with self._lock:
            self._media[key] = (data, content_type)
        self.media_url(key)
        return key

    def delay_next(self, n: int, seconds: float) -> None:
        """The next ``n`` requests (of any kind) are answered only after ``seconds``: a slow provider."""
        with self._lock:
            self._delays.extend([seconds] * n)

    def fail_next(
        self, n: int, status: int, body: Any = None, headers: Optional[Dict[str, str]] = None, after: int = 0
    ) -> None:
        """The next ``n`` message sends (after ``after`` that go through) are answered with this status (and
        the provider's error body)."""
        with self._lock:
            self._failures.extend([None] * after)
            self._failures.extend(
                [(status, body if body is not None else self._error(status), headers or {})] * n
            )

    def wait_for(self, predicate: Callable[[List[Recorded]], Any], timeout: float = 5.0) -> Any:
        """Polls the recorded requests until ``predicate`` is true of them; returns what it returned.
        Blocks the calling thread: from an async test use ``wait_for_async``."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate(self.requests)
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"not within {timeout} s; requests: {[(r.path, r.kind) for r in self.requests]}"
                )
            time.sleep(0.02)

    async def wait_for_async(self, predicate: Callable[[List[Recorded]], Any], timeout: float = 5.0) -> Any:
        """``wait_for`` from an async test: the polling runs in a thread, the test's loop goes on."""
        return await asyncio.to_thread(self.wait_for, predicate, timeout)

    # -- serving -------------------------------------------------------------------------------------------
    def media_url(self, key: str) -> str:
        raise NotImplementedError

    def _error(self, status: int, message: str = "") -> Any:
        raise NotImplementedError

    def _route(self, method: str, path: str, request: web.Request, body: Any) -> Reply:
        raise NotImplementedError

    def _normalise(self, path: str) -> str:
        return path

    def _next_failure(self) -> Optional[Reply]:
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is None:
            return None
        status, body, headers = failure
        return Reply(status, body, headers=headers)

    def _media_of(self, key: str) -> Optional[Tuple[bytes, str]]:
        with self._lock:
            return self._media.get(key)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            delay = self._delays.pop(0) if self._delays else 0.0
        await asyncio.sleep(delay)
        raw = await request.read()
        body: Any = None
        if raw and request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                return web.json_response(self._error(400, "could not parse the JSON body"), status=400)
        elif raw:
            body = dict(await request.post())
        path = self._normalise(request.path.lstrip("/"))
        reply = self._route(request.method, path, request, body)
        with self._lock:
            self._requests.append(
                Recorded(
                    request.method,
                    path,
                    dict(request.query),
                    dict(request.headers),
                    body,
                    reply.channel,
                    reply.kind,
                    reply.status,
                    reply.send,
                )
            )
        if reply.json is None and reply.data:
            return web.Response(
                status=reply.status, body=reply.data, content_type=reply.content_type, headers=reply.headers
            )
        return web.json_response(reply.json, status=reply.status, headers=reply.headers)

    def _message_id(self) -> int:
        return next(self._ids)


_VERSION = re.compile(r"^v\d+(\.\d+)?/")
_FB_TRACE = "AbCdEfGhIjKlMnOp"


def graph_error(status: int, message: str, code: int, subcode: Optional[int] = None, **extra: Any) -> Reply:
    """Meta's error body: {"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}."""
    error: Dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        **extra,
        "fbtrace_id": _FB_TRACE,
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return Reply(status, {"error": error})


class FakeGraphApi(FakeProvider):
    """Graph API: WhatsApp's /{phone_number_id}/messages, /{media_id}, the media download, the number's
    details; Messenger's and Instagram's /me/messages and /me. Paths may carry a version (/v21.0/...)."""

    def __init__(
        self,
        whatsapp_token: str = "wa-test-token",
        phone_number_id: str = "106540352242922",
        page_token: str = "page-test-token",
        instagram_token: str = "ig-test-token",
        page_name: str = "Kettle & Crumb",
        display_phone_number: str = "+44 7700 900123",
        verified_name: str = "Kettle & Crumb",
    ) -> None:
        super().__init__()
        self.whatsapp_token, self.phone_number_id = whatsapp_token, phone_number_id
        self.page_token, self.instagram_token, self.page_name = page_token, instagram_token, page_name
        self.display_phone_number, self.verified_name = display_phone_number, verified_name
        self._closed: set = set()
        self.templates = {("shop_reply", "en_GB")}  # (name, language) approved in WhatsApp Manager

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/v21.0"

    def settings(self, **overrides: Any) -> ChannelSettings:
        fields = dict(
            meta_graph_url=self.graph_url,
            whatsapp_token=self.whatsapp_token,
            whatsapp_phone_number_id=self.phone_number_id,
            messenger_page_token=self.page_token,
            instagram_token=self.instagram_token,
        )
        return ChannelSettings(**{**fields, **overrides})

    def env(self) -> Dict[str, str]:
        return {
            "META_GRAPH_URL": self.graph_url,
            "WHATSAPP_TOKEN": self.whatsapp_token,
            "WHATSAPP_PHONE_NUMBER_ID": self.phone_number_id,
            "MESSENGER_PAGE_TOKEN": self.page_token,
            "INSTAGRAM_TOKEN": self.instagram_token,
        }

    def window_closed(self, address: str) -> None:
        """Sends to ``address`` are refused: the customer last wrote more than 24 hours ago."""
        with self._lock:
            self._closed.add(address)

    def media_url(self, key: str) -> str:
        """The plain CDN address of a photo, as Messenger's and Instagram's webhooks give it. (WhatsApp's
        webhook gives the media id; its download URL, which wants the token, comes from GET /{media_id}.)"""
        return f"{self.base_url}/cdn/{key}"

    def _error(self, status: int, message: str = "") -> Any:
        if status == 429:
            return graph_error(status, message or "(#4) Application request limit reached", 4).json
        if status >= 500:
            return graph_error(
                status,
                message or "An unexpected error has occurred. Please retry your request later.",
                2,
                is_transient=True,
            ).json
        return graph_error(status, message or "(#100) Invalid parameter", 100).json

    def _normalise(self, path: str) -> str:
        return _VERSION.sub("", path)

    def _route(self, method: str, path: str, request: web.Request, body: Any) -> Reply:
        auth = request.headers.get("Authorization", "")
        token = (
            auth[len("Bearer ") :] if auth.startswith("Bearer ") else request.query.get("access_token", "")
        )
        if path.startswith("cdn/") and method == "GET":
            return self._download(path[len("cdn/") :], "media")
        channel = {
            self.whatsapp_token: "whatsapp",
            self.page_token: "messenger",
            self.instagram_token: "instagram",
        }.get(token, "")
        if not channel:
            return graph_error(401, "Invalid OAuth access token - Cannot parse access token", 190)
        reply = self._route_with_token(method, path, request, body, channel)
        reply.channel = channel
        return reply

    def _route_with_token(
        self, method: str, path: str, request: web.Request, body: Any, channel: str
    ) -> Reply:
        if channel == "whatsapp":
            if method == "POST" and path == f"{self.phone_number_id}/messages":
                return self._whatsapp_send(body or {})
            if method == "GET" and path == self.phone_number_id:
                return Reply(
                    json={
                        "display_phone_number": self.display_phone_number,
                        "verified_name": self.verified_name,
                        "id": self.phone_number_id,
                    },
                    kind="number",
                )
            if method == "GET" and path == "whatsapp_business/attachments/":
                return self._download(request.query.get("mid", ""), "download")
            if method == "GET" and self._media_of(path):
                data, content_type = self._media_of(path) or (b"", "")
                url = f"{self.base_url}/whatsapp_business/attachments/?mid={path}&ext={int(time.time())}"
                return Reply(
                    json={
                        "messaging_product": "whatsapp",
                        "url": url,
                        "mime_type": content_type,
                        "sha256": "0" * 64,
                        "file_size": str(len(data)),
                        "id": path,
                    },
                    kind="media",
                )
        else:
            if method == "POST" and path == "me/messages":
                return self._page_send(body or {}, channel)
            if method == "GET" and path == "me":
                return Reply(json={"id": "112233445566778", "name": self.page_name}, kind="me")
        return graph_error(
            400,
            f"Unsupported {method.lower()} request. Object with ID '{path.split('/')[0]}' "
            "does not exist, cannot be loaded due to missing permissions, or does not support "
            "this operation.",
            100,
            33,
        )

    def _download(self, key: str, kind: str) -> Reply:
        media = self._media_of(key)
        if media is None:
            return Reply(404, data=b"Not Found", content_type="text/plain", kind=kind)
        return Reply(data=media[0], content_type=media[1], kind=kind)

    def _whatsapp_send(self, body: Dict[str, Any]) -> Reply:
        if body.get("status") == "read":
            return Reply(json={"success": True}, kind="read")
        kind = str(body.get("type") or "text")
        to = str(body.get("to") or "")
        reply = self._next_failure() or self._whatsapp_refusal(body, kind, to)
        if reply is None:
            reply = Reply(
                json={
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": to, "wa_id": to}],
                    "messages": [{"id": f"wamid.HBgM{self._message_id():012d}"}],
                }
            )
        reply.kind, reply.send = kind, True
        return reply

    def _whatsapp_refusal(self, body: Dict[str, Any], kind: str, to: str) -> Optional[Reply]:
        def invalid(details: str) -> Reply:
            return graph_error(
                400,
                "(#131009) Parameter value is not valid",
                131009,
                error_data={"messaging_product": "whatsapp", "details": details},
            )

        if body.get("messaging_product") != "whatsapp" or not to:
            return graph_error(400, "(#100) The parameter messaging_product is required.", 100)
        if kind == "template":  # taken at any time, if approved, with one parameter on one line
            return self._template_refusal(body.get("template") or {})
        with self._lock:
            closed = to in self._closed
        if closed:
            return graph_error(
                400,
                "(#131047) Re-engagement message",
                131047,
                error_data={
                    "messaging_product": "whatsapp",
                    "details": "Message failed to send because more than 24 hours "
                    "have passed since the customer last replied to this number.",
                },
            )
        content = body.get(kind) or {}
        if kind == "text" and not 0 < len(content.get("body") or "") <= 4096:
            return invalid("text.body must be 1-4096 characters")
        if kind == "image" and (not content.get("link") or len(content.get("caption") or "") > 1024):
            return invalid("image needs a link, and a caption of at most 1024 characters")
        if kind == "interactive":
            return self._interactive_refusal(content, invalid)
        return None

    def _template_refusal(self, template: Dict[str, Any]) -> Optional[Reply]:
        language = (template.get("language") or {}).get("code")
        if (template.get("name"), language) not in self.templates:
            return graph_error(404, "(#132001) Template name does not exist in the translation", 132001)
        [body] = [c for c in template.get("components") or [] if c.get("type") == "body"] or [{}]
        parameters = body.get("parameters") or []
        if len(parameters) != 1:
            return graph_error(
                400, "(#132000) Number of parameters does not match the expected number", 132000
            )
        text = str(parameters[0].get("text") or "")
        if not text or re.search(r"[\n\t]| {5,}", text) or len(text) > 1000:
            return graph_error(
                400,
                "(#100) Param text cannot have new-line/tab characters or more than 4 consecutive spaces",
                100,
            )
        return None

    @staticmethod
    def _interactive_refusal(content: Dict[str, Any], invalid: Callable[[str], Reply]) -> Optional[Reply]:
        text = (content.get("body") or {}).get("text") or ""
        action = content.get("action") or {}
        if content.get("type") == "button":
            buttons = [b.get("reply") or {} for b in action.get("buttons") or []]
            ids = [b.get("id") for b in buttons]
            if not (
                0 < len(text) <= 1024
                and 1 <= len(buttons) <= 3
                and len(set(ids)) == len(ids)
                and all(
                    0 < len(b.get("title") or "") <= 20 and 0 < len(b.get("id") or "") <= 256 for b in buttons
                )
            ):
                return invalid("reply buttons: 1-3, titles 1-20 characters, unique ids of 1-256, body 1-1024")
            return None
        if content.get("type") == "list":
            rows = [row for section in action.get("sections") or [] for row in section.get("rows") or []]
            if not (
                0 < len(text) <= 4096
                and 1 <= len(rows) <= 10
                and 0 < len(action.get("button") or "") <= 20
                and all(
                    0 < len(r.get("title") or "") <= 24 and 0 < len(r.get("id") or "") <= 200 for r in rows
                )
            ):
                return invalid("list: 1-10 rows, titles 1-24 characters, ids 1-200, button 1-20, body 1-4096")
            return None
        return invalid("interactive.type must be button or list here")

    def _page_send(self, body: Dict[str, Any], channel: str) -> Reply:
        recipient = str((body.get("recipient") or {}).get("id") or "")
        if body.get("sender_action"):
            return Reply(json={"recipient_id": recipient}, kind=str(body["sender_action"]))
        message = body.get("message") or {}
        kind = str((message.get("attachment") or {}).get("type") or "text")
        reply = self._next_failure() or self._page_refusal(body, recipient, message, channel)
        if reply is None:
            reply = Reply(json={"recipient_id": recipient, "message_id": f"m_{self._message_id():020d}"})
        reply.kind, reply.send = kind, True
        return reply

    def _page_refusal(self, body: Dict[str, Any], recipient: str, message: Dict[str, Any],
                      channel: str) -> Optional[Reply]:
        if not recipient or not message:
            return graph_error(400, "(#100) param recipient and message must be non-empty", 100)
        kind, tag = body.get("messaging_type"), body.get("tag")
        if kind not in ("RESPONSE", "UPDATE", "MESSAGE_TAG") or (kind == "MESSAGE_TAG") != bool(tag):
            return graph_error(400, "(#100) param messaging_type and tag do not go together", 100)
        with self._lock:
            closed = recipient in self._closed
        # Past the 24 hours only a person's reply tagged HUMAN_AGENT is taken (the app has the permission).
        if closed and tag != "HUMAN_AGENT":
            return graph_error(400, "(#10) This message is sent outside of allowed window.", 10, 2018278)
        limit = 2000 if channel == "messenger" else 1000
        if "text" in message and not 0 < len(message["text"]) <= limit:
            return graph_error(400, f"(#100) Length of param message[text] must be at most {limit}", 100)
        replies = message.get("quick_replies") or []
        if len(replies) > 13 or any(
            not 0 < len(q.get("title") or "") <= 20 or not q.get("payload") or len(q["payload"]) > 1000
            for q in replies
        ):
            return graph_error(400, "(#100) param message[quick_replies] is invalid", 100)
        return None


_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def telegram_error(status: int, description: str, **parameters: Any) -> Reply:
    """Telegram's error body: {"ok": false, "error_code", "description", "parameters"?}."""
    body: Dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Reply(status, body)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeTelegramApi(FakeProvider):
    """Bot API: /bot{token}/sendMessage, sendPhoto, sendChatAction, answerCallbackQuery, getFile, getMe,
    getWebhookInfo, setWebhook, and the file download /file/bot{token}/{file_path}. Takes JSON, a form or a
    query."""

    SENDS = ("sendMessage", "sendPhoto")

    def __init__(
        self,
        token: str = "123456789:AAH-test_token-abcdefghijklmnopqrstu",
        username: str = "kettle_crumb_bot",
    ) -> None:
        super().__init__()
        self.token, self.username = token, username
        self.webhook: Dict[str, Any] = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        self.webhook_secret = ""
        self._blocked: set = set()
        self._paths: Dict[str, str] = {}  # file_id -> file_path

    def settings(self, **overrides: Any) -> ChannelSettings:
        fields = dict(
            telegram_api_url=self.base_url,
            telegram_bot_token=self.token,
            telegram_secret_token="test-secret-token-0123456789",
        )
        return ChannelSettings(**{**fields, **overrides})

    def env(self) -> Dict[str, str]:
        return {
            "TELEGRAM_API_URL": self.base_url,
            "TELEGRAM_BOT_TOKEN": self.token,
            "TELEGRAM_SECRET_TOKEN": "test-secret-token-0123456789",
        }

    def blocked(self, chat_id: str) -> None:
        """Sends to ``chat_id`` are refused: the customer blocked the bot (Telegram has no 24-hour window)."""
        with self._lock:
            self._blocked.add(str(chat_id))

    def set_webhook_info(self, **fields: Any) -> None:
        """What getWebhookInfo answers: url, pending_update_count, last_error_date, last_error_message."""
        with self._lock:
            self.webhook.update(fields)

    def media_url(self, key: str) -> str:
        """Where the file downloads: /file/bot{token}/{file_path}, the path getFile gives."""
        with self._lock:
            extension = {"image/png": "png", "image/webp": "webp"}.get(self._media[key][1], "jpg")
            self._paths[key] = self._paths.get(key) or f"photos/file_{self._message_id()}.{extension}"
            return f"{self.base_url}/file/bot{self.token}/{self._paths[key]}"

    def _error(self, status: int, message: str = "") -> Any:
        if status == 429:
            return telegram_error(429, message or "Too Many Requests: retry after 3", retry_after=3).json
        default = {400: "Bad Request: chat not found", 401: "Unauthorized", 403: "Forbidden"}
        return telegram_error(status, message or default.get(status, "Internal Server Error")).json

    def _route(self, method: str, path: str, request: web.Request, body: Any) -> Reply:
        args = {**request.query, **(body if isinstance(body, dict) else {})}
        prefix, _, rest = path.partition("/")
        if prefix == "file":
            token, _, file_path = rest.partition("/")
            if token != f"bot{self.token}":
                return telegram_error(401, "Unauthorized")
            with self._lock:
                ids = [file_id for file_id, known in self._paths.items() if known == file_path]
            media = self._media_of(ids[0]) if ids else None
            if media is None:
                return telegram_error(404, "Not Found")
            return Reply(data=media[0], content_type=media[1], kind="file", channel="telegram")
        if prefix != f"bot{self.token}":
            return telegram_error(
                401 if prefix.startswith("bot") else 404,
                "Unauthorized" if prefix.startswith("bot") else "Not Found",
            )
        reply = self._method(rest, args)
        reply.kind, reply.channel, reply.send = rest, "telegram", rest in self.SENDS
        return reply

    def _bot(self) -> Dict[str, Any]:
        return {"id": 123456789, "is_bot": True, "first_name": "Kettle & Crumb", "username": self.username}

    def _method(self, name: str, args: Dict[str, Any]) -> Reply:
        if name in self.SENDS:
            return self._next_failure() or self._send(name, args)
        if name == "sendChatAction":
            chat_id = str(args.get("chat_id") or "")
            with self._lock:
                blocked = chat_id in self._blocked
            if not chat_id or args.get("action") not in ("typing", "upload_photo"):
                return telegram_error(400, "Bad Request: chat_id is empty or the action is wrong")
            if blocked:
                return telegram_error(403, "Forbidden: bot was blocked by the user")
            return Reply(json={"ok": True, "result": True})
        if name == "answerCallbackQuery":
            if not args.get("callback_query_id"):
                return telegram_error(
                    400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
                )
            return Reply(json={"ok": True, "result": True})
        if name == "getFile":
            with self._lock:
                known = self._media.get(str(args.get("file_id") or ""))
                path = self._paths.get(str(args.get("file_id") or ""))
            if known is None or path is None:
                return telegram_error(400, "Bad Request: invalid file_id")
            return Reply(
                json={
                    "ok": True,
                    "result": {
                        "file_id": args["file_id"],
                        "file_unique_id": "AQAD1234",
                        "file_size": len(known[0]),
                        "file_path": path,
                    },
                }
            )
        if name == "getMe":
            return Reply(
                json={
                    "ok": True,
                    "result": {**self._bot(), "can_join_groups": True, "supports_inline_queries": False},
                }
            )
        if name == "getWebhookInfo":
            with self._lock:
                return Reply(json={"ok": True, "result": dict(self.webhook)})
        if name == "setWebhook":
            return self._set_webhook(args)
        return telegram_error(404, "Not Found")

    def _send(self, name: str, args: Dict[str, Any]) -> Reply:
        chat_id = str(args.get("chat_id") or "")
        if not chat_id:
            return telegram_error(400, "Bad Request: chat_id is empty")
        with self._lock:
            blocked = chat_id in self._blocked
        if blocked:
            return telegram_error(403, "Forbidden: bot was blocked by the user")
        markup = args.get("reply_markup") or {}
        for row in markup.get("inline_keyboard") or []:
            for button in row:
                if not 0 < len(str(button.get("callback_data") or "").encode("utf-8")) <= 64:
                    return telegram_error(400, "Bad Request: BUTTON_DATA_INVALID")
        message: Dict[str, Any] = {
            "message_id": self._message_id(),
            "from": self._bot(),
            "date": int(time.time()),
            "chat": {"id": int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id, "type": "private"},
        }
        if name == "sendMessage":
            text = str(args.get("text") or "")
            if not text:
                return telegram_error(400, "Bad Request: message text is empty")
            if _utf16(text) > 4096:
                return telegram_error(400, "Bad Request: message is too long")
            message["text"] = text
        else:
            if not args.get("photo"):
                return telegram_error(400, "Bad Request: there is no photo in the request")
            if _utf16(str(args.get("caption") or "")) > 1024:
                return telegram_error(400, "Bad Request: message caption is too long")
            message["photo"] = [
                {
                    "file_id": "AgACAgQAAxkBAAIB",
                    "file_unique_id": "AQADx",
                    "file_size": 1234,
                    "width": 90,
                    "height": 90,
                }
            ]
            if args.get("caption"):
                message["caption"] = args["caption"]
        if markup:
            message["reply_markup"] = markup
        return Reply(json={"ok": True, "result": message})

    def _set_webhook(self, args: Dict[str, Any]) -> Reply:
        url = str(args.get("url") or "")
        if url and not url.startswith("https://"):
            return telegram_error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = str(args.get("secret_token") or "")
        if secret and not _SECRET.fullmatch(secret):
            return telegram_error(400, "Bad Request: secret token contains unallowed characters")
        with self._lock:
            self.webhook_secret = secret
            self.webhook.update(url=url, allowed_updates=args.get("allowed_updates") or ["message"])
        return Reply(
            json={
                "ok": True,
                "result": True,
                "description": "Webhook was set" if url else "Webhook was deleted",
            }
        )
