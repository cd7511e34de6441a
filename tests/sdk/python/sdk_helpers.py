"""Helpers shared by the Python suites (test_centrifuge_python.py, test_cent_api.py,
test_messaging.py): the sdk-fixture process, event recorders fed by the centrifuge-python
callbacks (asyncio queues), and connected clients and subscriptions. Timeouts are only
hang guards.

The `fx` pytest fixture that starts a `Fixture` per test is in conftest.py.
"""

import asyncio
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from centrifuge import (
    Client,
    ClientEventHandler,
    ConnectedContext,
    ConnectingContext,
    DisconnectedContext,
    ErrorContext,
    PublicationContext,
    ServerPublicationContext,
    ServerSubscribedContext,
    ServerUnsubscribedContext,
    SubscribedContext,
    Subscription,
    SubscriptionEventHandler,
    UnsubscribedContext,
)

REPO = Path(__file__).resolve().parents[3]
FIXTURE = os.environ.get("WIRECALL_FIXTURE", str(REPO / "target" / "debug" / "sdk-fixture"))
TIMEOUT = 10.0  # hang guard for every wait

USER = "u1"
OTHER_USER = "u2"
NEWS = "news:updates"  # a channel in the `news` namespace: history, presence, recovery


async def within(aw, what: str = "event"):
    """Await `aw`, failing the test (not hanging) after TIMEOUT seconds."""
    try:
        return await asyncio.wait_for(aw, TIMEOUT)
    except asyncio.TimeoutError:
        pytest.fail(f"timed out after {TIMEOUT}s waiting for {what}")


class Fixture:
    """One sdk-fixture process: `READY <port>` on stdout, then one JSON command per line.
    `url` is its WebSocket endpoint, `api_url` its HTTP API. Subclass it to add commands."""

    def __init__(self, proc: asyncio.subprocess.Process, port: int):
        self.proc = proc
        self.url = f"ws://127.0.0.1:{port}/connection/websocket"
        self.api_url = f"http://127.0.0.1:{port}/api"
        self.clients: List[Client] = []
        self._lock = asyncio.Lock()
        # "json", or "protobuf": the clients speak the centrifuge-protobuf subprotocol, where
        # payloads are bytes (the JSON of the values, as wirecall's handlers read and write).
        self.encoding = "json"

    @classmethod
    async def start(cls) -> "Fixture":
        proc = await asyncio.create_subprocess_exec(
            FIXTURE, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        line = (await within(proc.stdout.readline(), "fixture READY line")).decode().strip()
        assert line.startswith("READY "), f"unexpected first fixture line: {line!r}"
        return cls(proc, int(line.split()[1]))

    async def send(self, **command) -> str:
        """Send one command, return the whole answer line (`OK ...` or `ERR ...`)."""
        async with self._lock:
            self.proc.stdin.write((json.dumps(command) + "\n").encode())
            await self.proc.stdin.drain()
            line = await within(self.proc.stdout.readline(), f"fixture answer to {command}")
        return line.decode().strip()

    async def cmd(self, **command) -> Any:
        """Send one command, return the JSON after `OK `; `ERR ...` fails the test."""
        line = await self.send(**command)
        if not line.startswith("OK "):
            pytest.fail(f"fixture command {command} failed: {line!r}")
        return json.loads(line[3:])

    async def token(self, user: str = USER, exp_in: int = 3600, **extra) -> str:
        """A connection token for `user` expiring in `exp_in` s (`extra`: e.g. bad_signature)."""
        return await self.cmd(cmd="token", user=user, exp_in=exp_in, **extra)

    async def publish(self, channel: str, data: Any) -> Dict[str, Any]:
        """Publish `data` into `channel` from the server; returns the stream position."""
        return await self.cmd(cmd="publish", channel=channel, data=data)

    def client(self, events: ClientEventHandler, **options) -> Client:
        """A client of this fixture; short reconnect delays keep the restart test quick."""
        options.setdefault("min_reconnect_delay", 0.05)
        options.setdefault("max_reconnect_delay", 0.5)
        options.setdefault("use_protobuf", self.encoding == "protobuf")
        client = Client(self.url, events=events, proxy=None, **options)
        self.clients.append(client)
        return client

    def encode(self, value: Any) -> Any:
        """A payload as the SDK takes it in this encoding: the value, or its JSON bytes."""
        return json.dumps(value).encode() if self.encoding == "protobuf" else value

    def decode(self, data: Any) -> Any:
        """A payload the SDK handed over, as a value."""
        return json.loads(data) if self.encoding == "protobuf" else data

    async def stop(self) -> None:
        """Disconnect every client, ask the process to quit, kill it after 5 s."""
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
    """Records client-level events into queues; `publications`, `server_subscribed` and
    `server_unsubscribed` are those of server-side subscriptions."""

    def __init__(self):
        self.connecting: asyncio.Queue = asyncio.Queue()
        self.connected: asyncio.Queue = asyncio.Queue()
        self.disconnected: asyncio.Queue = asyncio.Queue()
        self.errors: List[ErrorContext] = []
        self.server_subscribed: asyncio.Queue = asyncio.Queue()
        self.server_unsubscribed: asyncio.Queue = asyncio.Queue()
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

    async def on_unsubscribed(self, ctx: ServerUnsubscribedContext) -> None:
        self.server_unsubscribed.put_nowait(ctx)

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


def personal(user: str) -> str:
    """The personal channel the server subscribes every connection of `user` to."""
    return f"personal:#{user}"


async def connected_client(
    fx: Fixture, user: str = USER, **options
) -> Tuple[Client, ClientEvents, str]:
    """A client connected with a valid token for `user`; returns (client, events, client id)."""
    events = ClientEvents()
    client = fx.client(events, token=await fx.token(user), **options)
    await within(client.connect(), "connect()")
    ctx = await within(events.connected.get(), f"connected event of {user}")
    return client, events, ctx.client


async def connected(fx: Fixture, user: str = USER) -> Tuple[Client, ClientEvents, str]:
    """A client connected as `user`, past the server-side subscription to its personal
    channel (the first server_subscribed event). Returns (client, events, client id)."""
    client, events, client_id = await connected_client(fx, user)
    sub = await within(events.server_subscribed.get(), f"personal channel of {user}")
    assert sub.channel == personal(user)
    return client, events, client_id


async def subscribed(
    client: Client, channel: str, **options
) -> Tuple[Subscription, SubEvents, SubscribedContext]:
    """A subscription to `channel` that reached subscribed; returns (sub, events, ctx)."""
    events = SubEvents()
    sub = client.new_subscription(channel, events=events, **options)
    await within(sub.subscribe(), "subscribe()")
    ctx = await within(events.subscribed.get(), f"subscribed event on {channel}")
    return sub, events, ctx


async def next_personal(events: ClientEvents, user: str, what: str) -> ServerPublicationContext:
    """The next client-level publication: it must be on `user`'s personal channel."""
    ctx = await within(events.publications.get(), f"{what} on {personal(user)}")
    assert ctx.channel == personal(user), (ctx.channel, ctx.pub.data)
    return ctx
