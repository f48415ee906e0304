"""The conversation lock shared by several web processes, on the real Redis (bot/lock_store.py).

Each store object below has its own connection pool, as each web process has.
"""
from __future__ import annotations

import asyncio
import uuid

import pytest
import redis
from rasa.core.lock_store import LockError, RedisLockStore

from bot.lock_store import AtomicRedisLockStore, LockStoreUnavailable
from tests.smtp_inbox import free_port


@pytest.fixture
def prefix() -> str:
    return f"test:{uuid.uuid4().hex[:8]}:"


@pytest.fixture
async def two_processes(redis_url, prefix):
    stores = [AtomicRedisLockStore(url=redis_url, key_prefix=prefix) for _ in range(2)]
    yield stores
    for store in stores:
        await store.close()


def test_rasas_own_store_gives_two_processes_one_ticket(redis_url):
    """RasaHQ/rasa#9213, shown without timing luck: both processes read the lock before either writes it
    back, as happens when their messages arrive together. Both hold ticket 0: both handle at once."""
    host = redis.Redis.from_url(redis_url).connection_pool.connection_kwargs
    first, second = (RedisLockStore(host=host["host"], port=host["port"], db=host["db"],
                                    key_prefix=f"rasa{uuid.uuid4().hex[:6]}") for _ in range(2))
    second.key_prefix = first.key_prefix
    conversation = uuid.uuid4().hex
    read_by_first = first.get_or_create_lock(conversation)
    read_by_second = second.get_or_create_lock(conversation)
    tickets = [read_by_first.issue_ticket(60), read_by_second.issue_ticket(60)]
    first.save_lock(read_by_first)
    second.save_lock(read_by_second)
    assert tickets == [0, 0]
    assert not first.get_lock(conversation).is_locked(0)  # nobody waits: both think they are served
    first.delete_lock(conversation)


async def test_two_processes_take_turns_in_the_order_messages_came(two_processes):
    """60 messages of one conversation, taken alternately by two processes at once: no two are handled
    together, every one is handled, and in the order their tickets were taken."""
    conversation = uuid.uuid4().hex
    inside, handled, tickets_order = [], [], []

    async def message(number: int) -> None:
        store = two_processes[number % 2]
        async with store.lock(conversation):
            inside.append(number)
            assert len(inside) == 1, f"{inside} handled at once"
            await asyncio.sleep(0.001 * (number % 3))  # turns of different lengths
            handled.append(number)
            inside.remove(number)

    original_take = AtomicRedisLockStore.take_ticket

    async def noting_take(self, conversation_id, lifetime=60):
        ticket = await original_take(self, conversation_id, lifetime)
        tickets_order.append((ticket, asyncio.current_task().get_name()))
        return ticket

    AtomicRedisLockStore.take_ticket = noting_take
    try:
        await asyncio.gather(*(asyncio.create_task(message(n), name=str(n)) for n in range(60)))
    finally:
        AtomicRedisLockStore.take_ticket = original_take
    assert sorted(handled) == list(range(60))
    by_ticket = [int(name) for _, name in sorted(tickets_order)]
    assert handled == by_ticket
    assert len({ticket for ticket, _ in tickets_order}) == 60


async def test_the_last_one_out_removes_the_keys(two_processes, redis_url, prefix):
    conversation = uuid.uuid4().hex
    async with two_processes[0].lock(conversation):
        assert await two_processes[1].redis.keys(f"{prefix}*")
    assert await two_processes[1].redis.keys(f"{prefix}*") == []
    async with two_processes[1].lock(conversation):  # starts afresh
        pass


async def test_a_ticket_left_by_a_dead_process_expires(two_processes):
    """A process killed mid-turn never gives its ticket back: the next message waits for the lifetime,
    not for ever."""
    conversation = uuid.uuid4().hex
    await two_processes[0].take_ticket(conversation, lifetime=0.3)  # and dies
    loop = asyncio.get_running_loop()
    began = loop.time()
    async with two_processes[1].lock(conversation):
        waited = loop.time() - began
    assert 0.2 < waited < 5


async def test_a_ticket_that_expires_while_waiting_is_an_error(two_processes):
    conversation = uuid.uuid4().hex
    await two_processes[0].take_ticket(conversation, lifetime=5)  # a long turn in the other process
    with pytest.raises(LockError, match="expired while it waited"):
        async with two_processes[1].lock(conversation, lock_lifetime=0.2):
            pass


async def test_no_redis_is_a_clear_error_not_a_hang():
    store = AtomicRedisLockStore(url=f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(LockStoreUnavailable, match="Redis gave no ticket"):
        async with store.lock("somebody"):
            pass
    await store.close()


async def test_made_from_rasas_endpoint_config(redis_url):
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    store = LockStore.create(EndpointConfig(type="bot.lock_store.AtomicRedisLockStore", url=redis_url))
    assert isinstance(store, AtomicRedisLockStore)
    async with store.lock(uuid.uuid4().hex):
        pass
    await store.close()


async def test_a_restarted_redis_costs_no_message(tmp_path):
    """Every pooled connection dies with the old server; the next lock takes a new one, not an error (and
    not a ticket left behind to block the conversation for a minute)."""
    from bot.cluster.services import PrivateRedis

    server = PrivateRedis(tmp_path / "redis")
    server.start()
    store = AtomicRedisLockStore(url=server.url)
    try:
        async with store.lock("before"):
            pass
        server.stop()
        with pytest.raises(LockStoreUnavailable):
            async with store.lock("while-down"):
                pass
        server.start()
        for conversation in ("after-1", "after-2"):
            async with store.lock(conversation):
                pass
        assert await store.redis.keys("*") == []  # every ticket given back
    finally:
        await store.close()
        server.stop()


async def test_health_says_whether_the_lock_store_answers(redis_url):
    from types import SimpleNamespace

    from bot.health import lock_store_state

    reachable = AtomicRedisLockStore(url=redis_url)
    gone = AtomicRedisLockStore(url=f"redis://127.0.0.1:{free_port()}/0")
    try:
        assert await lock_store_state(SimpleNamespace(lock_store=reachable)) == "ok"
        assert await lock_store_state(SimpleNamespace(lock_store=gone)) == "unreachable"
        assert await lock_store_state(SimpleNamespace(lock_store=object())) == "in memory"
    finally:
        await reachable.close()
        await gone.close()


async def test_a_living_holder_keeps_its_turn_beyond_the_lease_and_a_dead_one_frees_it_after_one(redis_url,
                                                                                                prefix):
    """The lease is renewed while its process waits or holds it: a turn longer than the lease keeps the lock
    (the next message waits for it to end); a process that stops renewing (killed) frees it a lease later."""
    stores = [AtomicRedisLockStore(url=redis_url, key_prefix=prefix, lease_seconds=0.4) for _ in range(2)]
    conversation = uuid.uuid4().hex
    order = []
    try:
        async def long_turn() -> None:
            async with stores[0].lock(conversation):
                order.append("long turn begins")
                await asyncio.sleep(1.2)  # three leases
                order.append("long turn ends")

        async def next_message() -> None:
            await asyncio.sleep(0.1)
            async with stores[1].lock(conversation):
                order.append("next message")

        await asyncio.gather(long_turn(), next_message())
        assert order == ["long turn begins", "long turn ends", "next message"]

        await stores[0].take_ticket(conversation, lifetime=0.4)  # taken, then the process died: no renewal
        began = asyncio.get_running_loop().time()
        async with stores[1].lock(conversation):
            assert 0.3 < asyncio.get_running_loop().time() - began < 3
    finally:
        for store in stores:
            await store.close()
