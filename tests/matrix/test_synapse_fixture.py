"""Proves the Synapse fixture with plain matrix-nio clients, as the bot's transport will use it.

Nothing here sleeps: every wait is a long-poll sync repeated until a deadline.
"""

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar
from uuid import uuid4

import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    EnableEncryptionBuilder,
    Event,
    JoinResponse,
    LoginResponse,
    RoomCreateResponse,
    RoomMessagesResponse,
    RoomMessageText,
    RoomPreset,
    RoomSendError,
    RoomSendResponse,
    SyncResponse,
    WhoamiResponse,
)
from nio.store import SqliteStore

from tests.support.synapse import MatrixUser, Synapse

T = TypeVar("T")
Login = Callable[..., Awaitable[AsyncClient]]
DEADLINE_S = 15.0


@pytest.fixture
async def login(tmp_path: Path) -> AsyncIterator[Login]:
    """Log a fresh nio client in by password; every client is closed after the test."""
    clients: list[AsyncClient] = []

    async def _login(
        server: Synapse,
        user: MatrixUser,
        *,
        e2e: bool = False,
        max_limit_exceeded: int | None = None,
    ) -> AsyncClient:
        store = tmp_path / "nio" / user.localpart
        store.mkdir(parents=True)
        config = AsyncClientConfig(
            encryption_enabled=e2e,
            store=SqliteStore,
            store_sync_tokens=True,
            # nio retries 429 answers forever by default; 0 hands them back to the caller.
            max_limit_exceeded=max_limit_exceeded,
        )
        client = AsyncClient(
            server.base_url, user.user_id, store_path=str(store) if e2e else "", config=config
        )
        clients.append(client)
        response = await client.login(user.password, device_name="backcoach-test")
        assert isinstance(response, LoginResponse), response
        if client.should_upload_keys:
            await client.keys_upload()
        return client

    yield _login
    for client in clients:
        await client.close()


def new_user(server: Synapse, name: str) -> MatrixUser:
    # The session's server is shared by all tests: unique names keep them apart.
    return server.register(f"{name}-{uuid4().hex[:8]}")


async def sync_until(client: AsyncClient, found: Callable[[SyncResponse], T | None]) -> T:
    """Long-poll sync until `found` returns something, or fail at the deadline."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        response = await client.sync(timeout=500)
        assert isinstance(response, SyncResponse), response
        result = found(response)
        if result is not None:
            return result
    raise AssertionError(f"{client.user_id}: nothing found within {DEADLINE_S} s")


def timeline(response: SyncResponse, room_id: str) -> list[Event]:
    room = response.rooms.join.get(room_id)
    return room.timeline.events if room else []


def text_with_body(body: str, room_id: str) -> Callable[[SyncResponse], RoomMessageText | None]:
    def found(response: SyncResponse) -> RoomMessageText | None:
        for event in timeline(response, room_id):
            if isinstance(event, RoomMessageText) and event.body == body:
                return event
        return None

    return found


async def direct_room(a: AsyncClient, b: AsyncClient, *, encrypted: bool = False) -> str:
    """A opens a direct chat with B and B joins it, the way a person accepts a DM."""
    created = await a.room_create(
        is_direct=True,
        preset=RoomPreset.trusted_private_chat,
        invite=[b.user_id],
        initial_state=[EnableEncryptionBuilder().as_dict()] if encrypted else [],
    )
    assert isinstance(created, RoomCreateResponse), created
    room_id: str = created.room_id
    await sync_until(b, lambda r: room_id if room_id in r.rooms.invite else None)
    assert isinstance(await b.join(room_id), JoinResponse)
    # A must see B as a member, or an encrypted message would not be shared with B.
    await sync_until(a, lambda _: True if b.user_id in a.rooms[room_id].users else None)
    return room_id


async def trust_device_of(client: AsyncClient, other: AsyncClient) -> None:
    """Fetch the other client's device keys and mark its device as verified."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        for device in client.device_store.active_user_devices(other.user_id):
            if device.id == other.device_id:
                client.verify_device(device)
                return
        # nio learns whose keys to fetch from syncs (membership, device list changes).
        if client.should_query_keys:
            await client.keys_query()
        else:
            await client.sync(timeout=500)
    raise AssertionError(f"{client.user_id}: no keys for {other.user_id}'s device")


async def test_registered_token_works(synapse: Synapse) -> None:
    user = new_user(synapse, "token")
    client = AsyncClient(synapse.base_url, user.user_id)
    client.restore_login(user.user_id, user.device_id, user.access_token)
    try:
        whoami = await client.whoami()
        assert isinstance(whoami, WhoamiResponse), whoami
        assert whoami.user_id == user.user_id == f"@{user.localpart}:{synapse.server_name}"
    finally:
        await client.close()


async def test_message_in_direct_room_reaches_invitee(synapse: Synapse, login: Login) -> None:
    a = await login(synapse, new_user(synapse, "alice"))
    b = await login(synapse, new_user(synapse, "bob"))
    room_id = await direct_room(a, b)

    sent = await a.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "hi"})
    assert isinstance(sent, RoomSendResponse), sent

    received = await sync_until(b, text_with_body("hi", room_id))
    assert (received.sender, received.event_id) == (a.user_id, sent.event_id)


async def test_resending_a_transaction_id_makes_one_event(synapse: Synapse, login: Login) -> None:
    a = await login(synapse, new_user(synapse, "alice"))
    b = await login(synapse, new_user(synapse, "bob"))
    room_id = await direct_room(a, b)
    content = {"msgtype": "m.text", "body": "check-in day 3"}

    first = await a.room_send(room_id, "m.room.message", content, tx_id="checkin:1:3")
    again = await a.room_send(room_id, "m.room.message", content, tx_id="checkin:1:3")

    assert isinstance(first, RoomSendResponse) and isinstance(again, RoomSendResponse)
    assert again.event_id == first.event_id
    history = await b.room_messages(room_id, limit=50)
    assert isinstance(history, RoomMessagesResponse), history
    bodies = [e.body for e in history.chunk if isinstance(e, RoomMessageText)]
    assert bodies.count("check-in day 3") == 1


async def test_encrypted_message_is_decrypted_by_recipient(synapse: Synapse, login: Login) -> None:
    a = await login(synapse, new_user(synapse, "alice"), e2e=True)
    b = await login(synapse, new_user(synapse, "bob"), e2e=True)
    room_id = await direct_room(a, b, encrypted=True)
    await trust_device_of(a, b)
    await trust_device_of(b, a)
    assert a.rooms[room_id].encrypted

    sent = await a.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "secret"})
    assert isinstance(sent, RoomSendResponse), sent

    received = await sync_until(b, text_with_body("secret", room_id))
    assert received.decrypted and received.event_id == sent.event_id


async def test_fast_sending_is_refused_with_retry_after(
    strict_synapse: Synapse, login: Login
) -> None:
    a = await login(strict_synapse, new_user(strict_synapse, "alice"), max_limit_exceeded=0)
    created = await a.room_create(name="flood")
    assert isinstance(created, RoomCreateResponse), created

    refused: RoomSendError | None = None
    for n in range(20):  # the strict server allows a burst of 3 requests
        response = await a.room_send(
            created.room_id, "m.room.message", {"msgtype": "m.text", "body": f"{n}"}
        )
        if isinstance(response, RoomSendError):
            refused = response
            break

    assert refused is not None, "20 quick messages were all accepted"
    assert refused.status_code == "M_LIMIT_EXCEEDED"
    assert refused.retry_after_ms is not None and refused.retry_after_ms > 0
