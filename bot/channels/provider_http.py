"""The HTTP every provider's client shares: one lazy aiohttp session, answers read as JSON, failures sorted
into a ``Delivery`` (try again later, or refused for good), photos fetched with a size cap, and the
errors of Meta's Graph API (WhatsApp, Messenger and Instagram speak the same one).

Tokens never reach an error string or a log line: Telegram's sits in every URL, so any text that could
carry it (an exception, a provider's message) is scrubbed of the client's secrets and of the customer's
address before it leaves this module.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Dict, FrozenSet, Mapping, Optional, Sequence, Tuple

import aiohttp

from bot.channels.outgoing import (
    Button,
    ChannelClient,
    CheckResult,
    Delivery,
    Media,
    MediaError,
    numbered_text,
)

logger = logging.getLogger(__name__)
MAX_MEDIA_BYTES = 5 * 1024 * 1024  # a customer's photo larger than this is not fetched
ERROR_CHARS = 200  # how much of a provider's error message a Delivery keeps
PROMPT = "Please choose:"  # the text that carries buttons when a message has none (every platform needs one)


@dataclass(frozen=True)
class Answer:
    status: int  # the HTTP status; 0 when the provider did not answer at all
    data: Any = None  # the body as JSON, None when it was not JSON
    retry_after: Optional[float] = None  # the Retry-After header, in seconds
    problem: str = ""  # why there was no answer (network, timeout), already scrubbed

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def size(text: str, utf16: bool = False) -> int:
    """The length of ``text`` as a provider counts it: Telegram counts UTF-16 code units (an emoji is 2)."""
    return len(text.encode("utf-16-le")) // 2 if utf16 else len(text)


def cut(text: str, limit: int, utf16: bool = False) -> str:
    """``text`` in at most ``limit`` characters, an ellipsis showing that some was cut."""
    if size(text, utf16) <= limit:
        return text
    kept = text[: max(limit - 1, 0)]
    while kept and size(kept, utf16) > limit - 1:
        kept = kept[:-1]
    return kept + "…"


def fit_numbered(text: str, buttons: Sequence[Button], limit: int, utf16: bool = False) -> str:
    """The numbered list of the buttons under the text, the text (not the list) cut so the whole fits."""
    full = numbered_text(text, buttons)
    if size(full, utf16) <= limit:
        return full
    room = limit - size(numbered_text("", buttons), utf16) - 2  # the list, and the blank line above it
    return numbered_text(cut(text, room, utf16), buttons) if room > 0 else cut(full, limit, utf16)


def _seconds(value: Optional[str]) -> Optional[float]:
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:  # an HTTP date: rare enough that the queue's own back-off is good enough
        return None


class ProviderClient(ChannelClient):
    label: ClassVar[str]  # the provider's name in messages: "WhatsApp"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._session: Optional[aiohttp.ClientSession] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    def secrets(self) -> Tuple[str, ...]:
        """What must never appear in an error: the tokens this client uses."""
        return ()

    def scrub(self, text: str, *more: str) -> str:
        for secret in (*self.secrets(), *more):
            if secret:
                text = text.replace(secret, "…")
        return text

    def _client(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        # A session belongs to the loop it was made in; one made in another loop (a test's, a thread's)
        # cannot be used here, so a new one is made.
        if self._session is None or self._session.closed or self._loop is not loop:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_seconds))
            self._loop = loop
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def call(
        self,
        method: str,
        url: str,
        *,
        body: Optional[Mapping[str, Any]] = None,
        params: Optional[Mapping[str, str]] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Answer:
        """One request; never raises: a provider that does not answer is an ``Answer`` with status 0."""
        try:
            async with self._client().request(
                method, url, json=body, params=params, headers=headers
            ) as response:
                raw = await response.read()
                try:
                    data = json.loads(raw) if raw else None
                except ValueError:
                    data = None
                return Answer(response.status, data, _seconds(response.headers.get("Retry-After")))
        except asyncio.TimeoutError:
            return Answer(0, problem=f"no answer within {self.timeout_seconds:g} s")
        except aiohttp.ClientError as error:
            return Answer(0, problem=self.scrub(f"{type(error).__name__}: {error}"))

    async def download(self, url: str, headers: Optional[Mapping[str, str]] = None) -> Media:
        """The bytes at ``url``, at most MAX_MEDIA_BYTES; raises MediaError."""
        try:
            async with self._client().get(url, headers=headers) as response:
                if not 200 <= response.status < 300:
                    raise MediaError(f"{self.label} answered HTTP {response.status} for the photo")
                if (response.content_length or 0) > MAX_MEDIA_BYTES:
                    raise MediaError(f"the photo is larger than {MAX_MEDIA_BYTES // 2**20} MB")
                data = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    data.extend(chunk)
                    if len(data) > MAX_MEDIA_BYTES:  # no Content-Length, or a wrong one
                        raise MediaError(f"the photo is larger than {MAX_MEDIA_BYTES // 2**20} MB")
                return Media(bytes(data), response.content_type or "application/octet-stream")
        except asyncio.TimeoutError:
            raise MediaError(f"{self.label} sent no photo within {self.timeout_seconds:g} s") from None
        except aiohttp.ClientError as error:  # `from None`: the cause may hold the URL, with a token in it
            raise MediaError(
                self.scrub(f"{self.label} did not answer: {type(error).__name__}: {error}")
            ) from None

    # What a failed answer means: the providers differ in their error bodies only.
    def reason(self, data: Any) -> str:
        """The provider's own words for what went wrong, from its error body."""
        return ""

    def special(self, answer: Answer, reason: str) -> Optional[Delivery]:
        """A provider's failures that its status code alone does not tell (rate limits, closed windows)."""
        return None

    def delivery(self, answer: Answer, address: str) -> Delivery:
        if answer.ok:
            return Delivery(True)
        if answer.status == 0:
            return Delivery(False, f"{self.label} did not answer: {answer.problem}", retry=True)
        reason = cut(self.scrub(self.reason(answer.data) or f"HTTP {answer.status}", address), ERROR_CHARS)
        special = self.special(answer, reason)
        if special is not None:
            return special
        if answer.status == 429:
            return Delivery(
                False, f"{self.label} rate limit: {reason}", retry=True, retry_after=answer.retry_after
            )
        if answer.status >= 500:
            return Delivery(False, f"{self.label} failed (HTTP {answer.status}): {reason}", retry=True)
        return Delivery(False, f"{self.label} refused the message: {reason}")

    async def post_all(
        self,
        address: str,
        calls: Sequence[Tuple[str, Dict[str, Any]]],
        headers: Optional[Mapping[str, str]] = None,
        numbered: bool = False,
        skip: int = 0,
    ) -> Delivery:
        """The parts of one message in order (a photo, then the text), but for the first ``skip`` (sent by an
        earlier try); the first failure ends it, saying how many parts went."""
        taken = ""
        for number, (url, body) in enumerate(calls[skip:], start=skip):
            answer = await self.call("POST", url, body=body, headers=headers)
            delivery = self.delivery(answer, address)
            logger.debug("%s send: HTTP %s", self.channel, answer.status or answer.problem)
            if not delivery.ok:
                return replace(delivery, parts_sent=number)
            taken = self.message_id(answer) or taken
        return Delivery(True, numbered=numbered, provider_message_id=taken)

    def message_id(self, answer: Answer) -> str:
        """The platform's id of the message it just took ("" if it gives none we use)."""
        return ""

    def unreachable(self, answer: Answer) -> CheckResult:
        """A check that failed: why, without the token."""
        if answer.status == 0:
            return CheckResult(False, f"{self.label} did not answer: {answer.problem}")
        reason = cut(self.scrub(self.reason(answer.data) or "no reason given"), ERROR_CHARS)
        return CheckResult(False, f"{self.label} answered HTTP {answer.status}: {reason}")


