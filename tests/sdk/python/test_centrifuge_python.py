"""End-to-end tests: the official centrifuge-python SDK against the wsrpc sdk-fixture server.

Each test starts its own fixture process (see ``fx``), talks to it over stdin/stdout
(mint tokens, publish from the server side, restart) and drives a real SDK client.
Tests wait on SDK events (asyncio queues fed by the SDK callbacks); timeouts are only
hang guards.
"""

import asyncio
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import pytest_asyncio

from centrifuge import (
    Client,
    ClientEventHandler,
    ClientState,
    ConnectedContext,
    ConnectingContext,
    DisconnectedContext,
    ErrorContext,
    PublicationContext,
    ReplyError,
    ServerPublicationContext,
    ServerSubscribedContext,
    SubscribedContext,
    SubscriptionEventHandler,
    UnsubscribedContext,
)

REPO = Path(__file__).resolve().parents[3]
FIXTURE = os.environ.get("WSRPC_FIXTURE", str(REPO / "target" / "debug" / "sdk-fixture"))
TIMEOUT = 10.0  # hang guard for every wait

USER = "u1"
NEWS = "news:updates"  # a channel in the `news` namespace


# ---------------------------------------------------------------------------
# helpers


async def within(aw, what: str = "event"):
    """Await `aw`, failing the test (not hanging) after TIMEOUT seconds."""
    try:
        return await asyncio.wait_for(aw, TIMEOUT)
    except asyncio.TimeoutError:
        pytest.fail(f"timed out after {TIMEOUT}s waiting for {what}")


