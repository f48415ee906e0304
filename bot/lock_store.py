"""Rasa's lock store on Redis, each change of a conversation's lock made in one atomic step.

Several web processes share a conversation's lock so that its messages are handled one at a time, in the
order they came. Rasa 3.6's ``RedisLockStore`` keeps a conversation's queue of tickets as one JSON value
that each process reads, changes in Python and writes back (RasaHQ/rasa#9213). Two processes taking a
ticket at once both read the same queue and get the same number: both handle their message at once, and
one turn's events overwrite the other's. A process that finishes while another takes a ticket deletes the
queue under it: the other's message fails with a LockError.

Here a conversation's lock is a sorted set of ticket numbers (scored by when each expires) and a counter
that numbers them. Taking a ticket, asking which one is served, and giving one back are each a Lua script,
which Redis runs whole, with Redis's own clock so that processes on several machines agree on expiry. A
ticket is a lease, renewed while its process lives: a killed process holds a conversation for seconds.
Waiting is asyncio (``redis.asyncio``): a Redis that stops answering holds one message for at most
``SOCKET_TIMEOUT`` seconds, not the event loop, and a waiting message polls every few milliseconds rather
than Rasa's one second.

When Redis cannot be reached, taking the lock raises ``LockStoreUnavailable``: the message was not
handled, and the channels answer 503 ("try again"), as for a database that is down.
"""
from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import AsyncGenerator, Optional

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig
from redis import asyncio as redis_asyncio
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
SOCKET_TIMEOUT = 3.0  # seconds: a Redis that does not answer by then counts as down
FIRST_WAIT, LONGEST_WAIT = 0.005, 0.05  # seconds between looks while another message is handled
KEY_PREFIX = "shop:lock:"
KEEP_AFTER_EXPIRY_MS = 60_000  # keys of a conversation whose processes all died go this long after expiry
# A ticket expires this long after it was taken or last renewed. The process waiting or holding it renews it
# every quarter of that, up to Rasa's lock lifetime (60 s) in all; a killed process's ticket frees its
# conversation within LEASE_SECONDS (Rasa's own store: a minute, while the customer waited).
LEASE_SECONDS = 10.0

_NOW_MS = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000) "
_DROP_EXPIRED = "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) "

# KEYS: tickets, counter; ARGV: lifetime in ms. Returns the new ticket's number.
TAKE = _NOW_MS + _DROP_EXPIRED + f"""
local number = redis.call('INCR', KEYS[2])
local lifetime = tonumber(ARGV[1])
redis.call('ZADD', KEYS[1], now + lifetime, number)
redis.call('PEXPIRE', KEYS[1], lifetime + {KEEP_AFTER_EXPIRY_MS})
redis.call('PEXPIRE', KEYS[2], lifetime + {KEEP_AFTER_EXPIRY_MS})
return number
"""

# KEYS: tickets; ARGV: my ticket. Returns the lowest ticket not expired, or -1 if mine has expired.
SERVING = _NOW_MS + _DROP_EXPIRED + """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return -1 end
local lowest = nil
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local number = tonumber(member)
  if lowest == nil or number < lowest then lowest = number end
end
return lowest
"""

# KEYS: tickets, counter; ARGV: my ticket, lease in ms. Extends my ticket if it is still there; 1 if it was.
RENEW = _NOW_MS + f"""
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local lease = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], 'XX', now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease + {KEEP_AFTER_EXPIRY_MS})
redis.call('PEXPIRE', KEYS[2], lease + {KEEP_AFTER_EXPIRY_MS})
return 1
"""

# KEYS: tickets, counter; ARGV: my ticket. Gives it back; the last one out removes the keys.
GIVE_BACK = _NOW_MS + _DROP_EXPIRED + """
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[1], KEYS[2]) end
return 1
"""


class LockStoreUnavailable(LockError):
    """Redis did not answer: the message was not handled and may be sent again."""