# Meta's Graph API error codes (developers.facebook.com/docs/graph-api/guides/error-handling and the
# WhatsApp Cloud API's error codes) that mean "too many, slow down": the message may be sent again later.
META_RATE_LIMITS: FrozenSet[int] = frozenset({4, 17, 32, 613, 80007, 130429, 131056})


class GraphClient(ProviderClient):
    """WhatsApp, Messenger and Instagram: Meta's Graph API, a bearer token, Meta's error body."""

    token: str

    def secrets(self) -> Tuple[str, ...]:
        return (self.token,)

    @property
    def auth(self) -> Dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def graph(self, path: str) -> str:
        return f"{self.settings.meta_graph_url.rstrip('/')}/{path}"

    @staticmethod
    def error(data: Any) -> Dict[str, Any]:
        error = data.get("error") if isinstance(data, dict) else None
        return error if isinstance(error, dict) else {}

    def reason(self, data: Any) -> str:
        return str(self.error(data).get("message") or "")

    def window_closed(self, code: Any, subcode: Any) -> bool:
        """Whether the error says the 24-hour window since the customer's last message has passed."""
        return False

    def special(self, answer: Answer, reason: str) -> Optional[Delivery]:
        error = self.error(answer.data)
        code, subcode = error.get("code"), error.get("error_subcode")
        if code in META_RATE_LIMITS:
            return Delivery(
                False,
                f"{self.label} rate limit (code {code}): {reason}",
                retry=True,
                retry_after=answer.retry_after,
            )
        if self.window_closed(code, subcode):
            return Delivery(
                False,
                f"{self.label} refused the message: the 24-hour window is closed ({reason})",
                window_closed=True,
            )
        return None

    async def get_json(self, path: str, fields: str) -> Tuple[Optional[Dict[str, Any]], Answer]:
        answer = await self.call("GET", self.graph(path), params={"fields": fields}, headers=self.auth)
        return (answer.data if answer.ok and isinstance(answer.data, dict) else None), answer