class Fixture:
    """One sdk-fixture process: `READY <port>` on stdout, then one JSON command per line."""

    def __init__(self, proc: asyncio.subprocess.Process, port: int):
        self.proc = proc
        self.url = f"ws://127.0.0.1:{port}/connection/websocket"
        self.clients: List[Client] = []
        self._lock = asyncio.Lock()

    @classmethod
    async def start(cls) -> "Fixture":
        proc = await asyncio.create_subprocess_exec(
            FIXTURE, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        line = (await within(proc.stdout.readline(), "fixture READY line")).decode().strip()
        assert line.startswith("READY "), f"unexpected first fixture line: {line!r}"
        return cls(proc, int(line.split()[1]))

    async def cmd(self, **command) -> Any:
        """Send one command, return the JSON after `OK `; `ERR ...` fails the test."""
        async with self._lock:
            self.proc.stdin.write((json.dumps(command) + "\n").encode())
            await self.proc.stdin.drain()
            line = await within(self.proc.stdout.readline(), f"fixture answer to {command}")
        line = line.decode().strip()
        if not line.startswith("OK "):
            pytest.fail(f"fixture command {command} failed: {line!r}")
        return json.loads(line[3:])

    async def token(self, user: str = USER, exp_in: int = 3600, **extra) -> str:
        return await self.cmd(cmd="token", user=user, exp_in=exp_in, **extra)

    async def publish(self, channel: str, data: Any) -> Dict[str, Any]:
        return await self.cmd(cmd="publish", channel=channel, data=data)

    def client(self, events: ClientEventHandler, **options) -> Client:
        """A client of this fixture; short reconnect delays keep the restart test quick."""
        options.setdefault("min_reconnect_delay", 0.05)
        options.setdefault("max_reconnect_delay", 0.5)
        client = Client(self.url, events=events, proxy=None, **options)
        self.clients.append(client)
        return client

    async def stop(self) -> None:
        for client in self.clients:
            await client.disconnect()
        if self.proc.returncode is None:
            try:
                self.proc.stdin.write(b'{"cmd":"quit"}\n')
                await self.proc.stdin.drain()
                self.proc.stdin.close()
                await asyncio.wait_for(self.proc.wait(), 5)
            except (asyncio.TimeoutError, ConnectionError):
                pass
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


class ClientEvents(ClientEventHandler):
    """Records client-level events into queues."""

    def __init__(self):
        self.connecting: asyncio.Queue = asyncio.Queue()
        self.connected: asyncio.Queue = asyncio.Queue()
        self.disconnected: asyncio.Queue = asyncio.Queue()
        self.errors: List[ErrorContext] = []
        self.server_subscribed: asyncio.Queue = asyncio.Queue()
        self.publications: asyncio.Queue = asyncio.Queue()

    async def on_connecting(self, ctx: ConnectingContext) -> None:
        self.connecting.put_nowait(ctx)

    async def on_connected(self, ctx: ConnectedContext) -> None:
        self.connected.put_nowait(ctx)

    async def on_disconnected(self, ctx: DisconnectedContext) -> None:
        self.disconnected.put_nowait(ctx)

    async def on_error(self, ctx: ErrorContext) -> None:
        self.errors.append(ctx)

    async def on_subscribed(self, ctx: ServerSubscribedContext) -> None:
        self.server_subscribed.put_nowait(ctx)

    async def on_publication(self, ctx: ServerPublicationContext) -> None:
        self.publications.put_nowait(ctx)


class SubEvents(SubscriptionEventHandler):
    """Records subscription events into queues."""

    def __init__(self):
        self.subscribed: asyncio.Queue = asyncio.Queue()
        self.unsubscribed: asyncio.Queue = asyncio.Queue()
        self.publications: asyncio.Queue = asyncio.Queue()

    async def on_subscribed(self, ctx: SubscribedContext) -> None:
        self.subscribed.put_nowait(ctx)

    async def on_unsubscribed(self, ctx: UnsubscribedContext) -> None:
        self.unsubscribed.put_nowait(ctx)

    async def on_publication(self, ctx: PublicationContext) -> None:
        self.publications.put_nowait(ctx)


@pytest_asyncio.fixture
async def fx():
    fixture = await Fixture.start()
    try:
        yield fixture
    finally:
        await fixture.stop()


async def connected_client(fx: Fixture, user: str = USER, **options):
    """A client connected with a valid token for `user`; returns (client, events, client id)."""
    events = ClientEvents()
    client = fx.client(events, token=await fx.token(user), **options)
    await within(client.connect(), "connect()")
    ctx = await within(events.connected.get(), "connected event")
    return client, events, ctx.client


async def subscribed(client: Client, channel: str, **options):
    """A subscription to `channel` that reached subscribed; returns (sub, events, ctx)."""
    events = SubEvents()
    sub = client.new_subscription(channel, events=events, **options)
    await within(sub.subscribe(), "subscribe()")
    ctx = await within(events.subscribed.get(), f"subscribed event on {channel}")
    return sub, events, ctx


# ---------------------------------------------------------------------------
# tests


async def test_connect_with_valid_token(fx):
    """A valid token connects; test.whoami reports the token's user and this client id."""
    client, _, client_id = await connected_client(fx)
    assert client.state == ClientState.CONNECTED
    assert client_id
    result = await within(client.rpc("test.whoami", {}), "whoami rpc")
    assert result.data == {"user": USER, "client": client_id}


async def test_bad_signature_token_is_refused(fx):
    """A token with a bad signature: the server closes with 3500, which is terminal."""
    events = ClientEvents()
    client = fx.client(events, token=await fx.token(USER, bad_signature=True))
    await within(client.connect(), "connect()")
    ctx = await within(events.disconnected.get(), "disconnected event")
    assert (ctx.code, ctx.reason) == (3500, "invalid token")
    # DISCONNECTED is terminal: the SDK schedules reconnects only from CONNECTING.
    assert client.state == ClientState.DISCONNECTED
    assert events.connected.empty()


async def test_expired_token_calls_get_token(fx):
    """An expired token gets error 109; the SDK calls get_token and connects with the new one."""
    expired = await fx.token(USER, exp_in=-60)
    fresh = await fx.token(USER)
    calls = []

    async def get_token() -> str:
        calls.append(1)
        return fresh

    events = ClientEvents()
    client = fx.client(events, token=expired, get_token=get_token)
    await within(client.connect(), "connect()")
    ctx = await within(events.connected.get(), "connected event after token refresh")
    assert len(calls) == 1
    codes = [e.error.code for e in events.errors if isinstance(e.error, ReplyError)]
    assert 109 in codes  # the server's connect error, reported by the SDK
    result = await within(client.rpc("test.whoami", {}), "whoami rpc")
    assert result.data == {"user": USER, "client": ctx.client}


async def test_rpc_success_and_failure(fx):
    """test.echo round-trips a nested object; test.fail raises ReplyError 1001."""
    client, _, _ = await connected_client(fx)
    payload = {
        "a": 1,
        "nested": {"list": [1, "two", {"three": 3.5}], "flag": True, "nothing": None},
        "text": "héllo ✓",
    }
    result = await within(client.rpc("test.echo", payload), "echo rpc")
    assert result.data == payload

    with pytest.raises(ReplyError) as err:
        await within(client.rpc("test.fail", {}), "fail rpc")
    assert (err.value.code, err.value.message) == (1001, "custom app error")
    assert client.state == ClientState.CONNECTED  # RPC errors never disconnect


async def test_subscribe_receives_server_publication(fx):
    """A server-side publish reaches the subscription with exactly the published data."""
    client, _, _ = await connected_client(fx)
    _, events, _ = await subscribed(client, NEWS)
    data = {"headline": "hello", "tags": ["a", "b"], "n": 1}
    await fx.publish(NEWS, data)
    ctx = await within(events.publications.get(), "publication")
    assert ctx.pub.data == data


async def test_personal_channel(fx):
    """The server subscribes the client to personal:#u1; a personal publish reaches the
    client-level publication handler."""
    client, events, _ = await connected_client(fx)
    channel = f"personal:#{USER}"
    sub = await within(events.server_subscribed.get(), "server-side subscribed event")
    assert sub.channel == channel
    data = {"note": "for you only"}
    await fx.cmd(cmd="personal", user=USER, data=data)
    ctx = await within(events.publications.get(), "personal publication")
    assert ctx.channel == channel
    assert ctx.pub.data == data


async def test_presence_and_history(fx):
    """Presence lists this client; stats count 1 client / 1 user; history returns the 3
    publications in order with their offsets."""
    client, _, client_id = await connected_client(fx)
    sub, _, _ = await subscribed(client, NEWS)

    presence = await within(sub.presence(), "presence")
    assert client_id in presence.clients
    assert presence.clients[client_id].user == USER
    assert presence.clients[client_id].client == client_id

    stats = await within(sub.presence_stats(), "presence stats")
    assert (stats.num_clients, stats.num_users) == (1, 1)

    sent = [{"h": 1}, {"h": 2}, {"h": 3}]
    offsets = [(await fx.publish(NEWS, d))["offset"] for d in sent]
    history = await within(sub.history(limit=10), "history")
    assert [p.data for p in history.publications] == sent
    assert [p.offset for p in history.publications] == offsets
    assert offsets == list(range(offsets[0], offsets[0] + 3))
    assert history.offset == offsets[-1]
    assert history.epoch


async def test_subscribe_refused(fx):
    """chat:#other_user is refused with 103 (permission denied), nope:x with 102."""
    client, _, _ = await connected_client(fx)
    for channel, code in (("chat:#other_user", 103), ("nope:x", 102)):
        events = SubEvents()
        sub = client.new_subscription(channel, events=events)
        await within(sub.subscribe(), "subscribe()")
        ctx = await within(events.unsubscribed.get(), f"unsubscribed event on {channel}")
        assert ctx.code == code, f"{channel}: {ctx}"
        assert events.subscribed.empty()


async def test_restart_recovers_missed_publications(fx):
    """After a server restart (close 3001) the SDK reconnects, resubscribes with recovery
    and gets exactly the 3 publications made while it was away, in order."""
    client, events, _ = await connected_client(fx)
    sub, sub_events, first = await subscribed(client, NEWS, recoverable=True, positioned=True)
    assert first.recoverable and not first.was_recovering

    await fx.publish(NEWS, {"n": 0})
    before = await within(sub_events.publications.get(), "publication before restart")
    assert before.pub.data == {"n": 0}

    missed = [{"n": 1}, {"n": 2}, {"n": 3}]
    await fx.cmd(cmd="restart", publish=[{"channel": NEWS, "data": d} for d in missed])

    # Connecting events: the one from connect(), then the server's shutdown close.
    await within(events.connecting.get(), "connecting event from connect()")
    shutdown = await within(events.connecting.get(), "connecting event after restart")
    assert shutdown.code == 3001

    again = await within(sub_events.subscribed.get(), "subscribed event after restart")
    assert again.was_recovering and again.recovered

    got = [await within(sub_events.publications.get(), "recovered publication") for _ in missed]
    assert [c.pub.data for c in got] == missed
    assert [c.pub.offset for c in got] == [before.pub.offset + i for i in (1, 2, 3)]

    # Nothing else was delivered: the next thing the subscription sees is a new publish.
    await fx.publish(NEWS, {"n": "after"})
    after = await within(sub_events.publications.get(), "publication after recovery")
    assert after.pub.data == {"n": "after"}
    assert sub_events.publications.empty()
    assert sub_events.subscribed.empty()