class AtomicRedisLockStore(LockStore):
    """``lock_store: type: bot.lock_store.AtomicRedisLockStore, url: redis://host:6379/0`` (bot.app sets it
    from REDIS_URL)."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, url: str | None = None,
                 key_prefix: str = KEY_PREFIX, lease_seconds: float = LEASE_SECONDS) -> None:
        url = url or (endpoint_config.url if endpoint_config else None)
        if not url:
            raise ValueError("AtomicRedisLockStore needs a redis:// url")
        # A restarted Redis leaves every pooled connection dead: without retries each one failed a message
        # once, and a failed give-back left its ticket to expire (the conversation waited a minute). A
        # command on a dead connection never reached the new server, so trying it again on a new one is safe.
        self.redis = redis_asyncio.Redis.from_url(
            url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT,
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 2),
            retry_on_error=[RedisConnectionError, RedisTimeoutError])
        self.key_prefix = key_prefix
        self.lease = lease_seconds
        self._take = self.redis.register_script(TAKE)
        self._renew = self.redis.register_script(RENEW)
        self._serving = self.redis.register_script(SERVING)
        self._give_back = self.redis.register_script(GIVE_BACK)
        super().__init__()

    def _keys(self, conversation_id: str) -> list[str]:
        # One hash tag per conversation: on a Redis Cluster both keys live on one node, as scripts need.
        base = f"{self.key_prefix}{{{conversation_id}}}"
        return [f"{base}:tickets", f"{base}:next"]

    async def take_ticket(self, conversation_id: str, lifetime: float = LOCK_LIFETIME) -> int:
        return int(await self._take(keys=self._keys(conversation_id), args=[int(lifetime * 1000)]))

    async def serving(self, conversation_id: str, ticket: int) -> Optional[int]:
        """The ticket served now; None when ``ticket`` itself has expired."""
        lowest = int(await self._serving(keys=self._keys(conversation_id)[:1], args=[ticket]))
        return None if lowest < 0 else lowest

    async def renew(self, conversation_id: str, ticket: int) -> bool:
        lease_ms = int(self.lease * 1000)
        return bool(await self._renew(keys=self._keys(conversation_id), args=[ticket, lease_ms]))

    async def give_back(self, conversation_id: str, ticket: int) -> None:
        await self._give_back(keys=self._keys(conversation_id), args=[ticket])

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = LONGEST_WAIT) -> AsyncGenerator[TicketLock, None]:
        try:
            ticket = await self.take_ticket(conversation_id, min(self.lease, lock_lifetime))
        except RedisError as error:
            raise LockStoreUnavailable(f"Redis gave no ticket for {conversation_id}: {error}") from error
        keeping = asyncio.create_task(self._keep(conversation_id, ticket, lock_lifetime))
        try:
            await self._wait_for_turn(conversation_id, ticket, min(wait_time_in_seconds, LONGEST_WAIT))
            yield TicketLock(conversation_id)
        finally:
            keeping.cancel()
            await self._give_back_quietly(conversation_id, ticket)

    async def _keep(self, conversation_id: str, ticket: int, lifetime: float) -> None:
        """Renew the ticket's lease while this process waits or holds it, up to ``lifetime`` in all: a
        process that dies stops renewing, and its conversation is free a lease later, not a lifetime."""
        loop = asyncio.get_running_loop()
        until = loop.time() + lifetime
        while loop.time() + self.lease < until:
            await asyncio.sleep(self.lease / 4)
            try:
                if not await self.renew(conversation_id, ticket):
                    return
            except RedisError as error:  # the next renewal may get through; else the lease ends it
                logger.warning("Could not renew the lock of conversation %s: %r", conversation_id, error)

    async def _wait_for_turn(self, conversation_id: str, ticket: int, longest_wait: float) -> None:
        wait = FIRST_WAIT
        while True:
            try:
                serving = await self.serving(conversation_id, ticket)
            except RedisError as error:
                raise LockStoreUnavailable(f"Redis did not answer for {conversation_id}: {error}") from error
            if serving is None:
                raise LockError(f"The lock ticket of conversation {conversation_id} expired while it waited.")
            if serving == ticket:
                return
            await asyncio.sleep(wait)
            wait = min(wait * 2, longest_wait)

    async def _give_back_quietly(self, conversation_id: str, ticket: int) -> None:
        """The turn is done (or failed) either way: a ticket Redis did not take back expires by itself."""
        try:
            await asyncio.shield(self.give_back(conversation_id, ticket))
        except RedisError as error:
            logger.warning("Could not give back the lock of conversation %s (it expires by itself): %r",
                           conversation_id, error)

    async def close(self) -> None:
        await self.redis.close()

    # Rasa's synchronous interface. Rasa itself only calls ``lock``; these serve anything else that asks.
    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        raise NotImplementedError("AtomicRedisLockStore is used through lock()")

    def delete_lock(self, conversation_id: str) -> None:
        raise NotImplementedError("AtomicRedisLockStore is used through lock()")

    def save_lock(self, lock: TicketLock) -> None:
        raise NotImplementedError("AtomicRedisLockStore is used through lock()")

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        raise NotImplementedError("AtomicRedisLockStore is used through lock()")
